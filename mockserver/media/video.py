"""Real, small video files for completed tasks: H.264 in MP4 (or MOV), captioned on every frame, with
something moving, deterministic per task, and derived from a source image, audio or video when there is one.

Why it looks like this: a person opening the file must see at once that it is a video of this task (a
caption panel on every frame: model, size, duration, task id, prompt) and that it plays (a progress bar,
a moving marker and a timestamp that change each frame). Frames are few (2 a second by default) and
mostly static, so x264 spends almost nothing on them; only the bottom strip is redrawn per frame and
written into a copy of the static frame's YUV planes. One x264 thread and bit-exact muxing make the bytes
a pure function of the spec. The source kinds cover RunAPI's video actions: `first_frame` (image to
video), `last_frame` (transitions), `audio` (lip sync, audio-driven video: the length follows it) and
`source_video` (extend, upscale, edit: its frames are the base; `derive` builds those specs).

PyAV and Pillow are imported inside the functions that use them: their imports were a quarter of the server's
start, and no request before the first render needs them.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING, TypeAlias

from . import images
from .tones import melody

if TYPE_CHECKING:
    import av
    from PIL import Image, ImageFont

__all__ = ["CONTENT_TYPES", "ImageSource", "VideoInfo", "VideoSpec", "caption", "derive", "frame_at", "poster",
           "probe", "render_video"]

ImageSource: TypeAlias = "bytes | Image.Image"  # PNG/JPEG/WebP bytes, or a Pillow image
MAX_SIDE = 4096
CONTENT_TYPES = {"mp4": "video/mp4", "mov": "video/quicktime"}  # the containers, and the MIME types served
MAX_DERIVED_FPS = 4
_TIME_BASE = Fraction(1, 1000)  # millisecond timestamps: any duration is exact to the millisecond
_AUDIO_RATE = 24000  # mono AAC at 24 kHz: a tune is plainly audible and costs little to encode
_AUDIO_AMPLITUDE = 8000
_X264 = {"preset": "ultrafast", "crf": "26", "threads": "1"}  # one thread: the same bytes every time
_MIN_FONT = 9
_EXTENSION_BLEND = 0.5  # seconds added past a source video: its last frame, half in the seed's colours


@dataclass(frozen=True)
class VideoSpec:
    """What `render_video` draws. Sizes are rounded down to even numbers (H.264 4:2:0 needs them).

    `duration_seconds` None means: as long as `audio`, else as long as `source_video`. `label` is the
    caption on every frame (`caption` builds it); `seed` (the task id) picks the colours and the tune.
    """

    seed: str
    width: int = 1280
    height: int = 720
    duration_seconds: float | None = 5.0
    fps: int = 2
    label: tuple[str, ...] = ()
    with_audio: bool = False  # an AAC track (the seed's tune, or `audio` when given)
    first_frame: ImageSource | None = None  # every frame shows it (the first one plainly)
    last_frame: ImageSource | None = None  # the last frame shows it; with first_frame, a cross-fade
    audio: bytes | None = None  # an audio file with a header (not raw pcm_*): muxed as AAC, sets the length
    source_video: bytes | None = None  # its frames are the base; past its end, its last frame held
    source_until: float | None = None  # the source's seconds shown (an extend from a point); then the extension
    container: str = "mp4"  # "mp4" or "mov" (Seedance's output_format)


@dataclass(frozen=True)
class VideoInfo:
    """What `probe` reads from a video file."""

    container: str  # "mp4" or "mov" (from the ftyp brand), else the demuxer's name
    codec: str
    width: int
    height: int
    duration_seconds: float
    fps: float
    has_audio: bool
    audio_codec: str | None


def caption(model: str, width: int, height: int, duration_seconds: float, task_id: str, prompt: object,
            has_audio: bool = False, index: int = 0, count: int = 1) -> tuple[str, ...]:
    """The lines a video shows: model, size, duration and codecs, task id, and the start of the prompt
    (shortened as image captions are)."""
    lines = list(images.caption(model, (width, height), "png", task_id, prompt))
    numbered = f"  (video {index + 1} of {count})" if count > 1 else ""
    sound = " + AAC" if has_audio else ""
    lines[1] = f"{width} x {height}  {duration_seconds:g} s  H.264{sound}{numbered}"
    return tuple(lines)


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont  # at first use: see the module docstring
    return ImageFont.load_default(size=size)  # Pillow's embedded font: no system font needed


def _open(source: ImageSource, width: int, height: int) -> Image.Image:
    """The source image cropped to fill width x height."""
    from PIL import Image, ImageOps  # at first use: see the module docstring
    if isinstance(source, Image.Image):
        return ImageOps.fit(source.convert("RGB"), (width, height), Image.Resampling.BILINEAR)
    with Image.open(io.BytesIO(source)) as opened:
        return ImageOps.fit(opened.convert("RGB"), (width, height), Image.Resampling.BILINEAR)


def _caption_panel(image: Image.Image, lines: tuple[str, ...]) -> None:
    """The caption on a dark panel across the top, as large as fits about a fifth of the height."""
    from PIL import ImageDraw  # at first use: see the module docstring
    if not lines:
        return
    width, height = image.size
    size = min(height // 5 // (len(lines) + 1), 72)
    font = _font(max(size, 1))
    while size >= _MIN_FONT and max(font.getlength(line) for line in lines) > width * 0.94:
        size -= 1
        font = _font(size)
    if size < _MIN_FONT:
        return  # a thumbnail-sized video: no legible caption fits
    pad, step = size // 2, int(size * 1.3)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width - 1, 2 * pad + step * len(lines)), fill=(20, 20, 20))
    for i, line in enumerate(lines):
        draw.text((pad, pad + i * step), line, fill=(240, 240, 240), font=font)


def _strip_height(height: int) -> int:
    return max(2, round(height / 14) // 2 * 2)


def _strip(width: int, height: int, index: int, count: int, duration: float, fps: int,
           colour: tuple[int, int, int]) -> Image.Image:
    """The part that moves: a progress bar, a marker sweeping across, and the frame's timestamp."""
    from PIL import Image, ImageDraw  # at first use: see the module docstring
    strip = Image.new("RGB", (width, height), (12, 12, 12))
    draw = ImageDraw.Draw(strip)
    done = (index + 1) / count
    bar = max(1, height // 6)
    draw.rectangle((0, height - bar, int(width * done) - 1, height - 1), fill=colour)
    x = int((width - height) * (index / max(1, count - 1)))
    draw.rectangle((x, 0, x + height // 2, height - bar - 1), fill=(250, 250, 250))
    size = int(height * 0.45)
    if size >= _MIN_FONT:
        at = min(duration, index / fps)
        text = f"{at:05.2f} s / {duration:.2f} s   frame {index + 1} of {count}"
        draw.text((height, (height - bar - size) // 2), text, fill=(250, 250, 250), font=_font(size))
    return strip


def _seed_colour(seed: str) -> tuple[int, int, int]:
    pixel = images.draw(seed, 1, 1).getpixel((0, 0))  # the images' background colour for this seed
    assert isinstance(pixel, tuple)
    return (int(pixel[0]), int(pixel[1]), int(pixel[2]))


def _picture(frame: av.VideoFrame) -> Image.Image:
    image: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]  # untyped in av's stubs
    return image


def _source_frames(data: bytes) -> Iterator[tuple[float, av.VideoFrame]]:
    """The source video's decoded frames, in order, with their start times (converted only when shown)."""
    import av  # at first use: see the module docstring
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(video=0):
            yield float(frame.time or 0.0), frame


def _decoded_audio(data: bytes) -> bytes:
    """Any audio file's sound as mono 16-bit samples at the track's rate."""
    import av  # at first use: see the module docstring
    resampler = av.AudioResampler(format="s16", layout="mono", rate=_AUDIO_RATE)
    out = bytearray()
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(audio=0):
            for converted in resampler.resample(frame):
                out += bytes(converted.planes[0])[:converted.samples * 2]
        for converted in resampler.resample(None):
            out += bytes(converted.planes[0])[:converted.samples * 2]
    return bytes(out)


def _duration(spec: VideoSpec, sound: bytes | None) -> float:
    if spec.duration_seconds is not None:
        return spec.duration_seconds
    if sound is not None:
        return len(sound) / 2 / _AUDIO_RATE
    if spec.source_video is not None:
        return probe(spec.source_video).duration_seconds
    raise ValueError("duration_seconds is needed when there is neither audio nor a source video")


class _Frames:
    """The picture of each output frame: background (source, image or seed scene) + caption + strip."""

    def __init__(self, spec: VideoSpec, width: int, height: int, duration: float) -> None:
        self.spec, self.width, self.height, self.duration = spec, width, height, duration
        self.count = max(1, math.ceil(duration * spec.fps - 1e-9))
        self.colour = _seed_colour(spec.seed)
        self.scene = images.draw(spec.seed, width, height)
        self.first = _open(spec.first_frame, width, height) if spec.first_frame is not None else None
        self.last = _open(spec.last_frame, width, height) if spec.last_frame is not None else None
        self.source = _source_frames(spec.source_video) if spec.source_video else None
        self.source_end = probe(spec.source_video).duration_seconds if spec.source_video else 0.0
        if spec.source_until is not None:
            self.source_end = max(0.0, min(self.source_end, spec.source_until))
        self.current: tuple[float, av.VideoFrame] | None = None
        self.upcoming: tuple[float, av.VideoFrame] | None = None
        self.source_done = False
        self.memo: dict[object, Image.Image] = {}

    def _shown(self, key: object, make: Callable[[], Image.Image]) -> tuple[object, Image.Image]:
        """The background for `key`, made once while consecutive frames share it."""
        if key not in self.memo:
            if len(self.memo) >= 2:  # a source frame and its extension blend; older ones are not shown again
                self.memo.clear()
            self.memo[key] = make()
        return key, self.memo[key]

    def _from_source(self, at: float) -> tuple[object, Image.Image]:
        """The source frame showing at `at` (decoding forward only), or past the source's end (or its cut,
        `source_until`) the frame showing there, half in the seed's colours (an extension)."""
        from PIL import Image  # at first use: see the module docstring
        assert self.source is not None
        shown = min(at, self.source_end)
        while not self.source_done:
            if self.upcoming is None:
                self.upcoming = next(self.source, None)
                if self.upcoming is None:
                    self.source_done = True
                    break
            if self.current is not None and self.upcoming[0] > shown + 1e-6:
                break
            self.current, self.upcoming = self.upcoming, None
        current = self.current
        if current is None:
            return "scene", self.scene
        fitted = self._shown(("source", current[0]), lambda: _open(_picture(current[1]), self.width, self.height))
        if at < self.source_end - 1e-6:
            return fitted
        return self._shown(("past", current[0]), lambda: Image.blend(fitted[1], self.scene, _EXTENSION_BLEND))

    def background(self, index: int) -> tuple[object, Image.Image]:
        """The frame's background and a key that is equal for frames sharing one (so it is converted once)."""
        from PIL import Image  # at first use: see the module docstring
        if self.source is not None:
            return self._from_source(index / self.spec.fps)
        if self.first is not None and self.last is not None and self.count > 1:
            return index, Image.blend(self.first, self.last, index / (self.count - 1))
        if self.last is not None and index == self.count - 1:
            return "last", self.last
        if self.first is not None:
            return "first", self.first
        return "scene", self.scene

    def still(self, background: Image.Image) -> Image.Image:
        image = background.copy()
        _caption_panel(image, self.spec.label)
        return image

    def strip(self, index: int) -> Image.Image:
        return _strip(self.width, _strip_height(self.height), index, self.count, self.duration, self.spec.fps,
                      self.colour)

    def picture(self, index: int) -> Image.Image:
        """The whole frame as a Pillow image (the poster; the encoder takes the faster YUV path)."""
        image = self.still(self.background(index)[1])
        strip = self.strip(index)
        image.paste(strip, (0, self.height - strip.height))
        return image


def _size(spec: VideoSpec) -> tuple[int, int]:
    width, height = spec.width - spec.width % 2, spec.height - spec.height % 2
    if not (2 <= width <= MAX_SIDE and 2 <= height <= MAX_SIDE):
        raise ValueError(f"video size must be 2..{MAX_SIDE} on each side, got {spec.width}x{spec.height}")
    if spec.fps < 1 or spec.fps > 60:
        raise ValueError(f"fps must be 1..60, got {spec.fps}")
    if spec.container not in CONTENT_TYPES:
        raise ValueError(f"container must be mp4 or mov, got {spec.container!r}")
    return width, height


def _to_yuv(image: Image.Image) -> av.VideoFrame:
    import av  # at first use: see the module docstring
    frame: av.VideoFrame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]  # untyped in av's stubs
    return frame.reformat(format="yuv420p")


def _yuv(image: Image.Image) -> list[bytes]:
    return [bytes(plane) for plane in _to_yuv(image).planes]


def _video_frames(frames: _Frames) -> Iterator[av.VideoFrame]:
    """Each frame as YUV: the static part converted once per background, the strip's rows replaced."""
    import av  # at first use: see the module docstring
    width, height = frames.width, frames.height
    key: object = None
    still: list[bytes] = []
    for index in range(frames.count):
        background_key, background = frames.background(index)
        if background_key != key or not still:
            key, still = background_key, _yuv(frames.still(background))
        strip = _yuv(frames.strip(index))
        frame = av.VideoFrame(width, height, "yuv420p")
        for plane, base, moving in zip(frame.planes, still, strip, strict=True):
            cut = len(base) - len(moving)
            if plane.buffer_size != len(base) or cut < 0:  # unexpected padding: compose in Pillow instead
                frame = _to_yuv(frames.picture(index))
                break
            plane.update(base[:cut] + moving)
        yield frame


def render_video(spec: VideoSpec) -> bytes:
    """Encode the spec as H.264 (yuv420p) in MP4/MOV, exactly as long as asked (to the millisecond), with an
    AAC track when `with_audio` or `audio`. The same spec gives the same bytes."""
    import av  # at first use: see the module docstring
    width, height = _size(spec)
    sound = _decoded_audio(spec.audio) if spec.audio is not None else None
    duration = _duration(spec, sound)
    if duration <= 0:
        raise ValueError(f"duration_seconds must be positive, got {duration}")
    frames = _Frames(spec, width, height, duration)
    total_ms = round(duration * 1000)
    out = io.BytesIO()
    with av.open(out, "w", format=spec.container, options={"fflags": "+bitexact"}) as container:
        video = container.add_stream("libx264", rate=spec.fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.time_base = video.codec_context.time_base = _TIME_BASE
        video.codec_context.options = dict(_X264)
        audio = None
        if spec.with_audio or sound is not None:  # every stream exists before the first packet is written
            audio = container.add_stream("aac", rate=_AUDIO_RATE, layout="mono")
            audio.bit_rate = 48_000
            audio.codec_context.options = {"aac_coder": "fast"}  # FFmpeg's AAC encoder is the slow part
        packets = []
        for index, frame in enumerate(_video_frames(frames)):
            frame.pts, frame.time_base = round(index * 1000 / spec.fps), _TIME_BASE
            packets += video.encode(frame)
        packets += video.encode(None)
        final = max(packets, key=lambda p: p.pts or 0)
        final.duration = total_ms - (final.pts or 0)  # the last frame lasts until the asked end
        for packet in packets:
            container.mux(packet)
        if audio is not None:
            samples = round(duration * _AUDIO_RATE)
            if sound is None:
                sound = melody(spec.seed, samples, _AUDIO_RATE, _AUDIO_AMPLITUDE).tobytes()
            sound = (sound + bytes(2 * samples))[:2 * samples]  # the track ends with the picture
            _mux_audio(container, audio, sound)
    return out.getvalue()


def _mux_audio(container: av.container.OutputContainer, stream: av.AudioStream, sound: bytes) -> None:
    import av  # at first use: see the module docstring
    step = _AUDIO_RATE
    for start in range(0, len(sound) // 2, step):
        chunk = sound[2 * start:2 * (start + step)]
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(chunk) // 2)
        frame.planes[0].update(chunk)
        frame.sample_rate, frame.time_base, frame.pts = _AUDIO_RATE, Fraction(1, _AUDIO_RATE), start
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def poster(spec: VideoSpec, frame: int = 0) -> bytes:
    """Frame `frame` as PNG (0 the first: the dashboard's thumbnail; -1 the last: Seedance's last frame), drawn
    as `render_video` draws it but not encoded, so it is the decoded frame up to H.264's loss."""
    width, height = _size(spec)
    sound = _decoded_audio(spec.audio) if spec.audio is not None and spec.duration_seconds is None else None
    frames = _Frames(spec, width, height, _duration(spec, sound))
    out = io.BytesIO()
    frames.picture(frame % frames.count).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def probe(data: bytes) -> VideoInfo:
    """Read a video's container, codec, size, duration, frame rate and audio track (any file PyAV reads:
    the engine uses it on uploads to learn a source's real size and length)."""
    import av  # at first use: see the module docstring
    with av.open(io.BytesIO(data)) as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        duration = container.duration / 1_000_000 if container.duration else float(
            (video.duration or 0) * (video.time_base or 0))
        name = container.format.name.split(",")[0]
        if data[4:8] == b"ftyp":
            name = "mov" if data[8:12] == b"qt  " else "mp4"
        return VideoInfo(name, video.codec_context.name, video.codec_context.width, video.codec_context.height,
                         round(duration, 3), float(video.base_rate or video.average_rate or 0), audio is not None,
                         audio.codec_context.name if audio is not None else None)


def frame_at(data: bytes, seconds: float = 0.0) -> Image.Image:
    """The decoded frame showing at `seconds` (the last one past the end), as an RGB Pillow image."""
    import av  # at first use: see the module docstring
    shown: Image.Image | None = None
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(video=0):
            if shown is not None and (frame.time or 0.0) > seconds + 1e-6:
                break
            shown = frame.to_image()
    if shown is None:
        raise ValueError("no video frame")
    return shown


def derive(source: bytes, seed: str, label: tuple[str, ...] = (), added_seconds: float = 0.0,
           scale: float = 1.0, audio: bytes | None = None, with_audio: bool | None = None) -> VideoSpec:
    """A spec built on a source video: extend (`added_seconds` past its end), upscale (`scale` times its
    size) or lip sync (`audio`: the length follows it). Sound follows the source unless given; the frame rate
    follows it up to `MAX_DERIVED_FPS` (a 30 fps upload would cost 15 times the frames and show nothing more)."""
    info = probe(source)
    base = VideoSpec(seed=seed, label=label, source_video=source)
    return replace(base, width=round(info.width * scale), height=round(info.height * scale),
                   duration_seconds=None if audio is not None else info.duration_seconds + added_seconds,
                   fps=max(1, min(MAX_DERIVED_FPS, round(info.fps or 2))), audio=audio,
                   with_audio=info.has_audio if with_audio is None else with_audio)
