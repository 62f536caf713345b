"""--state against memory in-process, 32 creates in flight through the ASGI app: CPU per create (every thread:
the committer's encoding and SQLite work count), and how many transactions the creates went to disk in.

state_profile.py waits for each create's commit before the next (one transaction per create); a server under
load has many creates waiting at once, so they share commits: this is that case, without sockets.

    python bench/state_concurrent.py [-n 6400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asgi_micro

IN_FLIGHT = 32


def app(state_path: str | None) -> Any:
    from runapi_mock.engine.lifecycle import Progression
    from runapi_mock.serving.app import create_app
    from runapi_mock.settings import Settings

    return create_app(Settings(progression=Progression.parse("immediate"), balance_cents=10 ** 12,
                               max_tasks_per_namespace=10 ** 7, state_path=state_path))


async def drive(target: Any, creates: int) -> float:
    """CPU microseconds per create (process_time: every thread), IN_FLIGHT at once, after a warm-up."""
    async with target.router.lifespan_context(target):
        async def worker(count: int) -> None:
            for _ in range(count):
                assert await asgi_micro.one(target) == 200

        await asyncio.gather(*(worker(20) for _ in range(IN_FLIGHT)))
        started = time.process_time()
        await asyncio.gather(*(worker(creates // IN_FLIGHT) for _ in range(IN_FLIGHT)))
        return (time.process_time() - started) / creates * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=6400, help="creates per run")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from runapi_mock.background.state import StateStore

    transactions = 0
    write = StateStore._write

    def counted(self: StateStore, rows: list[tuple[str, tuple[Any, ...]]]) -> None:
        nonlocal transactions
        transactions += 1
        write(self, rows)

    StateStore._write = counted  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as folder:
        for run in range(args.rounds):
            memory = asyncio.run(drive(app(None), args.n))
            transactions = 0
            disk = asyncio.run(drive(app(str(Path(folder) / f"run{run}.db")), args.n))
            print(f"CPU per create: in memory {memory:6.1f} us, --state {disk:6.1f} us ({disk / memory:.2f}x); "
                  f"{transactions} transactions for {args.n + 20 * IN_FLIGHT} creates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
