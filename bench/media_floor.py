"""The floor under a render: the codec work alone, with nothing drawn, in a process of its own.

For a video, libx264 with the mock's settings (ultrafast, crf 26, one thread, yuv420p, MP4) encoding as many
frames of one solid colour as the mock's clip has, at its size and rate; for audio, LAME with the mock's settings
(fastest search, no bit reservoir) encoding as many seconds of a sine as the mock's file plays, at its sample
rate, channels and bit rate. A render can cost no less than this on the same machine at the same moment, so a
render's time over its floor says what the mock's own drawing and composing add, and a slow machine shows as
slow in both.

    python bench/media_floor.py '[{"kind": "video", "width": 1920, "height": 1080, "fps": 2, "frames": 20}]'

prints, for each job, the median and the fastest of `runs` encodes (seconds) as JSON.
"""

from __future__ import annotations

import io
import json
import math
import statistics
import sys
import time
from array import array
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import av

X264 = {"preset": "ultrafast", "crf": "26", "threads": "1"}  # mockserver/media/video.py's _X264
LAME = {"compression_level": "9", "reservoir": "0"}  # mockserver/media/audio.py's encode()
_MS = Fraction(1, 1000)


def encode_video(width: int, height: int, fps: int, frames: int) -> bytes:
    """`frames` frames of one grey, H.264 in MP4, millisecond timestamps as the mock writes them."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = stream.codec_context.time_base = _MS
        stream.codec_context.options = dict(X264)
        for index in range(frames):
            frame = av.VideoFrame(width, height, "yuv420p")
            for plane in frame.planes:
                plane.update(b"\x80" * plane.buffer_size)
            frame.pts, frame.time_base = round(index * 1000 / fps), _MS
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def sine(seconds: float, rate: int, channels: int) -> bytes:
    """A 441 Hz-ish sine (100 samples a period at 44.1 kHz), interleaved s16 for `channels`."""
    period = max(2, rate // 441)
    one = array("h", (round(8000 * math.sin(2 * math.pi * i / period)) for i in range(period)))
    samples = (one * (round(seconds * rate) // period + 1))[:round(seconds * rate)]
    if channels == 2:
        samples = array("h", (s for s in samples for _ in (0, 1)))
    return samples.tobytes()


def encode_mp3(pcm: bytes, rate: int, channels: int, bit_rate: int) -> bytes:
    """`pcm` (s16, interleaved) through LAME, one second a frame handed to the encoder, as the mock hands it."""
    layout = "mono" if channels == 1 else "stereo"
    out = io.BytesIO()
    width = 2 * channels
    with av.open(out, "w", format="mp3", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout=layout)
        stream.bit_rate = bit_rate
        stream.codec_context.options = dict(LAME)
        total = len(pcm) // width
        for start in range(0, total, rate):
            count = min(rate, total - start)
            frame = av.AudioFrame(format="s16", layout=layout, samples=count)
            frame.planes[0].update(pcm[start * width:(start + count) * width])
            frame.sample_rate, frame.time_base, frame.pts = rate, Fraction(1, rate), start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def job_of(spec: dict[str, Any]) -> Callable[[], bytes]:
    if spec["kind"] == "video":
        return lambda: encode_video(spec["width"], spec["height"], spec["fps"], spec["frames"])
    if spec["kind"] == "mp3":
        pcm = sine(spec["seconds"], spec["sample_rate"], spec["channels"])  # made once: the floor is LAME's
        return lambda: encode_mp3(pcm, spec["sample_rate"], spec["channels"], spec["bit_rate"])
    raise ValueError(f"no floor for {spec['kind']!r}")


def measure(spec: dict[str, Any], runs: int) -> dict[str, Any]:
    job = job_of(spec)
    job()  # once untimed: the codec's first open
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        data = job()
        times.append(time.perf_counter() - started)
    return {**spec, "median_s": statistics.median(times), "fastest_s": min(times), "runs_s": times,
            "bytes": len(data)}


def main() -> None:
    jobs = json.loads(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    print(json.dumps([measure(job, runs) for job in jobs]))


if __name__ == "__main__":
    main()
