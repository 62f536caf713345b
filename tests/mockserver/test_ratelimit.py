"""Per-key limits: requests per minute on the namespace clock, and concurrent active tasks, each a 429."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from runapi_mock import errors
from runapi_mock.engine.ratelimit import RateLimiter, check_concurrency

AUTH = {"Authorization": "Bearer test-key"}
PATH = "/api/v1/flux_kontext/text_to_image"  # catalog timing: 2 s pending + 10 s processing
BODY = {"model": "flux-kontext-pro", "prompt": "x"}


def advance(client: TestClient, seconds: float, namespace: str | None = None) -> None:
    headers = {"X-Mock-Namespace": namespace} if namespace else {}
    assert client.post("/_mock/clock/advance", json={"seconds": seconds}, headers=headers).status_code == 200


def create(client: TestClient, **headers: str) -> Any:
    return client.post(PATH, json=BODY, headers={**AUTH, **headers})


def assert_429(response: Any, retry_after: int, code: str = "rate_limited") -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == code
    assert response.headers["retry-after"] == str(retry_after)


# -- unit ---------------------------------------------------------------------------------------------


def test_limiter_allows_n_per_sliding_minute() -> None:
    limiter = RateLimiter(2)
    limiter.hit("k", 0)
    limiter.hit("k", 10)
    with pytest.raises(errors.RateLimited) as caught:
        limiter.hit("k", 30)
    assert caught.value.retry_after == 30  # the hit at 0 leaves the window at 60
    limiter.hit("k", 60)
    with pytest.raises(errors.RateLimited) as caught:
        limiter.hit("k", 61)
    assert caught.value.retry_after == 9


def test_limiter_is_per_key_and_off_at_zero() -> None:
    limiter = RateLimiter(1)
    limiter.hit("a", 0)
    limiter.hit("b", 0)
    off = RateLimiter(0)
    for _ in range(1000):
        off.hit("a", 0)


def test_rejected_requests_do_not_use_up_the_window() -> None:
    limiter = RateLimiter(1)
    limiter.hit("k", 0)
    for second in range(1, 59):
        with pytest.raises(errors.RateLimited):
            limiter.hit("k", second)
    limiter.hit("k", 60)


@pytest.mark.parametrize(("limit", "active", "frees_in", "retry_after"),
                         [(1, 1, 9.2, 9.2), (2, 3, None, 1), (1, 1, 0.1, 1), (1, 1, -5, 1)])
def test_concurrency_check_names_when_a_slot_frees(limit: int, active: int, frees_in: float | None,
                                                   retry_after: float) -> None:
    with pytest.raises(errors.RateLimited) as caught:
        check_concurrency(limit, active, frees_in)
    assert caught.value.retry_after == retry_after and caught.value.code == "too_many_active_tasks"


@pytest.mark.parametrize(("limit", "active"), [(0, 100), (2, 1), (5, 0)])
def test_concurrency_check_passes_under_the_limit(limit: int, active: int) -> None:
    check_concurrency(limit, active, None)


# -- through the API -----------------------------------------------------------------------------------


def test_rate_limit_counts_every_api_request_and_names_the_wait(make_client: Callable[..., TestClient]) -> None:
    client = make_client(rate_limit=3, frozen_clock=True)
    task_id = create(client).json()["id"]
    advance(client, 15)
    assert client.get(f"{PATH}/{task_id}", headers=AUTH).status_code == 200
    assert client.get("/api/v1/me/balance", headers=AUTH).status_code == 200
    assert_429(client.get("/api/v1/me", headers=AUTH), 45)
    assert_429(create(client), 45)
    advance(client, 44)
    assert_429(client.get("/api/v1/me", headers=AUTH), 1)
    advance(client, 1)
    assert client.get("/api/v1/me", headers=AUTH).status_code == 200


def test_rate_limit_is_per_key(make_client: Callable[..., TestClient]) -> None:
    client = make_client(rate_limit=1, frozen_clock=True)
    assert client.get("/api/v1/me", headers=AUTH).status_code == 200
    assert client.get("/api/v1/me", headers=AUTH).status_code == 429
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer other"}).status_code == 200


def test_rate_limit_is_per_namespace(make_client: Callable[..., TestClient]) -> None:
    client = make_client(rate_limit=1, frozen_clock=True)
    assert client.get("/api/v1/me", headers=AUTH).status_code == 200
    assert client.get("/api/v1/me", headers=AUTH).status_code == 429
    assert client.get("/api/v1/me", headers={**AUTH, "X-Mock-Namespace": "other"}).status_code == 200


def test_admin_and_health_routes_are_not_rate_limited(make_client: Callable[..., TestClient]) -> None:
    client = make_client(rate_limit=1, frozen_clock=True)
    client.get("/api/v1/me", headers=AUTH)
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
        assert client.get("/_mock/journal").status_code == 200


def test_max_concurrent_names_when_the_first_task_ends(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_concurrent=2, frozen_clock=True)
    assert create(client).status_code == 200
    advance(client, 4)
    assert create(client).status_code == 200
    assert_429(create(client), 8, "too_many_active_tasks")  # the first ends at 12 s
    advance(client, 7)
    assert_429(create(client), 1, "too_many_active_tasks")
    advance(client, 1)
    assert create(client).status_code == 200
    assert client.get("/_mock/tasks").json()["total"] == 3


def test_max_concurrent_is_per_key(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_concurrent=1, frozen_clock=True)
    assert create(client).status_code == 200
    assert create(client).status_code == 429
    assert client.post(PATH, json=BODY, headers={"Authorization": "Bearer other"}).status_code == 200


def test_failed_and_completed_tasks_free_their_slot(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_concurrent=1)
    task_id = create(client, **{"X-Mock-Progression": "manual", "X-Mock-Scenario": "failed"}).json()["id"]
    assert_429(create(client), 1, "too_many_active_tasks")  # manual: no known end, so 1 s
    client.post(f"/_mock/tasks/{task_id}/status", json={"status": "failed"})
    assert create(client, **{"X-Mock-Progression": "immediate"}).status_code == 200


def test_stuck_tasks_hold_their_slot(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_concurrent=1, frozen_clock=True)
    assert create(client, **{"X-Mock-Scenario": "stuck"}).status_code == 200
    advance(client, 10_000)
    assert_429(create(client), 1, "too_many_active_tasks")


def test_over_the_limit_create_reserves_nothing(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_concurrent=1, frozen_clock=True)
    create(client)
    assert create(client).status_code == 429
    assert client.get("/_mock/balance").json()["accounts"]["test-key"]["reserved_microcents"] == 2_500_000
