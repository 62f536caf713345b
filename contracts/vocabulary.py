"""The mock's control vocabulary, defined once: the server, its OpenAPI documents and the conformance kit
all take these names from here, so they cannot drift apart.

Statuses and their order, the terminal set, micro-cents, the progression syntax (one parser, and the
pattern the OpenAPI documents publish, built from the same definition) and its arithmetic, the scenario
names, the `X-Mock-*` header names and the shape of a journal entry. Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

__all__ = [
    "CALLBACK_MODE_HEADER",
    "FORCEABLE_STATUSES",
    "JOURNAL_ENTRY_SCHEMA",
    "JOURNAL_FIELDS",
    "JOURNAL_FILTERS",
    "MAX_POLLS",
    "MICROCENTS_PER_CENT",
    "MOCK_HEADERS",
    "NAMESPACE_HEADER",
    "NAMESPACE_PATTERN",
    "OUTCOMES",
    "PATHS",
    "PROGRESSION_HEADER",
    "PROGRESSION_MODES",
    "PROGRESSION_PATTERN",
    "RETRY_AFTER_HEADER",
    "SCENARIOS",
    "SCENARIO_HEADER",
    "SCENARIO_NAMES",
    "STATUSES",
    "TERMINAL",
    "InvalidProgression",
    "JournalEntry",
    "Mode",
    "Outcome",
    "Progression",
    "ScenarioName",
    "Status",
    "moves_forward",
    "rank",
    "status_on_path",
]

# -- statuses --------------------------------------------------------------------------------------------

Status = Literal["pending", "processing", "completed", "failed"]
STATUSES: tuple[Status, ...] = get_args(Status)  # in the order a task goes through them
TERMINAL: frozenset[str] = frozenset({"completed", "failed"})
FORCEABLE_STATUSES: tuple[Status, ...] = ("processing", "completed", "failed")  # POST /_mock/tasks/{id}/status

Outcome = Literal["completed", "failed", "stuck"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
PATHS: Mapping[str, tuple[Status, ...]] = {
    "completed": ("pending", "processing", "completed"),
    "failed": ("pending", "processing", "failed"),
    "stuck": ("pending", "processing"),
}


def rank(status: str) -> int:
    """How far along its path a status is: pending 0, processing 1, either terminal status 2."""
    return 2 if status in TERMINAL else STATUSES.index(status)


def moves_forward(before: str, after: str) -> bool:
    """Whether a later read may show `after` once `before` was seen: never back, never out of a terminal."""
    return after == before if before in TERMINAL else rank(after) >= rank(before)


def status_on_path(outcome: str, step: int) -> Status:
    """The status `step` steps along the path of a task with this outcome (the path's end past it)."""
    path = PATHS[outcome]
    return path[min(step, len(path) - 1)]


# -- money -----------------------------------------------------------------------------------------------

MICROCENTS_PER_CENT = 1_000_000  # amounts are integer micro-cents, so fractional prices (2.5 cents) add up

# -- progression -----------------------------------------------------------------------------------------

Mode = Literal["auto", "polls", "immediate", "manual"]
PROGRESSION_MODES: tuple[Mode, ...] = get_args(Mode)
MAX_POLLS = 1_000_000
_KEYWORDS = tuple(mode for mode in PROGRESSION_MODES if mode != "polls")
_COUNT = rf"[1-9][0-9]{{0,{len(str(MAX_POLLS)) - 2}}}|{MAX_POLLS}"  # 1..MAX_POLLS, no leading zeros


def _any_case(word: str) -> str:
    return "".join(f"[{ch.lower()}{ch.upper()}]" if ch.isalpha() else re.escape(ch) for ch in word)


# The one definition of the syntax: case-insensitive, spaces or tabs around it. Written in the subset of
# regular expressions that Python and ECMA-262 (JSON Schema, OpenAPI) read alike, so the published pattern
# and the parser below are the same expression.
PROGRESSION_PATTERN = (
    r"^[ \t]*(?:(" + "|".join(_any_case(word) for word in _KEYWORDS) + r")|"
    + _any_case("polls") + r":(" + _COUNT + r"))[ \t]*$"
)
_PROGRESSION = re.compile(PROGRESSION_PATTERN)


class InvalidProgression(ValueError):
    """A progression value that is not `auto`, `immediate`, `manual` or `polls:N`."""


@dataclass(frozen=True)
class Progression:
    """How a task moves: `auto` on the clock, `polls:N` per N status reads, `immediate`, or `manual`."""

    mode: Mode = "auto"
    polls: int = 1

    @classmethod
    def parse(cls, value: str) -> Progression:
        found = _PROGRESSION.fullmatch(value)
        if found is None:
            raise InvalidProgression(
                f"invalid progression {value!r}: use auto, immediate, manual or polls:N (1 <= N <= {MAX_POLLS})"
            )
        keyword, count = found.groups()
        if keyword is not None:
            return cls(mode=keyword.lower())  # type: ignore[arg-type]
        return cls(mode="polls", polls=int(count))

    def __str__(self) -> str:
        return f"polls:{self.polls}" if self.mode == "polls" else self.mode

    def step_at(self, *, elapsed: float, reads: int, manual_steps: int, durations: tuple[float, float]) -> int:
        """How many steps along its path a task has gone (0 = pending); may exceed the path's end.

        `durations` are the seconds an `auto` task spends pending and processing; `reads` counts the status
        reads by its owner, the read being answered included.
        """
        if self.mode == "auto":
            pending, processing = durations
            return 0 if elapsed < pending else 1 if elapsed < pending + processing else 2
        if self.mode == "polls":
            return reads // self.polls
        if self.mode == "immediate":
            return 2 if reads >= 1 else 0
        return manual_steps

    def reads_to_step(self, step: int) -> int | None:
        """The number (from 1) of the first status read that shows `step` steps gone; None when reads do not
        move this progression (`auto`, `manual`). The least `reads` with `step_at(reads=...) >= step`."""
        if self.mode == "polls":
            return max(1, step * self.polls)
        if self.mode == "immediate":
            return 1
        return None


# -- scenarios -------------------------------------------------------------------------------------------

ScenarioName = Literal[
    "success", "failed", "content_policy", "stuck", "insufficient_credits", "rate_limited", "unavailable",
    "unavailable_455", "server_error", "unauthorized", "flaky",
]
SCENARIO_NAMES: tuple[ScenarioName, ...] = get_args(ScenarioName)
SCENARIOS: Mapping[ScenarioName, str] = {
    "success": "The task completes.",
    "failed": "The task ends failed.",
    "content_policy": "The task ends failed with a content-policy error.",
    "stuck": "The task never leaves processing.",
    "insufficient_credits": "402 on this request.",
    "rate_limited": "429 with Retry-After (default 2 s; X-Mock-Retry-After overrides).",
    "unavailable": "503 with Retry-After.",
    "unavailable_455": "455, RunAPI's transient status.",
    "server_error": "500.",
    "unauthorized": "401.",
    "flaky": "The first two attempts of the same request get 503, then it succeeds.",
}

# -- headers ---------------------------------------------------------------------------------------------

NAMESPACE_HEADER = "X-Mock-Namespace"
SCENARIO_HEADER = "X-Mock-Scenario"
PROGRESSION_HEADER = "X-Mock-Progression"
RETRY_AFTER_HEADER = "X-Mock-Retry-After"
CALLBACK_MODE_HEADER = "X-Mock-Callback-Mode"
MOCK_HEADERS = (SCENARIO_HEADER, PROGRESSION_HEADER, RETRY_AFTER_HEADER, CALLBACK_MODE_HEADER, NAMESPACE_HEADER)
# The value of X-Mock-Namespace and of a /ns/<name>/ prefix: 1-64 letters, digits, '_', '.', '-', but not `.` or
# `..` (path segments). Written for JSON Schema (ECMA-262); in Python match it with `fullmatch`, since `$` also
# matches before a trailing newline.
NAMESPACE_PATTERN = r"^(?!\.\.?$)[A-Za-z0-9_.-]{1,64}$"

# -- the journal -----------------------------------------------------------------------------------------

JournalEntry = Mapping[str, Any]  # one entry as GET /_mock/journal returns it (JOURNAL_ENTRY_SCHEMA)


def _nullable(kind: str) -> dict[str, Any]:
    return {"type": [kind, "null"]}


_JOURNAL_PROPERTIES: dict[str, Any] = {
    "seq": {"type": "integer", "minimum": 1, "description": "order of arrival in the namespace"},
    "at": {"type": "number", "description": "the namespace clock"},
    "wall": {"type": "number", "description": "server monotonic time, for judging pacing in real time"},
    "method": {"type": "string"},
    "path": {"type": "string"},
    "status": {"type": "integer"},
    "key": _nullable("string"),
    "task_id": _nullable("string"),
    "scenario": _nullable("string"),
    "model": _nullable("string"),
    "idempotency_key": _nullable("string"),
    "client_request_id": _nullable("string"),
    "request_body": {"description": "the parsed JSON body, when there was one; when it was longer than the "
                                    "journal keeps (--journal-body-bytes), its first bytes as text"},
    "request_body_size": {"type": ["integer", "null"], "minimum": 0,
                          "description": "the body's size in bytes when request_body holds only its head (null: "
                                         "request_body is the whole body)"},
    "error_code": _nullable("string"),
    "retry_after": _nullable("string"),
    "duration_ms": {"type": "number", "minimum": 0},
    "violations": {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "string"}}},
}
JOURNAL_ENTRY_SCHEMA: Mapping[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "journal entry",
    "description": "What one request asked and got, as GET /_mock/journal lists it (newest first).",
    "type": "object",
    "required": list(_JOURNAL_PROPERTIES),
    "additionalProperties": False,
    "properties": _JOURNAL_PROPERTIES,
}
JOURNAL_FIELDS: tuple[str, ...] = tuple(_JOURNAL_PROPERTIES)
JOURNAL_FILTERS = ("method", "path", "status", "key", "task_id", "scenario", "model")  # query parameters
