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
    callback: bool = False,
) -> int:
    """How many steps along its path a task has gone (0 = pending); may exceed the path's end.

    `immediate` ends a task with a callback_url without waiting for a read: its callback is how a client
    that never polls hears of its end.
    """
    if callback and progression.mode == "immediate":
        return len(PATHS["completed"]) - 1
    return progression.step_at(elapsed=elapsed, reads=reads, manual_steps=manual_steps, durations=durations)


def next_change_in(progression: Progression, elapsed: float, durations: tuple[float, float], *,
                   step: int = 0, callback: bool = False) -> float | None:
    """Seconds of clock time until a task next changes status without a read (None when nothing is scheduled):
    an `auto` task on its timings, an `immediate` one with a callback_url at once (see `step_at`)."""
    if callback and progression.mode == "immediate":
        return 0.0 if step < len(PATHS["completed"]) - 1 else None
    if progression.mode != "auto":
        return None
    pending, processing = durations
    if elapsed < pending:
        return pending - elapsed
    if elapsed < pending + processing:
        return pending + processing - elapsed
    return None
