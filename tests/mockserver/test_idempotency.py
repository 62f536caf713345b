"""Idempotency-Key: the same key and body replay the task; a different body is a 409 request_conflict."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from runapi_mock.engine import tasks as engine

AUTH = {"Authorization": "Bearer test-key"}
PATH = "/api/v1/flux_kontext/text_to_image"
BODY = {"model": "flux-kontext-pro", "prompt": "a red bicycle"}


def create(client: TestClient, key: str | None = "key-1", body: dict[str, Any] | None = None,
           path: str = PATH, auth: str = "test-key", **headers: str) -> Any:
    extra = {"Idempotency-Key": key} if key is not None else {}
    return client.post(path, json=body or BODY, headers={"Authorization": f"Bearer {auth}", **extra, **headers})


def assert_conflict(client: TestClient, first: dict[str, Any], second: dict[str, Any]) -> None:
    """Reusing a key with `second` after `first` is refused and creates nothing."""
    original = create(client, "conflict-key", first)
    assert original.status_code == 200, original.text
    response = create(client, "conflict-key", second)
    assert response.status_code == 409, f"expected 409, got {response.status_code}: {response.text}"
    assert response.json()["error"]["code"] == "request_conflict"
    assert response.headers["x-runapi-task-id"] == original.json()["id"]


def test_same_key_and_body_replays_the_task(client: TestClient) -> None:
    first, second = create(client), create(client)
    assert first.json()["task_replayed"] is False
    assert second.status_code == 200 and second.json()["task_replayed"] is True
    assert second.json()["id"] == first.json()["id"] == second.headers["x-runapi-task-id"]
    assert client.get("/_mock/tasks").json()["total"] == 1


def test_replay_does_not_charge_twice(client: TestClient) -> None:
    for _ in range(5):
        create(client)
    assert client.get("/_mock/balance").json()["accounts"]["test-key"]["reserved_microcents"] == 2_500_000


def test_replay_shows_the_current_status(client: TestClient) -> None:
    task_id = create(client, **{"X-Mock-Progression": "immediate"}).json()["id"]
    client.get(f"{PATH}/{task_id}", headers=AUTH)
    replay = create(client, **{"X-Mock-Progression": "immediate"})
    assert replay.json()["id"] == task_id and replay.json()["status"] == "completed"


def test_key_order_and_spacing_of_the_body_do_not_matter(client: TestClient) -> None:
    first = create(client)
    raw = b'{ "prompt" : "a red bicycle",\n "model":"flux-kontext-pro" }'
    second = client.post(PATH, content=raw, headers={**AUTH, "Idempotency-Key": "key-1",
                                                     "Content-Type": "application/json"})
    assert second.json()["id"] == first.json()["id"] and second.json()["task_replayed"] is True


def test_docs_spelling_of_the_same_request_replays(client: TestClient) -> None:
    first = create(client, body={**BODY, "source_image_url": "https://example.com/a.png"})
    second = create(client, body={**BODY, "image_url": "https://example.com/a.png"}, path="/v1/text_to_image")
    assert second.json()["id"] == first.json()["id"] and second.json()["task_replayed"] is True


@pytest.mark.parametrize("second", [{**BODY, "prompt": "a blue bicycle"}, {**BODY, "aspect_ratio": "1:1"},
                                    {**BODY, "model": "flux-kontext-max"}])
def test_different_body_is_a_409_request_conflict(client: TestClient, second: dict[str, Any]) -> None:
    assert_conflict(client, BODY, second)
    assert client.get("/_mock/tasks").json()["total"] == 1


def test_same_key_on_another_route_is_a_conflict(client: TestClient) -> None:
    first = create(client)
    response = create(client, body={"model": "gpt-image-2", "prompt": "x"}, path="/api/v1/gpt_image_2/text_to_image")
    assert response.status_code == 409 and response.headers["x-runapi-task-id"] == first.json()["id"]


def test_keys_are_scoped_per_api_key(client: TestClient) -> None:
    first = create(client)
    other = create(client, auth="other-key")
    assert other.json()["task_replayed"] is False and other.json()["id"] != first.json()["id"]
    assert create(client, auth="other-key", body={**BODY, "prompt": "z"}).status_code == 409


def test_keys_are_scoped_per_namespace(client: TestClient) -> None:
    first = create(client)
    other = create(client, **{"X-Mock-Namespace": "ns-b"})
    assert other.json()["task_replayed"] is False and other.json()["id"] != first.json()["id"]


def test_requests_without_a_key_always_create(client: TestClient) -> None:
    ids = {create(client, None).json()["id"] for _ in range(3)}
    assert len(ids) == 3


def test_rejected_request_does_not_claim_the_key(client: TestClient) -> None:
    assert create(client, body={"model": "flux-kontext-pro"}).status_code == 422
    assert create(client, **{"X-Mock-Scenario": "unavailable"}).status_code == 503
    assert create(client).json()["task_replayed"] is False


def test_replay_is_allowed_when_the_concurrency_limit_is_full(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_concurrent=1)
    first = create(client)
    assert create(client, "key-2").status_code == 429
    assert create(client).json()["id"] == first.json()["id"]


@pytest.mark.parametrize("key", ["k" * 512, "a b", "~!@#$%^&*()"])
def test_printable_keys_up_to_512_are_accepted(client: TestClient, key: str) -> None:
    assert create(client, key).status_code == 200
    assert create(client, key).json()["task_replayed"] is True


@pytest.mark.parametrize("key", ["k" * 513, "", "tab\tkey", "caf\u00e9", "nul\x00"])
def test_bad_keys_are_a_400(client: TestClient, key: str) -> None:
    response = client.post(PATH, json=BODY, headers={**AUTH, "Idempotency-Key": key.encode("utf-8")})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_header"
    assert client.get("/_mock/tasks").json()["total"] == 0


def test_journal_records_the_key(client: TestClient) -> None:
    create(client)
    assert client.get("/_mock/journal").json()["entries"][0]["idempotency_key"] == "key-1"


def test_conflict_check_detects_a_server_that_ignores_the_body(client: TestClient,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "_fingerprint", lambda family, action, body: "same-for-every-body")
    with pytest.raises(AssertionError, match="expected 409, got 200"):
        assert_conflict(client, BODY, {**BODY, "prompt": "a blue bicycle"})
