"""Signed callback delivery, end to end: a served mock POSTs to a real CallbackReceiver on 127.0.0.1.

Retries are driven by each namespace's virtual clock (freeze, then advance) rather than by waiting. To show that
nothing was sent, a test runs a *barrier*: a fresh delivery in a side namespace to a second receiver. The dispatcher
starts every due delivery of every namespace in one pass, so once the barrier's callback arrives, a pass has run
after the moment in question, and a delivery still `pending` then was not due.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from runapi_contracts import validate_response
from runapi_contracts.receiver import CallbackReceiver, ReceivedCallback
from runapi_contracts.signing import SignatureMismatch, verify
from runapi_mock.callbacks import host_allowed
from runapi_mock.delivery import Attempt, CallbackMode, Delivery, InvalidCallbackMode
from runapi_mock.lifecycle import Progression
from runapi_mock.server import RunningServer
from runapi_mock.state import delivery_from_record, delivery_record

MakeServer = Callable[..., RunningServer]
CREATE = "/api/v1/flux_kontext/text_to_image"
STATUS = "/api/v1/flux_kontext/text_to_image/{}"
IMMEDIATE = Progression.parse("immediate")
MANUAL = Progression.parse("manual")
VECTOR_SECRET = "cnVuYXBpLW1vY2stY2FsbGJhY2stc2VjcmV0LTAwMDE="  # reference section 6.1
TERMINAL_STATES = ("delivered", "exhausted", "blocked")


# -- helpers -----------------------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as started:
        yield started


@pytest.fixture
def sentinel() -> Iterator[CallbackReceiver]:
    """A second, always-200 receiver used only by `barrier`."""
    with CallbackReceiver(path="/barrier") as started:
        yield started


def api(server: RunningServer, namespace: str | None = None) -> httpx.Client:
    headers = {"Authorization": "Bearer test-key"}
    if namespace is not None:
        headers["X-Mock-Namespace"] = namespace
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=10, trust_env=False)


def create(client: httpx.Client, callback_url: str, *, mode: str | None = None, scenario: str | None = None,
           progression: str | None = None) -> str:
    headers: dict[str, str] = {}
    if mode is not None:
        headers["X-Mock-Callback-Mode"] = mode
    if scenario is not None:
        headers["X-Mock-Scenario"] = scenario
    if progression is not None:
        headers["X-Mock-Progression"] = progression
    response = client.post(CREATE, json={"model": "flux-kontext-pro", "prompt": "A lighthouse at dusk",
                                         "callback_url": callback_url}, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def finish(client: httpx.Client, task_id: str, status: str = "completed") -> None:
    response = client.post(f"/_mock/tasks/{task_id}/status", json={"status": status})
    assert response.status_code == 200, response.text


def deliveries(client: httpx.Client, task_id: str | None = None) -> list[dict[str, Any]]:
    params = {"limit": "1000", **({"task_id": task_id} if task_id else {})}
    response = client.get("/_mock/callbacks", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["deliveries"])


def delivery(client: httpx.Client, delivery_id: str) -> dict[str, Any]:
    response = client.get(f"/_mock/callbacks/{delivery_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def only_delivery(client: httpx.Client, task_id: str) -> dict[str, Any]:
    found = deliveries(client, task_id)
    assert len(found) == 1, found
    return found[0]


def wait_until(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30.0, what: str = "") -> Any:
    """Poll `fetch` (an admin read) until `done` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or 'condition'}; last value: {value!r}")
        time.sleep(0.02)


def wait_state(client: httpx.Client, delivery_id: str, *states: str, timeout: float = 30.0) -> dict[str, Any]:
    return dict(wait_until(lambda: delivery(client, delivery_id), lambda d: d["state"] in states, timeout,
                           f"delivery {delivery_id} to be {'/'.join(states)}"))


def wait_for_delivery(client: httpx.Client, task_id: str, timeout: float = 30.0) -> dict[str, Any]:
    found = wait_until(lambda: deliveries(client, task_id), lambda ds: len(ds) >= 1, timeout,
                       f"a delivery for task {task_id}")
    assert len(found) == 1, found
    return dict(found[0])


def barrier(server: RunningServer, sentinel: CallbackReceiver) -> None:
    """Return once the dispatcher has run a full pass that started after this call."""
    before = len(sentinel.calls)
    with api(server, "barrier") as client:
        finish(client, create(client, sentinel.url, progression="manual"))
    sentinel.wait_for(before + 1, timeout=30)


def freeze(client: httpx.Client) -> float:
    response = client.post("/_mock/clock/freeze", json={})
    assert response.status_code == 200, response.text
    assert response.json()["frozen"] is True
    return float(response.json()["now"])


