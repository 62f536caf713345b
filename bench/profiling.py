"""The profiled server: the mock served exactly as `runapi-mock serve` does, profiled by pyinstrument (or cProfile)
from SIGUSR1 to SIGINT, so start-up and the warm-up load stay out of the profile; the profile section of
bench/sections.py starts it, warms it up, sends SIGUSR1, drives it with wrk, then stops it.

    python bench/profiling.py --port PORT --out PATH
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

from servers import BIG_BALANCE, HOST, ROOT

sys.path.insert(0, str(ROOT))


def profile_child(port: int, out: Path) -> int:
    """Serve the mock exactly as `runapi-mock serve` does, under pyinstrument (or cProfile), until SIGINT."""
    from runapi_mock.cli import settings_from_args
    from runapi_mock.server import serve_forever

    args = ["--host", HOST, "--port", str(port), "--progression", "immediate", "--balance", str(BIG_BALANCE)]
    settings = settings_from_args(args).replace(callback_secret="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    try:
        from pyinstrument import Profiler  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        Profiler = None
    if Profiler is not None:
        from pyinstrument.stack_sampler import get_stack_sampler  # type: ignore[import-not-found, unused-ignore]

        # Samples on the event-loop thread's CPU clock: time the process waits for a core (a loaded machine) is
        # not charged to the frame it was preempted in (with wall time, `send`, whose write wakes wrk, took it).
        get_stack_sampler().timer_func = time.thread_time
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        signal.signal(signal.SIGUSR1, lambda *_: profiler.start())
        try:
            serve_forever(settings, lambda url: None)
        except KeyboardInterrupt:
            pass
        if not profiler.is_running:
            out.write_text("(SIGUSR1 never came: nothing was profiled)\n")
            return 1
        session = profiler.stop()
        out.write_text(render_pyinstrument(session))
    else:
        import cProfile
        import io
        import pstats

        prof = cProfile.Profile()
        signal.signal(signal.SIGUSR1, lambda *_: prof.enable())
        try:
            serve_forever(settings, lambda url: None)
        except KeyboardInterrupt:
            pass
        prof.disable()
        buf = io.StringIO()
        buf.write("profiler: cProfile (pyinstrument not installed)\n\n## by own time\n")
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(25)
        buf.write("\n## by cumulative time\n")
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(40)
        out.write_text(buf.getvalue())
    return 0


IDLE = ("select", "poll", "epoll", "_run_once", "run_forever", "sleep")


def render_pyinstrument(session: Any) -> str:
    """Own and inclusive time per function, as % of the busy (non-idle) samples."""
    root = session.root_frame()
    own: dict[str, float] = {}
    incl: dict[str, float] = {}

    def name(frame: Any) -> str:
        path = (frame.file_path_short or "?").replace(str(ROOT) + "/", "")
        path = re.sub(r".*site-packages/", "", path)
        return f"{frame.function} ({path}:{frame.line_no})"

    idle = 0.0

    def walk(frame: Any, stack: frozenset[str], parent: str) -> None:
        nonlocal idle
        if frame.is_synthetic and parent:
            return  # [self]/[await] time is already in the parent's total_self_time
        key = name(frame)
        if frame.function.endswith(("select", "poll")):
            idle += frame.time  # the event loop waiting for sockets: not work
            return
        own[key] = own.get(key, 0.0) + frame.total_self_time
        if key not in stack:
            incl[key] = incl.get(key, 0.0) + frame.time
        for child in frame.children:
            walk(child, stack | {key}, key)

    walk(root, frozenset(), "")
    busy = max(1e-9, root.time - idle)
    lines = [f"profiler: pyinstrument on the event-loop thread's CPU clock (time.thread_time), {root.time:.2f}s of "
             f"CPU sampled, {busy:.2f}s outside select/poll",
             "", "## Own time (top 20, % of busy time)"]
    for key, value in sorted(own.items(), key=lambda kv: -kv[1])[:20]:
        lines.append(f"{100 * value / busy:5.1f}%  {key}")
    lines += ["", "## Own time by file (top 15, % of busy time): where a cut can land"]
    files: dict[str, float] = {}
    for key, value in own.items():
        where = key.rsplit("(", 1)[-1].rsplit(":", 1)[0]
        files[where] = files.get(where, 0.0) + value
    for where, value in sorted(files.items(), key=lambda kv: -kv[1])[:15]:
        lines.append(f"{100 * value / busy:5.1f}%  {where}")
    lines += ["", "## Inclusive time of the project's own functions (top 25, % of busy time)"]
    mine = [(k, v) for k, v in incl.items() if "(mockserver/" in k or "(contracts/" in k]
    for key, value in sorted(mine, key=lambda kv: -kv[1])[:25]:
        lines.append(f"{100 * value / busy:5.1f}%  {key}")
    lines += ["", "## Inclusive time of library functions on the request path (top 25)"]
    libs = [(k, v) for k, v in incl.items() if any(f"({lib}/" in k for lib in
                                                   ("starlette", "uvicorn", "jsonschema", "h11", "json",
                                                    "referencing", "uuid", "httpx"))]
    for key, value in sorted(libs, key=lambda kv: -kv[1])[:25]:
        lines.append(f"{100 * value / busy:5.1f}%  {key}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    return profile_child(args.port, args.out)


if __name__ == "__main__":
    sys.exit(main())
