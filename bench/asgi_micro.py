"""In-process ASGI microbenchmark: the app's own cost per create, without HTTP framing or sockets.

Calls the mock's ASGI app (and the reference's) directly with a synthetic scope, so the figure is what the
app itself costs per request; the network bench (run.py) adds uvicorn/h11 on top for both sides.

    python bench/asgi_micro.py [-n 20000] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PATH = "/api/v1/flux_kontext/text_to_image"
BODY = json.dumps({"model": "flux-kontext-pro", "prompt": "a red bicycle leaning on a wall"}).encode()
HEADERS = [(b"host", b"127.0.0.1:8787"), (b"authorization", b"Bearer bench-key"),
           (b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


def scope() -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "server": ("127.0.0.1", 8787), "client": ("127.0.0.1", 50000), "scheme": "http", "method": "POST",
            "root_path": "", "path": PATH, "raw_path": PATH.encode(), "query_string": b"",
            "headers": list(HEADERS), "state": {}}


async def one(app: Any) -> int:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope(), receive, send)
    return sent[0]["status"]


async def drive(app: Any, n: int) -> float:
    """Mean microseconds per create, run inside the app's lifespan (the mock's scheduler runs meanwhile)."""
    async with app.router.lifespan_context(app):
        for _ in range(200):
            await one(app)
        started = time.perf_counter()
        for _ in range(n):
            status = await one(app)
            await asyncio.sleep(0)  # one event-loop turn per request, as a server gives background tasks
        elapsed = time.perf_counter() - started
        assert status == 200, status
        await asyncio.sleep(0.05)  # let the scheduler settle before the lifespan cancels it
    return elapsed / n * 1e6


def mock_app() -> Any:
    from runapi_mock.engine.lifecycle import Progression
    from runapi_mock.serving.app import create_app
    from runapi_mock.settings import Settings

    return create_app(Settings(progression=Progression.parse("immediate"), balance_cents=10 ** 12,
                               max_tasks_per_namespace=10 ** 7))


def best_of(app: Any, rounds: int, n: int) -> float:
    """The fastest of `rounds` runs: the least disturbed by other work on a shared machine."""
    return min(asyncio.run(drive(app, n)) for _ in range(rounds))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=5000, help="creates per run")
    parser.add_argument("--rounds", type=int, default=5, help="runs per app; the fastest counts")
    parser.add_argument("--profile", action="store_true", help="cProfile the mock's loop instead")
    parser.add_argument("--no-wake", action="store_true",
                        help="creates do not wake the scheduler (what it costs: the difference)")
    args = parser.parse_args()
    import reference_app

    if args.no_wake:
        from runapi_mock.background.scheduler import Scheduler

        Scheduler.wake = lambda self: None  # type: ignore[method-assign]

    mock = mock_app()
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        asyncio.run(drive(mock, args.n))
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
        return 0
    ref_us, mock_us = best_of(reference_app.app, args.rounds, args.n), best_of(mock, args.rounds, args.n)
    print(f"reference {ref_us:7.1f} us/create\nmock      {mock_us:7.1f} us/create  ({mock_us / ref_us:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
