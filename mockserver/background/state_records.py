"""The --state store's rows: plain JSON records for each kind (task, account, namespace, upload, delivery) and
back, and the statements a batch runs. Kept apart from state.py, which queues, commits and loads them.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import operator
from typing import Any

from .. import fast_json
from ..engine.delivery import Attempt, CallbackMode, Delivery
from ..engine.ledger import Account
from ..engine.lifecycle import Progression
from ..engine.model import Namespace, NamespaceState, SourceImage, SourceMedia, Task, Upload

NAMESPACED_TABLES = ("tasks", "accounts", "idempotency", "deliveries", "uploads")


def runs(rows: list[tuple[str, tuple[Any, ...]]]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The batch's rows as runs of one statement each, for executemany.

    Without a DELETE every statement is an upsert of its own table, so statements of different tables commute
    and rows are grouped by statement (in order within each: the last write of a row wins, as before). With a
    DELETE (a forgotten task, a reset) only consecutive rows are grouped: the order stays exactly as marked.
    """
    if any(sql.startswith("DELETE") for sql, _ in rows):
        found: list[tuple[str, list[tuple[Any, ...]]]] = []
        for sql, params in rows:
            if found and found[-1][0] == sql:
                found[-1][1].append(params)
            else:
                found.append((sql, [params]))
        return found
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for sql, params in rows:
        grouped.setdefault(sql, []).append(params)
    return list(grouped.items())


