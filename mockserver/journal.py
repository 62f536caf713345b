"""The request journal: what each request asked and got, bounded, newest first."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from runapi_contracts.vocabulary import JOURNAL_FIELDS


@dataclass(slots=True)
class Entry:
    """One request; `to_dict()` is the vocabulary's journal entry shape (`JOURNAL_ENTRY_SCHEMA`)."""

    seq: int
    at: float  # the namespace clock
    wall: float  # time.monotonic(), for judging client pacing in real time
    method: str
    path: str
    status: int = 0
    key: str | None = None
    task_id: str | None = None
    scenario: str | None = None
    model: str | None = None
    idempotency_key: str | None = None
    client_request_id: str | None = None
    request_body: Any = None
    request_body_size: int | None = None  # set when request_body is only the head of a longer body
    error_code: str | None = None
    retry_after: str | None = None
    duration_ms: float = 0.0
    violations: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in JOURNAL_FIELDS}



def kept_body(body: Any, raw: bytes, limit: int) -> tuple[Any, int | None]:
    """(what the journal keeps of a request body, its size when cut): the parsed body while its JSON text is at
    most `limit` bytes, else the text's first `limit` bytes (decoded, a split character replaced) and the size.
    So a journal of N entries holds at most N x limit bytes of bodies, whatever clients send."""
    if len(raw) <= limit:
        return body, None
    return raw[:limit].decode("utf-8", "replace"), len(raw)


class Journal:
    """A ring buffer of entries; the oldest fall off once `maxlen` is reached."""

    def __init__(self, maxlen: int) -> None:
        self._entries: deque[Entry] = deque(maxlen=maxlen)
        self._seq = 0

    def append(self, entry: Entry) -> Entry:
        self._seq += 1
        entry.seq = self._seq
        self._entries.append(entry)
        return entry

    def next_seq(self) -> int:
        return self._seq + 1

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    def query(self, limit: int = 100, offset: int = 0, **filters: Any) -> list[Entry]:
        """Newest first, past the first `offset` matches; `path` matches as a prefix, other filters exactly."""
        found: list[Entry] = []
        for entry in reversed(self._entries):
            if all(_matches(entry, name, value) for name, value in filters.items() if value is not None):
                if offset > 0:
                    offset -= 1
                    continue
                found.append(entry)
                if len(found) >= limit:
                    break
        return found


def _matches(entry: Entry, name: str, value: Any) -> bool:
    actual = getattr(entry, name)
    if name == "path":
        return isinstance(actual, str) and actual.startswith(str(value))
    if name == "status":
        return str(actual) == str(value)
    if name == "method":
        return str(actual).upper() == str(value).upper()
    return bool(actual == value)
