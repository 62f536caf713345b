"""The route table: SDK and docs routes, account, files, openapi, healthz, headers, auth and the error envelope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from runapi_contracts import validate_response
from runapi_mock.ledger import Ledger

AUTH = {"Authorization": "Bearer test-key"}
IMMEDIATE = {**AUTH, "X-Mock-Progression": "immediate"}
SOURCE = "https://example.com/source.png"

# (family, action, a valid body) for every SDK create route in the catalog.
SDK_ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("flux_kontext", "text_to_image", {"model": "flux-kontext-pro", "prompt": "a red bicycle"}),
    ("flux_kontext", "text_to_image", {"model": "flux-kontext-max", "prompt": "a red bicycle"}),
    ("flux_2", "text_to_image", {"model": "flux-2-pro-text-to-image", "prompt": "a red bicycle"}),
    ("flux_2", "remix_image", {"model": "flux-2-flex-remix-image", "prompt": "a red bicycle",
                               "source_image_urls": [SOURCE]}),
    ("gpt_image_2", "text_to_image", {"model": "gpt-image-2", "prompt": "a red bicycle"}),
    ("gpt_image_2", "edit_image", {"model": "gpt-image-2", "prompt": "a red bicycle",
                                   "source_image_urls": [SOURCE]}),
]

# (docs action, body, canonical model) for the public docs' routes, where `model` picks the family.
DOCS_ROUTES: list[tuple[str, dict[str, Any], str]] = [
    ("text_to_image", {"model": "flux-kontext-pro", "prompt": "a cat"}, "flux-kontext-pro"),
    ("text_to_image", {"model": "flux-2-max-text-to-image", "prompt": "a cat", "aspect_ratio": "1:1"},
     "flux-2-max-text-to-image"),
    ("text_to_image", {"model": "gpt-image-2", "prompt": "a cat"}, "gpt-image-2"),
    ("text_to_image", {"model": "gpt-image-2-text-to-image", "prompt": "a cat"}, "gpt-image-2"),
    ("edit_image", {"model": "gpt-image-2-image-to-image", "prompt": "a cat", "source_image_urls": [SOURCE]},
     "gpt-image-2"),
    ("remix_image", {"model": "flux-2-pro-remix-image", "prompt": "a cat", "source_image_urls": [SOURCE]},
     "flux-2-pro-remix-image"),
]


def assert_envelope(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    assert response.headers.get("x-request-id")
    return body


def assert_task_body(body: dict[str, Any], status: str | None = None) -> None:
    assert body["id"] == body["task_id"]
    assert isinstance(body["model"], str) and body["model"]
    assert body["status"] in ("pending", "processing", "completed", "failed")
    if status is not None:
        assert body["status"] == status
    if body["status"] == "completed":
        assert body["images"] and all(image["url"].startswith("http://127.0.0.1:8787/files/")
                                      for image in body["images"])
        assert isinstance(body["usage"]["cost"], float) and body["usage"]["generated_images"] == len(body["images"])
    if body["status"] == "failed":
        assert isinstance(body["error"], str) and body["error"]


@pytest.mark.parametrize(("family", "action", "body"), SDK_ROUTES)
def test_sdk_routes_create_then_read_a_task(client: TestClient, family: str, action: str,
                                            body: dict[str, Any]) -> None:
    created = client.post(f"/api/v1/{family}/{action}", json=body, headers=IMMEDIATE)
    assert created.status_code == 200, created.text
    assert_task_body(created.json(), "pending")
    assert created.json()["model"] == body["model"]
    assert created.json()["task_replayed"] is False
    task_id = created.json()["id"]
    assert created.headers["x-runapi-task-id"] == task_id
    assert validate_response("create_response", created.json()) == []
    read = client.get(f"/api/v1/{family}/{action}/{task_id}", headers=AUTH)
    assert read.status_code == 200
    assert read.headers["x-runapi-task-id"] == task_id
    assert_task_body(read.json(), "completed")
    assert validate_response("task", read.json()) == []


@pytest.mark.parametrize(("action", "body", "model"), DOCS_ROUTES)
def test_docs_routes_pick_the_family_from_the_model(client: TestClient, action: str, body: dict[str, Any],
                                                    model: str) -> None:
    created = client.post(f"/v1/{action}", json=body, headers=IMMEDIATE)
    assert created.status_code == 200, created.text
    assert created.json()["model"] == body["model"]  # the name the client sent is echoed
    task_id = created.json()["id"]
    for path in (f"/v1/tasks/{task_id}", f"/v1/{action}/{task_id}"):
        read = client.get(path, headers=AUTH)
        assert read.status_code == 200, path
        assert read.headers["x-runapi-task-id"] == task_id
        assert_task_body(read.json(), "completed")
        assert read.json()["model"] == body["model"]
    view = client.get(f"/_mock/tasks/{task_id}").json()
    assert view["request"]["model"] == model  # ... but the task is validated and priced as the canonical model
    family = view["family"]
    assert client.get(f"/api/v1/{family}/{action}/{task_id}", headers=AUTH).status_code == 200


@pytest.mark.parametrize("alias", ["image_url", "input_image"])
def test_flux_kontext_docs_image_fields_are_normalised(client: TestClient, alias: str) -> None:
    body = {"model": "flux-kontext-pro", "prompt": "make it blue", alias: SOURCE}
    created = client.post("/v1/text_to_image", json=body, headers=AUTH)
    assert created.status_code == 200, created.text
    stored = client.get(f"/_mock/tasks/{created.json()['id']}").json()["request"]
    assert stored["source_image_url"] == SOURCE
    assert alias not in stored


def test_two_spellings_of_the_source_image_with_different_values_are_a_422(client: TestClient) -> None:
    body = {"model": "flux-kontext-pro", "prompt": "x", "image_url": SOURCE, "source_image_url": SOURCE + "?b"}
    envelope = assert_envelope(client.post("/v1/text_to_image", json=body, headers=AUTH), 422, "validation_failed")
    assert "image_url" in envelope["errors"]


@pytest.mark.parametrize("model", [None, 5, "no-such-model", "flux-2-pro-remix-image"])
def test_docs_route_with_an_unknown_model_is_a_422_on_model(client: TestClient, model: Any) -> None:
    body: dict[str, Any] = {"prompt": "a cat"}
    if model is not None:
        body["model"] = model
    envelope = assert_envelope(client.post("/v1/text_to_image", json=body, headers=AUTH), 422)
    assert list(envelope["errors"]) == ["model"]
    if model is None:  # absent: required, as on the SDK routes (issue 15, item 11)
        assert envelope["errors"]["model"] == ["model is required"]
    else:
        assert "flux-kontext-pro" in envelope["errors"]["model"][0]


def test_task_result_route_wraps_the_completed_task(client: TestClient) -> None:
    task_id = client.post("/api/v1/flux_kontext/text_to_image", json={"model": "flux-kontext-pro", "prompt": "x"},
                          headers=IMMEDIATE).json()["id"]
    first = client.get(f"/api/v1/tasks/{task_id}", headers=AUTH)
    assert first.status_code == 200
    assert first.headers["x-runapi-task-id"] == task_id
    body = first.json()
    assert body["id"] == task_id and body["status"] == "completed"
    assert body["response"]["status"] == 200
    assert_task_body(body["response"]["body"], "completed")


def test_task_result_route_carries_the_failure(client: TestClient) -> None:
    headers = {**IMMEDIATE, "X-Mock-Scenario": "failed"}
    task_id = client.post("/api/v1/flux_kontext/text_to_image", json={"model": "flux-kontext-pro", "prompt": "x"},
                          headers=headers).json()["id"]
    body = client.get(f"/api/v1/tasks/{task_id}", headers=AUTH).json()
    assert body["status"] == "failed" and body["error"] == "Image generation failed"
    status = client.get(f"/v1/tasks/{task_id}", headers=AUTH).json()  # the same failure, both fields
    assert (body["error"], body["error_code"]) == (status["error"], status["error_code"]) != (None, None)


def test_task_result_body_has_task_id_and_model(client: TestClient) -> None:
    task_id = client.post("/api/v1/flux_kontext/text_to_image", json={"model": "flux-kontext-pro", "prompt": "x"},
                          headers=AUTH).json()["id"]
    body = client.get(f"/api/v1/tasks/{task_id}", headers=AUTH).json()
    assert body["task_id"] == body["id"] and body["model"] == "flux-kontext-pro"


def test_failed_task_body_has_the_error(client: TestClient) -> None:
    headers = {**IMMEDIATE, "X-Mock-Scenario": "content_policy"}
    task_id = client.post("/api/v1/gpt_image_2/text_to_image", json={"model": "gpt-image-2", "prompt": "x"},
                          headers=headers).json()["id"]
    body = client.get(f"/api/v1/gpt_image_2/text_to_image/{task_id}", headers=AUTH).json()
    assert_task_body(body, "failed")
    assert "images" not in body and "usage" not in body


def test_me_and_balance_answer_for_the_key(client: TestClient) -> None:
    me = client.get("/api/v1/me", headers=AUTH)
    assert me.status_code == 200 and isinstance(me.json()["id"], int)
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer other"}).json()["id"] != me.json()["id"]
    balance = client.get("/api/v1/me/balance", headers=AUTH)
    assert balance.status_code == 200 and balance.json()["balance_cents"] == 5000


def test_openapi_names_the_mock_origin_and_the_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["servers"][0]["url"] == "http://127.0.0.1:8787"
    for path in ("/api/v1/flux_kontext/text_to_image", "/api/v1/tasks/{id}", "/v1/text_to_image", "/api/v1/me"):
        assert path in spec["paths"]


def test_healthz_needs_no_key(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nope"), ("GET", "/api/v1"), ("POST", "/api/v1/no_family/text_to_image"),
     ("POST", "/api/v1/flux_kontext/edit_image"), ("GET", "/api/v1/no_family/text_to_image/abc"),
     ("POST", "/v1/no_action"), ("GET", "/v1/no_action/abc"), ("GET", "/api/v1/flux_kontext/text_to_image/a/b"),
     ("GET", "/files/default/abc/0.png"), ("GET", "/_mock/nope")],
)
def test_unknown_routes_are_a_404_envelope(client: TestClient, method: str, path: str) -> None:
    assert_envelope(client.request(method, path, headers=AUTH, json={}), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/v1/flux_kontext/text_to_image/"), ("POST", "/v1/text_to_image/"),
     ("GET", "/api/v1/flux_kontext/text_to_image/abc/"), ("GET", "/api/v1/me/"), ("GET", "/healthz/"),
     ("GET", "/_mock/journal/"), ("POST", "/_mock/reset/")],
)
def test_a_trailing_slash_is_a_404_envelope_not_a_redirect(client: TestClient, method: str,
                                                           path: str) -> None:
    response = client.request(method, path, headers=AUTH, json={"model": "flux-kontext-pro", "prompt": "x"},
                              follow_redirects=False)
    body = assert_envelope(response, 404, "not_found")
    assert "trailing slash" in body["error"]["message"]
    assert "location" not in response.headers


def test_the_admin_index_answers_with_and_without_its_slash(client: TestClient) -> None:
    with_slash, without = client.get("/_mock/"), client.get("/_mock", follow_redirects=False)
    assert with_slash.status_code == without.status_code == 200
    assert with_slash.json() == without.json() and "POST /_mock/reset" in without.json()["routes"]


def test_an_unexpected_error_is_a_500_envelope_with_its_traceback_logged(
        client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the mock")

    monkeypatch.setattr(Ledger, "balance", broken)
    response = client.get("/api/v1/me/balance", headers={**AUTH, "X-Client-Request-Id": "c-1"})
    assert_envelope(response, 500, "internal_error")
    assert response.json()["error"]["message"] == "Internal server error"  # nothing of the bug leaks out
    assert response.headers["x-client-request-id"] == "c-1"
    assert "RuntimeError: a bug in the mock" in caplog.text and "Traceback" in caplog.text
    last = client.get("/_mock/journal").json()["entries"][0]
    assert (last["path"], last["status"], last["error_code"]) == ("/api/v1/me/balance", 500, "internal_error")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/flux_kontext/text_to_image"), ("PUT", "/api/v1/flux_kontext/text_to_image"),
     ("DELETE", "/api/v1/flux_kontext/text_to_image/abc"), ("POST", "/api/v1/me"), ("POST", "/healthz"),
     ("PATCH", "/v1/text_to_image"), ("DELETE", "/api/v1/tasks/abc"), ("POST", "/_mock/journal")],
)
def test_wrong_methods_are_a_405_envelope(client: TestClient, method: str, path: str) -> None:
    # JSON typed: an admin write is refused for its type (415) before the router looks at the method.
    headers = {**AUTH, "Content-Type": "application/json"}
    assert_envelope(client.request(method, path, headers=headers), 405, "method_not_allowed")


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/me", "/nope", "/_mock/journal", "/openapi.json"])
def test_every_response_has_a_fresh_request_id(client: TestClient, path: str) -> None:
    first, second = client.get(path, headers=AUTH), client.get(path, headers=AUTH)
    assert first.headers["x-request-id"] and first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize("value", ["abc", "req 1", "~" * 512, "!\"#$%&'()*+,-./"])
def test_valid_client_request_id_is_echoed(client: TestClient, value: str) -> None:
    for response in (client.get("/healthz", headers={"X-Client-Request-Id": value}),
                     client.get("/nope", headers={"X-Client-Request-Id": value})):
        assert response.headers["x-client-request-id"] == value


@pytest.mark.parametrize("value", ["a" * 513, "", "tab\there", "caf\u00e9", "bell\x07"])
def test_invalid_client_request_id_is_a_400(client: TestClient, value: str) -> None:
    response = client.get("/api/v1/me", headers={**AUTH, "X-Client-Request-Id": value.encode("utf-8")})
    assert_envelope(response, 400, "invalid_header")
    assert "x-client-request-id" not in response.headers


@pytest.mark.parametrize("headers", [{}, {"Authorization": ""}, {"Authorization": "Bearer"},
                                     {"Authorization": "Bearer    "}, {"Authorization": "Basic dGVzdA=="},
                                     {"Authorization": "test-key"}])
@pytest.mark.parametrize(("method", "path"), [("GET", "/api/v1/me"), ("GET", "/api/v1/me/balance"),
                                              ("POST", "/api/v1/flux_kontext/text_to_image"),
                                              ("GET", "/api/v1/flux_kontext/text_to_image/abc"),
                                              ("GET", "/v1/tasks/abc"), ("GET", "/api/v1/tasks/abc")])
def test_missing_or_blank_bearer_is_a_401(client: TestClient, headers: dict[str, str], method: str,
                                          path: str) -> None:
    response = client.request(method, path, headers=headers, json={"model": "flux-kontext-pro", "prompt": "x"})
    assert_envelope(response, 401, "unauthorized")


def test_bearer_scheme_is_case_insensitive(client: TestClient) -> None:
    assert client.get("/api/v1/me", headers={"Authorization": "bearer test-key"}).status_code == 200


def test_api_keys_setting_restricts_keys(make_client: Callable[..., TestClient]) -> None:
    client = make_client(api_keys=("good",))
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer good"}).status_code == 200
    assert_envelope(client.get("/api/v1/me", headers={"Authorization": "Bearer bad"}), 401, "unauthorized")


def test_another_key_cannot_see_a_task(client: TestClient) -> None:
    task_id = client.post("/api/v1/flux_kontext/text_to_image", json={"model": "flux-kontext-pro", "prompt": "x"},
                          headers=AUTH).json()["id"]
    other = {"Authorization": "Bearer other-key"}
    for path in (f"/api/v1/flux_kontext/text_to_image/{task_id}", f"/v1/tasks/{task_id}",
                 f"/v1/text_to_image/{task_id}", f"/api/v1/tasks/{task_id}"):
        response = client.get(path, headers=other)
        assert_envelope(response, 404, "not_found")
        assert "x-runapi-task-id" not in response.headers, path


@pytest.mark.parametrize("path_for", [
    lambda t: f"/api/v1/flux_2/text_to_image/{t}",
    lambda t: f"/api/v1/flux_kontext/text_to_image/{t}x",
    lambda t: f"/v1/edit_image/{t}",
])
def test_a_task_is_only_found_on_its_own_routes(client: TestClient, path_for: Callable[[str], str]) -> None:
    task_id = client.post("/api/v1/flux_kontext/text_to_image", json={"model": "flux-kontext-pro", "prompt": "x"},
                          headers=AUTH).json()["id"]
    assert_envelope(client.get(path_for(task_id), headers=AUTH), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "fields"),
    [({"model": "flux-kontext-pro"}, {"prompt"}),
     ({"model": "flux-kontext-pro", "prompt": ""}, {"prompt"}),
     ({"model": "flux-kontext-pro", "prompt": "x", "aspect_ratio": "7:5"}, {"aspect_ratio"}),
     ({"model": "flux-kontext-pro", "prompt": 5, "output_format": "gif"}, {"prompt", "output_format"}),
     ({"model": "flux-kontext-pro", "prompt": "x", "safety_tolerance": 9}, {"safety_tolerance"}),
     ({"model": "flux-kontext-pro", "prompt": "x", "source_image_url": SOURCE, "safety_tolerance": 4},
      {"safety_tolerance"}),
     ({"model": "flux-kontext-pro", "prompt": "x", "unknown": 1}, {"unknown"}),
     ({"model": "gpt-image-2", "prompt": "x"}, {"model"}),
     ({"prompt": "x"}, {"model"})],
)
def test_validation_failures_are_a_422_with_errors_per_field(client: TestClient, body: dict[str, Any],
                                                             fields: set[str]) -> None:
    response = client.post("/api/v1/flux_kontext/text_to_image", json=body, headers=AUTH)
    envelope = assert_envelope(response, 422, "validation_failed")
    assert set(envelope["errors"]) == fields
    assert all(isinstance(m, str) and m for messages in envelope["errors"].values() for m in messages)
    assert "x-runapi-task-id" not in response.headers


def test_gpt_image_rules_are_enforced(client: TestClient) -> None:
    body = {"model": "gpt-image-2", "prompt": "x", "output_resolution": "2k"}  # aspect_ratio auto: 1k only
    envelope = assert_envelope(client.post("/api/v1/gpt_image_2/text_to_image", json=body, headers=AUTH), 422)
    assert "output_resolution" in envelope["errors"]


def test_poll_retry_after_is_sent_only_while_not_terminal(make_client: Callable[..., TestClient]) -> None:
    client = make_client(poll_retry_after=3)
    headers = {**AUTH, "X-Mock-Progression": "polls:1"}
    task_id = client.post("/api/v1/flux_kontext/text_to_image", json={"model": "flux-kontext-pro", "prompt": "x"},
                          headers=headers).json()["id"]
    path = f"/api/v1/flux_kontext/text_to_image/{task_id}"
    processing, completed = client.get(path, headers=AUTH), client.get(path, headers=AUTH)
    assert processing.json()["status"] == "processing" and processing.headers["retry-after"] == "3"
    assert completed.json()["status"] == "completed" and "retry-after" not in completed.headers


def test_a_docs_route_model_served_elsewhere_is_a_sorted_list_and_a_hint(client: TestClient) -> None:
    body = {"model": "flux-kontext-pro", "prompt": "x", "image_url": "http://127.0.0.1/a.png"}
    answer = client.post("/v1/edit_image", json=body, headers=AUTH)
    assert answer.status_code == 422
    (message,) = answer.json()["errors"]["model"]
    listed, hint = message.removeprefix("model must be one of: ").split("; ")
    assert listed.split(", ") == sorted(listed.split(", ")) and len(listed.split(", ")) > 10
    assert hint == "flux-kontext-pro is served by /v1/text_to_image (the source image goes in image_url)"
    unknown = client.post("/v1/edit_image", json={**body, "model": "no-such-model"}, headers=AUTH).json()
    assert ";" not in unknown["errors"]["model"][0]  # a model served nowhere gets the list alone


@pytest.mark.parametrize("path", ["/v1/text_to_image", "/api/v1/flux_kontext/text_to_image"])
def test_two_spellings_of_one_field_name_the_ones_sent(client: TestClient, path: str) -> None:
    body = {"model": "flux-kontext-pro", "prompt": "x", "image_url": "http://127.0.0.1/a.png",
            "input_image": "http://127.0.0.1/b.png"}
    errors = client.post(path, json=body, headers=AUTH).json()["errors"]
    assert errors == {"input_image": ["input_image and image_url name the same field; send one"]}
