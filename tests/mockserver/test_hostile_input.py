"""Hostile input: whatever arrives, the mock answers a 4xx JSON envelope and never a 5xx it was not asked for."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

AUTH = {"Authorization": "Bearer test-key"}
JSON_HEADERS = {**AUTH, "Content-Type": "application/json"}
PATH = "/api/v1/flux_kontext/text_to_image"
VALID = b'{"model": "flux-kontext-pro", "prompt": "a red bicycle"}'


def assert_client_error(response: Any, status: int | tuple[int, ...] | None = None) -> dict[str, Any]:
    """A 4xx with the API's envelope and a request id."""
    expected = (status,) if isinstance(status, int) else status
    assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    if expected is not None:
        assert response.status_code in expected, f"{response.status_code}: {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert response.headers["x-request-id"]
    return body  # type: ignore[no-any-return]


def post_raw(client: TestClient, raw: bytes, path: str = PATH, **headers: Any) -> Any:
    return client.post(path, content=raw, headers={**JSON_HEADERS, **headers})


def nested(depth: int) -> bytes:
    return b'{"model": "flux-kontext-pro", "prompt": "x", "extra": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"


# -- malformed and odd JSON ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"   ", b"{", b'{"model": }', b"{'model': 'x'}", b'{"a": 1,}', b"nul",
                                 b'{"a": "\\x"}', b'{"a": "unterminated}', b"\x00", b'{"a":1}{"b":2}',
                                 b"1" * 5000 + b"e", b'{"n": ' + b"9" * 5000 + b"}"])
def test_malformed_json_is_a_400(client: TestClient, raw: bytes) -> None:
    assert assert_client_error(post_raw(client, raw), 400)["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_literals_are_a_400(client: TestClient, literal: bytes) -> None:
    raw = b'{"model": "flux-kontext-pro", "prompt": "x", "safety_tolerance": ' + literal + b"}"
    body = assert_client_error(post_raw(client, raw), 400)
    assert literal.decode().lstrip("-") in body["error"]["message"]


@pytest.mark.parametrize("raw", [b"[]", b'["flux-kontext-pro"]', b'"a string"', b"42", b"true", b"null"])
@pytest.mark.parametrize("path", [PATH, "/v1/text_to_image"])
def test_non_object_bodies_are_rejected(client: TestClient, raw: bytes, path: str) -> None:
    assert_client_error(post_raw(client, raw, path), (400, 422))
    assert client.get("/_mock/tasks").json()["total"] == 0


@pytest.mark.parametrize(
    "body",
    [{"model": 5, "prompt": "x"}, {"model": None, "prompt": "x"}, {"model": ["flux-kontext-pro"], "prompt": "x"},
     {"model": {"a": 1}, "prompt": "x"}, {"model": "flux-kontext-pro", "prompt": ["x"]},
     {"model": "flux-kontext-pro", "prompt": {"text": "x"}}, {"model": "flux-kontext-pro", "prompt": 1.5},
     {"model": "flux-kontext-pro", "prompt": "x", "safety_tolerance": "2"},
     {"model": "flux-kontext-pro", "prompt": "x", "safety_tolerance": 2.5},
     {"model": "flux-kontext-pro", "prompt": "x", "safety_tolerance": True},
     {"model": "flux-kontext-pro", "prompt": "x", "enable_translation": "yes"},
     {"model": "flux-kontext-pro", "prompt": "x", "aspect_ratio": 16},
     {"model": "flux-kontext-pro", "prompt": "x", "watermark": 5},
     {"model": "flux-kontext-pro", "prompt": "x", "source_image_url": "ftp://example.com/a.png"},
     {"model": "flux-kontext-pro", "prompt": "x", "source_image_url": "http://[::1/a"},
     {"model": "flux-kontext-pro", "prompt": "x", "callback_url": "not a url"},
     {"model": "flux-kontext-pro", "prompt": "x", "callback_url": "http://a:99999/"},
     {"model": "flux-kontext-pro", "prompt": "x", "aspect_ratio": "\u0000"},
     {"model": "flux-kontext-pro", "prompt": "x", "": 1},
     {"model": "flux-kontext-pro", "prompt": "x", "nested": {"deep": [1, {"a": None}]}}],
)
def test_wrong_types_are_a_422_envelope(client: TestClient, body: dict[str, Any]) -> None:
    envelope = assert_client_error(client.post(PATH, json=body, headers=AUTH), 422)
    assert envelope["errors"] and all(isinstance(v, list) for v in envelope["errors"].values())


@pytest.mark.parametrize("path", ["/api/v1/gpt_image_2/edit_image", "/api/v1/flux_2/remix_image"])
@pytest.mark.parametrize("urls", ["http://a.b/c.png", [1, None, {}], [], [""], ["http://a.b/c"] * 1000])
def test_bad_source_image_lists_are_a_422(client: TestClient, path: str, urls: Any) -> None:
    model = "gpt-image-2" if "gpt" in path else "flux-2-max-remix-image"
    body = {"model": model, "prompt": "xyz", "aspect_ratio": "1:1", "source_image_urls": urls}
    response = client.post(path, json=body, headers=AUTH)
    if response.status_code == 200:  # a long list may be allowed by one family; never a crash
        assert urls != [] and isinstance(urls, list)
    else:
        assert_client_error(response, 422)


@pytest.mark.parametrize("depth", [50, 400, 5000, 200_000])
def test_deeply_nested_json_is_answered(client: TestClient, depth: int) -> None:
    assert_client_error(post_raw(client, nested(depth)), (400, 413, 422))


@pytest.mark.parametrize("depth", [600, 900])
def test_journal_survives_a_deeply_nested_body(client: TestClient, depth: int) -> None:
    assert_client_error(post_raw(client, nested(depth)), (400, 422))
    assert client.get("/_mock/journal").status_code == 200


def test_many_unknown_fields_are_reported_quickly(client: TestClient) -> None:
    body = {"model": "flux-kontext-pro", "prompt": "x", **{f"k{i}": i for i in range(20_000)}}
    envelope = assert_client_error(client.post(PATH, json=body, headers=AUTH), 422)
    assert len(envelope["errors"]) == 20_000


# -- encodings, surrogates, sizes ----------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b'{"model": "flux-kontext-pro", "prompt": "\xff\xfe"}',
                                 b'{"model": "flux-kontext-pro", "prompt": "\xc3"}',
                                 b"\xff" * 100])