def advance(client: httpx.Client, seconds: float) -> None:
    response = client.post("/_mock/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text


def secret_of(client: httpx.Client) -> str:
    response = client.get("/_mock/callback-secret")
    assert response.status_code == 200, response.text
    return str(response.json()["secret"])


def independent_signature(secret: str, callback_id: str, timestamp: str, body: bytes) -> str:
    """The documented construction, written out without runapi_contracts.signing."""
    key = base64.b64decode(secret)
    message = callback_id.encode() + b"." + timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def assert_signed(call: ReceivedCallback, secret: str) -> None:
    verify(secret, call.headers, call.body)
    expected = independent_signature(secret, call.headers["x-callback-id"], call.headers["x-callback-timestamp"],
                                      call.body)
    assert hmac.compare_digest(expected, call.headers["x-callback-signature"])


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- a delivery and its contract --------------------------------------------------------------------------


def test_completed_task_posts_one_signed_callback_matching_the_contracts(
        make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=IMMEDIATE, callback_secret=VECTOR_SECRET)
    with api(server) as client:
        task_id = create(client, receiver.url)
        status = client.get(STATUS.format(task_id)).json()
        assert status["status"] == "completed"
        (call,) = receiver.wait_for(1)
        record = wait_state(client, only_delivery(client, task_id)["id"], *TERMINAL_STATES)
        secret = secret_of(client)

    assert record["state"] == "delivered"
    assert len(receiver.calls) == 1  # delivered is final: no retry or copy can follow
    assert call.method == "POST" and call.path == "/callback"
    payload = json.loads(call.body)
    assert validate_response("callback_payload", payload) == []
    assert validate_response("callback_headers", call.headers) == []
    assert call.headers["content-type"].startswith("application/json")
    assert payload["id"] == task_id and payload["status"] == "completed"
    assert payload["images"] == status["images"]
    assert record["payload"] == payload
    assert secret == VECTOR_SECRET
    assert_signed(call, secret)


def test_signature_is_computed_over_the_raw_bytes_with_the_decoded_secret(
        make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=IMMEDIATE, callback_secret=VECTOR_SECRET)
    with api(server) as client:
        client.get(STATUS.format(create(client, receiver.url)))
        (call,) = receiver.wait_for(1)
    callback_id, timestamp = call.headers["x-callback-id"], call.headers["x-callback-timestamp"]
    signature = call.headers["x-callback-signature"]
    # The common bugs the docs warn about must not match: the undecoded secret, re-serialised JSON.
    undecoded = base64.b64encode(hmac.new(VECTOR_SECRET.encode(), f"{callback_id}.{timestamp}.".encode() + call.body,
                                          hashlib.sha256).digest()).decode()
    reserialised = json.dumps(json.loads(call.body), indent=2).encode()
    assert signature != undecoded
    assert signature != independent_signature(VECTOR_SECRET, callback_id, timestamp, reserialised)
    with pytest.raises(SignatureMismatch):
        verify(VECTOR_SECRET, call.headers, reserialised)
    assert signature == independent_signature(VECTOR_SECRET, callback_id, timestamp, call.body)


def test_failed_task_delivers_status_failed_with_error(make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=IMMEDIATE)
    with api(server) as client:
        task_id = create(client, receiver.url, scenario="failed")
        status = client.get(STATUS.format(task_id)).json()
        (call,) = receiver.wait_for(1)
        secret = secret_of(client)
    assert status["status"] == "failed"
    payload = json.loads(call.body)
    assert validate_response("callback_payload", payload) == []
    assert payload["id"] == task_id
    assert payload["status"] == "failed"
    assert payload["error"] == status["error"] and payload["error"]
    assert "images" not in payload
    assert_signed(call, secret)


def test_a_task_forced_to_fail_with_an_error_delivers_that_error(
        make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=MANUAL)
    with api(server) as client:
        task_id = create(client, receiver.url)
        forced = client.post(f"/_mock/tasks/{task_id}/status",
                             json={"status": "failed", "error": "GPU on fire", "error_code": "gpu_fire"})
        assert forced.status_code == 200, forced.text
        (call,) = receiver.wait_for(1)
    payload = json.loads(call.body)
    assert (payload["status"], payload["error"], payload["error_code"]) == ("failed", "GPU on fire", "gpu_fire")


def test_callback_id_is_a_uuid_and_timestamp_is_unix_seconds_now(
        make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=IMMEDIATE)
    with api(server) as client:
        first, second = create(client, receiver.url), create(client, receiver.url)
        for task_id in (first, second):
            client.get(STATUS.format(task_id))
        calls = receiver.wait_for(2)
        records = {d["id"]: d for d in deliveries(client)}
    now = time.time()
    ids = [call.headers["x-callback-id"] for call in calls]
    assert len(set(ids)) == 2  # one id per delivery
    for call, callback_id in zip(calls, ids, strict=True):
        assert str(uuid.UUID(callback_id)) == callback_id
        timestamp = call.headers["x-callback-timestamp"]
        assert timestamp.isdigit()
        assert abs(int(timestamp) - now) < 30  # seconds, not milliseconds
        assert abs(int(timestamp) - call.received_at) < 5
        assert callback_id in records
        assert records[callback_id]["attempts"][0]["timestamp"] == int(timestamp)
        # The admin API shows each attempt's headers as sent (the dashboard lists them), signature included.
        shown = {name.lower(): value for name, value in records[callback_id]["attempts"][0]["headers"].items()}
        assert shown == {name: call.headers[name] for name in shown}
        assert set(shown) >= {"x-callback-id", "x-callback-timestamp", "x-callback-signature"}



def test_attempt_headers_are_kept_by_state_and_records_from_before_them_load() -> None:
    attempt = Attempt(1, 11.0, 500, 3.2, "receiver answered 500", 1_700_000_000,
                      headers={"X-Callback-Id": "d1", "X-Callback-Signature": "v1,abc"})
    delivery = Delivery(id="d1", namespace="ns", task_id="t1", url="http://127.0.0.1:9/cb", body=b'{"id":"t1"}',
                        created_at=11.0, attempts=[attempt])
    record = json.loads(json.dumps(delivery_record(delivery)))
    assert delivery_from_record(record) == delivery
    del record["attempts"][0]["headers"]  # a --state file written before attempts kept their headers
    old = delivery_from_record(record)
    assert old.attempts[0].headers is None and old.attempts[0].timestamp == 1_700_000_000

# -- retries ------------------------------------------------------------------------------------------------


def test_failing_receiver_is_retried_on_the_schedule_then_exhausted(
        make_server: MakeServer, receiver: CallbackReceiver, sentinel: CallbackReceiver) -> None:
    schedule = (5.0, 10.0, 20.0)
    server = make_server(progression=MANUAL, callback_schedule=schedule)
    receiver.respond_with(status=500)
    with api(server) as client:
        start = freeze(client)
        task_id = create(client, receiver.url)
        finish(client, task_id)
        delivery_id = only_delivery(client, task_id)["id"]

        for attempt, step in enumerate(schedule, start=1):
            receiver.wait_for(attempt)
            record = wait_state(client, delivery_id, "pending")
            assert len(record["attempts"]) == attempt
            latest = record["attempts"][-1]
            assert latest["number"] == attempt
            assert latest["status_code"] == 500
            assert "500" in latest["error"]
            assert latest["latency_ms"] >= 0
            assert record["next_attempt_at"] == pytest.approx(latest["at"] + step)
            # Just before the retry is due nothing is sent...
            advance(client, step - 0.5)
            barrier(server, sentinel)
            assert len(receiver.calls) == attempt
            assert delivery(client, delivery_id)["state"] == "pending"
            # ...and at the scheduled moment the next attempt goes out.
            advance(client, 0.5)

        receiver.wait_for(len(schedule) + 1)
        record = wait_state(client, delivery_id, *TERMINAL_STATES)
        advance(client, 10_000)
        barrier(server, sentinel)
        final = delivery(client, delivery_id)
        secret = secret_of(client)

    assert record["state"] == "exhausted"
    assert record["next_attempt_at"] is None
    assert final["state"] == "exhausted" and len(final["attempts"]) == len(schedule) + 1
    assert len(receiver.calls) == len(schedule) + 1  # the cap holds even after a long wait
    assert [a["number"] for a in final["attempts"]] == [1, 2, 3, 4]
    assert all(a["status_code"] == 500 and a["error"] for a in final["attempts"])
    times = [a["at"] - start for a in final["attempts"]]
    assert times == pytest.approx([0.0, 5.0, 15.0, 35.0])
    assert {c.headers["x-callback-id"] for c in receiver.calls} == {delivery_id}
    assert len({c.body for c in receiver.calls}) == 1
    for call in receiver.calls:
        assert_signed(call, secret)


def test_one_advance_past_the_whole_schedule_runs_every_retry_due_in_it(
        make_server: MakeServer, receiver: CallbackReceiver) -> None:
    schedule = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)  # 63 s in all
    server = make_server(progression=MANUAL, callback_schedule=schedule)
    receiver.respond_with(status=500)
    with api(server) as client:
        start = freeze(client)
        task_id = create(client, receiver.url)
        finish(client, task_id)
        delivery_id = only_delivery(client, task_id)["id"]
        receiver.wait_for(1)
        wait_until(lambda: delivery(client, delivery_id), lambda d: len(d["attempts"]) == 1 and d["state"] == "pending")
        advance(client, 136)  # once: every retry falls within it
        record = wait_state(client, delivery_id, "exhausted", timeout=30)
    assert len(record["attempts"]) == len(schedule) + 1 and record["next_attempt_at"] is None
    assert len(receiver.calls) == len(schedule) + 1
    assert all(a["at"] == pytest.approx(start + 136) for a in record["attempts"][1:])  # run when the clock got there


