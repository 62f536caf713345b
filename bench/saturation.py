"""When a ratio to the reference may be reported: only when wrk drove the load and the reference was saturated.

Saturated means the reference's event-loop thread was runnable (on a CPU, or queued for one) for at least
SATURATED_AT of each run's wall time, read from /proc/<pid>/schedstat (time on a CPU and time waiting in the run
queue, ns). A server that waits on its load generator sleeps in epoll, and that time is in neither figure, so a
generator too slow to keep it busy shows as a share well under 1. This holds on a loaded machine too, where the
server's CPU share (utime + stime over wall time, also reported) drops because others take the cores while the
server is still the bottleneck.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SATURATED_AT = 0.90


def schedstat_ns(pid: int) -> int:
    """Nanoseconds the process's main thread has been runnable: on a CPU plus waiting in the run queue."""
    on_cpu, waiting, _slices = Path(f"/proc/{pid}/schedstat").read_text().split()
    return int(on_cpu) + int(waiting)


@dataclass(frozen=True)
class Verdict:
    saturated: bool
    why: str


def judge(runnable_shares: list[float | None], tool: str | None) -> Verdict:
    """Whether the reference's runs may anchor a ratio: wrk drove them and each run kept the reference busy."""
    if tool != "wrk":
        return Verdict(False, "wrk is not installed: the load generator may be the bottleneck, so no ratio")
    shares = [share for share in runnable_shares if share is not None]
    if not shares or len(shares) != len(runnable_shares):
        return Verdict(False, "the reference's runnable time could not be read from /proc, so no ratio")
    low = min(shares)
    if low < SATURATED_AT:
        return Verdict(False, f"the reference was not saturated (runnable {low:.0%} of a run's wall time, under "
                              f"{SATURATED_AT:.0%}): wrk, not the server, set the pace, so no ratio")
    return Verdict(True, f"the reference was saturated (runnable ≥ {low:.0%} of every run's wall time)")


def ratio(value: float | None, base: float | None, verdict: Verdict) -> float | None:
    """value / base when the verdict allows a ratio and both figures exist; else None (the report says why)."""
    if not verdict.saturated or not value or not base:
        return None
    return value / base


def median(values: list[Any]) -> float | None:
    clean = [v for v in values if v is not None]
    return statistics.median(clean) if clean else None
