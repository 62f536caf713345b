"""When a ratio to the reference may be reported: only when wrk drove the load and the reference was saturated.

Saturated means two things in every run, both read from /proc:
- the generator kept it busy: its event-loop thread was runnable (on a CPU, or queued for one) for at least
  RUNNABLE_AT of the run's wall time (/proc/<pid>/schedstat: ns on a CPU, ns waiting in the run queue). A server
  waiting on its load generator sleeps in epoll, which is in neither figure;
- it had a core: its CPU time (utime + stime, /proc/<pid>/stat) was at least CPU_AT of the wall time. On a
  machine whose other jobs take the cores a server is runnable but queued, and both servers' rates then measure
  the scheduler's shares rather than their own cost per request (a ratio of ~0.7 where a quiet machine gives
  ~0.35), so no ratio is given.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUNNABLE_AT = 0.90
CPU_AT = 0.80


def schedstat_ns(pid: int) -> int:
    """Nanoseconds the process's main thread has been runnable: on a CPU plus waiting in the run queue."""
    on_cpu, waiting, _slices = Path(f"/proc/{pid}/schedstat").read_text().split()
    return int(on_cpu) + int(waiting)


@dataclass(frozen=True)
class Verdict:
    saturated: bool
    why: str


def judge(runnable_shares: list[float | None], cpu_shares: list[float | None], tool: str | None) -> Verdict:
    """Whether a server's runs may anchor a ratio: wrk drove them, and in each the server was busy on a core."""
    if tool != "wrk":
        return Verdict(False, "wrk is not installed: the load generator may be the bottleneck, so no ratio")
    runnable = [share for share in runnable_shares if share is not None]
    cpu = [share for share in cpu_shares if share is not None]
    if not runnable or len(runnable) != len(runnable_shares) or len(cpu) != len(runnable):
        return Verdict(False, "the server's runnable or CPU time could not be read from /proc, so no ratio")
    if min(runnable) < RUNNABLE_AT:
        return Verdict(False, f"not saturated: runnable {min(runnable):.0%} of a run's wall time, under "
                              f"{RUNNABLE_AT:.0%}: wrk, not the server, set the pace, so no ratio")
    if min(cpu) < CPU_AT:
        return Verdict(False, f"not saturated: busy but on {min(cpu):.2f} of a core in a run (under {CPU_AT:.2f}): "
                              "other jobs took the cores, so the rates measure the scheduler, not the servers; "
                              "no ratio")
    return Verdict(True, f"saturated: runnable ≥ {min(runnable):.0%} of every run's wall time, on ≥ {min(cpu):.2f} "
                         "of a core")


def ratio(value: float | None, base: float | None, verdict: Verdict) -> float | None:
    """value / base when the verdict allows a ratio and both figures exist; else None (the report says why)."""
    if not verdict.saturated or not value or not base:
        return None
    return value / base


def median(values: list[Any]) -> float | None:
    clean = [v for v in values if v is not None]
    return statistics.median(clean) if clean else None