def test_retry_succeeds_after_transient_failures(make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=MANUAL, callback_schedule=(2.0, 2.0, 2.0))
    receiver.respond_with(statuses=[503, 429], status=204)
    with api(server) as client:
        freeze(client)
        task_id = create(client, receiver.url)
        finish(client, task_id)
        delivery_id = only_delivery(client, task_id)["id"]
        receiver.wait_for(1)
        wait_until(lambda: delivery(client, delivery_id), lambda d: len(d["attempts"]) == 1 and d["state"] == "pending")
        advance(client, 2)
        receiver.wait_for(2)
        wait_until(lambda: delivery(client, delivery_id), lambda d: len(d["attempts"]) == 2 and d["state"] == "pending")
        advance(client, 2)
        receiver.wait_for(3)
        record = wait_state(client, delivery_id, *TERMINAL_STATES)
    assert record["state"] == "delivered"
    assert [a["status_code"] for a in record["attempts"]] == [503, 429, 204]
    assert [a["error"] is None for a in record["attempts"]] == [False, False, True]
    assert record["next_attempt_at"] is None
    assert len({c.headers["x-callback-id"] for c in receiver.calls}) == 1


def test_refused_connection_is_retried_and_exhausted(make_server: MakeServer) -> None:
    server = make_server(progression=MANUAL, callback_schedule=(0.01, 0.01))
    url = f"http://127.0.0.1:{closed_port()}/hook"
    with api(server) as client:
        task_id = create(client, url)
        finish(client, task_id)
        record = wait_state(client, wait_for_delivery(client, task_id)["id"], *TERMINAL_STATES)
    assert record["state"] == "exhausted"
    assert len(record["attempts"]) == 3
    for attempt in record["attempts"]:
        assert attempt["status_code"] is None
        assert "Connect" in attempt["error"]
        assert attempt["latency_ms"] is not None


