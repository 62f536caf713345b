"""The media section (issues 22 and 23): what a user waits for when downloading a video, a song or speech from a
running mock, and what creates cost while videos render, each beside a reference measured in the same run.

- First downloads: N distinct tasks (each its own seed, so each a cold render) created through the API on a mock
  with immediate progression; the first GET of each file is timed from the request to its last byte, then a
  second GET (the render cache). Every timed file is read back with PyAV and must be the one asked for
  (media_rules.file_problem). Beside them: the codec floor (bench/media_floor.py: the same codec work on a
  solid colour or a sine, in a process of its own) and the bare reference app serving a file of the same bytes
  (Starlette's StaticFiles on the same uvicorn stack).
- Creates while rendering: wrk's create load (the throughput section's body and settings) against a mock with no
  render running, then while 8 first downloads of distinct 1080p 10 s clips are in flight all through wrk's run
  (each downloader starts the next clip as one finishes), alternating run by run.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import av
import media_rules
import throughput
import wrk
from drivers import drive_create
from media_rules import Download
from servers import BENCH, HOST, Server, free_port, http, mock_server, running
from throughput import Target

NAMESPACE = "bench-media"  # the render tasks' namespace: wrk's creates go to the default one, reset per run
PROMPT = "A lighthouse on a cliff at dusk, waves breaking below, slow dolly in"
SPEECH = " ".join(["the mock reads this sentence aloud"] * 25)  # 150 words: a minute at 150 words a minute


@dataclass(frozen=True)
class Item:
    """A file to download: the create route and body, where the task's body holds its URL, and what the file
    must be (media_rules.file_problem)."""

    key: str
    label: str
    path: str
    body: Mapping[str, Any]
    url_at: tuple[str | int, ...]
    asked: Mapping[str, Any] = field(default_factory=dict)


def clip(resolution: str, width: int, height: int) -> Item:
    return Item(f"video_{resolution}", f"kling-3.0 text_to_video, {resolution} ({width}x{height}), 10 s",
                "/api/v1/kling/text_to_video",
                {"model": "kling-3.0", "prompt": PROMPT, "duration_seconds": 10, "output_resolution": resolution},
                ("videos", 0, "url"), {"codec": "h264", "width": width, "height": height, "duration_seconds": 10})


VIDEO_1080P = clip("1080p", 1920, 1080)
VIDEO_4K = clip("4k", 3840, 2160)
SONG = Item("song_3min", "suno-v5.5 text_to_music, 3 min instrumental, mp3", "/api/v1/suno/text_to_music",
            {"model": "suno-v5.5", "vocal_mode": "instrumental", "style": "calm piano", "title": "Bench",
             "duration_seconds": 180}, ("audios", 0, "audio_url"), {"codec": "mp3", "duration_seconds": 180})
SPEECH_1MIN = Item("speech_1min", "ElevenLabs text_to_speech, 150 words (1 min at 150 words/min), mp3",
                   "/api/v1/elevenlabs/text_to_speech",
                   {"model": "text-to-speech-multilingual-v2", "voice": "Rachel", "text": SPEECH},
                   ("audios", 0, "url"), {"codec": "mp3", "duration_seconds": 60})
ITEMS = (VIDEO_1080P, VIDEO_4K, SONG, SPEECH_1MIN)
# Downloaded before any timing, 4 at a time: a server's first renders start its render processes (the mock's
# render_workers) and import PyAV and Pillow's font.
WARM_UP = (*[clip("720p", 1280, 720)] * 4, Item("speech_short", "", SPEECH_1MIN.path,
                                                {**SPEECH_1MIN.body, "text": "warming up"}, SPEECH_1MIN.url_at))


def download(url: str, timeout: float = 120.0) -> tuple[Download, bytes]:
    """GET `url`, timed from sending the request to reading its last byte (a new connection, as a player)."""
    parts = urlsplit(url)
    conn = HTTPConnection(parts.hostname or HOST, parts.port, timeout=timeout)
    try:
        conn.connect()
        started = time.perf_counter()
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = conn.getresponse()
        data = response.read()
        ended = time.perf_counter()
        length = response.getheader("Content-Length")
        return Download(started, ended, response.status, len(data), int(length) if length else None), data
    finally:
        conn.close()


def file_info(data: bytes) -> dict[str, Any]:
    """What PyAV reads from a file: codec, size, duration, rate, sample rate, channels, bit rate."""
    with av.open(io.BytesIO(data)) as container:
        if container.streams.video:
            video = container.streams.video[0]
            return {"codec": video.codec_context.codec.canonical_name, "width": video.codec_context.width,
                    "height": video.codec_context.height, "fps": float(video.average_rate or video.base_rate or 0),
                    "frames": video.frames, "duration_seconds": (container.duration or 0) / 1e6}
        audio = container.streams.audio[0]
        return {"codec": audio.codec_context.codec.canonical_name, "sample_rate": audio.codec_context.sample_rate,
                "channels": audio.codec_context.channels, "bit_rate": audio.codec_context.bit_rate or audio.bit_rate,
                "duration_seconds": (container.duration or 0) / 1e6}


def floor_job(info: Mapping[str, Any]) -> dict[str, Any]:
    """bench/media_floor.py's job for a file: the same frames or seconds, size or sample rate, and bit rate."""
    if "width" in info:
        return {"kind": "video", "width": info["width"], "height": info["height"], "fps": round(info["fps"]),
                "frames": info["frames"] or round(info["duration_seconds"] * info["fps"])}
    return {"kind": "mp3", "seconds": round(info["duration_seconds"]), "sample_rate": info["sample_rate"],
            "channels": info["channels"], "bit_rate": info["bit_rate"]}


