"""`runapi listen` against a served mock, driven by a client that follows RunAPI's CLI step by step.

The Go CLI (runapi-ai/cli, cmd/runapi/listen.go, api_keys.go, callback_key_selection.go) cannot be built here,
so `ListenCLI` below does what its source does, request for request: the same paths, query, headers and body;
ack before forward (the newest listen.go), `lastID` moved only past an acked event, a 404 answered by a new
session (lastID back to 0; a changed listen secret stops it), 410/401/403 stop it, and the waits between polls
(15 s after an empty poll, 30 s after more, ±10 %; none after a non-empty one; the error backoff from 1 s).
Each wait is returned, and the tests advance the namespace's frozen clock by it instead of sleeping. Forwarded
events are checked with the kit's verifier (runapi_contracts.signing.verify) and the listen secret.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from runapi_contracts import validate_response
from runapi_contracts.admin import MockAdmin
from runapi_contracts.receiver import CallbackReceiver
from runapi_contracts.signing import SignatureMismatch, verify
from runapi_mock.serving.server import RunningServer

MakeServer = Callable[..., RunningServer]
CREATE = "/api/v1/flux_kontext/text_to_image"
KEY = "sk-listen-test-0001"
JITTER = 1.1  # the CLI's waits are up to 10 % longer than their base


# -- the CLI, as its source does it -------------------------------------------------------------------------


class CLIError(Exception):
    """A non-success answer, as core.ErrorFromResponse makes it: the status and the body."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body}")
        self.status, self.body = status, body


class SessionExpired(Exception):
    """errSessionExpired: a 404 on a poll or an ack."""


class KeyUnusable(CLIError):
    """errCallbackAPIKeyUnusable: a 410 on a poll or an ack."""


class ListenerStopped(Exception):
    """The listen command returned an error: what isTerminalListenerError and recreateSession stop on."""


def _terminal(error: Exception) -> bool:
    return isinstance(error, KeyUnusable) or (isinstance(error, CLIError) and error.status in (401, 403))


