"""--state writes an account's row only when a stored field changed, and still reloads every account right."""

from __future__ import annotations

from pathlib import Path

from runapi_contracts.validate import check_request
from runapi_mock import Settings
from runapi_mock.background.state import StateStore
from runapi_mock.background.state_records import account_record
from runapi_mock.engine.tasks import TaskEngine

BODY = {"model": "flux-kontext-pro", "prompt": "A lighthouse at dusk"}


def _tables(engine: TaskEngine, ns_name: str) -> list[str]:
    """The tables the rows of one create write to."""
    normalized, _ = check_request("flux_kontext", "text_to_image", BODY)
    _, _, pending = engine.create_pending(engine.namespace(ns_name), "key", "flux_kontext", "text_to_image",
                                          dict(normalized), origin="http://127.0.0.1:8787")
    assert pending is not None
    pending.wait()
    return [sql.split()[4] if sql.startswith("INSERT OR REPLACE") else sql.split()[2] for sql, _ in pending.rows]


def test_an_account_row_is_written_only_when_it_changed(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    engine = TaskEngine(Settings(balance_cents=10**6), store)
    assert "accounts" in _tables(engine, "a")  # a new account
    assert "accounts" not in _tables(engine, "a")  # a reservation changes no stored field
    engine.set_balance(engine.namespace("a"), "key", 5000)  # a stored field changed: written
    store.flush()
    wanted = account_record(engine.namespace("a").ledger.account("key"))
    assert "accounts" in _tables(engine, "b")  # another namespace, another row
    engine.reset("b")
    assert "accounts" in _tables(engine, "b")  # the reset dropped its row: written again
    store.close()
    stored = {(name, key): account_record(account)
              for name, key, account in StateStore(tmp_path / "state.db").load().accounts}
    assert stored[("a", "key")] == wanted
    assert ("b", "key") in stored


def test_a_task_row_holds_the_task_as_it_stood_when_submitted(tmp_path: Path) -> None:
    """The committer encodes a task after the engine's lock is released: what it writes is the snapshot taken at
    submit(), not the task as it stands by then (its history grows in place, its status is replaced)."""
    store = StateStore(tmp_path / "state.db")
    engine = TaskEngine(Settings(balance_cents=10**6), store)
    normalized, _ = check_request("flux_kontext", "text_to_image", BODY)
    ns = engine.namespace("a")  # opened (and on disk) first: opening one waits for its commit
    store.flush()
    store._db_lock.acquire()  # the committer waits here, before it encodes the batch
    try:
        task, _, pending = engine.create_pending(ns, "key", "flux_kontext", "text_to_image",
                                                 dict(normalized), origin="http://127.0.0.1:8787")
        task.history.append(("processing", task.created_at + 1))
        task.status = "processing"
    finally:
        store._db_lock.release()
    assert pending is not None
    pending.wait()
    store.close()
    [stored] = StateStore(tmp_path / "state.db").load().tasks
    assert stored.status == "pending" and [status for status, _ in stored.history] == ["pending"]


def test_a_resource_added_to_an_account_already_written_is_kept(tmp_path: Path) -> None:
    """A voice made after the account's row was written (a create first) survives a restart: the store compares
    each account's record with the one it last wrote, and the resources dict, changed in place, must not be
    shared by the two (it was: the voice was never written)."""
    store = StateStore(tmp_path / "state.db")
    engine = TaskEngine(Settings(balance_cents=10**6), store)
    assert "accounts" in _tables(engine, "a")
    engine.add_resource(engine.namespace("a"), "key", "voice", {"id": "voice_1", "name": "Mine"})
    store.close()
    accounts = {(name, key): account for name, key, account in StateStore(tmp_path / "state.db").load().accounts}
    assert accounts[("a", "key")].resources == {"voice": {"voice_1": {"id": "voice_1", "name": "Mine"}}}
