"""Videos encode in worker processes at a lower CPU priority, so requests keep their latency while videos render.

Why: in the server's own threads, 8 first downloads of 1080p clips on 2 cores cut creates/s about tenfold and
multiplied their p99 by ~17 (bench/: the media section): the renders' threads took the cores from the event loop
at the same priority, and drawing frames (Pillow) holds the GIL the loop needs. In worker processes niced by
`NICE`, the kernel runs the event loop first and renders in the time it leaves; on an idle machine a render runs
at full speed, on a saturated one it waits (a download takes longer, a create does not). The bytes are the same
as in-process (one x264 thread, bit-exact muxing: `render_video` is a pure function of its spec).

At most `WORKERS` renders run at once (more wait their turn); a worker starts with the first render that needs
it (start-up stays fast) and then serves one spec at a time over its stdin/stdout (pickles), until the server
exits. Workers are plain `python -m runapi_mock.media.render_workers` processes, not multiprocessing's: those
re-import the parent's main script, which a script serving the mock without a `__main__` guard cannot survive.
Where a process cannot start, or a worker dies, the render runs in the calling thread: same bytes. A worker that
dies before its first reply (it cannot import the mock, say) turns the workers off for the process, so renders do
not pay a failed start each.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import signal
import subprocess
import sys
import threading
from typing import IO, Any

from .video import VideoSpec
from .video import render_video as render_here

__all__ = ["NICE", "WORKERS", "render_video", "shutdown"]

# CFS weight 110 against a request thread's 1024: a render sharing a core with the event loop gets about a tenth
# of it. Not 19 (weight 15): beside two busy programs of the user's a 1080p 10 s clip then took 11-12 s, past
# clients' timeouts (httpx's default is 5 s); 1.4-1.7 s at 10 (bench/README.md).
NICE = 10
WORKERS = max(1, min(2, os.cpu_count() or 1))


class _Failed(Exception):
    """The render raised in the worker (a bad spec): the worker is fine, the caller gets the error."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _command() -> list[str]:
    return [sys.executable, "-m", __name__]


class _Worker:
    """One worker process and its pipes; `served` counts its replies."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # import as the parent does
        self.served = 0
        self.proc = subprocess.Popen(_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        with contextlib.suppress(OSError, AttributeError):  # no setpriority (Windows): the default priority
            os.setpriority(os.PRIO_PROCESS, self.proc.pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICE))

    def render(self, spec: VideoSpec) -> bytes:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        pickle.dump(spec, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.flush()
        ok, value = pickle.load(self.proc.stdout)
        self.served += 1
        if not ok:
            raise _Failed(value)
        return bytes(value)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()  # the worker reads EOF and exits
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


_slots = threading.BoundedSemaphore(WORKERS)
_idle: list[_Worker] = []
_lock = threading.Lock()
_off = threading.Event()  # set when workers cannot run here: every render in the calling thread


def render_video(spec: VideoSpec) -> bytes:
    """`video.render_video(spec)` in a worker process (blocking: call it from a thread, as the file route does)."""
    if _off.is_set():
        return render_here(spec)
    with _slots:
        with _lock:
            worker = _idle.pop() if _idle else None
        if worker is None:
            try:
                worker = _Worker()
            except OSError:  # no processes here (a sandbox, an embedded interpreter): render in this thread
                _off.set()
                return render_here(spec)
        try:
            data = worker.render(spec)
        except _Failed as failed:
            with _lock:
                _idle.append(worker)
            raise failed.error from None
        except (OSError, EOFError, pickle.PickleError, ValueError):  # the worker died or garbled: drop it
            worker.close()
            if not worker.served:
                _off.set()
            return render_here(spec)
        with _lock:
            _idle.append(worker)
        return data


def shutdown() -> None:
    """Stop the idle workers (the next render starts new ones) and turn the workers back on."""
    _off.clear()
    with _lock:
        workers = list(_idle)
        _idle.clear()
    for worker in workers:
        worker.close()


atexit.register(shutdown)


def _serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The worker's loop: a spec in, (True, bytes) or (False, the error) out, until EOF."""
    while True:
        try:
            spec = pickle.load(requests)
        except EOFError:
            return
        reply: tuple[bool, Any]
        try:
            reply = (True, render_here(spec))
        except Exception as exc:  # the caller re-raises it
            reply = (False, exc)
        pickle.dump(reply, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which closes our stdin
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, never into the replies
    _serve(sys.stdin.buffer, replies)
