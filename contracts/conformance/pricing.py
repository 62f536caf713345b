"""Server conformance of the routes beside the image actions: price schedules (with ETag/304), quotes, the model
list and the account, as plain checks; `run_route_checks` adds their rows to a run's Report (once per run).

A quote is checked against what the create then reserves only on the mock (its admin API sets a fresh key's
balance): against any other server a create costs money, so there the quote's shape is checked alone.
"""

from __future__ import annotations

from typing import Any

from ..strategies import CreateRequest, quote_requests
from .exchange import body as _body
from .exchange import conform as _conform
from .exchange import expect_error as _expect_error
from .exchange import expect_request_id as _expect_request_id
from .exchange import for_examples as _for_examples
from .exchange import send as _send
from .report import CheckResult, ConformanceFailure, Report
from .target import Target

__all__ = [
    "ROUTE_CHECKS",
    "check_account",
    "check_invalid_quote",
    "check_models",
    "check_price_quote",
    "check_price_schedules",
    "run_route_checks",
]

SCHEDULES, QUOTES, MODELS = "/api/v1/price_schedules", "/api/v1/price_quotes", "/v1/models"
ROUTE_CHECKS = {
    "schedules_conform": f"GET {SCHEDULES}",   # 200 without a key, price_schedules body, ETag → 304 without body
    "quote_conforms": f"POST {QUOTES}",        # 200, price_quote body; on the mock, == the create's balance drop
    "invalid_quote_rejected": f"POST {QUOTES}",  # an unknown service: 4xx with the error envelope
    "models_conform": f"GET {MODELS}",         # 200 without a key, models body
    "account_conforms": "GET /api/v1/me",      # me and me/balance: 200, account and balance bodies
}
_QUOTE_BALANCE_CENTS = 10**6


def _ok(target: Target, check: str, method: str, path: str, schema: str, **options: Any) -> Any:
    operation = f"{method} {path}"
    response = _send(target, check, method, path, operation, options.pop("json", None), schema=schema, **options)
    if response.status_code != 200:
        raise ConformanceFailure(check, operation, f"expected 200, got {response.status_code}: "
                                 f"{response.text[:200]!r}")
    body = _body(check, operation, None, response)
    _conform(check, operation, None, schema, body)
    _expect_request_id(check, operation, None, response)
    return body, response


def check_price_schedules(target: Target) -> None:
    """Schedules answer without a key, conform, carry an ETag, and answer that ETag back with a bodiless 304."""
    check, path = "schedules_conform", f"{SCHEDULES}?service=flux_kontext"
    _, response = _ok(target, check, "GET", path, "price_schedules", api_key="")
    etag = response.headers.get("etag")
    if not etag:
        raise ConformanceFailure(check, f"GET {SCHEDULES}", "no ETag header")
    assert target.client is not None
    again = target.client.request("GET", target.base_url + path, headers={**target.headers(api_key=""),
                                                                           "If-None-Match": etag})
    if again.status_code != 304 or again.content:
        raise ConformanceFailure(check, f"GET {SCHEDULES}", f"If-None-Match {etag} got {again.status_code} with "
                                 f"{len(again.content)} body bytes, expected a bodiless 304")


def _balance(target: Target, key: str) -> int:
    body, _ = _ok(target, "quote_conforms", "GET", "/api/v1/me/balance", "balance", api_key=key)
    return int(body["balance_cents"])


def check_price_quote(target: Target, request: CreateRequest, quote: dict[str, Any]) -> int:
    """A quote conforms and names its action; on the mock, the create then takes exactly it off
    `balance_cents` (set to a known figure first). Returns the quoted cents."""
    check, operation = "quote_conforms", f"POST {QUOTES}"
    body, _ = _ok(target, check, "POST", QUOTES, "price_quote", json=quote)
    answer = body["price_quote"]
    if (answer["action"], answer.get("model", request.model)) != (request.action, request.model):
        raise ConformanceFailure(check, operation, f"quoted {answer['action']}/{answer.get('model')}, asked for "
                                 f"{request.action}/{request.model}", request=quote, pointer="/price_quote")
    cents = int(answer["reservation_amount_cents"])
    if target.has_admin:
        key = target.api_key  # the key the server accepts; its balance made exact first
        target.mock_admin.set_balance(key, _QUOTE_BALANCE_CENTS)
        created = target.request("POST", request.path, operation=f"POST {request.path}", json=request.body,
                                 api_key=key, progression="manual")
        if not created.is_success:
            raise ConformanceFailure(check, operation, f"the quoted create got {created.status_code}: "
                                     f"{created.text[:200]!r}", request=request.body)
        dropped = _QUOTE_BALANCE_CENTS - _balance(target, key)
        if dropped != cents:
            raise ConformanceFailure(check, operation, f"quoted {cents} cents, the create took {dropped}",
                                     request=quote, pointer="/price_quote/reservation_amount_cents")
    return cents


def check_invalid_quote(target: Target) -> None:
    """A quote for a service that does not exist gets a 4xx with the error envelope."""
    quote = {"service": "no_such_service", "action": "text_to_image", "params": {"prompt": "x"}}
    response = _send(target, "invalid_quote_rejected", "POST", QUOTES, f"POST {QUOTES}", quote)
    _expect_error("invalid_quote_rejected", f"POST {QUOTES}", quote, response, range(400, 500),
                  "for an unknown service")


def check_models(target: Target) -> None:
    _ok(target, "models_conform", "GET", MODELS, "models", api_key="")


def check_account(target: Target) -> None:
    _ok(target, "account_conforms", "GET", "/api/v1/me", "account")
    _ok(target, "account_conforms", "GET", "/api/v1/me/balance", "balance")


def run_route_checks(target: Target, report: Report, examples: int, seed: int | None) -> None:
    """Every route check once (quotes: `examples` generated requests), recorded in `report`."""
    def record(check: str, action: Any) -> CheckResult:
        row = report._get(check, ROUTE_CHECKS[check])
        try:
            action()
        except ConformanceFailure as failure:
            row.failure = str(failure)
        else:
            row.passed = max(row.passed, 1)
        return row

    quotes = report._get("quote_conforms", ROUTE_CHECKS["quote_conforms"])

    def quote_once(pair: tuple[CreateRequest, dict[str, Any]]) -> None:
        check_price_quote(target, *pair)
        quotes.passed += 1

    record("schedules_conform", lambda: check_price_schedules(target))
    record("quote_conforms", lambda: _for_examples(quote_requests(), examples, seed, quote_once))
    record("invalid_quote_rejected", lambda: check_invalid_quote(target))
    record("models_conform", lambda: check_models(target))
    record("account_conforms", lambda: check_account(target))
