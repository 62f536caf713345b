"""The create runs: every server up at once (bare reference, mock, mock with --state, WireMock, Prism), driven one
at a time by the same generator with the same body, alternating run by run so a machine that speeds up or slows
down moves them all. Each run records the server's CPU time (/proc/<pid>/stat) and its event-loop thread's
runnable time (/proc/<pid>/schedstat), from which saturation.py decides whether ratios may be reported."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import saturation
import wrk
from drivers import drive_create
from servers import Server, http, running


@dataclass
class Target:
    """A server in the run: `reset` clears the mock's tasks before each run (each starts from an empty
    namespace); `warmup_s` is its warm-up load (the JVM's JIT needs more than Python); `one_loop` says the
    server does its work on its main thread (Python, node), so that thread's runnable time shows saturation
    (the JVM's main thread only launches its worker threads)."""

    name: str
    server: Server
    reset: bool = False
    warmup_s: int = 1
    one_loop: bool = True


def measure(tool: str, target: Target, load: wrk.Load) -> dict[str, Any]:
    """One run against one server: the generator's figures plus the server's CPU and runnable time."""
    server = target.server
    assert server.proc is not None
    if target.reset:
        status, _ = http("POST", server.port, "/_mock/reset?all=1")
        assert status == 200, status
    pid = server.proc.pid if target.one_loop else None
    cpu, runnable, started = server.cpu_seconds(), _runnable_ns(pid), time.perf_counter()
    result = drive_create(tool, server, load)
    wall = time.perf_counter() - started
    cpu = server.cpu_seconds() - cpu
    after = _runnable_ns(pid)
    result.update(
        wall_s=round(wall, 3), cpu_s=round(cpu, 3), cpu_share=cpu / wall,
        cpu_per_1000_s=cpu / result["requests"] * 1000 if result["requests"] else None,
        runnable_share=(after - runnable) / 1e9 / wall if after is not None and runnable is not None else None)
    return result


def _runnable_ns(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        return saturation.schedstat_ns(pid)
    except (OSError, ValueError):
        return None


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of a server's runs at one load; every run is kept for the report."""
    keys = ("rate", "p50_ms", "p99_ms", "cpu_per_1000_s", "cpu_share", "runnable_share", "wrk_cpu_share")
    return {**{key: saturation.median([run.get(key) for run in runs]) for key in keys},
            "errors": sum(run["errors"] for run in runs), "runs": runs}


def interleaved(tool: str, targets: list[Target], loads: dict[str, wrk.Load], runs: int,
                log: Callable[[str], None]) -> dict[str, Any]:
    """Start every target, warm each up, then for each load: `runs` rounds, each round one run per target."""
    tables: dict[str, dict[str, Any]] = {key: {} for key in loads}
    startup: dict[str, float | None] = {}
    with contextlib.ExitStack() as stack:
        for target in targets:
            stack.enter_context(running(target.server))
            startup[target.name] = target.server.startup_s
            log(f"  {target.name} up in {target.server.startup_s:.2f}s; warm-up {target.warmup_s}s")
            drive_create(tool, target.server, wrk.Load(*wrk.LOAD, target.warmup_s))
        for key, load in loads.items():
            per: dict[str, list[dict[str, Any]]] = {target.name: [] for target in targets}
            for round_ in range(runs):
                for target in targets:
                    per[target.name].append(measure(tool, target, load))
                log(f"  {key}: round {round_ + 1}/{runs}: " + ", ".join(
                    f"{name} {values[-1]['rate']:,.0f}/s" for name, values in per.items()))
            tables[key] = {name: summary(values) for name, values in per.items()}
    return {"tables": tables, "startup_s": startup,
            "loads": {key: {"threads": load.threads, "connections": load.connections,
                            "duration_s": load.duration_s} for key, load in loads.items()}}
