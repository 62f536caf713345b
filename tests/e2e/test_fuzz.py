"""Schemathesis against the mock's own `/openapi.json`, served on a loopback port, with every check enabled.

The mock serves `immediate` progression and accepts exactly one key (`test-key`), so the `ignored_auth` check
has an invalid key to be refused. Examples per operation default to a CI-friendly size; set
`RUNAPI_FUZZ_EXAMPLES` (e.g. 500, as `make fuzz` does) to dig deeper.

Three contract mismatches this run found (URL pattern looser than the server's URL check, Idempotency-Key
charset, POST on GET-only routes answering 404) are fixed; the tests at the bottom keep them fixed.

Callback URLs generated here may name any host: the mock only ever delivers to loopback. After each fuzz
run every task is driven to its end (so its callback is due) and `/_mock/callbacks` is checked: no delivery
to a non-loopback host was attempted.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import load_all_checks

from runapi_contracts.receiver import CallbackReceiver
from runapi_mock.lifecycle import Progression
from runapi_mock.server import RunningServer, serve_in_thread
from runapi_mock.settings import Settings

KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
SERVER_SETTINGS: dict[str, Any] = {"progression": Progression.parse("immediate"), "api_keys": (KEY,)}
EXAMPLES = int(os.environ.get("RUNAPI_FUZZ_EXAMPLES") or 12)
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
                         suppress_health_check=list(HealthCheck))

load_all_checks()
ALL_CHECKS = schemathesis.checks.CHECKS.get_all()
CHECK_NAMES = {check.__name__ for check in ALL_CHECKS}
positive_data_acceptance = next(c for c in ALL_CHECKS if c.__name__ == "positive_data_acceptance")
negative_data_rejection = next(c for c in ALL_CHECKS if c.__name__ == "negative_data_rejection")


def is_loopback_url(url: str) -> bool:
    """Independent of the mock's own allow list: `localhost` or a loopback IP literal, nothing else."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Whether the files API takes a request hangs on what no schema says: a source URL's reachability and host, the
# bytes base64 decodes to, a checksum, parts that exist; schema-valid requests there may rightly get a 422.
# And a multipart form's fields are all text: `purpose=false` is the string "false", not the boolean it was
# generated as, so the negative check cannot tell a wrong type there.
FILES_PATHS = ("/api/v1/files", "/v1/files", "/v1/uploads")
MULTIPART = {("POST", "/v1/files"), ("POST", "/v1/uploads/{upload_id}/parts")}


def validate(case: schemathesis.Case, response: Any) -> None:
    excluded = [positive_data_acceptance] if case.path.startswith(FILES_PATHS) else []
    if (case.method.upper(), case.path) in MULTIPART:
        excluded.append(negative_data_rejection)
    case.validate_response(response, checks=ALL_CHECKS, excluded_checks=excluded or None, headers=AUTH)


# -- the fuzz run --------------------------------------------------------------------------------------

def _drive_and_check_callbacks(running: RunningServer) -> dict[str, int]:
    """Read every task once (immediate progression ends it), wait for delivery attempts, inspect them."""
    with httpx.Client(base_url=running.base_url, headers=AUTH, timeout=10) as client:
        tasks = client.get("/_mock/tasks", params={"limit": 10000}).json()["tasks"]
        for task in tasks:
            if task["status"] == "pending" and task["key"] == KEY:
                assert client.get(f"/v1/tasks/{task['id']}").status_code == 200
        deadline = time.monotonic() + 60  # bounds a hang only: counting before every attempt is in would race
        while True:
            deliveries = client.get("/_mock/callbacks", params={"limit": 10000}).json()["deliveries"]
            unsettled = [d for d in deliveries if d["state"] == "sending" or (d["state"] == "pending"
                                                                               and not d["attempts"])]
            if not unsettled:
                break
            assert time.monotonic() < deadline, f"deliveries never settled: {unsettled[:3]}"
            time.sleep(0.05)
    counts = {"deliveries": len(deliveries), "attempted": 0, "blocked": 0}
    for delivery in deliveries:
        if delivery["attempts"]:
            counts["attempted"] += 1
            assert is_loopback_url(delivery["url"]), f"delivery attempted off loopback: {delivery}"
        if not is_loopback_url(delivery["url"]):
            assert delivery["state"] == "blocked" and not delivery["attempts"], delivery
            counts["blocked"] += 1
    return counts


# Tests are generated at collection, before fixtures run: the document is read from a served mock, and that
# mock stays up to be fuzzed. Some checks (schemathesis < 4.31's `ignored_auth`, which Python 3.10 gets) send
# their extra requests to the URL the document was loaded from, not to the case's base_url.
_served = serve_in_thread(Settings(port=0, **SERVER_SETTINGS))  # type: ignore[arg-type]
# POST /api/v1/price_quotes is left out: its exact body schema (one variant per catalog model, 72) costs the
# generator about 65 s for 12 examples. tests/mockserver/test_pricing.py holds the document and the server to
# each other there instead: every generated quote the server accepts validates, every refused one does not.
schema = schemathesis.openapi.from_url(f"{_served.base_url}/openapi.json").exclude(path="/api/v1/price_quotes")


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[RunningServer]:
    yield _served
    # After the run: whatever callback URLs were generated, nothing left this machine.
    _drive_and_check_callbacks(_served)
    _served.stop()


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_all_checks(case: schemathesis.Case, fuzz_server: RunningServer) -> None:
    response = case.call(base_url=fuzz_server.base_url, headers=AUTH)
    validate(case, response)


