"""Price schedules, quotes and the model list, in-process: shapes, filters, ETag/304, hostile input, and the
property that a quote is exactly what the create then takes off `balance_cents`, over the whole catalog."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from runapi_contracts import load_catalog, pricing, validate_response
from runapi_contracts.strategies import CreateRequest, create_requests
from runapi_contracts.validate import accepts
from runapi_mock import Settings, create_app

SCHEDULES, QUOTES = "/api/v1/price_schedules", "/api/v1/price_quotes"
# Every task-creating action. The synchronous ones answer at once or by a 202 (no pending task to read back, and
# Fish Audio's get/list voices read an account's resources): test_sdk_sync prices them through their SDKs.
ACTIONS = sorted(key for key, action in load_catalog().actions.items() if "sync" not in action.output_spec)
KONTEXT = {"service": "flux_kontext", "action": "text_to_image", "model": "flux-kontext-pro"}


def auth(key: str = "test-key") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def frozen() -> Iterator[TestClient]:
    """A mock whose clocks stand still: every task stays pending, its price reserved (one per module: each
    example uses a key of its own)."""
    with TestClient(create_app(Settings(frozen_clock=True)), base_url="http://127.0.0.1:8787") as client:
        yield client


# -- schedules ------------------------------------------------------------------------------------------------


def test_every_catalog_model_has_one_conforming_schedule(client: TestClient) -> None:
    response = client.get(SCHEDULES)  # no key: the SDK's PricingClient may send none
    assert response.status_code == 200
    body = response.json()
    assert validate_response("price_schedules", body) == []
    seen = sorted((s["service"], s["action"], s["model"]) for s in body["price_schedules"])
    assert seen == sorted((m.family, m.action, m.name) for m in load_catalog().models())
    assert {s["pricing_status"] for s in body["price_schedules"]} == {"public", "assumed"}


def test_a_schedule_carries_the_resolution_table_and_leaves_out_a_fractional_unit_price(client: TestClient) -> None:
    flex, = client.get(SCHEDULES, params={"service": "flux-2", "model": "flux-2-flex-text-to-image"}) \
        .json()["price_schedules"]
    assert (flex["unit_price_cents"], flex["billing_strategy"], flex["pricing_status"]) == \
        (14, "per_image_by_resolution", "public")
    assert flex["billing_config"]["unit_price_cents_by_resolution"] == {"1k": 14, "2k": 24}
    assert flex["billing_config"]["resolution_field"] == "output_resolution"
    kontext, = client.get(SCHEDULES, params=KONTEXT).json()["price_schedules"]
    assert "unit_price_cents" not in kontext  # 2.5 cents is no int; billing_config has it exactly
    assert kontext["billing_config"]["unit_price_micro_cents"] == 2_500_000


@pytest.mark.parametrize(("params", "count"), [
    ({"service": "flux_2"}, 6), ({"service": "flux-2"}, 6), ({"service": "flux_2", "action": "remix-image"}, 3),
    ({"action": "segment_map"}, 1), ({"model": "gpt-image-2"}, 2),
    ({"service": "", "model": " "}, len(load_catalog().models())),  # blank: no filter, as the SDK drops it
    ({"service": "nope"}, 0), ({"service": "flux", "model": "flux-2-pro-text-to-image"}, 0),
])
def test_filters_narrow_the_list_and_an_unknown_one_matches_nothing(client: TestClient, params: dict[str, str],
                                                                    count: int) -> None:
    response = client.get(SCHEDULES, params=params)
    assert response.status_code == 200 and len(response.json()["price_schedules"]) == count


def test_if_none_match_gives_a_bodiless_304(client: TestClient) -> None:
    first = client.get(SCHEDULES, params={"service": "flux"})
    etag = first.headers["etag"]
    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = client.get(SCHEDULES, params={"service": "flux"}, headers={"If-None-Match": sent})
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    other = client.get(SCHEDULES, params={"service": "flux_2"}, headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag


def test_a_sent_key_is_checked_as_elsewhere(make_client: Callable[..., TestClient]) -> None:
    client = make_client(api_keys=("good",))
    for path in (SCHEDULES, "/v1/models"):
        assert client.get(path).status_code == 200
        assert client.get(path, headers=auth("good")).status_code == 200
        refused = client.get(path, headers=auth("bad"))
        assert refused.status_code == 401 and validate_response("error", refused.json()) == []
    assert client.post(QUOTES, json=KONTEXT, headers=auth("bad")).status_code == 401


def test_an_overlong_filter_is_a_400(client: TestClient) -> None:
    response = client.get(SCHEDULES, params={"model": "x" * 201})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_parameter"


# -- quotes ---------------------------------------------------------------------------------------------------


def test_a_fractional_price_is_quoted_rounded_up(client: TestClient) -> None:
    quote = client.post(QUOTES, json={**KONTEXT, "params": {"prompt": "a fox"}}).json()
    assert validate_response("price_quote", quote) == []
    assert quote["price_quote"] == {
        "service": "flux_kontext", "action": "text_to_image", "model": "flux-kontext-pro", "pricing_status": "public",
        "currency": "USD", "reservation_amount_cents": 3, "reservation_amount_micro_cents": 2_500_000,
        "estimate_basis": "request", "as_of": pricing.AS_OF}


def test_a_quote_without_params_prices_the_defaults_and_fills_in_a_lone_model(client: TestClient) -> None:
    quote = client.post(QUOTES, json={"service": "gpt-image-2", "action": "text-to-image"}).json()["price_quote"]
    assert (quote["model"], quote["reservation_amount_cents"], quote["estimate_basis"]) == \
        ("gpt-image-2", 4, "defaults")
    priced = client.post(QUOTES, json={"service": "gpt_image_2", "action": "text_to_image", "params": {
        "model": "gpt-image-2", "prompt": "a fox", "output_resolution": "4k", "aspect_ratio": "16:9"}})
    assert priced.json()["price_quote"]["reservation_amount_cents"] == 16


@pytest.mark.parametrize("params", [{"prompt": 5}, {"prompt": "x", "aspectRatio": "1:1"}, {"prompt": ""},
                                    {"prompt": "x", "output_count": 99}, {"aspect_ratio": "1:1"}])
def test_invalid_params_get_the_create_s_own_422(client: TestClient, params: dict[str, Any]) -> None:
    body = {"model": "flux-2-pro-text-to-image", **params}
    quote = client.post(QUOTES, json={"service": "flux_2", "action": "text_to_image", "params": body})
    create = client.post("/api/v1/flux_2/text_to_image", json=body, headers=auth())
    assert quote.status_code == create.status_code == 422
    assert quote.json() == create.json()


@pytest.mark.parametrize(("body", "field"), [
    ({"service": "nope", "action": "text_to_image"}, "service"),
    ({"service": "flux_2", "action": "edit_image"}, "action"),
    ({"service": 3, "action": ["x"]}, "service"),
    ({"action": "text_to_image"}, "service"),
    ({"service": "flux", "action": "text_to_image", "params": "prompt=x"}, "params"),
    ({"service": "flux", "action": "text_to_image", "params": {"prompt": "x"}}, "model"),  # two models
    ({**KONTEXT, "params": {"model": "flux-kontext-max", "prompt": "x"}}, "model"),
    ({**KONTEXT, "model": "flux-2-pro-text-to-image"}, "model"),
    ([KONTEXT], "body"),
])
def test_a_bad_quote_request_is_a_422_naming_the_field(client: TestClient, body: Any, field: str) -> None:
    assert not accepts("price_quote_request", body)  # the document refuses what the server refuses
    response = client.post(QUOTES, json=body)
    assert response.status_code == 422, response.text
    assert validate_response("error", response.json()) == []
    assert field in response.json()["errors"]


@pytest.mark.parametrize(("raw", "headers", "status"), [
    (b"{", {"Content-Type": "application/json"}, 400), (b"", {}, 400),
    (b"service=flux", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
    (b'{"service": "flux", "action": NaN}', {"Content-Type": "application/json"}, 400),
])
def test_unreadable_quote_bodies_are_4xx_envelopes(client: TestClient, raw: bytes, headers: dict[str, str],
                                                  status: int) -> None:
    response = client.post(QUOTES, content=raw, headers=headers)
    assert response.status_code == status and validate_response("error", response.json()) == []


# -- quote == reservation, over the whole catalog ---------------------------------------------------------------


def quote_and_drop(client: TestClient, request: CreateRequest, model_in_params: bool, slug: bool) -> tuple[int, int]:
    """(the quote, the drop in balance_cents its create causes) for a fresh key, the task left pending."""
    headers = auth(f"prop-{uuid.uuid4().hex}")
    body = {k: v for k, v in request.body.items() if k != "callback_url"}
    params = body if model_in_params else {k: v for k, v in body.items() if k != "model"}
    service = request.family.replace("_", "-") if slug else request.family
    ask = {"service": service, "action": request.action, "params": params,
           **({} if model_in_params else {"model": request.model})}
    assert accepts("price_quote_request", ask), ask  # the OpenAPI document's body schema agrees
    answer = client.post(QUOTES, json=ask)
    assert answer.status_code == 200, answer.text
    before = client.get("/api/v1/me/balance", headers=headers).json()["balance_cents"]
    created = client.post(request.path, json=body, headers=headers)
    assert created.status_code == 200, created.text
    after = client.get("/api/v1/me/balance", headers=headers).json()["balance_cents"]
    assert client.get(f"{request.path}/{created.json()['id']}", headers=headers).json()["status"] == "pending"
    return answer.json()["price_quote"]["reservation_amount_cents"], before - after


@pytest.mark.parametrize(("family", "action"), ACTIONS, ids=[f"{f}/{a}" for f, a in ACTIONS])
def test_a_quote_is_what_the_create_reserves(frozen: TestClient, family: str, action: str) -> None:
    @settings(max_examples=3, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(create_requests(family, action), st.booleans(), st.booleans())
    def check(request: CreateRequest, model_in_params: bool, slug: bool) -> None:
        quoted, dropped = quote_and_drop(frozen, request, model_in_params, slug)
        assert quoted == dropped, request.body

    check()


def test_the_property_catches_a_quote_that_rounds_down(frozen: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    request = CreateRequest("flux_kontext", "text_to_image", "flux-kontext-pro",
                            {"model": "flux-kontext-pro", "prompt": "a fox"})
    assert quote_and_drop(frozen, request, False, False) == (3, 3)
    monkeypatch.setattr(pricing, "quote_cents", lambda microcents: microcents // 1_000_000)  # a broken quote
    quoted, dropped = quote_and_drop(frozen, request, False, False)
    assert (quoted, dropped) == (2, 3) and quoted != dropped


# -- models ---------------------------------------------------------------------------------------------------


def test_models_list_every_family_action_model_once(client: TestClient) -> None:
    response = client.get("/v1/models")
    assert response.status_code == 200
    body = response.json()
    assert validate_response("models", body) == []
    ids = [entry["id"] for entry in body["data"]]
    assert len(ids) == len(set(ids))
    served = sorted((e["service"], e["action"], entry["id"], e["path"]) for entry in body["data"]
                    for e in entry["endpoints"])
    assert served == sorted((m.family, m.action, m.name, f"/api/v1/{m.family}/{m.action}")
                            for m in load_catalog().models())