def test_receiver_slower_than_the_timeout_counts_as_a_failure(
        make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=MANUAL, callback_timeout=0.2, callback_schedule=(0.01,))
    receiver.respond_with(status=200, delay=0.5)
    with api(server) as client:
        task_id = create(client, receiver.url)
        finish(client, task_id)
        record = wait_state(client, wait_for_delivery(client, task_id)["id"], *TERMINAL_STATES)
    assert record["state"] == "exhausted"
    assert len(record["attempts"]) == 2
    for attempt in record["attempts"]:
        assert attempt["status_code"] is None
        assert "Timeout" in attempt["error"]
        assert 150 <= attempt["latency_ms"] < 500
    assert len(receiver.calls) == 2  # both attempts reached the receiver; neither waited for its answer


def test_every_terminal_task_ends_with_exactly_one_finished_delivery(make_server: MakeServer) -> None:
    server = make_server(progression=IMMEDIATE, callback_schedule=(0.01, 0.01))
    with CallbackReceiver() as good, CallbackReceiver() as bad, api(server) as client:
        bad.respond_with(status=503)
        tasks = {create(client, (good if index % 2 else bad).url): index % 2 == 1 for index in range(30)}
        for task_id in tasks:
            assert client.get(STATUS.format(task_id)).json()["status"] == "completed"
        final = wait_until(lambda: deliveries(client),
                           lambda ds: len(ds) == 30 and all(d["state"] in TERMINAL_STATES for d in ds),
                           timeout=15, what="30 finished deliveries")
        good_calls, bad_calls = good.calls, bad.calls

    by_task: dict[str, list[dict[str, Any]]] = {}
    for record in final:
        by_task.setdefault(record["task_id"], []).append(record)
    assert set(by_task) == set(tasks)
    for task_id, to_good in tasks.items():
        (record,) = by_task[task_id]
        if to_good:
            assert record["state"] == "delivered" and len(record["attempts"]) == 1
            assert record["attempts"][0]["status_code"] == 200
        else:
            assert record["state"] == "exhausted" and len(record["attempts"]) == 3
    good_ids = [c.headers["x-callback-id"] for c in good_calls]
    bad_ids = [c.headers["x-callback-id"] for c in bad_calls]
    assert len(good_ids) == 15 and len(set(good_ids)) == 15
    assert len(bad_ids) == 45 and all(bad_ids.count(i) == 3 for i in set(bad_ids))
    assert {json.loads(c.body)["id"] for c in good_calls} == {t for t, g in tasks.items() if g}


# -- where callbacks may go ----------------------------------------------------------------------------------