def test_fuzzed_document_is_the_served_one(make_server: Callable[..., RunningServer]) -> None:
    running = make_server(**SERVER_SETTINGS)
    served = httpx.get(f"{running.base_url}/openapi.json").json()
    assert served["paths"] == schema.raw_schema["paths"]
    assert served["components"] == schema.raw_schema["components"]
    assert len(list(schema.get_all_operations())) + 1 == len(  # all but the price quotes (see above)
        [m for item in served["paths"].values() for m in item]) >= 20


def test_every_check_is_enabled() -> None:
    # The fuzz run passes ALL_CHECKS explicitly; make sure that really is every built-in, not an empty list.
    assert {"not_a_server_error", "status_code_conformance", "content_type_conformance",
            "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
            "positive_data_acceptance", "missing_required_header", "unsupported_method", "ignored_auth",
            "use_after_free", "ensure_resource_availability"} <= CHECK_NAMES


def test_callbacks_never_leave_loopback(make_server: Callable[..., RunningServer]) -> None:
    """The post-run check above is not vacuous: a public URL is blocked, a loopback one is delivered."""
    running = make_server(**SERVER_SETTINGS)
    with CallbackReceiver() as receiver, httpx.Client(base_url=running.base_url, headers=AUTH) as client:
        for url in ("https://example.com/hook", "http://10.0.0.1/hook", receiver.url):
            created = client.post("/v1/text_to_image", json={"model": "gpt-image-2", "prompt": "a red bicycle",
                                                              "callback_url": url})
            assert created.status_code == 200, created.text
        counts = _drive_and_check_callbacks(running)
        assert len(receiver.wait_for(1)) == 1
    assert counts == {"deliveries": 3, "attempted": 1, "blocked": 2}


# -- pinned contract mismatches ------------------------------------------------------------------------

def _operation(schema: schemathesis.BaseSchema, method: str, path: str) -> Any:
    return schema[path][method]


def _document_and_server(running: RunningServer, path: str) -> tuple[Any, httpx.Client]:
    document = httpx.get(f"{running.base_url}/openapi.json").json()
    ref = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({**ref, "components": document["components"]})
    return validator, httpx.Client(base_url=running.base_url, headers=AUTH)


@pytest.mark.parametrize("url", ["http://a\x01b/hook", "http://example.com:port/hook", "http://a.b:70000/"])
def test_document_and_server_agree_on_bad_urls(make_server: Callable[..., RunningServer], url: str) -> None:
    """Found by this fuzz run: the published pattern admitted URLs the server rejects. Now both reject them."""
    running = make_server(**SERVER_SETTINGS)
    path = "/api/v1/flux_kontext/text_to_image"
    validator, client = _document_and_server(running, path)
    good = {"model": "flux-kontext-pro", "prompt": "a red bicycle", "callback_url": "http://127.0.0.1:9/hook"}
    bad = {**good, "callback_url": url}
    with client:
        assert validator.is_valid(good) and client.post(path, json=good).status_code == 200
        assert not validator.is_valid(bad)
        assert client.post(path, json=bad).status_code == 422


def test_document_and_server_agree_on_idempotency_keys(make_server: Callable[..., RunningServer]) -> None:
    running = make_server(**SERVER_SETTINGS)
    path = "/api/v1/flux_kontext/text_to_image"
    document = httpx.get(f"{running.base_url}/openapi.json").json()
    (param,) = [p for p in document["paths"][path]["post"]["parameters"] if p["name"] == "Idempotency-Key"]
    header_schema = jsonschema.Draft202012Validator(param["schema"])
    body = {"model": "flux-kontext-pro", "prompt": "a red bicycle"}
    with httpx.Client(base_url=running.base_url, headers=AUTH) as client:
        assert header_schema.is_valid("key-1") and client.post(
            path, json=body, headers={"Idempotency-Key": "key-1"}).status_code == 200
        assert not header_schema.is_valid("caf\xe9")
        latin1 = {"Idempotency-Key": "caf\xe9".encode("latin-1")}
        assert client.post(path, json=body, headers=latin1).status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/me/balance", "/api/v1/tasks/some-id"])
def test_undeclared_post_is_405(make_server: Callable[..., RunningServer], path: str) -> None:
    running = make_server(**SERVER_SETTINGS)
    response = httpx.post(f"{running.base_url}{path}", headers=AUTH)
    assert response.status_code == 405, response.text
    assert "GET" in response.headers.get("allow", "")


def test_undeclared_methods_elsewhere_are_405(make_server: Callable[..., RunningServer]) -> None:
    """Every undeclared method on every documented path is a 405 with Allow."""
    running = make_server(**SERVER_SETTINGS)
    wrong = []
    with httpx.Client(base_url=running.base_url, headers=AUTH) as client:
        for path, item in schema.raw_schema["paths"].items():
            concrete = path.replace("{id}", "some-id").replace("{task_id}", "some-id")
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                if method.lower() in item:
                    continue
                response = client.request(method, concrete)
                if response.status_code != 405 or not response.headers.get("allow"):
                    wrong.append((method, concrete, response.status_code))
    assert wrong == []
