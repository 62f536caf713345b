"""Task lifecycle: the status paths and the progression modes that move a task along its path.

Status is computed from stored facts (created_at, reads, manual steps) and the clock, never by a timer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Status = Literal["pending", "processing", "completed", "failed"]
Outcome = Literal["completed", "failed", "stuck"]
Mode = Literal["auto", "polls", "immediate", "manual"]

_ASCII_DIGITS = re.compile(r"[0-9]{1,7}")
TERMINAL: frozenset[str] = frozenset({"completed", "failed"})
PATHS: dict[str, tuple[str, ...]] = {
    "completed": ("pending", "processing", "completed"),
    "failed": ("pending", "processing", "failed"),
    "stuck": ("pending", "processing"),
}


class InvalidProgression(ValueError):
    """A progression value that is not `auto`, `immediate`, `manual` or `polls:N`."""


@dataclass(frozen=True)
class Progression:
    """How a task moves: `auto` on the clock, `polls:N` per N status reads, `immediate`, or `manual`."""

    mode: Mode = "auto"
    polls: int = 1

    @classmethod
    def parse(cls, value: str) -> Progression:
        text = value.strip().lower()
        if text in ("auto", "immediate", "manual"):
            return cls(mode=text)  # type: ignore[arg-type]
        name, _, count = text.partition(":")
        if name == "polls" and _ASCII_DIGITS.fullmatch(count) and 1 <= int(count) <= 1_000_000:
            return cls(mode="polls", polls=int(count))
        raise InvalidProgression(
            f"invalid progression {value!r}: use auto, immediate, manual or polls:N (N >= 1)"
        )

    def __str__(self) -> str:
        return f"polls:{self.polls}" if self.mode == "polls" else self.mode


def step_at(
    progression: Progression,
    *,
    elapsed: float,
    reads: int,
    manual_steps: int,
    durations: tuple[float, float],
) -> int:
    """How many steps along its path a task has gone (0 = pending); may exceed the path's end."""
    if progression.mode == "auto":
        pending, processing = durations
        return 0 if elapsed < pending else 1 if elapsed < pending + processing else 2
    if progression.mode == "polls":
        return reads // progression.polls
    if progression.mode == "immediate":
        return 2 if reads >= 1 else 0
    return manual_steps


def status_on_path(outcome: str, step: int) -> str:
    path = PATHS[outcome]
    return path[min(step, len(path) - 1)]


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