@dataclass
class ListenCLI:
    """`runapi listen [url] --callback-api-key-id ID` (or the interactive pick of the first enabled key)."""

    http: httpx.Client  # the mock, at RUNAPI_BASE_URL
    api_key: str
    forward_to: str | None = None
    forwarder: httpx.Client = field(default_factory=lambda: httpx.Client(trust_env=False, timeout=5,
                                                                          follow_redirects=False))
    key_id: str = ""
    token: str = ""
    secret: str = ""
    last_id: int = 0
    backoff: float = 1.0
    empty_polls: int = 0
    stdout: list[str] = field(default_factory=list)  # each event's signed_body, as the CLI prints it

    def _headers(self, session: bool = False) -> dict[str, str]:
        headers = {"X-API-Key": self.api_key, "User-Agent": "runapi-cli/test (listen_cli)"}
        if session:
            headers["X-Session-Token"] = self.token
        return headers

    # api_keys.go: fetchAPIKeys; callback_key_selection.go: chooseCallbackAPIKey (interactive: the first enabled)
    def fetch_api_keys(self) -> list[dict[str, Any]]:
        response = self.http.get("/api/v1/cli/keys", headers=self._headers())
        if response.status_code != 200:
            raise CLIError(response.status_code, response.text)
        return list(response.json()["api_keys"])

    def choose_key(self) -> str:
        enabled = [key for key in self.fetch_api_keys() if key["enabled"]]
        if not enabled:
            raise ListenerStopped("no enabled callback API keys are available")
        return str(enabled[0]["id"])

    # listen.go: requestListenSecret (GET, or PATCH for --rotate-secret), checked as fetchVerifiedSecret does
    def listen_secret(self, key_id: str, rotate: bool = False) -> str:
        response = self.http.request("PATCH" if rotate else "GET", "/api/v1/cli/listen_secret",
                                     params={"callback_api_key_id": key_id}, headers=self._headers())
        if response.status_code != 200:
            raise CLIError(response.status_code, response.text)
        body = response.json()
        if body["callback_api_key"]["id"] != key_id:
            raise ListenerStopped(f"listen secret resolved unexpected callback API key {body['callback_api_key']}")
        return str(body["listen_secret"])

    # listen.go: createListenSession + createVerifiedSession
    def create_session(self, key_id: str) -> dict[str, Any]:
        payload = json.dumps({"callback_api_key_id": key_id} if key_id else {})
        response = self.http.post("/api/v1/cli/listen_sessions", content=payload,
                                  headers={**self._headers(), "Content-Type": "application/json"})
        if response.status_code != 201:
            raise CLIError(response.status_code, response.text)
        body: dict[str, Any] = response.json()
        if body["callback_api_key"]["id"] != key_id:
            raise ListenerStopped(f"listen session resolved unexpected callback API key {body['callback_api_key']}")
        return body

    def start(self, key_id: str | None = None) -> dict[str, Any]:
        """The command's start: select the key, open a verified session, print the secret (kept here)."""
        self.key_id = key_id or self.choose_key()
        session = self.create_session(self.key_id)
        self.token, self.secret, self.last_id = session["session_token"], session["listen_secret"], 0
        return session

    def destroy(self) -> int:
        """destroyListenSession: the deferred DELETE (the CLI ignores the answer; it is returned here)."""
        return self.http.delete(f"/api/v1/cli/listen_sessions/{self.token}", headers=self._headers()).status_code

    def poll(self) -> list[dict[str, Any]]:
        response = self.http.get(f"/api/v1/cli/listen_events?last_id={self.last_id}", headers=self._headers(True))
        if response.status_code == 404:
            raise SessionExpired()
        if response.status_code == 410:
            raise KeyUnusable(410, response.text)
        if response.status_code != 200:
            raise CLIError(response.status_code, response.text)
        return list(response.json()["events"])

    def ack(self, event_id: int) -> None:
        response = self.http.post(f"/api/v1/cli/listen_events/{event_id}/ack", headers=self._headers(True))
        if response.status_code == 404:
            raise SessionExpired()
        if response.status_code == 410:
            raise KeyUnusable(410, response.text)
        if response.status_code != 204:
            raise CLIError(response.status_code, response.text)

    def forward(self, event: dict[str, Any]) -> int:
        """forwardEvent: signed_body POSTed as is, Content-Type application/json, then every event header."""
        headers = {"Content-Type": "application/json", **event["headers"]}
        return self.forwarder.post(self.forward_to or "", content=event["signed_body"].encode(),
                                   headers=headers).status_code

    def recreate(self) -> None:
        """recreateSession: a new verified session for the same key; a changed secret stops the listener."""
        try:
            session = self.create_session(self.key_id)
        except CLIError as exc:
            if exc.status == 404 or _terminal(exc):
                raise ListenerStopped(f"callback API key is no longer usable: {exc}") from exc
            raise
        if session["listen_secret"] != self.secret:
            self.http.delete(f"/api/v1/cli/listen_sessions/{session['session_token']}", headers=self._headers())
            raise ListenerStopped("listen signing secret changed; update the local verifier and restart the listener")
        self.token, self.last_id, self.backoff = session["session_token"], 0, 1.0

    def step(self) -> float:
        """One pass of the command's loop; the seconds it then waits (the base of its jittered wait)."""
        try:
            events = self.poll()
        except SessionExpired:
            self.recreate()
            return 0.0
        except CLIError as exc:
            if _terminal(exc):
                raise ListenerStopped(str(exc)) from exc
            wait, self.backoff = self.backoff, min(self.backoff * 2, 30.0) if self.backoff < 30 else self.backoff
            return wait
        self.backoff = 1.0
        for event in events:
            try:
                self.ack(event["id"])
            except SessionExpired:
                self.recreate()
                self.empty_polls = 0
                return 1.0
            except CLIError as exc:
                if _terminal(exc):
                    raise ListenerStopped(str(exc)) from exc
                self.empty_polls = 0
                return 1.0
            self.last_id = event["id"]
            if self.forward_to:
                self.forward(event)  # a failed forward is logged, not retried: the event was acked
            self.stdout.append(event["signed_body"])
        if events:
            self.empty_polls = 0
            return 0.0
        self.empty_polls += 1
        return 15.0 if self.empty_polls == 1 else 30.0


# -- helpers -------------------------------------------------------------------------------------------------


@pytest.fixture
def local() -> Iterator[CallbackReceiver]:
    """The developer's local endpoint that `runapi listen` forwards to."""
    with CallbackReceiver(path="/webhooks/runapi") as started:
        yield started


def api(server: RunningServer, key: str = KEY) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10,
                        trust_env=False)


