"""Task lifecycle: the status paths and the progression modes that move a task along its path.

Status is computed from stored facts (created_at, reads, manual steps) and the clock, never by a timer. The
statuses, paths and progression syntax and arithmetic are the contracts' vocabulary; this module adds only
the server's scheduling of `auto` tasks.
"""

from __future__ import annotations

from runapi_contracts.vocabulary import (
    PATHS,
    TERMINAL,
    InvalidProgression,
    Mode,
    Outcome,
    Progression,
    Status,
    status_on_path,
)

__all__ = [
    "PATHS",
    "TERMINAL",
    "InvalidProgression",
    "Mode",
    "Outcome",
    "Progression",
    "Status",
    "next_change_in",
    "status_on_path",
    "step_at",
]


def step_at(
    progression: Progression,
    *,
    elapsed: float,
    reads: int,
    manual_steps: int,
    durations: tuple[float, float],
) -> int:
    """How many steps along its path a task has gone (0 = pending); may exceed the path's end."""
    return progression.step_at(elapsed=elapsed, reads=reads, manual_steps=manual_steps, durations=durations)


def next_change_in(progression: Progression, elapsed: float, durations: tuple[float, float]) -> float | None:
    """Seconds of clock time until an `auto` task next changes status (None when nothing is scheduled)."""
    if progression.mode != "auto":
        return None
    pending, processing = durations
    if elapsed < pending:
        return pending - elapsed
    if elapsed < pending + processing:
        return pending + processing - elapsed
    return None