def delete_namespace(name: str | None) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements that forget namespace `name` (None: every namespace) in every table."""
    if name is None:
        return [(f"DELETE FROM {table}", ()) for table in (*NAMESPACED_TABLES, "namespaces")]
    return [*((f"DELETE FROM {table} WHERE namespace = ?", (name,)) for table in NAMESPACED_TABLES),
            ("DELETE FROM namespaces WHERE name = ?", (name,))]


# json.dumps() with options builds a new encoder per call; this one gives the same text.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dump(record: dict[str, Any]) -> str:
    """A record as the compact JSON a row holds: orjson's (fast_json), the stdlib encoder's where orjson's could
    differ, so every record that was storable still is, read back as the same value (the encoding was most of
    the committer's work per create, issue 24)."""
    written = fast_json.dumps(record)
    return written.decode("utf-8") if written is not None else _ENCODER.encode(record)


def encoded(rows: list[tuple[str, tuple[Any, ...]]]) -> list[tuple[str, tuple[Any, ...]]]:
    """`rows` with each record (a dict parameter) as the JSON its row holds: the committer's work."""
    return [(sql, tuple(dump(p) if p.__class__ is dict else dump(p.record()) if p.__class__ is TaskSnapshot else p
                        for p in params)) for sql, params in rows]


_TASK_FIELDS = tuple(f.name for f in dataclasses.fields(Task))
_MEDIA_FIELDS = tuple(f.name for f in dataclasses.fields(SourceMedia) if f.name != "data")
_DELIVERY_FIELDS = tuple(f.name for f in dataclasses.fields(Delivery))


_TASK_VALUES = operator.attrgetter(*_TASK_FIELDS)


class TaskSnapshot:
    """A task's fields as they stand, taken under the engine's lock in one C call (attrgetter); its record is
    built from them by the committer, off the lock. `history` is the one member the engine changes in place, so
    it is copied; every other member is immutable or replaced whole (progression, callback mode, sources)."""

    __slots__ = ("history", "values")

    def __init__(self, task: Task) -> None:
        self.values: tuple[Any, ...] = _TASK_VALUES(task)
        self.history = list(task.history)

    def record(self) -> dict[str, Any]:
        # Shallow, by hand: dataclasses.asdict deep-copies every value and was half the cost of a create.
        record = dict(zip(_TASK_FIELDS, self.values, strict=True))
        record["history"] = self.history
        progression = record["progression"]
        record["progression"] = {"mode": progression.mode, "polls": progression.polls}
        mode = record["callback_mode"]
        record["callback_mode"] = {"duplicate": mode.duplicate, "delay": mode.delay, "early": mode.early} \
            if mode else None
        source = record["source"]  # the source image's bounded copy, base64: a restored task still renders
        record["source"] = {"data": base64.b64encode(source.data).decode("ascii"), "width": source.width,
                            "height": source.height, "label": source.label} if source else None
        # Other kinds' sources: facts, a task reference, or an upload's bounded bytes (base64).
        record["media"] = [{**{f: getattr(m, f) for f in _MEDIA_FIELDS},
                            "data": base64.b64encode(m.data).decode("ascii") if m.data is not None else None}
                           for m in record["media"]]
        return record


def task_record(task: Task) -> dict[str, Any]:
    """The task's record as its row holds it (before JSON)."""
    return TaskSnapshot(task).record()


def task_from_record(record: dict[str, Any]) -> Task:
    record = dict(record)
    record["progression"] = Progression(**record["progression"])
    record["callback_mode"] = CallbackMode(**record["callback_mode"]) if record.get("callback_mode") else None
    record["durations"] = tuple(record["durations"])
    record["failure"] = tuple(record["failure"])
    record["history"] = [tuple(item) for item in record["history"]]
    source = record.get("source")  # absent from files written before source images
    record["source"] = SourceImage(base64.b64decode(source["data"]), source["width"], source["height"],
                                   source["label"]) if source else None
    record["media"] = tuple(SourceMedia(**{**m, "data": base64.b64decode(m["data"]) if m.get("data") else None})
                            for m in record.get("media") or ())  # absent from files written before video
    return Task(**record)


def account_record(account: Account) -> dict[str, Any]:
    # Reservations are not stored: they are exactly the prices of the tasks still running. Resources are copied
    # down to their records (which are never changed in place, only replaced): the store compares this record
    # with the one it last wrote, and the account's own dicts, changed in place, would always compare equal.
    return {"credit": account.credit, "spent": account.spent,
            "spent_by_day": {str(day): amount for day, amount in account.spent_by_day.items()},
            "name": account.name, "email": account.email,
            "resources": {kind: dict(records) for kind, records in account.resources.items()}}


def account_from_record(record: dict[str, Any]) -> Account:
    return Account(credit=record["credit"], spent=record["spent"],
                   spent_by_day={int(day): amount for day, amount in record["spent_by_day"].items()},
                   name=record.get("name"), email=record.get("email"),  # absent from files written before
                   resources=record.get("resources", {}))


def namespace_record(ns: Namespace) -> dict[str, Any]:
    offset, frozen_at = ns.clock.state()
    return {"clock_offset": offset, "clock_frozen_at": frozen_at,
            "progression": dataclasses.asdict(ns.progression) if ns.progression else None,
            "callback_mode": dataclasses.asdict(ns.callback_mode) if ns.callback_mode else None,
            "starting_microcents": ns.ledger.starting}


def namespace_from_record(name: str, record: dict[str, Any]) -> NamespaceState:
    return NamespaceState(
        name=name, clock_offset=record["clock_offset"], clock_frozen_at=record["clock_frozen_at"],
        progression=Progression(**record["progression"]) if record["progression"] else None,
        callback_mode=CallbackMode(**record["callback_mode"]) if record["callback_mode"] else None,
        starting_microcents=record.get("starting_microcents"),  # absent from files written before it was kept
    )


_UPLOAD_FIELDS = tuple(f.name for f in dataclasses.fields(Upload) if f.name not in ("namespace", "data"))


def upload_record(upload: Upload) -> dict[str, Any]:
    """An upload's row but its bytes (a BLOB column of their own) and namespace (the key's)."""
    return {name: getattr(upload, name) for name in _UPLOAD_FIELDS}


def delivery_record(delivery: Delivery) -> dict[str, Any]:
    record = {name: getattr(delivery, name) for name in _DELIVERY_FIELDS}
    record["attempts"] = [attempt.to_dict() for attempt in delivery.attempts]
    record["body"] = delivery.body.decode("ascii")  # payload() writes ASCII-only JSON
    return record


def delivery_from_record(record: dict[str, Any]) -> Delivery:
    record = dict(record)
    record["body"] = record["body"].encode("ascii")
    record["attempts"] = [Attempt(**attempt) for attempt in record["attempts"]]
    return Delivery(**record)


# What load() reads of each table, rowid first, in the order rows were written.
LOADS = {
    "namespaces": "SELECT rowid, name, record FROM namespaces ORDER BY rowid",
    "tasks": "SELECT rowid, namespace, record FROM tasks ORDER BY rowid",
    "accounts": "SELECT rowid, namespace, key, record FROM accounts",
    "idempotency": "SELECT rowid, * FROM idempotency",
    "deliveries": "SELECT rowid, namespace, record FROM deliveries ORDER BY rowid",
    "uploads": "SELECT rowid, namespace, record, data FROM uploads ORDER BY rowid",
}
