"""Callback delivery records: the ways a test asks for callbacks, and what each delivery and attempt did.

Plain data, no HTTP: the engine, the state store and the admin API use these; only callbacks.py sends.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_SECONDS = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?")


class InvalidCallbackMode(ValueError):
    """A callback mode that is not a comma list of `duplicate`, `early`, `delay:SECONDS`."""


@dataclass(frozen=True)
class CallbackMode:
    """Ways to test a handler: send twice with one id, send late, or send before the status shows the end."""

    duplicate: bool = False
    delay: float = 0.0
    early: bool = False

    @classmethod
    def parse(cls, value: str) -> CallbackMode:
        duplicate, delay, early = False, 0.0, False
        for part in filter(None, (p.strip().lower() for p in value.split(","))):
            name, _, arg = part.partition(":")
            if part == "duplicate":
                duplicate = True
            elif part == "early":
                early = True
            elif name == "delay" and _SECONDS.fullmatch(arg) and float(arg) <= 86400:
                delay = float(arg)
            else:
                raise InvalidCallbackMode(
                    f"invalid callback mode {part!r}: use duplicate, early, delay:SECONDS (comma-separated)"
                )
        return cls(duplicate, delay, early)


@dataclass
class Attempt:
    number: int
    at: float
    status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    timestamp: int | None = None
    headers: dict[str, str] | None = None  # as sent, signature included; None in --state files from before

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Delivery:
    id: str
    namespace: str
    task_id: str
    url: str
    body: bytes
    created_at: float
    state: str = "pending"  # pending | sending | delivered | exhausted | blocked
    reason: str | None = None
    next_attempt_at: float | None = None
    attempts: list[Attempt] = field(default_factory=list)
    copies_left: int = 0  # duplicate mode: sends still owed after a success

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "namespace": self.namespace, "task_id": self.task_id, "url": self.url,
            "state": self.state, "reason": self.reason, "created_at": self.created_at,
            "next_attempt_at": self.next_attempt_at, "attempts": [a.to_dict() for a in self.attempts],
            "payload": json.loads(self.body),
        }
