"""The profiled server: the mock served exactly as `runapi-mock serve` does, under pyinstrument (or cProfile),
until SIGINT; the profile section of bench/sections.py starts it.

    python bench/profiling.py --port PORT --out PATH
"""

from __future__ import annotations

import argparse
import re
import sys
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
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        try:
            serve_forever(settings, lambda url: None)
        except KeyboardInterrupt:
            pass
        session = profiler.stop()
        out.write_text(render_pyinstrument(session))
    else:
        import cProfile
        import io
        import pstats

        prof = cProfile.Profile()
        prof.enable()
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
        synthetic = frame.function in ("[self]", "[await]") or frame.is_synthetic
        key = parent if synthetic and parent else name(frame)
        if frame.function.endswith(("select", "poll")):
            idle += frame.time  # the event loop waiting for sockets: not work
            return
        own[key] = own.get(key, 0.0) + frame.total_self_time
        if key not in stack and not synthetic:
            incl[key] = incl.get(key, 0.0) + frame.time
        for child in frame.children:
            walk(child, stack | {key}, key)

    walk(root, frozenset(), "")
    busy = max(1e-9, root.time - idle)
    lines = [f"profiler: pyinstrument, {root.time:.2f}s sampled, {busy:.2f}s busy (select/poll waits excluded)",
             "", "## Own time (top 20, % of busy time)"]
    for key, value in sorted(own.items(), key=lambda kv: -kv[1])[:20]:
        lines.append(f"{100 * value / busy:5.1f}%  {key}")
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