def test_non_loopback_callback_url_is_accepted_but_blocked(
        make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=IMMEDIATE)
    with api(server) as client:
        blocked_task = create(client, "https://example.com/hook")
        assert client.get(STATUS.format(blocked_task)).json()["status"] == "completed"
        record = wait_for_delivery(client, blocked_task)
        # A loopback delivery made afterwards arrives, so the dispatcher has had its chance to send the first.
        client.get(STATUS.format(create(client, receiver.url)))
        receiver.wait_for(1)
        after = delivery(client, record["id"])
        redeliver = client.post(f"/_mock/callbacks/{record['id']}/redeliver", json={})
    assert record["state"] == "blocked"
    assert "example.com" in record["reason"]
    assert record["url"] == "https://example.com/hook"
    assert record["next_attempt_at"] is None
    assert after["state"] == "blocked" and after["attempts"] == []
    assert len(receiver.calls) == 1 and json.loads(receiver.calls[0].body)["id"] != blocked_task
    assert redeliver.status_code == 409
    assert redeliver.json()["error"]["code"] == "delivery_blocked"


@pytest.mark.parametrize(
    ("url", "extra", "allowed"),
    [
        ("http://127.0.0.1:8080/hook", (), True),
        ("http://127.255.255.254/hook", (), True),  # all of 127.0.0.0/8 is loopback
        ("http://[::1]:9000/hook", (), True),
        ("http://localhost/hook", (), True),
        ("https://LOCALHOST:8443/hook", (), True),
        ("http://127.0.0.2/hook", ("127.0.0.2",), True),
        ("https://hooks.internal.test/cb", ("hooks.internal.test",), True),
        ("https://HOOKS.internal.test/cb", ("hooks.internal.test",), True),
        ("http://10.0.0.5/cb", ("10.0.0.5",), True),
        ("https://example.com/hook", (), False),
        ("https://example.com/hook", ("hooks.internal.test",), False),
        ("http://8.8.8.8/hook", (), False),
        ("http://10.0.0.1/hook", (), False),
        ("http://192.168.1.10/hook", (), False),
        ("http://0.0.0.0:8080/hook", (), False),
        ("http://127.0.0.1.nip.io/hook", (), False),
        ("http://localhost.example.com/hook", (), False),
        ("http://127.0.0.1@example.com/hook", (), False),  # the host is after the '@'
        ("http://example.com#@127.0.0.1/", (), False),
    ],
)
def test_host_allowed_admits_loopback_and_named_hosts_only(url: str, extra: tuple[str, ...], allowed: bool) -> None:
    ok, reason = host_allowed(url, extra)
    assert ok is allowed
    assert (reason == "") is allowed


@pytest.mark.parametrize(
    "url",
    ["not a url", "127.0.0.1:8080/hook", "ftp://127.0.0.1/hook", "http:///hook", "http://127.0.0.1:99999/hook",
     "http://[::1/hook", ""],
)
def test_host_allowed_rejects_malformed_urls(url: str) -> None:
    ok, reason = host_allowed(url, ("127.0.0.1",))
    assert ok is False
    assert "URL" in reason


# -- redelivery ------------------------------------------------------------------------------------------------


def test_redeliver_sends_the_same_callback_id_again(make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=IMMEDIATE)
    with api(server) as client:
        task_id = create(client, receiver.url)
        client.get(STATUS.format(task_id))
        (first,) = receiver.wait_for(1)
        delivery_id = wait_state(client, only_delivery(client, task_id)["id"], "delivered")["id"]
        response = client.post(f"/_mock/callbacks/{delivery_id}/redeliver", json={})
        assert response.status_code == 202
        second = receiver.wait_for(2)[1]
        record = wait_until(lambda: delivery(client, delivery_id),
                            lambda d: d["state"] == "delivered" and len(d["attempts"]) == 2)
        secret = secret_of(client)
        assert len(deliveries(client, task_id)) == 1
    assert first.headers["x-callback-id"] == second.headers["x-callback-id"] == delivery_id
    assert first.body == second.body
    assert [a["number"] for a in record["attempts"]] == [1, 2]
    assert_signed(second, secret)


def test_redeliver_unknown_delivery_is_404(make_server: MakeServer) -> None:
    server = make_server()
    with api(server) as client:
        response = client.post(f"/_mock/callbacks/{uuid.uuid4()}/redeliver", json={})
        missing = client.get(f"/_mock/callbacks/{uuid.uuid4()}")
    assert response.status_code == 404
    assert missing.status_code == 404


# -- handler-testing modes -------------------------------------------------------------------------------------


def test_duplicate_mode_sends_the_same_id_twice(make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=MANUAL)
    with api(server) as client:
        task_id = create(client, receiver.url, mode="duplicate")
        finish(client, task_id)
        first, second = receiver.wait_for(2)
        record = wait_until(lambda: only_delivery(client, task_id),
                            lambda d: d["state"] == "delivered", what="duplicate delivered")
        secret = secret_of(client)
    assert first.headers["x-callback-id"] == second.headers["x-callback-id"] == record["id"]
    assert first.body == second.body
    assert len(record["attempts"]) == 2
    assert len(receiver.calls) == 2
    assert_signed(first, secret)
    assert_signed(second, secret)