def test_invalid_utf8_is_a_400(client: TestClient, raw: bytes) -> None:
    assert assert_client_error(post_raw(client, raw), 400)["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("raw", ['{"model": "flux-kontext-pro", "prompt": "x"}'.encode("utf-16"),
                                 b'\xef\xbb\xbf{"model": "flux-kontext-pro", "prompt": "x"}'])
def test_other_unicode_encodings_of_json_are_read(client: TestClient, raw: bytes) -> None:
    assert post_raw(client, raw).status_code == 200


@pytest.mark.parametrize("raw", [b'{"model": "flux-kontext-pro", "prompt": "x", "\\ud800": 1}',
                                 b'{"model": "flux-kontext-pro", "prompt": "\\udc00 x \\ud800"}',
                                 b'{"model": "flux-kontext-pro", "prompt": "\xed\xa0\x80"}',  # UTF-8 of U+D800
                                 b'{"model": "flux-kontext-pro", "prompt": "x", "watermark": "\\udfff"}'])
def test_lone_surrogates_are_refused_and_the_refusal_renders(client: TestClient, raw: bytes) -> None:
    """Not storable text (SQLite cannot encode it): a 400 at the door (issue 19; see test_durability.py)."""
    response = post_raw(client, raw, **{"X-Mock-Progression": "immediate", "Idempotency-Key": "k1"})
    assert assert_client_error(response, 400)["error"]["code"] == "invalid_json"
    for path in ("/_mock/journal", "/_mock/tasks"):
        assert client.get(path).status_code == 200, path
    assert client.get("/_mock/tasks").json()["total"] == 0


@pytest.mark.parametrize("model", [b'"\\ud800"', b'"gpt-image-2\\udc00"'])
def test_lone_surrogate_in_a_docs_model_is_a_400(client: TestClient, model: bytes) -> None:
    raw = b'{"model": ' + model + b', "prompt": "x"}'
    assert_client_error(post_raw(client, raw, "/v1/text_to_image"), 400)


@pytest.mark.parametrize("size", [1024 * 1024 + 1, 3 * 1024 * 1024])
def test_bodies_over_one_mebibyte_are_a_413(client: TestClient, size: int) -> None:
    raw = b'{"model": "flux-kontext-pro", "prompt": "' + b"x" * size + b'"}'
    assert assert_client_error(post_raw(client, raw), 413)["error"]["code"] == "payload_too_large"


def test_streamed_bodies_over_one_mebibyte_are_a_413(client: TestClient) -> None:
    chunks = iter([b'{"prompt": "'] + [b"x" * 65536] * 20 + [b'"}'])
    response = client.post(PATH, content=chunks, headers=JSON_HEADERS)
    assert assert_client_error(response, 413)["error"]["code"] == "payload_too_large"


