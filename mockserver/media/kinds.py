"""The kinds of output a task makes (the catalog's output spec `kind`): each one's file formats (extension and
content type per format) and which renderer makes its files, named by module path so that nothing here
imports a codec or the engine. The engine asks here for a file's name and type; renderers.py renders.
A `data` kind makes no file: its result is JSON members only. Images keep their own renderer (images.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Kind", "content_type", "extension", "kind", "register", "renderer_path"]


@dataclass(frozen=True)
class Kind:
    """One kind of output: its formats (extension, content type) and its renderer, named by module path
    (``module:function``) and imported at the first render, so the server starts without loading codecs."""

    name: str
    formats: Mapping[str, tuple[str, str]]  # format -> (extension, content type)
    default_format: str
    renderer: str | None = None  # None: no files (data), or rendered elsewhere (images)


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    """Add (or replace) a kind of output. The audio kinds register themselves the same way."""
    _KINDS[kind.name] = kind


def kind(name: str) -> Kind:
    """The registered kind (an unknown one is served as an image: the catalog's default)."""
    return _KINDS.get(name) or _KINDS["image"]


def renderer_path(name: str) -> str | None:
    """The ``module:function`` that renders files of kind `name`, if any."""
    return kind(name).renderer


def extension(kind_name: str, fmt: str) -> str:
    entry = kind(kind_name)
    return entry.formats.get(fmt.lower(), entry.formats[entry.default_format])[0]


def content_type(kind_name: str, fmt: str) -> str:
    entry = kind(kind_name)
    return entry.formats.get(fmt.lower(), entry.formats[entry.default_format])[1]


register(Kind("image", {"png": ("png", "image/png"), "jpeg": ("jpg", "image/jpeg"), "jpg": ("jpg", "image/jpeg"),
                        "webp": ("webp", "image/webp")}, "png"))
register(Kind("video", {"mp4": ("mp4", "video/mp4"), "mov": ("mov", "video/quicktime")}, "mp4",
              "runapi_mock.media.video_files:render"))
register(Kind("data", {"json": ("json", "application/json")}, "json"))