def test_delay_mode_sends_nothing_until_the_clock_reaches_the_delay(
        make_server: MakeServer, receiver: CallbackReceiver, sentinel: CallbackReceiver) -> None:
    server = make_server(progression=MANUAL)
    with api(server) as client:
        now = freeze(client)
        task_id = create(client, receiver.url, mode="delay:30")
        finish(client, task_id)
        record = only_delivery(client, task_id)
        assert record["state"] == "pending"
        assert record["next_attempt_at"] == pytest.approx(now + 30)
        barrier(server, sentinel)
        assert receiver.calls == []
        advance(client, 29)
        barrier(server, sentinel)
        assert receiver.calls == []
        assert delivery(client, record["id"])["state"] == "pending"
        advance(client, 1)
        (call,) = receiver.wait_for(1)
        final = wait_state(client, record["id"], *TERMINAL_STATES)
    assert final["state"] == "delivered"
    assert call.headers["x-callback-id"] == record["id"]
    assert json.loads(call.body)["status"] == "completed"


def test_early_mode_delivers_the_end_while_status_still_says_processing(
        make_server: MakeServer, receiver: CallbackReceiver, sentinel: CallbackReceiver) -> None:
    server = make_server(progression=MANUAL)
    with api(server) as client:
        task_id = create(client, receiver.url, mode="early")
        stepped = client.post(f"/_mock/tasks/{task_id}/step", json={})
        assert stepped.json()["status"] == "processing"
        (call,) = receiver.wait_for(1)
        during = client.get(STATUS.format(task_id)).json()
        finish(client, task_id)
        after = client.get(STATUS.format(task_id)).json()
        barrier(server, sentinel)
        records = deliveries(client, task_id)
        secret = secret_of(client)
    payload = json.loads(call.body)
    assert during["status"] == "processing"
    assert payload["status"] == "completed"
    assert validate_response("callback_payload", payload) == []
    assert after["status"] == "completed"
    assert payload["images"] == after["images"]  # the early payload is the terminal body the status later shows
    assert len(records) == 1  # reaching the end does not send a second delivery
    assert len(receiver.calls) == 1
    assert_signed(call, secret)


def test_early_mode_for_a_failing_task_delivers_the_failure(
        make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=MANUAL)
    with api(server) as client:
        task_id = create(client, receiver.url, mode="early", scenario="failed")
        client.post(f"/_mock/tasks/{task_id}/step", json={})
        (call,) = receiver.wait_for(1)
        during = client.get(STATUS.format(task_id)).json()
    payload = json.loads(call.body)
    assert during["status"] == "processing"
    assert payload["status"] == "failed" and payload["error"]
    assert validate_response("callback_payload", payload) == []


def test_namespace_wide_mode_from_config_applies_to_that_namespace_only(
        make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=MANUAL)
    with api(server, "dup") as dup, api(server, "plain") as plain:
        response = dup.put("/_mock/config", json={"callback_mode": "duplicate"})
        assert response.status_code == 200
        assert response.json()["callback_mode"]["duplicate"] is True
        assert plain.get("/_mock/config").json()["callback_mode"] is None

        dup_task = create(dup, receiver.url)
        finish(dup, dup_task)
        wait_until(lambda: only_delivery(dup, dup_task), lambda d: d["state"] == "delivered")
        plain_task = create(plain, receiver.url)
        finish(plain, plain_task)
        wait_until(lambda: only_delivery(plain, plain_task), lambda d: d["state"] == "delivered")

        cleared = dup.put("/_mock/config", json={"callback_mode": None})
        assert cleared.json()["callback_mode"] is None
        later_task = create(dup, receiver.url)
        finish(dup, later_task)
        wait_until(lambda: only_delivery(dup, later_task), lambda d: d["state"] == "delivered")
        calls = receiver.calls
    per_task: dict[str, int] = {}
    for call in calls:
        task_id = json.loads(call.body)["id"]
        per_task[task_id] = per_task.get(task_id, 0) + 1
    assert per_task == {dup_task: 2, plain_task: 1, later_task: 1}


@pytest.mark.parametrize("mode", ["bogus", "delay", "delay:", "delay:abc", "delay:-1", "delay:1e3", "delay:99999",
                                  "duplicate:2", "early, nope"])
def test_malformed_callback_mode_header_is_400(make_server: MakeServer, receiver: CallbackReceiver,
                                               mode: str) -> None:
    server = make_server(progression=MANUAL)
    with api(server) as client:
        response = client.post(CREATE, json={"model": "flux-kontext-pro", "prompt": "x", "callback_url": receiver.url},
                               headers={"X-Mock-Callback-Mode": mode})
        tasks = client.get("/_mock/tasks").json()
        config = client.put("/_mock/config", json={"callback_mode": mode})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_callback_mode"
    assert tasks["total"] == 0
    assert config.status_code == 400
    assert config.json()["error"]["code"] == "invalid_callback_mode"


