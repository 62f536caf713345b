"""--state commits concurrent creates together, and still answers none of them before its task is on disk."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from runapi_mock import Settings
from runapi_mock.background.state import StateStore
from runapi_mock.engine.lifecycle import Progression
from runapi_mock.serving.server import serve_in_thread

CREATE = "/api/v1/flux_kontext/text_to_image"
BODY = {"model": "flux-kontext-pro", "prompt": "a red bicycle"}
AUTH = {"Authorization": "Bearer group-key"}
CLIENTS = 16


def stored_ids(path: Path) -> set[str]:
    """The task ids on disk, read as a restarted process would: by another connection."""
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT id FROM tasks")}


def wait_for(predicate: object, what: str, timeout: float = 30.0) -> None:  # bounds a hang only
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def test_answers_wait_for_their_batch_and_every_answered_create_is_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with serve_in_thread(Settings(port=0, state_path=str(path), balance_cents=10**6,
                                  progression=Progression.parse("manual"))) as running:
        store: StateStore = running.app.state.store
        answered: list[str] = []
        with httpx.Client(base_url=running.base_url, headers=AUTH, trust_env=False) as warm:
            assert warm.post(CREATE, json=BODY).status_code == 200  # the namespace and key exist now
        # Hold the connection the committer writes with: the next batch stays in flight until released.
        store._db_lock.acquire()  # the test stands in for a slow disk
        released = False
        try:
            def create() -> str:
                with httpx.Client(base_url=running.base_url, headers=AUTH, trust_env=False, timeout=30) as client:
                    response = client.post(CREATE, json=BODY)
                assert response.status_code == 200, response.text
                task_id = str(response.json()["id"])
                answered.append(task_id)
                return task_id

            with ThreadPoolExecutor(CLIENTS) as pool:
                futures = [pool.submit(create) for _ in range(CLIENTS)]
                # Every create went through the engine (and submitted its rows under the engine's lock).
                engine = running.app.state.engine
                wait_for(lambda: engine.list_tasks(engine.namespace(), limit=1)[1] == CLIENTS + 1,
                         "every create to reach the engine")
                assert answered == []  # none answered while its task is not on disk
                on_disk_before = stored_ids(path)
                store._db_lock.release()
                released = True
                ids = [future.result() for future in futures]
        finally:
            if not released:
                store._db_lock.release()
        assert len(set(ids)) == CLIENTS
        assert not set(ids) & on_disk_before
        assert set(ids) <= stored_ids(path)  # read back at once, before any shutdown flush


def test_sync_flushes_still_return_only_once_on_disk(tmp_path: Path) -> None:
    """Admin writes and scheduler ticks flush synchronously: flush() returns after the commit."""
    path = tmp_path / "state.sqlite"
    store = StateStore(path)
    try:
        store.set_meta("probe", "1")
        finished = threading.Event()
        store._db_lock.acquire()
        store._dropped.append("nothing")  # a mark, so flush has a batch to commit
        thread = threading.Thread(target=lambda: (store.flush(), finished.set()))
        thread.start()
        assert not finished.wait(0.2)  # a busy machine can only make an early return less likely, never fake one
        store._db_lock.release()
        assert finished.wait(30)
        thread.join()
    finally:
        store.close()
