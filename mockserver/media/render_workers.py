"""Videos encode in worker processes at a lower CPU priority, so requests keep their latency while videos render.

Why: in the server's own threads, 8 first downloads of 1080p clips on 2 cores cut creates/s about tenfold and
multiplied their p99 by ~17 (bench/ media section): the renders' threads took the cores from the event loop at
the same priority, and drawing frames (Pillow) holds the GIL the loop needs. In worker processes niced by
`NICE`, the kernel runs the event loop first and renders in the time it leaves; on an idle machine a render runs
at full speed, on a saturated one it waits (a download takes longer, a create does not). The bytes are the same
as in-process (one x264 thread, bit-exact muxing: `render_video` is a pure function of its spec).

The pool starts with the first video render (not at start-up, which stays fast) with `WORKERS` processes, spawned
(forking a threaded server is unsafe), and lives as long as the process. Where processes cannot start, or a
worker dies, the render runs in the calling thread instead: slower for the server's latency, same bytes.
"""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from .video import VideoSpec
from .video import render_video as render_here

__all__ = ["NICE", "WORKERS", "render_video", "shutdown"]

NICE = 19  # CFS weight 15 against a request thread's 1024: renders get the cores the server leaves
WORKERS = max(1, min(2, os.cpu_count() or 1))

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


def _worker_init(nice: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server; the pool is shut down with it
    os.nice(nice)


def _executor() -> ProcessPoolExecutor | None:
    global _pool
    with _lock:
        if _pool is None:
            try:
                _pool = ProcessPoolExecutor(WORKERS, mp_context=get_context("spawn"), initializer=_worker_init,
                                            initargs=(NICE,))
            except (OSError, NotImplementedError, ImportError):  # no processes here (a sandbox): render in-thread
                return None
        return _pool


def render_video(spec: VideoSpec) -> bytes:
    """`video.render_video(spec)` in a worker process (blocking: call it from a thread, as the file route does)."""
    pool = _executor()
    if pool is None:
        return render_here(spec)
    try:
        return pool.submit(render_here, spec).result()
    except BrokenProcessPool:  # a worker was killed: start a new pool next time, render this one here
        shutdown()
        return render_here(spec)


def shutdown() -> None:
    """Stop the workers (the next render starts new ones)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)