def test_callback_mode_parse_accepts_the_documented_forms() -> None:
    assert CallbackMode.parse("duplicate, delay:2.5, early") == CallbackMode(duplicate=True, delay=2.5, early=True)
    assert CallbackMode.parse(" DELAY:30 ") == CallbackMode(delay=30.0)
    assert CallbackMode.parse("") == CallbackMode()
    with pytest.raises(InvalidCallbackMode):
        CallbackMode.parse("duplicate,twice")


def test_delay_with_a_non_ascii_digit_is_400_not_500(make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=MANUAL)
    with api(server) as client:
        # '\xb2' is SUPERSCRIPT TWO: a valid latin-1 header byte for which str.isdigit() is True.
        response = client.post(CREATE, json={"model": "flux-kontext-pro", "prompt": "x", "callback_url": receiver.url},
                               headers={"X-Mock-Callback-Mode": "delay:\xb2".encode("latin-1")})
        config = client.put("/_mock/config", json={"callback_mode": "delay:\u00b2"})
    assert response.status_code == 400
    assert config.status_code == 400


# -- secret --------------------------------------------------------------------------------------------------------


def test_rotated_secret_signs_new_deliveries_and_the_old_one_no_longer_verifies(
        make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=IMMEDIATE)
    with api(server) as client:
        old = secret_of(client)
        client.get(STATUS.format(create(client, receiver.url)))
        (before,) = receiver.wait_for(1)
        rotated = client.post("/_mock/callback-secret/rotate", json={})
        assert rotated.status_code == 200
        new = rotated.json()["secret"]
        shown = client.get("/_mock/callback-secret").json()
        client.get(STATUS.format(create(client, receiver.url)))
        after = receiver.wait_for(2)[1]
    assert new != old
    assert len(base64.b64decode(new, validate=True)) == 32
    assert shown == {"secret": new, "previous_secret": old}
    assert_signed(before, old)
    assert_signed(after, new)
    with pytest.raises(SignatureMismatch):
        verify(old, after.headers, after.body)
    with pytest.raises(SignatureMismatch):
        verify(new, before.headers, before.body)


def test_retries_after_rotation_are_signed_with_the_new_secret(
        make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=MANUAL, callback_schedule=(5.0,))
    receiver.respond_with(statuses=[500], status=200)
    with api(server) as client:
        freeze(client)
        old = secret_of(client)
        task_id = create(client, receiver.url)
        finish(client, task_id)
        receiver.wait_for(1)
        delivery_id = only_delivery(client, task_id)["id"]
        wait_until(lambda: delivery(client, delivery_id), lambda d: d["state"] == "pending" and d["attempts"])
        new = client.post("/_mock/callback-secret/rotate", json={}).json()["secret"]
        advance(client, 5)
        first, retry = receiver.wait_for(2)
    assert first.headers["x-callback-id"] == retry.headers["x-callback-id"]
    assert_signed(first, old)
    assert_signed(retry, new)
    with pytest.raises(SignatureMismatch):
        verify(old, retry.headers, retry.body)


def test_invalid_callback_secret_does_not_leave_deliveries_stuck(
        make_server: MakeServer, receiver: CallbackReceiver) -> None:
    try:
        server = make_server(progression=MANUAL, callback_secret="not base64!", callback_schedule=(0.01,))
    except (ValueError, RuntimeError):
        return  # refusing the secret up front is a correct outcome too
    with api(server) as client:
        task_id = create(client, receiver.url)
        finish(client, task_id)
        record = wait_state(client, wait_for_delivery(client, task_id)["id"], *TERMINAL_STATES, timeout=3)
    assert record["state"] == "exhausted"
    assert all(a["error"] for a in record["attempts"])


# -- isolation from the API ------------------------------------------------------------------------------------------


def test_slow_receiver_never_slows_the_api(make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=IMMEDIATE, callback_concurrency=2)
    receiver.respond_with(delay=1.0)
    with api(server) as client:
        first = create(client, receiver.url)
        client.get(STATUS.format(first))
        receiver.wait_for(1)  # the receiver is now holding a connection for a second
        tasks = [create(client, receiver.url) for _ in range(3)]
        for task_id in tasks:
            assert client.get(STATUS.format(task_id)).json()["status"] == "completed"
            client.get(STATUS.format(task_id))
        in_flight = [d["state"] for d in deliveries(client)]
        entries = client.get("/_mock/journal", params={"limit": "1000"}).json()["entries"]
        receiver.wait_for(4, timeout=10)
        final = wait_until(lambda: deliveries(client), lambda ds: all(d["state"] == "delivered" for d in ds),
                           timeout=10)
    api_entries = [e for e in entries if e["path"].startswith("/api/v1/")]
    assert len(api_entries) == 1 + 1 + 3 + 6
    assert "sending" in in_flight  # the API calls above overlapped a delivery held by the receiver
    assert max(e["duration_ms"] for e in api_entries) < 500
    assert len(final) == 4
    # At most two deliveries were ever in flight: four 1 s deliveries take at least two rounds.
    arrivals = sorted(c.received_at for c in receiver.calls)
    assert arrivals[2] - arrivals[0] >= 0.9


