"""`--state PATH`: the engine's state in SQLite, so tasks, credits, the secret, owed callbacks and uploads survive
restarts.

Write-through with group commit: the engine's and the dispatcher's events mark what an operation changed
(`record`); `submit()` hands the marks to a committer thread, which writes everything queued in one
transaction, and the operation's answer waits for that commit (`flush()` is `submit().wait()`). So a task
whose create was answered 2xx is on disk even if the process is then killed (WAL journal; a killed process
loses nothing committed, only a power cut could), and concurrent creates share a commit. The journal, scenario
rules, rate-limit windows and the image cache are not kept: they describe a run, not the account.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from ..engine.delivery import Delivery
from ..engine.events import (
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
    UploadDeleted,
    UploadStored,
)
from ..engine.ledger import Account
from ..engine.model import Namespace, Snapshot, Task, Upload
from .commits import Commit, finish
from .commits import StateError as StateError  # raised by the store: imported from here by the API
from .state_records import (
    LOADS,
    TaskSnapshot,
    account_from_record,
    account_record,
    delete_namespace,
    delivery_from_record,
    delivery_record,
    encoded,
    namespace_from_record,
    namespace_record,
    runs,
    task_from_record,
    upload_record,
)

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
CREATE TABLE IF NOT EXISTS uploads (namespace TEXT NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL,
                                    data BLOB NOT NULL, PRIMARY KEY (namespace, id));
"""
_NAMESPACED_TABLES = ("tasks", "accounts", "idempotency", "deliveries", "uploads")
_UPSERT_TASK = "INSERT INTO tasks VALUES (?, ?, ?) ON CONFLICT (namespace, id) DO UPDATE SET record = excluded.record"
_UPSERT_DELIVERY = ("INSERT INTO deliveries VALUES (?, ?, ?) ON CONFLICT (namespace, id) "
                    "DO UPDATE SET record = excluded.record")


