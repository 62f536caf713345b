"""`--state PATH`: the engine's state in SQLite, so tasks, credits, the secret and owed callbacks survive restarts.

Write-through: the engine's and the dispatcher's events mark what an operation changed (`record`), and
`flush()` commits it in one transaction before the operation returns, so a task whose create was answered 2xx is on disk even if the process is then killed
(WAL journal; a killed process loses nothing committed, only a power cut could). The journal, scenario
rules, rate-limit windows and the image cache are not kept: they describe a run, not the account.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .delivery import Attempt, CallbackMode, Delivery
from .events import (
    DeliveryChanged,
    DeliveryForgotten,
    Event,
    NamespaceChanged,
    NamespaceReset,
    TaskCreated,
    TaskForgotten,
    TaskMoved,
    TaskTerminal,
    TaskUpdated,
)
from .ledger import Account
from .lifecycle import Progression
from .model import Namespace, NamespaceState, Snapshot, Task

SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS namespaces (name TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (namespace TEXT NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL,
                                  PRIMARY KEY (namespace, id));
CREATE TABLE IF NOT EXISTS accounts (namespace TEXT NOT NULL, key TEXT NOT NULL, record TEXT NOT NULL,
                                     PRIMARY KEY (namespace, key));
CREATE TABLE IF NOT EXISTS idempotency (namespace TEXT NOT NULL, key TEXT NOT NULL, idempotency_key TEXT NOT NULL,
                                        fingerprint TEXT NOT NULL, task_id TEXT NOT NULL,
                                        PRIMARY KEY (namespace, key, idempotency_key));
CREATE TABLE IF NOT EXISTS deliveries (namespace TEXT NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL,
                                       PRIMARY KEY (namespace, id));
"""
_NAMESPACED_TABLES = ("tasks", "accounts", "idempotency", "deliveries")


class StateError(ValueError):
    """The state file cannot be used (not SQLite, or written by an incompatible version)."""


