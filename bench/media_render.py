"""How long the media renderers take on this machine, beside the same run's reference (one 1024x1024 PNG).

`.venv/bin/python bench/media_render.py [--runs 5]` prints a Markdown table for bench/RESULTS.md: the
median (and the fastest) of `--runs` renders of each item, in-process and single-threaded, as the server's
render threads run them. Rendering is deterministic, so every run does the same work; the spread is the
machine's (the load average is printed with the figures).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

from runapi_mock.media import (
    AudioSpec,
    SongSpec,
    VideoSpec,
    caption,
    images,
    render_audio,
    render_song,
    render_speech,
    render_video,
)
from runapi_mock.media.speech import speech_duration

PROMPT = "A lighthouse on a cliff at dusk, waves breaking below, slow dolly in"
SPEECH = " ".join(["the mock reads this sentence aloud"] * 25)  # 150 words: one minute at 150 words/min


def _video(width: int, height: int, audio: bool = False) -> Callable[[], bytes]:
    label = caption("kling-v3", width, height, 10.0, "task-bench", PROMPT, has_audio=audio)
    return lambda: render_video(VideoSpec("task-bench", width, height, 10.0, label=label, with_audio=audio))


def _items() -> list[tuple[str, Callable[[], bytes]]]:
    png_caption = images.caption("flux-kontext-pro", (1024, 1024), "png", "task-bench", PROMPT)
    return [
        ("reference: one 1024x1024 PNG (images.render)",
         lambda: images.render("task-bench", 1024, 1024, "png", png_caption)),
        ("video 1080p 10 s (H.264, 2 fps)", _video(1920, 1080)),
        ("video 1080p 10 s with AAC track", _video(1920, 1080, audio=True)),
        ("video 4k (3840x2160) 10 s", _video(3840, 2160)),
        ("song 3 min, mp3 (song default: 22050 Hz mono 32 kbit/s)",
         lambda: render_song(SongSpec("task-bench", 180.0))),
        ("song 3 min, mp3 44100 Hz 128 kbit/s", lambda: render_song(SongSpec("task-bench", 180.0, "mp3", 44100,
                                                                            128_000))),
        (f"speech 1 min ({speech_duration(SPEECH):g} s), mp3_22050_32", lambda: render_speech(SPEECH, "mp3_22050_32")),
        (f"speech 1 min ({speech_duration(SPEECH):g} s), mp3_44100_128",
         lambda: render_speech(SPEECH, "mp3_44100_128")),
        ("speech 1 min, wav (no encoder: the synthesis alone)", lambda: render_speech(SPEECH, "wav")),
        ("tone 10 s, opus_48000_64", lambda: render_audio(AudioSpec("task-bench", 10.0, "opus_48000_64"))),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    print(f"{os.cpu_count()} cores, CPython {platform.python_version()}; load average at start "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}; median and fastest of {runs} runs\n")
    print("| render | median (s) | fastest (s) | median / reference | size (KiB) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    reference = 0.0
    for name, render in _items():
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            data = render()
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        reference = reference or median  # the first item is the reference: ratios move less with the load
        print(f"| {name} | {median:.3f} | {min(times):.3f} | {median / reference:.1f}x | {len(data) / 1024:,.0f} |",
              flush=True)
    print(f"\nload average at end {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