def floors(jobs: list[dict[str, Any]], runs: int) -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, str(BENCH / "media_floor.py"), json.dumps(jobs), str(runs)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"media_floor.py failed: {done.stderr[-1000:]}")
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


class Client:
    """Creates tasks in the media namespace and reads their file URLs."""

    def __init__(self, server: Server, namespace: str = NAMESPACE) -> None:
        self.server, self.headers = server, {"X-Mock-Namespace": namespace}

    def file_url(self, item: Item) -> str:
        """Create a task for `item` and return its file's URL once it is completed (immediate progression)."""
        status, task = http("POST", self.server.port, item.path, dict(item.body), headers=self.headers)
        if status != 200:
            raise RuntimeError(f"create {item.path} answered {status}: {str(task)[:300]}")
        for _ in range(100):
            status, task = http("GET", self.server.port, f"{item.path}/{task['id']}", headers=self.headers)
            if task.get("status") == "completed":
                value: Any = task
                for step in item.url_at:
                    value = value[step]
                return str(value)
            if task.get("status") == "failed":
                raise RuntimeError(f"{item.key} task failed: {str(task)[:300]}")
            time.sleep(0.01)
        raise RuntimeError(f"{item.key} task not completed: {str(task)[:300]}")


def warm_up(client: Client) -> None:
    urls = [client.file_url(item) for item in WARM_UP]
    with ThreadPoolExecutor(4) as pool:
        for done, _ in pool.map(download, urls):
            if not done.ok:
                raise RuntimeError(f"warm-up download failed: {done}")


def reference_static(folder: Path) -> Server:
    """The bare reference app (uvloop + httptools) serving `folder` with Starlette's StaticFiles at /static."""
    port = free_port()
    return Server("reference-static", [sys.executable, str(BENCH / "reference_app.py"), "--port", str(port),
                                       "--loop", "uvloop", "--http", "httptools", "--static", str(folder)], port)


def _seconds(downloads: list[Download]) -> dict[str, Any]:
    times = [d.seconds for d in downloads]
    return {"median_s": statistics.median(times), "fastest_s": min(times), "runs_s": [round(t, 4) for t in times]}


def first_downloads(client: Client, static: Server, folder: Path, item: Item, count: int) -> dict[str, Any]:
    """`count` distinct tasks' first and second downloads, the same bytes from the reference, and the floor."""
    load_before = os.getloadavg()
    first, second, problems = [], [], []
    info: dict[str, Any] = {}
    kept = b""  # the last file that downloaded whole: the reference serves the same bytes
    for _ in range(count):
        url = client.file_url(item)
        cold, data = download(url)
        warm, again = download(url)
        first.append(cold)
        second.append(warm)
        if not (cold.ok and warm.ok and again == data):
            problems.append(f"download failed or changed: status {cold.status}/{warm.status}")
            continue
        info, kept = file_info(data), data
        problem = media_rules.file_problem(info, item.asked)
        if problem:
            problems.append(problem)
    if not info:
        raise RuntimeError(f"{item.key}: no download succeeded ({problems[0]})")
    (folder / f"{item.key}.bin").write_bytes(kept)
    # The reference's first GET of the file is left out: it reads the file from disk into the page cache.
    served = [download(f"{static.url}/static/{item.key}.bin")[0] for _ in range(count + 1)][1:]
    floor = floors([floor_job(info)], count)[0]
    return {"label": item.label, "count": count, "bytes": len(kept), "file": info, "problems": problems,
            "first": _seconds(first), "second": _seconds(second), "static": _seconds(served), "floor": floor,
            "loadavg": [load_before, os.getloadavg()]}