class StateStore:
    """One SQLite file; changes are marked as they happen and committed together by `flush()`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StateError(f"cannot use {self.path} as a state file: {exc}") from None
        version = self.get_meta("schema_version")
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise StateError(f"{self.path} holds state version {version}; this runapi-mock reads {SCHEMA_VERSION}")
        self._clear_marks()

    def _clear_marks(self) -> None:
        self._tasks: dict[tuple[str, str], Task | None] = {}  # None: forget the task
        self._accounts: dict[tuple[str, str], Account] = {}
        self._namespaces: dict[str, Namespace] = {}
        self._deliveries: dict[tuple[str, str], Delivery | None] = {}
        self._idempotency: list[tuple[str, str, str, str, str]] = []
        self._dropped: list[str | None] = []  # namespaces reset (None: all of them)

    # -- marking (cheap; called under the engine's lock) ---------------------------------------------------

    def record(self, event: Event) -> None:
        """Mark what `event` changed, to be written at the next flush."""
        _MARKS[type(event)](self, event)

    def _created(self, event: TaskCreated) -> None:
        self.task(event.namespace, event.task)
        if event.idempotency_key is not None:
            self.idempotency(event.namespace, event.task.key, event.idempotency_key, event.fingerprint,
                             event.task.id)

    def _changed(self, event: TaskUpdated | TaskMoved | TaskTerminal) -> None:
        self.task(event.namespace, event.task)

    def _forgotten(self, event: TaskForgotten) -> None:
        self.forget_task(event.namespace, event.task)

    def _namespace_changed(self, event: NamespaceChanged) -> None:
        self.namespace(event.namespace)
        if event.key is not None:
            self.account(event.namespace, event.key)

    def _reset(self, event: NamespaceReset) -> None:
        self.drop(event.name)

    def _delivery_changed(self, event: DeliveryChanged) -> None:
        self.delivery(event.delivery)

    def _delivery_forgotten(self, event: DeliveryForgotten) -> None:
        self.forget_delivery(event.delivery)

    def task(self, ns: Namespace, task: Task) -> None:
        with self._lock:
            self._tasks[(ns.name, task.id)] = task
            self._accounts[(ns.name, task.key)] = ns.ledger.account(task.key)

    def forget_task(self, ns: Namespace, task: Task) -> None:
        with self._lock:
            self._tasks[(ns.name, task.id)] = None
            self._accounts[(ns.name, task.key)] = ns.ledger.account(task.key)

    def account(self, ns: Namespace, key: str) -> None:
        with self._lock:
            self._accounts[(ns.name, key)] = ns.ledger.account(key)

    def namespace(self, ns: Namespace) -> None:
        with self._lock:
            self._namespaces[ns.name] = ns

    def idempotency(self, ns: Namespace, key: str, idempotency_key: str, fingerprint: str, task_id: str) -> None:
        with self._lock:
            self._idempotency.append((ns.name, key, idempotency_key, fingerprint, task_id))

    def delivery(self, delivery: Delivery) -> None:
        with self._lock:
            self._deliveries[(delivery.namespace, delivery.id)] = delivery

    def forget_delivery(self, delivery: Delivery) -> None:
        with self._lock:
            self._deliveries[(delivery.namespace, delivery.id)] = None

    def drop(self, name: str | None) -> None:
        """A namespace (None: every namespace) was reset: its rows go at the next flush."""
        with self._lock:
            if name is None:
                self._clear_marks()
            else:
                self._tasks = {k: v for k, v in self._tasks.items() if k[0] != name}
                self._accounts = {k: v for k, v in self._accounts.items() if k[0] != name}
                self._deliveries = {k: v for k, v in self._deliveries.items() if k[0] != name}
                self._namespaces.pop(name, None)
                self._idempotency = [row for row in self._idempotency if row[0] != name]
            self._dropped.append(name)

    # -- writing ----------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Commit everything marked since the last flush, in one transaction."""
        with self._lock:
            if not (self._tasks or self._accounts or self._namespaces or self._deliveries or self._idempotency
                    or self._dropped):
                return
            db = self._db
            db.execute("BEGIN")
            try:
                for name in self._dropped:
                    self._delete_namespace(name)
                for name, ns in self._namespaces.items():
                    db.execute("INSERT OR REPLACE INTO namespaces VALUES (?, ?)", (name, _dump(namespace_record(ns))))
                for (name, task_id), task in self._tasks.items():
                    if task is None:
                        db.execute("DELETE FROM tasks WHERE namespace = ? AND id = ?", (name, task_id))
                        db.execute("DELETE FROM idempotency WHERE namespace = ? AND task_id = ?", (name, task_id))
                    else:
                        db.execute("INSERT INTO tasks VALUES (?, ?, ?) ON CONFLICT (namespace, id) "
                                   "DO UPDATE SET record = excluded.record", (name, task_id, _dump(task_record(task))))
                for (name, key), account in self._accounts.items():
                    db.execute("INSERT OR REPLACE INTO accounts VALUES (?, ?, ?)",
                               (name, key, _dump(account_record(account))))
                db.executemany("INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?)", self._idempotency)
                for (name, delivery_id), delivery in self._deliveries.items():
                    if delivery is None:
                        db.execute("DELETE FROM deliveries WHERE namespace = ? AND id = ?", (name, delivery_id))
                    else:
                        db.execute("INSERT INTO deliveries VALUES (?, ?, ?) ON CONFLICT (namespace, id) "
                                   "DO UPDATE SET record = excluded.record",
                                   (name, delivery_id, _dump(delivery_record(delivery))))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self._clear_marks()

    def _delete_namespace(self, name: str | None) -> None:
        if name is None:
            for table in (*_NAMESPACED_TABLES, "namespaces"):
                self._db.execute(f"DELETE FROM {table}")
            return
        for table in _NAMESPACED_TABLES:
            self._db.execute(f"DELETE FROM {table} WHERE namespace = ?", (name,))
        self._db.execute("DELETE FROM namespaces WHERE name = ?", (name,))

    def get_meta(self, name: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
            return row[0] if row else None

    def set_meta(self, name: str, value: str | None) -> None:
        with self._lock:
            if value is None:
                self._db.execute("DELETE FROM meta WHERE name = ?", (name,))
            else:
                self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    def close(self) -> None:
        with self._lock:
            self.flush()
            self._db.close()

    # -- reading back -----------------------------------------------------------------------------------

    def load(self) -> Snapshot:
        """Everything the file holds, as plain data in the order it was written; the app hands it out."""
        with self._lock:
            db = self._db
            namespaces = db.execute("SELECT name, record FROM namespaces ORDER BY rowid").fetchall()
            tasks = db.execute("SELECT namespace, record FROM tasks ORDER BY rowid").fetchall()
            accounts = db.execute("SELECT namespace, key, record FROM accounts").fetchall()
            idempotency = db.execute("SELECT * FROM idempotency").fetchall()
            deliveries = db.execute("SELECT namespace, record FROM deliveries ORDER BY rowid").fetchall()
        return Snapshot(
            namespaces=[namespace_from_record(name, json.loads(record)) for name, record in namespaces],
            tasks=[task_from_record({**json.loads(record), "namespace": name}) for name, record in tasks],
            accounts=[(name, key, account_from_record(json.loads(record))) for name, key, record in accounts],
            idempotency=[(name, key, idem, fingerprint, task_id) for name, key, idem, fingerprint, task_id in idempotency],
            deliveries=[delivery_from_record({**json.loads(record), "namespace": name}) for name, record in deliveries],
        )


_MARKS: dict[type, Callable[[StateStore, Any], None]] = {
    TaskCreated: StateStore._created, TaskUpdated: StateStore._changed, TaskMoved: StateStore._changed,
    TaskTerminal: StateStore._changed, TaskForgotten: StateStore._forgotten,
    NamespaceChanged: StateStore._namespace_changed, NamespaceReset: StateStore._reset,
    DeliveryChanged: StateStore._delivery_changed, DeliveryForgotten: StateStore._delivery_forgotten,
}


# -- records: plain JSON for each kind of row ---------------------------------------------------------------

def _dump(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


_TASK_FIELDS = tuple(f.name for f in dataclasses.fields(Task))
_DELIVERY_FIELDS = tuple(f.name for f in dataclasses.fields(Delivery))


def task_record(task: Task) -> dict[str, Any]:
    # Shallow, by hand: dataclasses.asdict deep-copies every value and was half the cost of a create.
    record = {name: getattr(task, name) for name in _TASK_FIELDS}
    record["progression"] = {"mode": task.progression.mode, "polls": task.progression.polls}
    mode = task.callback_mode
    record["callback_mode"] = {"duplicate": mode.duplicate, "delay": mode.delay, "early": mode.early} if mode else None
    return record


def task_from_record(record: dict[str, Any]) -> Task:
    record = dict(record)
    record["progression"] = Progression(**record["progression"])
    record["callback_mode"] = CallbackMode(**record["callback_mode"]) if record.get("callback_mode") else None
    record["durations"] = tuple(record["durations"])
    record["failure"] = tuple(record["failure"])
    record["history"] = [tuple(item) for item in record["history"]]
    return Task(**record)


def account_record(account: Account) -> dict[str, Any]:
    # Reservations are not stored: they are exactly the prices of the tasks still running.
    return {"credit": account.credit, "spent": account.spent,
            "spent_by_day": {str(day): amount for day, amount in account.spent_by_day.items()}}


def account_from_record(record: dict[str, Any]) -> Account:
    return Account(credit=record["credit"], spent=record["spent"],
                   spent_by_day={int(day): amount for day, amount in record["spent_by_day"].items()})


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

