"""Deterministic, cheap image bytes for completed tasks (drawn, or derived from their source image), captioned
with where they came from. Pillow is imported inside the functions that draw: the server's start needs none of it."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from .cache import RenderCache

if TYPE_CHECKING:
    from PIL import Image, ImageFont

__all__ = ["ImageCache", "caption", "content_type", "draw", "extension", "render"]


_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg"}
_CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg"}
_EXTENSIONS = {"png": "png", "jpeg": "jpg"}
_BANDS = 4
_PROMPT_CHARS = 48
_MIN_FONT = 9  # smaller text is not legible; tiny images go without a caption
_TINT = 0.35  # how much of a derived image is the seed's colour: the source stays plain to see


def _format(fmt: str) -> str:
    try:
        return _FORMATS[fmt.lower()]
    except KeyError:
        raise ValueError(f"unsupported image format {fmt!r}; expected one of {sorted(_FORMATS)}") from None


def _colours(seed: str) -> list[tuple[int, int, int]]:
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    return [(digest[i], digest[i + 1], digest[i + 2]) for i in range(0, 3 * (_BANDS + 1), 3)]


def caption(model: str, size: tuple[int, int], fmt: str, task_id: str, prompt: object,
            index: int = 0, count: int = 1) -> tuple[str, ...]:
    """The lines an image shows: model, size and format, task id, and the start of the prompt."""
    shown = " ".join(prompt.split()) if isinstance(prompt, str) else ""
    if len(shown) > _PROMPT_CHARS:
        shown = shown[:_PROMPT_CHARS - 3].rstrip() + "..."
    numbered = f"  (image {index + 1} of {count})" if count > 1 else ""
    lines = [model, f"{size[0]} x {size[1]} {_format(fmt)}{numbered}", f"task {task_id}"]
    return tuple(lines + ([f'"{shown}"'] if shown else []))


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont  # at first use: see the module docstring
    # Pillow's own font (Aileron, embedded in Pillow >= 10.1), so no system font is needed.
    return ImageFont.load_default(size=size)


def _draw_caption(image: Image.Image, lines: Sequence[str], background: tuple[int, int, int]) -> None:
    """Centre the lines on a panel that contrasts with the background, as large as fits."""
    from PIL import ImageDraw  # at first use: see the module docstring
    width, height = image.size
    longest = max(lines, key=len)
    # Aileron's average advance is about 0.55 em: size the font to the longest line, then check.
    size = int(min(width * 0.8 / (0.55 * max(len(longest), 1)), height * 0.7 / (1.4 * len(lines)), 96))
    if size < _MIN_FONT:
        return
    font = _font(size)
    text_width = max(font.getlength(line) for line in lines)
    while text_width > width * 0.9 and size > _MIN_FONT:
        size -= 1
        font = _font(size)
        text_width = max(font.getlength(line) for line in lines)
    if text_width > width * 0.9:
        return
    line_height = int(size * 1.4)
    pad = size // 2
    box_width, box_height = int(text_width) + 2 * pad, line_height * len(lines) + 2 * pad
    left, top = (width - box_width) // 2, (height - box_height) // 2
    light_background = sum(background) > 3 * 128  # a dark panel on a light background, and the other way round
    panel, ink = ((24, 24, 24), (245, 245, 245)) if light_background else ((245, 245, 245), (24, 24, 24))
    draw = ImageDraw.Draw(image)
    draw.rectangle((left, top, left + box_width - 1, top + box_height - 1), fill=panel)
    for i, line in enumerate(lines):
        draw.text((left + pad, top + pad + i * line_height), line, fill=ink, font=font)


def _derived(source: bytes, width: int, height: int, tint: tuple[int, int, int],
             frame: tuple[int, int, int]) -> Image.Image:
    """The source cropped to fill width x height, tinted and framed in seed colours: visibly the source, and
    visibly a new image (a chain of edits shows one tint and frame per step)."""
    from PIL import Image, ImageDraw, ImageOps  # at first use: see the module docstring
    with Image.open(io.BytesIO(source)) as opened:
        picture = ImageOps.fit(opened.convert("RGBA"), (width, height), Image.Resampling.BILINEAR)
    flat = Image.new("RGB", (width, height), tint)
    flat.paste(picture, mask=picture)  # transparent parts (a cut-out) show the tint
    image = Image.blend(flat, Image.new("RGB", (width, height), tint), _TINT)
    border = max(1, min(width, height) // 40)
    ImageDraw.Draw(image).rectangle((0, 0, width - 1, height - 1), outline=frame, width=border)
    return image


def draw(seed: str, width: int, height: int, caption: Sequence[str] = (), source: bytes | None = None
         ) -> Image.Image:
    """The picture `render` encodes: seed-coloured bands on a solid background, or the `source` image (PNG or
    JPEG bytes) recoloured, with the caption lines on a panel."""
    from PIL import Image, ImageDraw  # at first use: see the module docstring
    if width < 1 or height < 1:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    background, *bands = _colours(seed)
    if source is not None:
        image = _derived(source, width, height, background, bands[0])
    else:
        image = Image.new("RGB", (width, height), background)
        pen = ImageDraw.Draw(image)
        band_height = max(1, height // (2 * _BANDS + 1))
        for i, colour in enumerate(bands):
            top = (2 * i + 1) * band_height
            inset = width * (i + 1) // (2 * _BANDS + 2)
            pen.rectangle((inset, top, width - 1 - inset, top + band_height - 1), fill=colour)
    if caption:
        _draw_caption(image, caption, background)
    return image


def render(seed: str, width: int, height: int, fmt: str, caption: Sequence[str] = (),
           source: bytes | None = None) -> bytes:
    """Encode `draw`'s picture: a solid background with a few seed-coloured bands (or the source image
    recoloured), and the caption lines on a panel.

    Colours come from a hash of the seed and the encoders get no metadata, so the
    bytes are identical across calls and processes; whole-shape drawing keeps a
    4096x4096 image cheap.
    """
    kind = _format(fmt)
    image = draw(seed, width, height, caption, source)
    out = io.BytesIO()
    if kind == "png":
        image.save(out, format="PNG", optimize=False, compress_level=1)
    else:
        image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def content_type(fmt: str) -> str:
    """Return the MIME type served for an output format."""
    return _CONTENT_TYPES[_format(fmt)]


def extension(fmt: str) -> str:
    """Return the file extension used in image URLs for an output format."""
    return _EXTENSIONS[_format(fmt)]


class ImageCache:
    """Rendered images by key, in a byte-bounded LRU (media.cache.RenderCache, the cache every kind of file
    uses), so 4k outputs cannot grow memory; this only names the image renderer's arguments."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self._files = RenderCache(max_bytes)

    def __len__(self) -> int:
        return len(self._files)

    def __contains__(self, key: object) -> bool:
        return key in self._files

    @property
    def max_bytes(self) -> int:
        return self._files.max_bytes

    @property
    def total_bytes(self) -> int:
        return self._files.total_bytes

    def get_or_render(self, key: str, seed: str, width: int, height: int, fmt: str,
                      caption: Sequence[str] = (), source: bytes | None = None) -> bytes:
        """Return cached bytes for key, rendering and storing them on a miss (one render per key at a time)."""
        return self._files.get_or_render(key, lambda: render(seed, width, height, fmt, caption, source))