# -- immediate: a callback task ends without being read (issue 15, item 5) ----------------------------------


def test_immediate_ends_a_callback_task_that_is_never_read_and_delivers_its_callback(
        make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=IMMEDIATE)
    with api(server) as client:
        freeze(client)  # nothing on the clock moves it: the end comes from the progression alone
        created = client.post(CREATE, json={"model": "flux-kontext-pro", "prompt": "A lighthouse at dusk",
                                            "callback_url": receiver.url})
        assert created.json()["status"] == "pending"  # the create answers before the task ends
        (call,) = receiver.wait_for(1)
        payload = json.loads(call.body)
        assert payload["id"] == created.json()["id"] and payload["status"] == "completed"
        assert [e for e in client.get("/_mock/journal").json()["entries"] if e["method"] == "GET"
                and e["path"].startswith(CREATE)] == []  # and no status read was made


def test_immediate_without_a_callback_still_waits_for_the_first_read(make_server: MakeServer) -> None:
    server = make_server(progression=IMMEDIATE)
    with api(server) as client:
        task_id = client.post(CREATE, json={"model": "flux-kontext-pro", "prompt": "A lighthouse"}).json()["id"]
        assert client.get(f"/_mock/tasks/{task_id}").json()["status"] == "pending"
        assert client.get(STATUS.format(task_id)).json()["status"] == "completed"


# -- image URLs in callbacks: no request reads them (issue 15, item 6) --------------------------------------


def test_a_callbacks_image_urls_are_on_the_public_url_when_one_is_set(
        make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=IMMEDIATE, public_url="https://mock.example:8443")
    with api(server) as client:
        task_id = create(client, receiver.url)
    (call,) = receiver.wait_for(1)
    assert json.loads(call.body)["images"][0]["url"].startswith(f"https://mock.example:8443/files/default/{task_id}/")


def test_without_a_public_url_a_callbacks_image_urls_are_on_the_creating_requests_origin(
        make_server: MakeServer, receiver: CallbackReceiver) -> None:
    server = make_server(progression=IMMEDIATE)
    with api(server) as client:
        client.headers["Host"] = f"localhost:{httpx.URL(server.base_url).port}"
        create(client, receiver.url)
        (call,) = receiver.wait_for(1)
        url = json.loads(call.body)["images"][0]["url"]
        assert url.startswith(f"http://localhost:{httpx.URL(server.base_url).port}/files/default/")
        assert client.get(url).status_code == 200


def test_a_host_no_longer_allowed_after_a_restart_is_neither_sent_nor_redelivered(
        make_server: MakeServer, receiver: CallbackReceiver, sentinel: CallbackReceiver, tmp_path: Any) -> None:
    # Issue 19, item 8: `127.1` is 127.0.0.1 to a socket but not a loopback literal to the allow-list.
    state = str(tmp_path / "mock.sqlite")
    url = receiver.url.replace("127.0.0.1", "127.1")
    first = make_server(state_path=state, allow_callback_hosts=("127.1",), frozen_clock=True)
    with api(first) as client:
        sent = create(client, url, progression="immediate")
        receiver.wait_for(1)
        wait_state(client, only_delivery(client, sent)["id"], "delivered")
        owed = create(client, url, progression="immediate", mode="delay:60")
        assert only_delivery(client, owed)["state"] == "pending"
    first.stop()
    again = make_server(state_path=state, frozen_clock=True)  # restarted without --allow-callback-host 127.1
    with api(again) as client:
        blocked = only_delivery(client, owed)
        assert blocked["state"] == "blocked" and blocked["attempts"] == [], blocked
        assert "'127.1'" in blocked["reason"] and "--allow-callback-host" in blocked["reason"], blocked
        done = only_delivery(client, sent)
        refused = client.post(f"/_mock/callbacks/{done['id']}/redeliver", json={})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "delivery_blocked", refused.text
        assert "'127.1'" in refused.json()["error"]["message"]
        client.post("/_mock/clock/advance", json={"seconds": 120})
        barrier(again, sentinel)
        assert only_delivery(client, owed)["state"] == "blocked"
    assert len(receiver.calls) == 1


def test_an_ipv6_loopback_callback_url_is_accepted_and_delivered(make_server: MakeServer) -> None:
    # Issue 19, item 9: the README allows ::1, and the schema refused http://[::1]:port/.
    with CallbackReceiver(host="::1") as on_ipv6, api(make_server()) as client:
        assert on_ipv6.url.startswith("http://[::1]:")
        task_id = create(client, on_ipv6.url, progression="immediate")
        (call,) = on_ipv6.wait_for(1)
        assert json.loads(call.body)["id"] == task_id
        assert wait_for_delivery(client, task_id)["state"] in ("sending", "delivered")
