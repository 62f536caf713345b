"""Where a --state create's extra cost goes: the engine in-process, no HTTP, one create at a time, each waiting
for its commit; cProfile over the creating thread. The state section of bench/sections.py runs it.

    python bench/state_profile.py [--creates N]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BODY = {"model": "flux-kontext-pro", "prompt": "A lighthouse at dusk"}


def per_create_us(store: object, creates: int) -> float:
    """process_time per create (every thread of the process: the committer's work counts too)."""
    from runapi_contracts.validate import check_request
    from runapi_mock import Settings
    from runapi_mock.engine.tasks import TaskEngine

    normalized, _ = check_request("flux_kontext", "text_to_image", BODY)
    engine = TaskEngine(Settings(balance_cents=10**9), store)  # type: ignore[arg-type]
    ns = engine.namespace("bench")
    started = time.process_time()
    for _ in range(creates):
        _, _, pending = engine.create_pending(ns, "bench-key", "flux_kontext", "text_to_image", dict(normalized),
                                              origin="http://127.0.0.1:8787")
        if pending is not None:
            pending.wait()
    return (time.process_time() - started) / creates * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--creates", type=int, default=5000)
    creates = parser.parse_args(argv).creates
    from runapi_mock.background.state import StateStore
    from runapi_mock.engine.events import NullStore

    with tempfile.TemporaryDirectory() as folder:
        memory = per_create_us(NullStore(), creates)
        disk = per_create_us(StateStore(Path(folder) / "timed.db"), creates)
        profiler = cProfile.Profile()
        profiler.enable()
        per_create_us(StateStore(Path(folder) / "profiled.db"), creates)
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(14)
    table = out.getvalue()
    print(f"{creates:,} creates, CPU per create: in memory {memory:.0f} us, --state {disk:.0f} us\n")
    print(table[table.index("   ncalls"):].rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
