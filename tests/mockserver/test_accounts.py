"""`GET /api/v1/me` and `/me/balance`: RunAPI's smoke-test defaults, exact balance fields, an account per key
(admin route, MockHandle), the serve options for the defaults, and --state keeping what was set."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from runapi_contracts import validate_response
from runapi_mock import Settings, create_app
from runapi_mock.testing import InProcessMock

CREATE = "/api/v1/flux_kontext/text_to_image"


def auth(key: str = "test-key") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_the_default_account_is_the_smoke_test_s(client: TestClient) -> None:
    me = client.get("/api/v1/me", headers=auth()).json()
    assert validate_response("account", me) == []
    assert (me["name"], me["email"], me["account"]["name"]) == ("Demo User", "demo@example.com", "Demo Account")
    assert me["id"] == me["account"]["id"] == client.get("/api/v1/me", headers=auth()).json()["id"]
    assert client.get("/api/v1/me/balance", headers=auth()).json() == {
        "balance_cents": 5000, "paid_balance_cents": 5000, "bonus_balance_cents": 0,
        "spent_cents_today": 0, "spent_cents_total": 0}


def test_balance_fields_follow_the_ledger(make_client: Callable[..., TestClient]) -> None:
    client = make_client(progression="immediate")
    for prompt in ("a", "b"):  # flux-kontext-max: 5 cents each, settled on the first read
        task = client.post(CREATE, json={"model": "flux-kontext-max", "prompt": prompt}, headers=auth()).json()
        assert client.get(f"{CREATE}/{task['id']}", headers=auth()).json()["status"] == "completed"
    pending = client.post(CREATE, json={"model": "flux-kontext-max", "prompt": "c"},
                          headers={**auth(), "X-Mock-Progression": "manual"})
    assert pending.status_code == 200
    balance = client.get("/api/v1/me/balance", headers=auth()).json()
    assert validate_response("balance", balance) == []
    assert balance == {"balance_cents": 4985, "paid_balance_cents": 4985, "bonus_balance_cents": 0,
                       "spent_cents_today": 10, "spent_cents_total": 10}  # 5 more reserved, not yet spent
    client.post("/_mock/clock/advance", json={"seconds": 86400})
    assert client.get("/api/v1/me/balance", headers=auth()).json()["spent_cents_today"] == 0


def test_an_account_is_configured_per_key() -> None:
    with InProcessMock() as mock:
        ada, other = mock.handle(namespace="shared", api_key="ada"), mock.handle(namespace="shared", api_key="bob")
        view = ada.set_account(name="Ada Lovelace", email="ada@example.com", balance_cents=123)
        assert (view["name"], view["email"], view["balance"]["balance_cents"]) == \
            ("Ada Lovelace", "ada@example.com", 123)
        assert ada.get("/api/v1/me").json()["name"] == "Ada Lovelace"
        assert ada.get("/api/v1/me/balance").json()["balance_cents"] == 123
        assert ada.account()["email"] == "ada@example.com"
        assert other.get("/api/v1/me").json()["name"] == "Demo User"  # another key keeps the defaults
        assert other.get("/api/v1/me/balance").json()["balance_cents"] == 5000
        reset = ada.admin.request("PUT", "/accounts/ada", json={"name": None})
        assert reset.status_code == 200 and reset.json()["name"] == "Demo User"
        assert reset.json()["email"] == "ada@example.com"  # only what was sent changes


@pytest.mark.parametrize("body", [{"name": 5}, {"name": ""}, {"email": "x" * 201}, {"balance_cents": -1},
                                  {"balance_cents": 1.5}, {"balance_cents": True}, {"nick": "ada"}])
def test_a_bad_account_change_is_a_400(client: TestClient, body: dict[str, object]) -> None:
    response = client.put("/_mock/accounts/k", json=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_account"
    assert client.get("/api/v1/me", headers=auth("k")).json()["name"] == "Demo User"


def test_serve_options_set_the_default_user(make_client: Callable[..., TestClient]) -> None:
    client = make_client(user_name="Grace", user_email="grace@example.com", balance_cents=7)
    me = client.get("/api/v1/me", headers=auth()).json()
    assert (me["name"], me["email"]) == ("Grace", "grace@example.com")
    assert client.get("/api/v1/me/balance", headers=auth()).json()["balance_cents"] == 7


def test_state_keeps_the_configured_account(tmp_path: Path) -> None:
    settings = Settings(state_path=str(tmp_path / "state.sqlite"))
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8787") as first:
        first.put("/_mock/accounts/ada", json={"name": "Ada", "email": "ada@example.com", "balance_cents": 42})
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8787") as second:
        me = second.get("/api/v1/me", headers=auth("ada")).json()
        assert (me["name"], me["email"]) == ("Ada", "ada@example.com")
        assert second.get("/api/v1/me/balance", headers=auth("ada")).json()["balance_cents"] == 42
