"""No web page can drive the mock (issue 19, items 1-2): the Host check against DNS rebinding, and admin writes
that need the JSON type and no foreign Origin, so a browser must preflight, and the preflight is refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

AUTH = {"Authorization": "Bearer test-key"}
JSON_TYPE = {"Content-Type": "application/json"}


def refused(response: object, status: int, code: str, *needles: str) -> None:
    body = response.json()  # type: ignore[attr-defined]
    assert response.status_code == status, body  # type: ignore[attr-defined]
    assert body["error"]["code"] == code, body
    for needle in needles:
        assert needle in body["error"]["message"], body


# -- the Host check (DNS rebinding) ------------------------------------------------------------------------


def test_a_foreign_host_cannot_read_the_callback_secret(client: TestClient) -> None:
    response = client.get("/_mock/callback-secret", headers={"Host": "evil.example:8787"})
    refused(response, 403, "host_not_allowed", "'evil.example'", "--allowed-host evil.example")
    assert "secret" not in response.text


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8787", "localhost.evil.example", "127.0.0.1.nip.io",
                                  "mock", "[::1].evil.example"])
def test_foreign_hosts_are_refused_everywhere(client: TestClient, host: str) -> None:
    for path in ("/_mock/ui/", "/healthz", "/api/v1/me", "/ns/a/_mock/config"):
        refused(client.get(path, headers={"Host": host, **AUTH}), 403, "host_not_allowed")


@pytest.mark.parametrize("host", ["localhost", "localhost:8787", "app.localhost:1", "127.0.0.1", "127.1.2.3:80",
                                  "[::1]:8787", "[::1]", "LOCALHOST.", "10.0.0.5:8787", "[fe80::1]"])
def test_loopback_names_and_ip_literals_are_served(client: TestClient, host: str) -> None:
    assert client.get("/healthz", headers={"Host": host}).status_code == 200


def test_allowed_hosts_and_the_public_url_host_are_served(make_client: Callable[..., TestClient]) -> None:
    client = make_client(allowed_hosts=("mock", ".example.test"), public_url="https://proxy.example:8443/m")
    for host in ("mock", "mock:8787", "example.test", "a.b.example.test:1", "proxy.example"):
        assert client.get("/healthz", headers={"Host": host}).status_code == 200, host
    for host in ("mocks", "badexample.test", "proxy.example.evil"):
        refused(client.get("/healthz", headers={"Host": host}), 403, "host_not_allowed")


@pytest.mark.parametrize("value", ["all", "*"])
def test_all_turns_the_host_check_off(make_client: Callable[..., TestClient], value: str) -> None:
    assert make_client(allowed_hosts=value).get("/healthz", headers={"Host": "evil.example"}).status_code == 200


def test_the_policy_reads_hosts_as_browsers_send_them() -> None:
    from runapi_mock.hosts import HostPolicy

    policy = HostPolicy(("svc",), None)
    assert policy.allows("svc:80") and policy.allows("SVC") and policy.allows("127.0.0.1:1")
    assert not policy.allows("svc.evil") and not policy.allows("") and not policy.allows("a b")


# -- the admin API: JSON only, no foreign Origin (CSRF) ----------------------------------------------------


def test_a_text_plain_rule_from_a_foreign_origin_is_refused_and_adds_nothing(client: TestClient) -> None:
    response = client.post("/_mock/rules", content=b'{"scenario":"server_error"}',
                           headers={"Origin": "http://evil.example", "Content-Type": "text/plain"})
    assert response.status_code in (403, 415), response.text
    assert client.get("/_mock/rules").json()["rules"] == []
    assert client.post("/api/v1/flux_kontext/text_to_image", headers=AUTH,
                       json={"model": "flux-kontext-pro", "prompt": "x"}).status_code == 200


def test_a_form_post_cannot_rotate_the_secret(client: TestClient) -> None:
    secret = client.get("/_mock/callback-secret").json()["secret"]
    response = client.post("/_mock/callback-secret/rotate", data={"a": "b"}, headers={"Origin": "null"})
    refused(response, 403, "cross_origin_refused")
    response = client.post("/_mock/callback-secret/rotate", data={"a": "b"})
    refused(response, 415, "unsupported_media_type", "application/json")
    assert client.get("/_mock/callback-secret").json()["secret"] == secret


def test_an_empty_reset_without_the_json_type_is_refused(client: TestClient) -> None:
    client.post("/api/v1/flux_kontext/text_to_image", headers=AUTH, json={"model": "flux-kontext-pro", "prompt": "x"})
    refused(client.post("/_mock/reset?all=1"), 415, "unsupported_media_type")
    refused(client.post("/_mock/clock/advance", content=b'{"seconds": 99}', headers={"Content-Type": "text/plain"}),
            415, "unsupported_media_type")
    assert len(client.get("/_mock/tasks").json()["tasks"]) == 1
    assert client.post("/_mock/reset?all=1", headers=JSON_TYPE).json() == {"reset": "all"}
    assert client.get("/_mock/tasks").json()["tasks"] == []


@pytest.mark.parametrize("path", ["/_mock/reset", "/ns/team/_mock/reset"])
def test_a_foreign_origin_is_refused_even_with_the_json_type(client: TestClient, path: str) -> None:
    for origin in ("http://evil.example", "null", "http://203.0.113.5", "http://localhost.evil.example:8787"):
        refused(client.post(path, json={}, headers={"Origin": origin}), 403, "cross_origin_refused")
    for origin in ("http://127.0.0.1:8787", "http://localhost:3000", "https://[::1]"):
        assert client.post(path, json={}, headers={"Origin": origin}).status_code == 200, origin


def test_an_allowed_host_may_be_the_origin(make_client: Callable[..., TestClient]) -> None:
    client = make_client(allowed_hosts=("mock",))
    assert client.put("/_mock/config", json={}, headers={"Host": "mock:8787", "Origin": "http://mock:8787"}
                      ).status_code == 200
    refused(client.put("/_mock/config", json={}, headers={"Host": "mock:8787", "Origin": "http://other:8787"}),
            403, "cross_origin_refused")


def test_the_preflight_is_refused_without_cors_headers(client: TestClient) -> None:
    response = client.options("/_mock/rules", headers={"Origin": "http://evil.example",
                                                       "Access-Control-Request-Method": "POST",
                                                       "Access-Control-Request-Headers": "content-type"})
    refused(response, 403, "cross_origin_refused")
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]


def test_reads_and_the_api_need_no_json_type(client: TestClient) -> None:
    assert client.get("/_mock/config").status_code == 200
    assert client.get("/_mock/callback-secret", headers={"Origin": "http://evil.example"}).status_code == 200
