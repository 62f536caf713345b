"""Measurements the media tests share: loudness of decoded audio, likeness of two pictures."""

from __future__ import annotations

import io
import math
from array import array

import av
from PIL import Image

from runapi_mock.media.audio import audio_format


def samples(data: bytes, fmt: str | None = None, stream_of: str = "audio") -> array[int]:
    """A file's first audio track decoded to mono 16-bit samples at its own rate."""
    options: dict[str, str] = {}
    demuxer = None
    if fmt is not None and audio_format(fmt).raw:
        entry = audio_format(fmt)
        demuxer, options = entry.muxer, {"sample_rate": str(entry.sample_rate), "ch_layout": "mono"}
    out = array("h")
    with av.open(io.BytesIO(data), format=demuxer, options=options) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=stream.codec_context.sample_rate)
        for frame in container.decode(stream):
            for converted in resampler.resample(frame):
                out.frombytes(bytes(converted.planes[0])[:converted.samples * 2])
    return out


def rms(values: array[int] | list[int]) -> float:
    """Root mean square of 16-bit samples (full scale is 32767)."""
    return math.sqrt(sum(v * v for v in values) / len(values)) if len(values) else 0.0


def correlation(a: Image.Image, b: Image.Image, box: tuple[float, float, float, float] = (0, 0, 1, 1)) -> float:
    """Pearson correlation of two pictures, compared as 48x27 grayscale over the same relative `box`
    (left, top, right, bottom as fractions): 1.0 is the same picture, about 0 unrelated ones."""
    def pixels(image: Image.Image) -> list[float]:
        w, h = image.size
        crop = image.convert("L").crop((int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)))
        return [float(p) for p in crop.resize((48, 27), Image.Resampling.BILINEAR).getdata()]

    x, y = pixels(a), pixels(b)
    mx, my = sum(x) / len(x), sum(y) / len(y)
    cov = sum((p - mx) * (q - my) for p, q in zip(x, y, strict=True))
    sx = math.sqrt(sum((p - mx) ** 2 for p in x))
    sy = math.sqrt(sum((q - my) ** 2 for q in y))
    return cov / (sx * sy) if sx and sy else 0.0
