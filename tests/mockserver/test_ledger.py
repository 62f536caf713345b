"""The credit ledger: reserve at create, settle on completion, refund on failure, exact fractional cents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from runapi_mock import errors
from runapi_mock.engine.ledger import MICROCENTS, Ledger

AUTH = {"Authorization": "Bearer test-key"}
KONTEXT = ("/api/v1/flux_kontext/text_to_image", {"model": "flux-kontext-pro", "prompt": "x"})  # 2.5 cents
GPT = ("/api/v1/gpt_image_2/text_to_image", {"model": "gpt-image-2", "prompt": "x"})  # 4 cents at 1k


def create(client: TestClient, route: tuple[str, dict[str, Any]] = KONTEXT, progression: str = "polls:1",
           scenario: str | None = None, **extra: Any) -> Any:
    headers = {**AUTH, "X-Mock-Progression": progression}
    if scenario:
        headers["X-Mock-Scenario"] = scenario
    return client.post(route[0], json={**route[1], **extra}, headers=headers)


def finish(client: TestClient, route: tuple[str, dict[str, Any]], task_id: str) -> dict[str, Any]:
    for _ in range(2):
        body = client.get(f"{route[0]}/{task_id}", headers=AUTH).json()
    return body  # type: ignore[no-any-return]


def account(client: TestClient, key: str = "test-key") -> dict[str, int]:
    return client.get("/_mock/balance").json()["accounts"][key]  # type: ignore[no-any-return]


def assert_balance(client: TestClient, available_microcents: int, key: str = "test-key") -> None:
    """The public balance, the admin view and the expected micro-cents all agree."""
    public = client.get("/api/v1/me/balance", headers={"Authorization": f"Bearer {key}"}).json()
    admin = account(client, key)
    assert admin["available_microcents"] == available_microcents, admin
    assert public["balance_cents"] == available_microcents // MICROCENTS, public
    assert public["paid_balance_cents"] + public["bonus_balance_cents"] == public["balance_cents"]


# -- unit ---------------------------------------------------------------------------------------------


def test_ledger_reserve_settle_refund() -> None:
    ledger = Ledger(10)
    ledger.reserve("k", "a", 2_500_000)
    ledger.reserve("k", "b", 2_500_000)
    assert ledger.account("k").available == 5 * MICROCENTS
    assert ledger.settle("k", "a", now=0) == 2_500_000
    assert ledger.refund("k", "b") == 2_500_000
    assert ledger.account("k").available == 7_500_000
    assert ledger.balance("k", now=0)["spent_cents_total"] == 2


def test_ledger_settle_and_refund_are_once_only() -> None:
    ledger = Ledger(10)
    ledger.reserve("k", "a", 3 * MICROCENTS)
    ledger.settle("k", "a", now=0)
    assert ledger.settle("k", "a", now=0) == 0
    assert ledger.refund("k", "a") == 0
    assert ledger.account("k").available == 7 * MICROCENTS


def test_ledger_refuses_to_overdraw() -> None:
    ledger = Ledger(5)
    ledger.reserve("k", "a", 4 * MICROCENTS)
    with pytest.raises(errors.InsufficientCredits):
        ledger.reserve("k", "b", 1 * MICROCENTS + 1)
    ledger.reserve("k", "c", 1 * MICROCENTS)  # exactly what is left is fine
    assert ledger.account("k").available == 0


def test_ledger_accounts_are_per_key() -> None:
    ledger = Ledger(5)
    ledger.reserve("a", "t", 5 * MICROCENTS)
    assert ledger.account("b").available == 5 * MICROCENTS


def test_set_balance_makes_that_much_available_whatever_is_reserved() -> None:
    ledger = Ledger(50)
    ledger.reserve("k", "a", 4 * MICROCENTS)
    ledger.set_balance("k", 3)
    assert ledger.account("k").available == 3 * MICROCENTS


# -- through the API -----------------------------------------------------------------------------------


def test_new_key_starts_with_the_default_balance(client: TestClient) -> None:
    assert client.get("/api/v1/me/balance", headers=AUTH).json()["balance_cents"] == 5000


def test_balance_cents_setting_is_the_starting_balance(make_client: Callable[..., TestClient]) -> None:
    client = make_client(balance_cents=123)
    assert client.get("/api/v1/me/balance", headers=AUTH).json()["balance_cents"] == 123


def test_create_reserves_and_completion_settles(client: TestClient) -> None:
    task_id = create(client, GPT).json()["id"]
    assert account(client)["reserved_microcents"] == 4 * MICROCENTS
    assert_balance(client, 4996 * MICROCENTS)
    body = finish(client, GPT, task_id)
    assert body["status"] == "completed" and body["usage"]["cost"] == 0.04
    assert account(client)["reserved_microcents"] == 0 and account(client)["spent_microcents"] == 4 * MICROCENTS
    assert_balance(client, 4996 * MICROCENTS)
    public = client.get("/api/v1/me/balance", headers=AUTH).json()
    assert public["spent_cents_total"] == 4 and public["spent_cents_today"] == 4


@pytest.mark.parametrize("scenario", ["failed", "content_policy"])
def test_failure_refunds_the_reservation(client: TestClient, scenario: str) -> None:
    task_id = create(client, GPT, scenario=scenario).json()["id"]
    assert_balance(client, 4996 * MICROCENTS)
    assert finish(client, GPT, task_id)["status"] == "failed"
    assert_balance(client, 5000 * MICROCENTS)
    assert account(client)["spent_microcents"] == 0


def test_forced_failure_refunds_and_forced_completion_settles(client: TestClient) -> None:
    failed = create(client, GPT, progression="manual").json()["id"]
    completed = create(client, GPT, progression="manual").json()["id"]
    client.post(f"/_mock/tasks/{failed}/status", json={"status": "failed"})
    client.post(f"/_mock/tasks/{completed}/status", json={"status": "completed"})
    assert account(client)["spent_microcents"] == 4 * MICROCENTS
    assert_balance(client, 4996 * MICROCENTS)


def test_stuck_task_keeps_its_reservation(client: TestClient) -> None:
    task_id = create(client, GPT, scenario="stuck").json()["id"]
    assert finish(client, GPT, task_id)["status"] == "processing"
    assert account(client)["reserved_microcents"] == 4 * MICROCENTS


def test_fractional_cents_add_up_exactly(client: TestClient) -> None:
    ids = [create(client).json()["id"] for _ in range(3)]
    assert_balance(client, 5000 * MICROCENTS - 3 * 2_500_000)  # 4992.5 cents
    for task_id in ids:
        body = finish(client, KONTEXT, task_id)
        assert body["usage"]["cost"] == 0.025
    assert account(client)["spent_microcents"] == 7_500_000
    fourth = create(client).json()["id"]
    finish(client, KONTEXT, fourth)
    assert_balance(client, 4990 * MICROCENTS)
    assert client.get("/api/v1/me/balance", headers=AUTH).json()["spent_cents_total"] == 10


@pytest.mark.parametrize(
    ("route", "extra", "microcents"),
    [(GPT, {"output_resolution": "1k"}, 4_000_000),
     (GPT, {"output_resolution": "2k", "aspect_ratio": "16:9"}, 8_000_000),
     (GPT, {"output_resolution": "4k", "aspect_ratio": "16:9"}, 16_000_000),
     (("/api/v1/flux_2/text_to_image", {"model": "flux-2-pro-text-to-image", "prompt": "xyz"}),
      {"output_resolution": "2k"}, 7_000_000),
     (("/api/v1/flux_2/text_to_image", {"model": "flux-2-flex-text-to-image", "prompt": "xyz"}), {}, 14_000_000),
     (("/api/v1/flux_kontext/text_to_image", {"model": "flux-kontext-max", "prompt": "x"}), {}, 5_000_000)],
)
def test_reservation_is_the_catalog_price(client: TestClient, route: tuple[str, dict[str, Any]],
                                          extra: dict[str, Any], microcents: int) -> None:
    response = create(client, route, **extra)
    assert response.status_code == 200, response.text
    assert account(client)["reserved_microcents"] == microcents
    body = finish(client, route, response.json()["id"])
    assert body["usage"]["cost"] == pytest.approx(microcents / MICROCENTS / 100)


def test_overdraw_is_a_402_and_creates_nothing(make_client: Callable[..., TestClient]) -> None:
    client = make_client(balance_cents=5)
    assert create(client, GPT).status_code == 200
    response = create(client, GPT)
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credits"
    assert "x-runapi-task-id" not in response.headers
    assert client.get("/_mock/tasks").json()["total"] == 1
    assert_balance(client, 1 * MICROCENTS)


def test_refund_makes_room_for_the_next_task(make_client: Callable[..., TestClient]) -> None:
    client = make_client(balance_cents=4)
    task_id = create(client, GPT, scenario="failed").json()["id"]
    assert create(client, GPT).status_code == 402
    finish(client, GPT, task_id)
    assert create(client, GPT).status_code == 200


def test_admin_can_set_a_balance(client: TestClient) -> None:
    response = client.put("/_mock/balance", json={"key": "test-key", "balance_cents": 3})
    assert response.status_code == 200 and response.json()["balance_cents"] == 3
    assert client.get("/_mock/balance", params={"key": "test-key"}).json()["balance_cents"] == 3
    assert create(client, GPT).status_code == 402
    assert create(client, KONTEXT).status_code == 200
    assert_balance(client, 500_000)


@pytest.mark.parametrize("body", [{}, {"key": "k"}, {"key": "", "balance_cents": 5},
                                  {"key": "k", "balance_cents": -1}, {"key": "k", "balance_cents": 1.5},
                                  {"key": "k", "balance_cents": True}, {"key": 5, "balance_cents": 5}])
def test_admin_rejects_malformed_balances(client: TestClient, body: dict[str, Any]) -> None:
    response = client.put("/_mock/balance", json=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_balance"


def test_set_every_balance_reaches_known_keys_and_keys_not_seen_yet() -> None:
    ledger = Ledger(starting_cents=5000)
    ledger.reserve("seen", "t1", 2 * MICROCENTS)
    assert ledger.set_every_balance(3) == ["seen"]
    assert ledger.account("seen").available == 3 * MICROCENTS  # whatever it has reserved
    assert ledger.account("new").available == 3 * MICROCENTS


def test_admin_balance_without_a_key_sets_every_key_of_the_namespace(client: TestClient) -> None:
    create(client, GPT)  # test-key is known, with a reservation open
    response = client.put("/_mock/balance", json={"balance_cents": 3})
    assert response.status_code == 200, response.text
    assert response.json()["default_balance_cents"] == 3
    assert response.json()["accounts"]["test-key"]["available_microcents"] == 3 * MICROCENTS
    for key in ("test-key", "any-other-key"):  # the SDK example's api_key="k" is one the mock has not seen
        answer = client.post(GPT[0], json=GPT[1], headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 402, (key, answer.text)
    assert client.get("/_mock/balance").json()["default_balance_cents"] == 3
    elsewhere = client.get("/api/v1/me/balance", headers={**AUTH, "X-Mock-Namespace": "other"})
    assert elsewhere.json()["balance_cents"] == 5000  # one namespace only


def test_keys_have_separate_accounts(client: TestClient) -> None:
    create(client, GPT)
    other = client.get("/api/v1/me/balance", headers={"Authorization": "Bearer other"}).json()
    assert other["balance_cents"] == 5000
    assert_balance(client, 4996 * MICROCENTS)


def test_error_scenarios_charge_nothing(client: TestClient) -> None:
    for scenario in ("rate_limited", "unavailable", "server_error", "insufficient_credits"):
        assert create(client, GPT, scenario=scenario).status_code >= 400
    assert client.get("/api/v1/me/balance", headers=AUTH).json()["balance_cents"] == 5000


def test_balance_check_detects_a_ledger_that_forgets_refunds(client: TestClient,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Ledger, "refund", lambda self, key, task_id: 0)  # keeps the reservation
    task_id = create(client, GPT, scenario="failed").json()["id"]
    assert finish(client, GPT, task_id)["status"] == "failed"
    with pytest.raises(AssertionError):
        assert_balance(client, 5000 * MICROCENTS)