def create(client: httpx.Client, callback_url: str | None = None, scenario: str | None = None) -> str:
    body = {"model": "flux-kontext-pro", "prompt": "A lighthouse at dusk"}
    if callback_url:
        body["callback_url"] = callback_url
    headers = {"X-Mock-Progression": "manual", **({"X-Mock-Scenario": scenario} if scenario else {})}
    response = client.post(CREATE, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def finish(client: httpx.Client, task_id: str, status: str = "completed") -> None:
    response = client.post(f"/_mock/tasks/{task_id}/status", json={"status": status})
    assert response.status_code == 200, response.text


def advance(client: httpx.Client, seconds: float) -> None:
    response = client.post("/_mock/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text


def admin(client: httpx.Client) -> MockAdmin:
    """The kit's admin client (its listener methods), on the default namespace."""
    return MockAdmin(client)


def run(cli: ListenCLI, client: httpx.Client, passes: int) -> list[float]:
    """`passes` loop passes, each wait spent on the mock's clock (at its longest, jitter included)."""
    waits = []
    for _ in range(passes):
        wait = cli.step()
        waits.append(wait)
        if wait:
            advance(client, wait * JITTER)
    return waits


# -- the done-when: in order, exactly once after acks, signed with the listen secret ---------------------------


def test_a_listener_gets_its_keys_terminal_callbacks_in_order_once_signed_with_the_listen_secret(
        make_server: MakeServer, local: CallbackReceiver) -> None:
    server = make_server(frozen_clock=True)
    with api(server) as client, CallbackReceiver() as own, httpx.Client(base_url=server.base_url) as http:
        client.get("/api/v1/me")  # the key is an account of the namespace now
        cli = ListenCLI(http, KEY, forward_to=local.url)
        session = cli.start()  # the interactive pick: the first enabled key is KEY, the only one
        assert validate_response("listen_session", session) == []
        plain = create(client)
        hooked = create(client, callback_url=own.url)  # has its own callback_url: it still gets that callback
        failing = create(client, scenario="failed")
        with api(server, "sk-someone-else-0002") as other:
            finish(other, create(other))  # another key's task: not this listener's
        for task_id, status in ((hooked, "completed"), (failing, "failed"), (plain, "completed")):
            finish(client, task_id, status)
        assert run(cli, client, 2) == [0.0, 15.0]  # one non-empty poll drained at once, then an idle one
        (direct,) = own.wait_for(1)
        account_secret = client.get("/_mock/callback-secret").json()["secret"]

    calls = local.wait_for(3)
    assert [json.loads(c.body)["id"] for c in calls] == [hooked, failing, plain]  # the order they ended in
    assert [json.loads(c.body)["status"] for c in calls] == ["completed", "failed", "completed"]
    assert [c.body.decode() for c in calls] == cli.stdout
    for call in calls:
        verify(cli.secret, call.headers, call.body)  # the kit's checker, with the listen signing secret
        assert validate_response("callback_payload", json.loads(call.body)) == []
        assert validate_response("callback_headers", call.headers) == []
        with pytest.raises(SignatureMismatch):
            verify(account_secret, call.headers, call.body)  # not the account's callback secret
    assert calls[0].body == direct.body  # the same payload its callback_url got, signed for listeners
    assert calls[0].headers["x-callback-id"] != direct.headers["x-callback-id"]
    assert len(local.calls) == 3  # exactly once: the acked events never come back


def test_an_unacknowledged_event_comes_back_with_its_callback_id_and_an_acked_one_does_not(
        make_server: MakeServer) -> None:
    server = make_server(frozen_clock=True)
    with api(server) as client, httpx.Client(base_url=server.base_url) as http:
        cli = ListenCLI(http, KEY)
        cli.start(cli.choose_key())
        first, second = create(client), create(client)
        finish(client, first)
        finish(client, second)
        sent = cli.poll()  # the CLI stopped here (crash, ack failure): nothing acked, lastID unchanged
        again = cli.poll()
        assert [e["id"] for e in again] == [e["id"] for e in sent] and len(sent) == 2
        assert [e["headers"]["X-Callback-Id"] for e in again] == [e["headers"]["X-Callback-Id"] for e in sent]
        cli.ack(sent[0]["id"])
        cli.ack(sent[0]["id"])  # an ack again is harmless
        assert [json.loads(e["signed_body"])["id"] for e in cli.poll()] == [second]
        cli.last_id = sent[1]["id"]
        assert cli.poll() == []  # after last_id: nothing newer
        cli.last_id = 0
        assert [e["id"] for e in cli.poll()] == [sent[1]["id"]]  # unacked: kept until acknowledged
        assert http.post("/api/v1/cli/listen_events/99/ack", headers=cli._headers(True)).status_code == 409


# -- expiry, disabled keys, revoked sessions, rotation ----------------------------------------------------------


def test_the_clis_idle_polls_keep_a_session_alive_and_a_silent_one_expires_with_404(
        make_server: MakeServer) -> None:
    server = make_server(frozen_clock=True)
    with api(server) as client, httpx.Client(base_url=server.base_url) as http:
        cli = ListenCLI(http, KEY)
        cli.start(cli.choose_key())
        first = cli.token
        assert run(cli, client, 6) == [15.0, 30.0, 30.0, 30.0, 30.0, 30.0]  # 33 s apart at most: still alive
        assert cli.token == first
        advance(client, 90.5)  # --listen-session-ttl (90 s) without a poll
        finish(client, create(client))  # ends while nobody listens: not queued for anyone
        with pytest.raises(SessionExpired):
            cli.poll()
        assert cli.step() == 0.0  # the CLI opens a new session with the same secret and starts at 0
        assert cli.token != first and cli.last_id == 0
        assert cli.poll() == []
        assert [s["state"] for s in admin(client).listeners()["sessions"]] == ["open", "expired"]


def test_a_disabled_key_gives_410_and_the_listener_stops(make_server: MakeServer) -> None:
    server = make_server(frozen_clock=True)
    with api(server) as client, httpx.Client(base_url=server.base_url) as http:
        cli = ListenCLI(http, KEY)
        cli.start(cli.choose_key())
        finish(client, create(client))
        (event,) = cli.poll()
        assert admin(client).set_listen_key_enabled(cli.key_id, False)["enabled"] is False
        with pytest.raises(KeyUnusable):
            cli.ack(event["id"])
        with pytest.raises(ListenerStopped):
            cli.step()
        assert [k["enabled"] for k in cli.fetch_api_keys()] == [False]
        assert http.post("/api/v1/cli/listen_sessions", json={"callback_api_key_id": cli.key_id},
                         headers=cli._headers()).status_code == 410
        admin(client).set_listen_key_enabled(cli.key_id, True)
        assert cli.poll() == [event]  # the session kept its queue


@pytest.mark.parametrize("on_ack", [False, True])
def test_a_revoked_session_gives_403_and_the_listener_stops(make_server: MakeServer, on_ack: bool) -> None:
    server = make_server(frozen_clock=True)
    with api(server) as client, httpx.Client(base_url=server.base_url) as http:
        cli = ListenCLI(http, KEY)
        cli.start(cli.choose_key())
        finish(client, create(client))
        if on_ack:
            (event,) = cli.poll()
        assert admin(client).revoke_listen_session(cli.token)["state"] == "revoked"
        with pytest.raises(CLIError) as refused:
            cli.ack(event["id"]) if on_ack else cli.poll()
        assert refused.value.status == 403
        with pytest.raises(ListenerStopped):
            cli.step()


def test_rotating_the_secret_ends_the_sessions_and_the_cli_stops_on_the_new_secret(make_server: MakeServer) -> None:
    server = make_server(frozen_clock=True)
    with api(server) as client, httpx.Client(base_url=server.base_url) as http:
        cli = ListenCLI(http, KEY)
        cli.start(cli.choose_key())
        assert cli.listen_secret(cli.key_id) == cli.secret  # --print-secret
        rotated = cli.listen_secret(cli.key_id, rotate=True)  # --rotate-secret (another run of the CLI)
        assert rotated != cli.secret
        with pytest.raises(ListenerStopped, match="listen signing secret changed"):
            cli.step()  # 404, a new session, a different secret: the CLI stops and deletes that session
        assert [s["state"] for s in client.get("/_mock/listeners").json()["sessions"]] == ["closed", "rotated"]


# -- bounds and refusals ------------------------------------------------------------------------------------


def test_past_the_queue_size_the_oldest_unacknowledged_events_are_dropped_and_counted(
        make_server: MakeServer) -> None:
    server = make_server(frozen_clock=True, listen_queue_size=2)
    with api(server) as client, httpx.Client(base_url=server.base_url) as http:
        cli = ListenCLI(http, KEY)
        cli.start(cli.choose_key())
        tasks = [create(client) for _ in range(3)]
        for task_id in tasks:
            finish(client, task_id)
        assert [json.loads(e["signed_body"])["id"] for e in cli.poll()] == tasks[1:]
        (session,) = client.get("/_mock/listeners").json()["sessions"]
    assert (session["queued"], session["dropped"], session["delivered"]) == (2, 1, 2)


def test_keys_are_every_key_of_the_namespace_masked_and_the_key_header_is_required(make_server: MakeServer) -> None:
    server = make_server(api_keys=("sk-listen-test-0001", "sk-listen-test-0002"))
    with httpx.Client(base_url=server.base_url) as http:
        cli = ListenCLI(http, KEY)
        listed = http.get("/api/v1/cli/keys", headers=cli._headers()).json()
        assert validate_response("listen_keys", listed) == []
        assert [k["masked_token"] for k in listed["api_keys"]] == ["sk-l••••••••0001", "sk-l••••••••0002"]
        assert all(KEY not in json.dumps(k) for k in listed["api_keys"])
        assert http.get("/api/v1/cli/keys").status_code == 401
        assert http.get("/api/v1/cli/keys", headers={"Authorization": f"Bearer {KEY}"}).json() == listed
        assert http.get("/api/v1/cli/keys", headers={"X-API-Key": "sk-unknown"}).status_code == 401
        secret = http.get("/api/v1/cli/listen_secret", params={"callback_api_key_id": listed["api_keys"][1]["id"]},
                          headers=cli._headers()).json()
        assert validate_response("listen_secret", secret) == []
        assert http.get("/api/v1/cli/listen_secret", params={"callback_api_key_id": "key_nope"},
                        headers=cli._headers()).status_code == 404
        assert http.get("/api/v1/cli/listen_events?last_id=x",
                        headers={**cli._headers(), "X-Session-Token": "t"}).status_code == 400
        assert http.get("/api/v1/cli/listen_events", headers={**cli._headers(), "X-Session-Token": "t"}
                        ).status_code == 404


def test_bad_listen_requests_get_the_error_envelope(client: Any) -> None:
    cli = {"X-API-Key": KEY}
    cases = [
        ("POST", "/api/v1/cli/listen_sessions", {"content": b"{nope"}, 400),
        ("POST", "/api/v1/cli/listen_sessions", {"json": []}, 400),
        ("POST", "/api/v1/cli/listen_sessions", {"json": {"callback_api_key_id": 5}}, 400),
        ("POST", "/api/v1/cli/listen_sessions", {"json": {"callback_api_key_id": "key_nope"}}, 404),
        ("GET", "/api/v1/cli/listen_secret", {}, 400),
        ("GET", "/api/v1/cli/listen_events?last_id=-1", {"headers": {"X-Session-Token": "t"}}, 400),
        ("GET", "/api/v1/cli/listen_events?last_id=1234567890123456", {"headers": {"X-Session-Token": "t"}}, 400),
        ("GET", "/api/v1/cli/listen_events", {}, 400),
        ("POST", "/api/v1/cli/listen_events/x/ack", {"headers": {"X-Session-Token": "t"}}, 400),
        ("POST", "/api/v1/cli/listen_events/1/ack", {"headers": {"X-Session-Token": "t"}}, 404),
        ("DELETE", "/api/v1/cli/listen_sessions/nope", {}, 404),
        ("PUT", "/api/v1/cli/listen_secret", {}, 405),
    ]
    for method, path, extra, status in cases:
        headers = {**cli, **extra.pop("headers", {})}
        response = client.request(method, path, headers=headers, **extra)
        assert response.status_code == status, (method, path, response.text)
        assert validate_response("error", response.json()) == [], (method, path)
    created = client.post("/api/v1/cli/listen_sessions", json={}, headers=cli)  # no key id: the caller's own
    assert created.status_code == 201 and created.json()["callback_api_key"]["masked_token"] == "sk-l••••••••0001"


def test_an_open_listener_keeps_its_namespace_from_eviction(make_client: Any) -> None:
    client = make_client(max_namespaces=3)
    cli = {"X-API-Key": KEY, "X-Mock-Namespace": "listening"}
    token = client.post("/api/v1/cli/listen_sessions", json={}, headers=cli).json()["session_token"]
    for index in range(10):  # read-only requests on fresh names, past the bound
        assert client.get("/api/v1/me/balance", headers={"Authorization": f"Bearer {KEY}",
                                                         "X-Mock-Namespace": f"reader-{index}"}).status_code == 200
    polled = client.get("/api/v1/cli/listen_events", headers={**cli, "X-Session-Token": token})
    assert polled.status_code == 200, polled.text


def test_the_listen_routes_are_in_both_openapi_documents(client: Any) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    poll = paths["/api/v1/cli/listen_events"]["get"]
    assert poll["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ListenEvents"}
    assert {"404", "410", "401", "403"} <= set(poll["responses"])
    assert paths["/api/v1/cli/listen_sessions"]["post"]["responses"]["201"]["content"]["application/json"][
        "schema"] == {"$ref": "#/components/schemas/ListenSession"}
    assert {"/api/v1/cli/keys", "/api/v1/cli/listen_secret", "/api/v1/cli/listen_sessions/{token}",
            "/api/v1/cli/listen_events/{id}/ack"} <= set(paths)
    admin_paths = client.get("/_mock/openapi.json").json()["paths"]
    assert {"/_mock/listeners", "/_mock/listeners/keys/{key_id}/disable", "/_mock/listeners/keys/{key_id}/enable",
            "/_mock/listeners/sessions/{token}/revoke"} <= set(admin_paths)