def render_downloads(items: tuple[Item, ...], count: int, log: Any) -> dict[str, Any]:
    """Every item's first downloads through a fresh mock, beside the floor and the reference's static file."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch, running(mock_server("mock-media")) as mock, \
            running(reference_static(Path(scratch))) as static:
        client = Client(mock)
        warm_up(client)
        for item in items:
            out[item.key] = first_downloads(client, static, Path(scratch), item, count)
            log(f"  {item.key}: first download {out[item.key]['first']['median_s']:.3f} s "
                f"(floor {out[item.key]['floor']['median_s']:.3f} s)")
    return out


class Renders:
    """`count` downloaders, each downloading the next distinct clip as soon as its last one arrived."""

    def __init__(self, urls: list[str], count: int = media_rules.RENDERS) -> None:
        self.urls, self.lock, self.stop = iter(urls), threading.Lock(), threading.Event()
        self.workers: list[list[Download]] = [[] for _ in range(count)]
        self.threads = [threading.Thread(target=self._run, args=(done,), daemon=True) for done in self.workers]

    def _next(self) -> str | None:
        with self.lock:
            return next(self.urls, None)

    def _run(self, done: list[Download]) -> None:
        while not self.stop.is_set():
            url = self._next()
            if url is None:
                return
            try:
                done.append(download(url)[0])
            except OSError:
                done.append(Download(time.perf_counter(), time.perf_counter(), 0, 0))
                return

    @contextlib.contextmanager
    def running(self) -> Iterator[Renders]:
        for thread in self.threads:
            thread.start()
        try:
            yield self
        finally:
            self.stop.set()
            for thread in self.threads:
                thread.join(300)


def creates_while_rendering(tool: str, runs: int, duration: int, log: Any) -> dict[str, Any]:
    """wrk's create runs against one mock, alternately with no render and with 8 renders in flight."""
    load = wrk.Load(*wrk.LOAD, duration)
    idle: list[dict[str, Any]] = []
    rendering: list[dict[str, Any]] = []
    held: list[media_rules.Verdict] = []
    with running(mock_server("mock-renders")) as mock:
        client = Client(mock)
        target = Target("mock", mock)
        warm_up(client)
        drive_create(tool, mock, wrk.Load(*wrk.LOAD, 1))  # warm-up
        per_run = media_rules.RENDERS * (duration * 4 + 2)  # a clip every 0.25 s per downloader: more than enough
        for round_ in range(runs):
            urls = [client.file_url(VIDEO_1080P) for _ in range(per_run)]
            for rendering_now in (False, True):
                http("POST", mock.port, "/_mock/reset")  # wrk's namespace only: the clips stay
                loadavg = os.getloadavg()
                if not rendering_now:
                    run = throughput.measure(tool, target, load)
                    idle.append({**run, "loadavg": loadavg})
                    continue
                renders = Renders(urls)
                with renders.running():
                    time.sleep(0.2)  # every downloader's first request is in the mock before wrk starts
                    started = time.perf_counter()
                    run = throughput.measure(tool, target, load)
                    ended = time.perf_counter()
                verdict = media_rules.renders_held(renders.workers, (started, ended))  # each's last one is in
                downloads = [d for worker in renders.workers for d in worker]
                held.append(verdict)
                finished = [d for d in downloads if d.started >= started and d.ended <= ended]
                rendering.append({**run, "loadavg": loadavg, "held": verdict.why,
                                  "downloads": len(downloads), "downloads_within_run": len(finished),
                                  "download_median_s": statistics.median(d.seconds for d in downloads)
                                  if downloads else None})
            log(f"  round {round_ + 1}/{runs}: p99 idle {idle[-1]['p99_ms']:.2f} ms, "
                f"rendering {rendering[-1]['p99_ms']:.2f} ms ({rendering[-1]['downloads']} clips)")
    figure = media_rules.p99_figure(tool, idle, rendering, held)
    return {"idle": idle, "rendering": rendering, "p99_idle_ms": figure.idle_ms,
            "p99_rendering_ms": figure.rendering_ms, "ratio": figure.ratio, "why": figure.why,
            "rate_idle": statistics.median(r["rate"] for r in idle),
            "rate_rendering": statistics.median(r["rate"] for r in rendering),
            "load": {"threads": load.threads, "connections": load.connections, "duration_s": load.duration_s}}