def test_a_body_just_under_the_limit_is_read(client: TestClient) -> None:
    prefix, suffix = b'{"model": "flux-kontext-pro", "prompt": "', b'"}'
    raw = prefix + b"x" * (1024 * 1024 - len(prefix) - len(suffix)) + suffix
    assert len(raw) == 1024 * 1024
    assert post_raw(client, raw).status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "", "json", "application/jsonp", "text/json"])
def test_non_json_content_types_are_a_415(client: TestClient, content_type: str) -> None:
    response = client.post(PATH, content=VALID, headers={**AUTH, "Content-Type": content_type})
    assert assert_client_error(response, 415)["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize("content_type", ["application/json", "APPLICATION/JSON", "application/json; charset=utf-8",
                                          "application/problem+json", " application/json ;x=y"])
def test_json_content_types_are_accepted(client: TestClient, content_type: str) -> None:
    assert client.post(PATH, content=VALID, headers={**AUTH, "Content-Type": content_type}).status_code == 200


# -- headers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [("X-Client-Request-Id", b"x" * 513, "invalid_header"), ("X-Client-Request-Id", b"a\x00b", "invalid_header"),
     ("X-Client-Request-Id", "\u00e9t\u00e9".encode(), "invalid_header"),
     ("Idempotency-Key", b"\x7f", "invalid_header"), ("Idempotency-Key", "\u2603".encode(), "invalid_header"),
     ("X-Mock-Namespace", b"x" * 1000, "invalid_namespace"), ("X-Mock-Namespace", b"../etc", "invalid_namespace"),
     ("X-Mock-Namespace", "\u00fc".encode(), "invalid_namespace"),
     ("X-Mock-Scenario", "\u00fcber".encode(), "unknown_scenario"), ("X-Mock-Scenario", b"x" * 5000,
                                                                     "unknown_scenario"),
     ("X-Mock-Progression", b"polls:\xc2\xb2", "invalid_progression"),
     ("X-Mock-Progression", b"polls:99999999999999999999", "invalid_progression"),
     ("X-Mock-Retry-After", b"1e999", "invalid_header"), ("X-Mock-Retry-After", "\u0661".encode(), "invalid_header")],
)
def test_odd_control_headers_are_a_400(client: TestClient, name: str, value: bytes, code: str) -> None:
    headers = {**AUTH, name: value}
    if name == "X-Mock-Retry-After":
        headers["X-Mock-Scenario"] = "rate_limited"
    response = client.post(PATH, json={"model": "flux-kontext-pro", "prompt": "x"}, headers=headers)
    assert assert_client_error(response, 400)["error"]["code"] == code


@pytest.mark.parametrize("token", [b"\xff\xfe", "\u00e9".encode(), b"x" * 256, b"a b c", b"\x00"])
def test_odd_bearer_tokens_are_just_keys(client: TestClient, token: bytes) -> None:
    headers = {"Authorization": b"Bearer " + token, "Content-Type": "application/json"}
    response = client.post(PATH, content=VALID, headers=headers)
    assert response.status_code == 200
    assert client.get(f"{PATH}/{response.json()['id']}", headers=headers).status_code == 200
    assert client.get("/_mock/journal").status_code == 200


def test_a_flood_of_headers_is_answered(client: TestClient) -> None:
    headers = [(f"X-Junk-{i}", "v" * 100) for i in range(500)] + [("Authorization", "Bearer test-key")]
    assert client.get("/api/v1/me", headers=headers).status_code == 200


# -- paths and methods ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/flux_kontext/text_to_image/%00", "/api/v1/flux_kontext/text_to_image/%ff",
                                  "/api/v1/flux_kontext/text_to_image/" + "a" * 20_000, "/v1/tasks/%2e%2e",
                                  "/api/v1/tasks/..%2f..%2f", "//api/v1/me", "/api/v1//me",
                                  "/files/default/%00/0.png", "/files/..%2f/x/0.png", "/%e2%98%83",
                                  "/api/v1/%e2%98%83/text_to_image/abc", "/v1/%ff/abc"])
def test_odd_paths_are_a_client_error(client: TestClient, path: str) -> None:
    assert_client_error(client.get(path, headers=AUTH), (404, 405))


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND", "X-CUSTOM"])
@pytest.mark.parametrize("path", [PATH, f"{PATH}/abc", "/v1/text_to_image", "/api/v1/me", "/healthz"])
def test_odd_methods_are_a_405_envelope(client: TestClient, method: str, path: str) -> None:
    assert_client_error(client.request(method, path, headers=AUTH), 405)


def test_head_on_a_get_route_has_no_body(client: TestClient) -> None:
    response = client.head("/healthz")
    assert response.status_code == 200 and response.content == b""


