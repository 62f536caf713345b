"""Issue 19 item 5: namespaces past --max-namespaces never evict one that holds tasks, uploads or settings."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from starlette.testclient import TestClient

from runapi_mock import Settings, create_app

CREATE = "/api/v1/flux_kontext/text_to_image"
BODY = {"model": "flux-kontext-pro", "prompt": "kept"}
AUTH = {"Authorization": "Bearer ns-key"}


def named(name: str) -> dict[str, str]:
    return {**AUTH, "X-Mock-Namespace": name}


def test_reads_on_many_namespaces_do_not_evict_one_with_tasks(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with TestClient(create_app(Settings(state_path=str(path), max_namespaces=5))) as client:
        task_id = client.post(CREATE, json=BODY, headers=AUTH).json()["id"]
        for index in range(50):  # read-only requests on fresh names, ten times the bound
            assert client.get("/api/v1/me/balance", headers=named(f"reader-{index}")).status_code == 200
        assert client.get(f"{CREATE}/{task_id}", headers=AUTH).status_code == 200
        assert len(client.get("/_mock/namespaces").json()["namespaces"]) <= 5
    with sqlite3.connect(path) as db:
        assert [row[0] for row in db.execute("SELECT id FROM tasks")] == [task_id]


def test_a_new_namespace_past_the_bound_is_a_429_that_says_why(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_namespaces=3)
    kept = {name: client.post(CREATE, json=BODY, headers=named(name)).json()["id"] for name in ("a", "b", "c")}
    refused = client.post(CREATE, json=BODY, headers=named("d"))
    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert error["code"] == "too_many_namespaces"
    assert "3" in error["message"] and "--max-namespaces" in error["message"]
    for name, task_id in kept.items():
        assert client.get(f"{CREATE}/{task_id}", headers=named(name)).status_code == 200
    assert client.post("/_mock/reset", headers={"X-Mock-Namespace": "a"}).status_code == 200
    assert client.post(CREATE, json=BODY, headers=named("d")).status_code == 200  # room again


def test_settings_and_balances_count_as_holding_something(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_namespaces=2)
    assert client.put("/_mock/config", json={"progression": "manual"}, headers=named("configured")).status_code == 200
    assert client.put("/_mock/balance", json={"balance_cents": 7}, headers=named("funded")).status_code == 200
    assert client.get("/api/v1/me/balance", headers=named("third")).status_code == 429
    assert client.get("/_mock/config", headers=named("configured")).json()["progression"] == "manual"


def test_the_bound_is_a_flag_a_variable_and_in_the_config(make_client: Callable[..., TestClient]) -> None:
    from runapi_mock.cli import settings_from_args

    assert settings_from_args(["--max-namespaces", "7"]).max_namespaces == 7
    assert Settings.from_env({"RUNAPI_MOCK_MAX_NAMESPACES": "9"}).max_namespaces == 9
    assert make_client(max_namespaces=4).get("/_mock/config").json()["max_namespaces"] == 4