class StateStore:
    """One SQLite file; changes are marked as they happen and committed together by `flush()`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()  # the marks
        self._db_lock = threading.Lock()  # the connection: the committer's transactions, meta, load
        self._queue = threading.Condition()  # the open batch, for the committer
        self._open: list[Commit] = []  # submitted, waiting for the committer's next transaction
        self._closing = False
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
        # Each account's record as last handed to the committer: a row is written only when it changes.
        self._stored_accounts: dict[tuple[str, str], dict[str, Any]] = {}
        self._committer = threading.Thread(target=self._commit_forever, name="runapi-mock-state", daemon=True)
        self._committer.start()

    def _clear_marks(self) -> None:
        self._tasks: dict[tuple[str, str], Task | None] = {}  # None: forget the task
        self._accounts: dict[tuple[str, str], Account] = {}
        self._namespaces: dict[str, Namespace] = {}
        self._deliveries: dict[tuple[str, str], Delivery | None] = {}
        self._idempotency: list[tuple[str, str, str, str, str]] = []
        self._uploads: dict[tuple[str, str], Upload | None] = {}  # None: delete the upload
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

    def _upload_stored(self, event: UploadStored) -> None:
        with self._lock:
            self._uploads[(event.namespace.name, event.upload.id)] = event.upload

    def _upload_deleted(self, event: UploadDeleted) -> None:
        with self._lock:
            self._uploads[(event.namespace.name, event.upload_id)] = None

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
                self._stored_accounts.clear()
            else:
                self._stored_accounts = {k: v for k, v in self._stored_accounts.items() if k[0] != name}
                self._tasks = {k: v for k, v in self._tasks.items() if k[0] != name}
                self._accounts = {k: v for k, v in self._accounts.items() if k[0] != name}
                self._deliveries = {k: v for k, v in self._deliveries.items() if k[0] != name}
                self._uploads = {k: v for k, v in self._uploads.items() if k[0] != name}
                self._namespaces.pop(name, None)
                self._idempotency = [row for row in self._idempotency if row[0] != name]
            self._dropped.append(name)

    # -- writing ----------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Commit everything marked since the last flush; return once it is on disk."""
        pending = self.submit()
        if pending is not None:
            pending.wait()

    def submit(self) -> Commit | None:
        """Hand everything marked so far to the committer; the Commit it joins is done once on disk (None:
        nothing was marked). Changes submitted while a commit runs go to disk together in the next one."""
        with self._lock:
            rows = self._rows()
            if not rows:
                return None
            if self._closing:
                raise StateError(f"{self.path} is closed: these changes cannot be written")
            with self._queue:  # under the marks' lock: batches keep the order of their changes
                commit = Commit(rows)
                if not self._open:
                    self._queue.notify()
                self._open.append(commit)
                return commit

    def _rows(self) -> list[tuple[str, tuple[Any, ...]]]:
        """The statements that write what is marked, in order; the marks are cleared. Records stay dicts, a
        task a TaskSnapshot (no mutable member shared with the engine); the committer encodes them, off the lock."""
        if not (self._tasks or self._accounts or self._namespaces or self._deliveries or self._idempotency
                or self._uploads or self._dropped):
            return []
        rows: list[tuple[str, tuple[Any, ...]]] = []
        for name in self._dropped:
            rows.extend(delete_namespace(name))
        for name, ns in self._namespaces.items():
            rows.append(("INSERT OR REPLACE INTO namespaces VALUES (?, ?)", (name, namespace_record(ns))))
        for (name, task_id), task in self._tasks.items():
            if task is None:
                rows.append(("DELETE FROM tasks WHERE namespace = ? AND id = ?", (name, task_id)))
                rows.append(("DELETE FROM idempotency WHERE namespace = ? AND task_id = ?", (name, task_id)))
            else:
                rows.append((_UPSERT_TASK, (name, task_id, TaskSnapshot(task))))  # encoded by the committer
        for (name, key), account in self._accounts.items():
            record = account_record(account)
            if self._stored_accounts.get((name, key)) != record:  # a create's reservation changes no stored field
                self._stored_accounts[(name, key)] = record
                rows.append(("INSERT OR REPLACE INTO accounts VALUES (?, ?, ?)", (name, key, record)))
        rows.extend(("INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?)", row) for row in self._idempotency)
        for (name, delivery_id), delivery in self._deliveries.items():
            if delivery is None:
                rows.append(("DELETE FROM deliveries WHERE namespace = ? AND id = ?", (name, delivery_id)))
            else:
                rows.append((_UPSERT_DELIVERY, (name, delivery_id, delivery_record(delivery))))
        for (name, upload_id), upload in self._uploads.items():
            if upload is None:
                rows.append(("DELETE FROM uploads WHERE namespace = ? AND id = ?", (name, upload_id)))
            else:
                rows.append(("INSERT OR REPLACE INTO uploads VALUES (?, ?, ?, ?)",
                             (name, upload_id, upload_record(upload), upload.data)))
        self._clear_marks()
        return rows

    def _commit_forever(self) -> None:
        """The committer thread: one transaction for every operation submitted since the last began."""
        while True:
            with self._queue:
                while not self._open and not self._closing:
                    self._queue.wait()
                batch, self._open = self._open, []
            if not batch:
                return
            try:
                with self._db_lock:
                    self._write(encoded([row for commit in batch for row in commit.rows]))
            except Exception:  # some operation's rows were refused: write each apart
                with self._lock:  # whether its account rows were written is unknown: the next change writes them
                    self._stored_accounts.clear()
                self._write_apart(batch)
            else:
                finish(batch, [None] * len(batch))

    def _write(self, rows: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Write `rows` in one transaction, or none of them."""
        self._db.execute("BEGIN")
        try:
            for sql, params in runs(rows):  # in order; a run of one statement at once
                self._db.executemany(sql, params)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _write_apart(self, batch: list[Commit]) -> None:
        """Write the batch in one transaction, each operation in a savepoint of its own: an operation whose
        rows fail is rolled back alone and told so; the others are committed and answered as usual."""
        errors: list[Exception | None] = []
        try:
            with self._db_lock:
                self._db.execute("BEGIN")
                try:
                    for commit in batch:
                        self._db.execute("SAVEPOINT operation")
                        try:
                            for sql, params in encoded(commit.rows):
                                self._db.execute(sql, params)
                        except (sqlite3.Error, ValueError) as exc:  # UnicodeEncodeError, OverflowError too
                            self._db.execute("ROLLBACK TO operation")
                            errors.append(exc)
                        else:
                            errors.append(None)
                        self._db.execute("RELEASE operation")
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
        except Exception as exc:  # the file itself failed: every operation is told
            errors = [exc] * len(batch)
        finish(batch, errors)

    def get_meta(self, name: str) -> str | None:
        with self._db_lock:
            row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
            return row[0] if row else None

    def set_meta(self, name: str, value: str | None) -> None:
        with self._db_lock:
            if value is None:
                self._db.execute("DELETE FROM meta WHERE name = ?", (name,))
            else:
                self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    def close(self) -> None:
        self.flush()
        with self._queue:
            self._closing = True
            self._queue.notify()
        self._committer.join()
        with self._db_lock:
            self._db.close()

    # -- reading back -----------------------------------------------------------------------------------

    def load(self) -> Snapshot:
        """Everything the file holds, as plain data in the order it was written; the app hands it out.

        A file SQLite cannot read, or a row that is not what this version wrote (bad JSON, a member missing),
        is a StateError naming the file and, for a row, its table and rowid: one line, not a traceback.
        """
        with self._db_lock:
            try:
                problem = self._db.execute("PRAGMA quick_check(1)").fetchone()[0]
                if problem != "ok":
                    problem = " ".join(str(problem).replace("*** in database main ***", "").split())
                    raise StateError(f"{self.path} is damaged ({problem}): restore it from a copy or remove it")
                rows = {table: self._db.execute(sql).fetchall() for table, sql in LOADS.items()}
            except sqlite3.DatabaseError as exc:
                raise StateError(f"{self.path} cannot be read: {exc}") from None
        built = partial(_built, self.path, rows)
        return Snapshot(
            namespaces=built("namespaces", namespace_from_record),
            tasks=built("tasks", lambda name, record: task_from_record({**record, "namespace": name})),
            accounts=built("accounts", lambda name, key, record: (name, key, account_from_record(record))),
            idempotency=[row[1:] for row in rows["idempotency"]],
            deliveries=built("deliveries", lambda name, record: delivery_from_record({**record, "namespace": name})),
            uploads=built("uploads", lambda name, record, data: Upload(**record, namespace=name, data=bytes(data))),
        )

_RECORD_COLUMN = {"namespaces": 1, "tasks": 1, "accounts": 2, "deliveries": 1, "uploads": 1}


def _built(path: Path, rows: dict[str, list[Any]], table: str, build: Callable[..., Any]) -> list[Any]:
    """Each row of `table` built from its columns, the JSON `record` column decoded; a bad row is a StateError."""
    built = []
    for rowid, *columns in rows[table]:
        try:
            record_at = _RECORD_COLUMN[table]
            columns[record_at] = json.loads(columns[record_at])
            if not isinstance(columns[record_at], dict):
                raise TypeError("the record is not a JSON object")
            built.append(build(*columns))
        except json.JSONDecodeError as exc:
            raise StateError(f"{path}: table {table}, row {rowid}: bad JSON in the record ({exc})") from None
        except KeyError as exc:
            raise StateError(f"{path}: table {table}, row {rowid}: the record is missing {exc}") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise StateError(f"{path}: table {table}, row {rowid}: the record cannot be read ({exc})") \
                from None
    return built


_MARKS: dict[type, Callable[[StateStore, Any], None]] = {
    TaskCreated: StateStore._created, TaskUpdated: StateStore._changed, TaskMoved: StateStore._changed,
    TaskTerminal: StateStore._changed, TaskForgotten: StateStore._forgotten,
    NamespaceChanged: StateStore._namespace_changed, NamespaceReset: StateStore._reset,
    DeliveryChanged: StateStore._delivery_changed, DeliveryForgotten: StateStore._delivery_forgotten,
    UploadStored: StateStore._upload_stored, UploadDeleted: StateStore._upload_deleted,
}