# -- over a real socket (raw latin-1 header bytes the TestClient cannot send) --------------------------


def test_real_server_rejects_non_ascii_control_headers(make_server: Callable[..., Any]) -> None:
    server = make_server()
    with httpx.Client(base_url=server.base_url) as http:
        for name, value in (("X-Client-Request-Id", b"caf\xe9"), ("X-Mock-Namespace", b"caf\xe9"),
                            ("Idempotency-Key", b"caf\xe9"), ("X-Mock-Scenario", b"succ\xe9ss")):
            response = http.post(PATH, content=VALID, headers={**JSON_HEADERS, name: value})
            assert_client_error(response, 400)
        ok = http.post(PATH, content=VALID, headers={**JSON_HEADERS, "Authorization": b"Bearer caf\xe9"})
        assert ok.status_code == 200


def test_real_server_rejects_a_superscript_progression(make_server: Callable[..., Any]) -> None:
    server = make_server()
    with httpx.Client(base_url=server.base_url) as http:
        response = http.post(PATH, content=VALID, headers={**JSON_HEADERS, "X-Mock-Progression": b"polls:\xb2"})
    assert_client_error(response, 400)


# -- Hypothesis: anything at all -----------------------------------------------------------------------

PREFIXES = ["", "/", "/api/v1/", PATH, f"{PATH}/", "/api/v1/gpt_image_2/edit_image/", "/api/v1/flux_2/",
            "/api/v1/tasks/", "/api/v1/me", "/api/v1/me/balance", "/v1/", "/v1/text_to_image", "/v1/tasks/",
            "/v1/edit_image/", "/files/default/", "/files/", "/openapi.json", "/healthz", "/_mock/rules",
            "/_mock/rules/", "/_mock/clock/", "/_mock/journal", "/_mock/config", "/_mock/balance", "/_mock/reset"]
CONTROL = ["Authorization", "Content-Type", "X-Mock-Scenario", "X-Mock-Progression", "X-Mock-Namespace",
           "X-Mock-Retry-After", "Idempotency-Key", "X-Client-Request-Id", "Accept", "User-Agent"]
DELIBERATE_5XX = {"server_error", "unavailable", "flaky"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
mutated_requests = st.fixed_dictionaries(
    {"model": st.sampled_from(["flux-kontext-pro", "gpt-image-2", "flux-2-pro-remix-image",
                               "gpt-image-2-text-to-image"]) | json_values},
    optional={"prompt": st.text() | json_values, "aspect_ratio": st.sampled_from(["1:1", "16:9", "auto"]) | st.text(),
              "output_resolution": st.sampled_from(["1k", "2k", "4k"]) | json_values,
              "output_format": st.sampled_from(["png", "jpeg"]) | json_values,
              "source_image_urls": st.lists(st.text(), max_size=3) | json_values,
              "image_url": st.text() | json_values, "scenario": st.sampled_from(["failed", "stuck"]),
              "seconds": st.floats() | st.integers(), "status": st.text(), "progression": st.text()},
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    mutated_requests.map(lambda v: json.dumps(v).encode()),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
header_values = st.one_of(st.binary(max_size=80), st.text(max_size=40).map(lambda t: t.encode("utf-8", "replace")),
                          st.sampled_from([b"Bearer test-key", b"application/json", b"immediate", b"polls:2",
                                           b"manual", b"failed", b"stuck", b"rate_limited", b"ns-1", b"5"]))


@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    prefix=st.sampled_from(PREFIXES),
    segment=st.binary(max_size=40),
    query=st.dictionaries(st.sampled_from(["limit", "status", "key", "namespace", "all", "path", "x"]),
                          st.text(max_size=10), max_size=3),
    headers=st.dictionaries(st.sampled_from(CONTROL), header_values, max_size=6),
    body=bodies,
)
def test_random_requests_never_crash_and_4xx_have_an_envelope(
    client: TestClient, method: str, prefix: str, segment: bytes, query: dict[str, str],
    headers: dict[str, bytes], body: bytes,
) -> None:
    client.post("/_mock/reset", json={}, params={"all": "1"})
    response = client.request(method, prefix + quote(segment, safe="/"), params=query, headers=headers, content=body)
    scenario = headers.get("X-Mock-Scenario", b"").decode("latin-1").strip().lower()
    if response.status_code >= 500:
        assert scenario in DELIBERATE_5XX, f"{response.status_code} {method} {prefix!r}: {response.text[:300]}"
    if 400 <= response.status_code < 500:
        assert_client_error(response)
    if response.status_code < 500:
        assert response.headers["x-request-id"]
