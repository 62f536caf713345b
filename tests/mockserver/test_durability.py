"""Issue 19 item 4: every write answered 2xx is on disk, every refused one leaves nothing, and one record SQLite
refuses cannot fail the other operations of its group commit."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from runapi_mock import Settings, create_app
from runapi_mock.background.commits import finish
from runapi_mock.background.state import StateError, StateStore
from runapi_mock.engine.events import TaskCreated
from runapi_mock.engine.lifecycle import Progression
from runapi_mock.serving.server import serve_in_thread

CREATE = "/api/v1/flux_kontext/text_to_image"
AUTH = {"Authorization": "Bearer durable-key", "Content-Type": "application/json"}
GOOD = b'{"model": "flux-kontext-pro", "prompt": "good %d"}'
LONE = "\\ud800"  # as the JSON escape a client sends
BAD = [  # lone surrogates wherever a body holds text
    b'{"model": "flux-kontext-pro", "prompt": "a' + LONE.encode() + b'b"}',
    b'{"model": "flux-kontext-pro", "prompt": "x", "extra": {"k' + LONE.encode() + b'": 1}}',
    b'{"model": "flux-kontext-pro", "prompt": "x", "input_image": ["' + LONE.encode() + b'"]}',
    b'{"model": "flux-kontext-pro", "prompt": "\\udfff\\ud800"}',  # a pair in the wrong order
    b'{"model": "flux-kontext-pro", "prompt": "a\xed\xa0\x80b"}',  # the surrogate's bytes, not its escape
]


def stored_tasks(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT id FROM tasks")}


@pytest.mark.parametrize("raw", BAD)
def test_a_lone_surrogate_is_refused_at_the_door(client: TestClient, raw: bytes) -> None:
    response = client.post(CREATE, content=raw, headers=AUTH)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_json"
    assert "lone surrogate" in response.json()["error"]["message"]
    assert client.get("/_mock/tasks").json()["total"] == 0


def test_a_valid_pair_is_kept(client: TestClient) -> None:
    raw = b'{"model": "flux-kontext-pro", "prompt": "\\ud83d\\ude00 ok"}'
    response = client.post(CREATE, content=raw, headers=AUTH)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("method", "path", "raw"), [
    ("POST", "/api/v1/price_quotes", b'{"model": "flux-kontext-pro", "prompt": "a\\ud800"}'),
    ("POST", "/api/v1/files", b'{"source": {"type": "base64", "data": "aGk="}, "file_name": "a\\ud800.txt"}'),
    ("POST", "/api/v1/files/prepare", b'{"file_name": "\\ud800.png", "byte_size": 3, "checksum": "x", '
                                      b'"content_type": "image/png"}'),
    ("PUT", "/_mock/accounts/durable-key", b'{"name": "\\ud800"}'),
    ("POST", "/_mock/rules", b'{"scenario": "server_error", "path": "/\\ud800"}'),
])
def test_every_route_that_reads_a_body_refuses_one(client: TestClient, method: str, path: str,
                                                    raw: bytes) -> None:
    response = client.request(method, path, content=raw, headers=AUTH)
    assert response.status_code == 400, response.text
    assert "lone surrogate" in response.json()["error"]["message"]


def test_good_creates_survive_bad_ones_in_their_batch(tmp_path: Path) -> None:
    """60 good creates and 20 bad ones reach the server while the disk is held, so they share a commit."""
    path = tmp_path / "state.sqlite"
    settings = Settings(port=0, state_path=str(path), balance_cents=10 ** 6, progression=Progression.parse("manual"))
    bodies = [GOOD % i for i in range(60)]
    for index, bad in enumerate(BAD * 4):  # interleaved
        bodies.insert(index * 4, bad)
    with serve_in_thread(settings) as running:
        store: StateStore = running.app.state.store
        with httpx.Client(base_url=running.base_url, trust_env=False, timeout=30) as client:
            assert client.post(CREATE, content=GOOD % 999, headers=AUTH).status_code == 200
            store._db_lock.acquire()  # a slow disk: every create below joins the same batch
            try:
                with ThreadPoolExecutor(16) as pool:
                    futures = [pool.submit(client.post, CREATE, content=raw, headers=AUTH) for raw in bodies]
                    store._db_lock.release()
                    answers = [future.result() for future in futures]
            finally:
                if store._db_lock.locked():
                    store._db_lock.release()
            good = [a.json()["id"] for raw, a in zip(bodies, answers, strict=True) if a.status_code == 200]
            refused = [a for a in answers if a.status_code != 200]
            assert len(good) == 60 and len(refused) == 20
            assert all(a.status_code == 400 for a in refused)
            held = client.get("/_mock/tasks", params={"limit": 1000}).json()
            assert held["total"] == 61  # nothing refused is kept in memory
    assert set(good) <= stored_tasks(path)
    with TestClient(create_app(Settings(state_path=str(path))), base_url="http://127.0.0.1:8787") as after:
        listed = {t["id"] for t in after.get("/_mock/tasks", params={"limit": 1000}).json()["tasks"]}
        assert set(good) <= listed and len(listed) == 61


def test_the_committer_isolates_a_record_sqlite_refuses(tmp_path: Path) -> None:
    """Past the door check this cannot happen; if it ever does, only the operation it belongs to fails."""
    app = create_app(Settings(state_path=str(tmp_path / "state.sqlite"), progression="manual"))
    with TestClient(app, base_url="http://127.0.0.1:8787", headers=AUTH) as client:
        engine, store = app.state.engine, app.state.store
        ns = engine.namespace()
        ids = [client.post(CREATE, content=GOOD % i).json()["id"] for i in range(3)]
        tasks = [engine.find(ns, task_id) for task_id in ids]
        store._db_lock.acquire()
        try:
            commits: list[Any] = []
            for index, task in enumerate(tasks):
                if index == 1:
                    task.body = {**task.body, "prompt": "a\ud800b"}  # what the door would refuse
                store.record(TaskCreated(ns, task, None, ""))
                commits.append(store.submit())
        finally:
            store._db_lock.release()
        commits[0].wait()
        commits[2].wait()
        with pytest.raises(StateError):
            commits[1].wait()


def test_a_create_whose_commit_fails_is_a_5xx_and_forgotten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(Settings(state_path=str(tmp_path / "state.sqlite"), progression="manual"))
    with TestClient(app, base_url="http://127.0.0.1:8787", headers=AUTH) as client:
        store = app.state.store
        real = store._write_apart
        assert client.get("/api/v1/me/balance").status_code == 200  # the namespace is on disk already

        def refuse_all(batch: list[Any]) -> None:
            finish(batch, [sqlite3.OperationalError("disk I/O error")] * len(batch))

        monkeypatch.setattr(store, "_write", lambda rows: (_ for _ in ()).throw(sqlite3.OperationalError("x")))
        monkeypatch.setattr(store, "_write_apart", refuse_all)
        response = client.post(CREATE, content=GOOD % 1)
        assert response.status_code == 500 and response.json()["error"]["code"] == "state_write_failed"
        monkeypatch.setattr(store, "_write_apart", real)
        assert client.get("/_mock/tasks").json()["total"] == 0
