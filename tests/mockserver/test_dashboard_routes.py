"""The dashboard's server side: its files, the home page at `/`, and the change stream (no browser needed)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from runapi_mock import dashboard
from runapi_mock.delivery import Delivery
from runapi_mock.events import DeliveryChanged, NamespaceReset
from runapi_mock.server import RunningServer

AUTH = {"Authorization": "Bearer test-key"}
PATH = "/api/v1/flux_kontext/text_to_image"
BODY = {"model": "flux-kontext-pro", "prompt": "a red bicycle"}


def test_page_and_its_files_are_served_with_a_self_only_policy(client: TestClient) -> None:
    page = client.get("/_mock/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert 'src="static/app.js"' in page.text and 'href="static/style.css"' in page.text
    for name in ("app.js", "lib.js", "views.js", "style.css"):
        assert client.get(f"/_mock/ui/static/{name}").status_code == 200
    # The page names no other origin: nothing is fetched from the internet.
    for name in ("index.html", "app.js", "lib.js", "views.js", "style.css"):
        text = (dashboard.UI_DIR / name).read_text()
        assert "http://" not in text and "https://" not in text, name


def test_unknown_dashboard_file_is_the_api_404_envelope(client: TestClient) -> None:
    response = client.get("/_mock/ui/static/nope.js")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("path", "location"), [("/_mock/ui", "/_mock/ui/"),
                                                ("/_mock/ui?namespace=a", "/_mock/ui/?namespace=a"),
                                                ("/ns/team-a/_mock/ui", "/ns/team-a/_mock/ui/")])
def test_the_page_without_its_slash_redirects(client: TestClient, path: str, location: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == location


def test_home_page_is_html_for_a_browser_and_json_links_otherwise(client: TestClient) -> None:
    browser = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.status_code == 200 and browser.headers["content-type"].startswith("text/html")
    assert 'href="/_mock/ui/"' in browser.text and 'href="/openapi.json"' in browser.text
    api = client.get("/")
    assert api.json()["links"] == {"dashboard": "/_mock/ui/", "openapi": "/openapi.json",
                                   "admin_openapi": "/_mock/openapi.json", "health": "/healthz"}
    prefixed = client.get("/ns/team-a/")
    assert prefixed.json()["links"]["dashboard"] == "/ns/team-a/_mock/ui/"


def test_unknown_api_paths_are_still_json_404s(client: TestClient) -> None:
    for path in ("/api/v1/nope", "/nope", "/_mock/nope"):
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_events_reject_a_bad_namespace_like_the_admin_api(client: TestClient) -> None:
    response = client.get("/_mock/ui/events", params={"namespace": "bad name"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_namespace"


# -- what counts as a change --------------------------------------------------------------------------------


def version(client: TestClient, name: str) -> tuple[int, int]:
    state = client.app.state  # type: ignore[attr-defined]
    return dashboard.version(state.changes, state.engine, name)


Action = Callable[[TestClient, str], Any]
ACTIONS: dict[str, Action] = {
    "create": lambda c, t: c.post(PATH, json=BODY, headers=AUTH),
    "status read": lambda c, t: c.get(f"{PATH}/{t}", headers=AUTH),
    "force": lambda c, t: c.post(f"/_mock/tasks/{t}/status", json={"status": "processing"}),
    "clock": lambda c, t: c.post("/_mock/clock/freeze", json={}),
    "rule": lambda c, t: c.post("/_mock/rules", json={"scenario": "failed"}),
    "balance": lambda c, t: c.put("/_mock/balance", json={"key": "other", "balance_cents": 7}),
    "config": lambda c, t: c.put("/_mock/config", json={"progression": "manual"}),
    "reset": lambda c, t: c.post("/_mock/reset", json={}),
}


@pytest.mark.parametrize("name", ACTIONS)
def test_version_changes_with_what_the_page_shows(client: TestClient, name: str) -> None:
    task_id = client.post(PATH, json=BODY, headers={**AUTH, "X-Mock-Progression": "manual"}).json()["id"]
    before = version(client, "default")
    assert version(client, "default") == before, "nothing happened, nothing changed"
    response = ACTIONS[name](client, task_id)
    assert response.status_code < 300, response.text
    assert version(client, "default") != before


def test_version_does_not_change_when_another_namespace_does(client: TestClient) -> None:
    client.post(PATH, json=BODY, headers=AUTH)
    before = version(client, "default")
    client.post(PATH, json=BODY, headers={**AUTH, "X-Mock-Namespace": "other"})
    client.post("/_mock/clock/advance", json={"seconds": 5}, headers={"X-Mock-Namespace": "other"})
    assert version(client, "default") == before



def test_a_callback_delivery_changing_is_a_change(make_client: Callable[..., TestClient]) -> None:
    # The dispatcher's events, not the engine's: a redelivery touches no task and is not journaled.
    client = make_client(frozen_clock=True)
    created = client.post(PATH, json={**BODY, "callback_url": "http://127.0.0.1:9/cb"},
                          headers={**AUTH, "X-Mock-Callback-Mode": "delay:100"})  # never due on a frozen clock
    assert client.post(f"/_mock/tasks/{created.json()['id']}/status", json={"status": "completed"}).status_code == 200
    (pending,) = client.get("/_mock/callbacks").json()["deliveries"]
    assert pending["state"] == "pending" and pending["attempts"] == []
    before = version(client, "default")
    assert version(client, "default") == before
    assert client.post(f"/_mock/callbacks/{pending['id']}/redeliver", json={}).status_code == 202
    assert version(client, "default") != before


def test_changes_stamp_one_namespace_and_a_full_reset_stamps_every_one() -> None:
    changes = dashboard.Changes()
    delivery = Delivery(id="d1", namespace="a", task_id="t1", url="http://127.0.0.1:9/cb", body=b"{}",
                        created_at=0.0)
    assert (changes.last("a"), changes.last("b")) == (0, 0)
    changes(DeliveryChanged(delivery))
    first = changes.last("a")
    assert first > 0 and changes.last("b") == 0
    changes(NamespaceReset("b"))
    assert changes.last("a") == first and changes.last("b") > first
    changes(NamespaceReset(None))
    assert changes.last("a") > first and changes.last("a") == changes.last("c") > 0

# -- the stream, on a real socket -----------------------------------------------------------------------------


def _events(server: RunningServer, namespace: str) -> Iterator[str]:
    """The event names of one stream, as they arrive."""
    with httpx.stream("GET", f"{server.base_url}/_mock/ui/events", params={"namespace": namespace},
                      timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event: "):
                yield line[len("event: "):]


def test_stream_sends_a_change_when_a_task_is_created_and_when_the_scheduler_moves_it(
        make_server: Callable[..., RunningServer]) -> None:
    server = make_server(frozen_clock=True)
    events = _events(server, "live")
    assert next(events) == "change"  # the first one: fetch now
    created = httpx.post(f"{server.base_url}{PATH}", json=BODY, headers={**AUTH, "X-Mock-Namespace": "live"})
    assert created.status_code == 200
    assert next(events) == "change"
    advanced = httpx.post(f"{server.base_url}/_mock/clock/advance", json={"seconds": 1000},
                          headers={"X-Mock-Namespace": "live"})
    assert advanced.status_code == 200
    assert next(events) == "change"
    events.close()


def test_the_server_stops_promptly_with_a_stream_open(make_server: Callable[..., RunningServer]) -> None:
    server = make_server()
    opened, ended = threading.Event(), threading.Event()

    def watch() -> None:
        try:
            for _ in _events(server, "default"):
                opened.set()
        except httpx.HTTPError:
            pass
        ended.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    assert opened.wait(10)
    server.stop(timeout=8)
    assert not server.thread.is_alive(), "uvicorn still waits on the open stream"  # it would wait forever
    assert ended.wait(5), "the stream ended with the server"


def test_the_serve_banner_prints_the_dashboard_url(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from runapi_mock import cli, server

    def ready_at_once(settings: Any, on_ready: Callable[[str], None], **_: Any) -> None:
        on_ready("http://127.0.0.1:8787")

    monkeypatch.setattr(server, "serve_forever", ready_at_once)
    assert cli.main(["serve", "--port", "0"]) == 0
    assert "dashboard: http://127.0.0.1:8787/_mock/ui/\n" in capsys.readouterr().out
