"""The router's exact-path lookup answers exactly as Starlette's ordered route matching would.

ExactRouter looks literal paths up in a dict (`router.exact`) before trying its routes in order. The same
requests are sent to a mock with the lookup and to one without it (the dict emptied, so every request is
matched route by route); every status, body, header and journal entry must match, request ids and timings
aside.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.routing import Match
from starlette.testclient import TestClient

from runapi_contracts import load_catalog
from runapi_mock import create_app
from runapi_mock.api.routing import ExactRouter

AUTH = {"Authorization": "Bearer test-key"}
FLUX = "/api/v1/flux_kontext/text_to_image"
BODY = {"model": "flux-kontext-pro", "prompt": "a red bicycle"}
VALID = {
    "/api/v1/flux_kontext/text_to_image": BODY,
    "/api/v1/flux_2/text_to_image": {"model": "flux-2-pro", "prompt": "a fox"},
    "/api/v1/flux_2/remix_image": {"model": "flux-2-pro", "prompt": "a fox",
                                   "source_image_urls": ["https://example.com/a.png"]},
    "/api/v1/gpt_image_2/text_to_image": {"model": "gpt-image-2", "prompt": "a fox"},
    "/api/v1/gpt_image_2/edit_image": {"model": "gpt-image-2", "prompt": "a fox",
                                       "source_image_urls": ["https://example.com/a.png"]},
    "/v1/text_to_image": BODY,
    "/v1/edit_image": {"model": "flux-kontext-pro", "prompt": "p", "image_url": "https://example.com/a.png"},
    "/v1/remix_image": {"model": "flux-2-pro", "prompt": "a fox", "source_image_urls": ["https://example.com/a.png"]},
}
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "requests"
for _fixture in sorted(FIXTURES.glob("*.json")):  # the imported actions: one valid fixture body per create route
    _data = json.loads(_fixture.read_text("utf-8"))
    if _data["valid"]:
        VALID.setdefault(f"/api/v1/{_data['family']}/{_data['action']}", _data["body"])
        _action = load_catalog().action(_data["family"], _data["action"])
        if _action is not None and "sync" not in _action.output_spec:  # a synchronous action has no docs route
            VALID.setdefault(f"/v1/{_data['action']}", _data["body"])

# (method, path, headers, body): every feature the middleware and the create endpoints handle.
REQUESTS: list[tuple[str, str, dict[str, str], Any]] = [
    *[("POST", path, AUTH, body) for path, body in VALID.items()],
    ("POST", FLUX, {**AUTH, "X-Client-Request-Id": "client-1"}, BODY),
    ("POST", FLUX, {**AUTH, "X-Client-Request-Id": "x" * 600}, BODY),
    ("POST", FLUX, {**AUTH, "Idempotency-Key": "k1"}, BODY),
    ("POST", FLUX, {**AUTH, "Idempotency-Key": "k1"}, BODY),
    ("POST", FLUX, {**AUTH, "Idempotency-Key": "k1"}, {**BODY, "prompt": "other"}),
    ("POST", FLUX, {**AUTH, "Idempotency-Key": ""}, BODY),
    ("POST", "/ns/team-a" + FLUX, AUTH, BODY),
    ("POST", "/ns/team-a/v1/text_to_image", {**AUTH, "X-Mock-Namespace": "ignored"}, BODY),
    ("POST", FLUX, {**AUTH, "X-Mock-Namespace": "team-b"}, BODY),
    ("POST", FLUX, {**AUTH, "X-Mock-Namespace": "bad name!"}, BODY),
    ("POST", FLUX, {**AUTH, "X-Mock-Scenario": "rate_limited", "X-Mock-Retry-After": "7"}, BODY),
    ("POST", FLUX, {**AUTH, "X-Mock-Scenario": "failed"}, BODY),
    ("POST", FLUX, {**AUTH, "X-Mock-Scenario": "flaky"}, BODY),
    ("POST", FLUX, {**AUTH, "X-Mock-Scenario": "nope"}, BODY),
    ("POST", FLUX, {**AUTH, "X-Mock-Progression": "polls:2"}, BODY),
    ("POST", FLUX, {**AUTH, "X-Mock-Progression": "sometimes"}, BODY),
    ("POST", FLUX, {**AUTH, "X-Mock-Callback-Mode": "bogus"}, BODY),
    ("POST", FLUX, {}, BODY),
    ("POST", FLUX, {"Authorization": "Basic x"}, BODY),
    ("POST", FLUX, {**AUTH, "Content-Type": "text/plain"}, BODY),
    ("POST", FLUX, AUTH, b"{not json"),
    ("POST", FLUX, AUTH, b""),
    ("POST", FLUX, AUTH, [1, 2]),
    ("POST", FLUX, AUTH, {"model": "flux-kontext-pro"}),
    ("POST", FLUX, AUTH, {**BODY, "seed": 1, "safety_tolerance": 9}),
    ("POST", "/v1/text_to_image", AUTH, {"model": "nope", "prompt": "p"}),
    ("POST", "/api/v1/flux_kontext/remix_image", AUTH, BODY),
    ("POST", FLUX + "/", AUTH, BODY),
    ("GET", FLUX, AUTH, None),
    ("PUT", FLUX, AUTH, BODY),
    ("GET", FLUX + "/abc/", AUTH, None),
    ("HEAD", "/healthz", {}, None),
    ("GET", "/_mock", {}, None),
    ("GET", "/_mock/", {}, None),
    ("GET", "/nope", AUTH, None),
]


def _send(client: TestClient, method: str, path: str, headers: dict[str, str], body: Any) -> Any:
    content = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **headers} if content is not None else headers
    response = client.request(method, path, headers=headers, content=content, follow_redirects=False)
    sent = {k: v for k, v in response.headers.items() if k != "x-request-id"}
    assert response.headers.get("x-request-id")
    return response.status_code, response.content, sent


def _journal(client: TestClient, namespace: str) -> list[dict[str, Any]]:
    entries = client.get("/_mock/journal", headers={"X-Mock-Namespace": namespace}).json()["entries"]
    return [{k: v for k, v in e.items() if k not in ("at", "wall", "duration_ms")} for e in entries]


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _router(client: TestClient) -> ExactRouter:
    router = client.app.router  # type: ignore[attr-defined]
    assert isinstance(router, ExactRouter)
    return router


def _every_exact_path(client: TestClient) -> list[tuple[str, str, dict[str, str], Any]]:
    """Every method on every path in the lookup (a valid body for the create routes)."""
    return [(method, path, AUTH, VALID.get(path, {}) if method == "POST" else None)
            for path in sorted(_router(client).exact) for method in METHODS]


def _run(make_client: Callable[..., TestClient], lookup: bool) -> tuple[list[Any], list[Any], list[Any]]:
    client = make_client(seed=7, rate_limit=1000, frozen_clock=True)  # nothing moves between the two runs
    requests = REQUESTS + _every_exact_path(client)
    if not lookup:
        _router(client).exact = {}
    answers = [_send(client, *request) for request in requests]
    journals = [_journal(client, ns) for ns in ("default", "team-a", "team-b")]
    return requests, answers, journals


def test_the_lookup_answers_as_ordered_matching_does(make_client: Callable[..., TestClient]) -> None:
    requests, looked_up, journals = _run(make_client, lookup=True)
    same_requests, matched, same_journals = _run(make_client, lookup=False)
    assert requests == same_requests and len(requests) > len(REQUESTS)
    for request, with_lookup, without in zip(requests, looked_up, matched, strict=True):
        assert with_lookup == without, request
    assert journals == same_journals
    assert all(journals), "every namespace journaled something"


def test_every_create_route_is_in_the_lookup() -> None:
    catalog = load_catalog()
    paths = {action.path for action in catalog.actions.values()}
    # The docs routes are the asynchronous actions' (a synchronous one is answered where its SDK calls it).
    paths |= {f"/v1/{a}" for (_, a), action in catalog.actions.items() if "sync" not in action.output_spec}
    router = create_app().router
    assert isinstance(router, ExactRouter)
    # Besides the creates, the literal POST routes are the files API's, the price quotes (issue 12) and
    # `runapi listen`'s session (issue 20) and Suno's voices (issue 23).
    others = {"/api/v1/files", "/api/v1/files/prepare", "/api/v1/files/confirm", "/v1/files", "/v1/uploads",
              "/api/v1/price_quotes", "/api/v1/cli/listen_sessions", "/api/v1/voices"}
    # and the routes an SDK calls that the contract lacks (catalog data: Fish Audio's voices, OpenAI's
    # transcriptions, Suno's personas...), the literal ones among them.
    others |= {route["path"] for route in catalog.sdk_routes if route["method"] == "POST" and "{" not in route["path"]}
    assert {path for path, route in router.exact.items() if "POST" in (route.methods or ())} == paths | others
    assert set(VALID) == paths


def test_each_looked_up_route_is_the_first_that_fully_matches() -> None:
    router = create_app().router
    assert isinstance(router, ExactRouter)
    answered, wrong = set(), []
    for path, route in router.exact.items():
        for method in METHODS:
            scope = {"type": "http", "method": method, "path": path, "root_path": ""}
            if route.matches(scope)[0] is not Match.FULL:
                continue  # the lookup passes: ordered matching decides, as test_the_lookup_... checks
            answered.add(path)
            first = next(r for r in router.routes if r.matches(scope)[0] is Match.FULL)
            if first is not route:
                wrong.append((method, path, first))
    assert wrong == []
    assert answered == set(router.exact), "every looked-up route answers some method"
