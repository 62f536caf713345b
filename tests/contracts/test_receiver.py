from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from runapi_contracts.receiver import CallbackReceiver, ReceivedCallback, WaitTimeout


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as running:
        yield running


def test_url_is_local_and_ends_in_callback(receiver: CallbackReceiver) -> None:
    assert receiver.url.startswith("http://127.0.0.1:")
    assert receiver.url.endswith("/callback")


def test_url_before_start_raises() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        CallbackReceiver().url  # noqa: B018


def test_records_raw_bytes_and_headers_exactly(receiver: CallbackReceiver) -> None:
    body = b'{"b":1,  "a":"\xc3\xa9"}\n'
    sent = time.time()
    response = httpx.post(receiver.url + "?x=1", content=body, headers={"X-Callback-Id": "Abc-123"})
    answered = time.time()
    assert response.status_code == 200
    [call] = receiver.calls
    assert isinstance(call, ReceivedCallback)
    assert (call.method, call.path, call.body) == ("POST", "/callback?x=1", body)
    assert call.headers["x-callback-id"] == "Abc-123"
    assert call.headers["content-length"] == str(len(body))
    assert all(name == name.lower() for name in call.headers)
    assert sent <= call.received_at <= answered  # stamped on arrival, whatever the machine's speed


def test_empty_body_and_other_methods_are_recorded(receiver: CallbackReceiver) -> None:
    httpx.get(receiver.url)
    assert [(c.method, c.body) for c in receiver.calls] == [("GET", b"")]


def test_status_queue_then_default(receiver: CallbackReceiver) -> None:
    receiver.respond_with(statuses=[500, 503, 200])
    codes = [httpx.post(receiver.url, content=b"{}").status_code for _ in range(4)]
    assert codes == [500, 503, 200, 200]


def test_default_status_can_change_and_queue_comes_first(receiver: CallbackReceiver) -> None:
    receiver.respond_with(status=410, statuses=[202])
    codes = [httpx.post(receiver.url, content=b"{}").status_code for _ in range(2)]
    assert codes == [202, 410]


def test_delay_holds_the_answer_but_records_on_arrival(receiver: CallbackReceiver) -> None:
    # Orderings, not windows: a 0.05 s client timeout against a 0.3 s delay raced the machine (a sender
    # descheduled between its write and its read finds the answer waiting; a handler thread not yet run has
    # recorded nothing when the sender gives up).
    receiver.respond_with(delay=0.3)
    assert httpx.post(receiver.url, content=b"{}").status_code == 200
    answered = time.time()
    (call,) = receiver.calls
    assert answered - call.received_at >= 0.3  # recorded on arrival, answered a whole delay later
    where = urlsplit(receiver.url)
    with socket.create_connection((str(where.hostname), int(where.port or 0))) as sender:
        sender.sendall(b"POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
    # The sender gave up before any answer: it is recorded all the same.
    assert [c.body for c in receiver.wait_for(2, timeout=30)] == [b"{}", b"{}"]


def test_clear_forgets_calls_and_scripted_answers(receiver: CallbackReceiver) -> None:
    receiver.respond_with(status=500, statuses=[418], delay=0.0)
    httpx.post(receiver.url, content=b"{}")
    receiver.clear()
    assert receiver.calls == []
    assert httpx.post(receiver.url, content=b"{}").status_code == 200


def test_wait_for_returns_once_enough_calls_arrived(receiver: CallbackReceiver) -> None:
    sender = threading.Thread(target=lambda: [httpx.post(receiver.url, content=b"%d" % i) for i in range(3)])
    sender.start()
    calls = receiver.wait_for(3, timeout=5.0)
    sender.join()
    assert sorted(call.body for call in calls) == [b"0", b"1", b"2"]


def test_wait_for_times_out_with_a_count(receiver: CallbackReceiver) -> None:
    httpx.post(receiver.url, content=b"{}")
    with pytest.raises(WaitTimeout, match="expected 2 callback.*in 0.05s, received 1"):
        receiver.wait_for(2, timeout=0.05)


def test_calls_is_a_snapshot(receiver: CallbackReceiver) -> None:
    snapshot = receiver.calls
    httpx.post(receiver.url, content=b"{}")
    assert snapshot == []
    assert len(receiver.calls) == 1


def test_stop_closes_the_port() -> None:
    receiver = CallbackReceiver().start()
    url = receiver.url
    receiver.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.post(url, content=b"{}")


def test_a_burst_of_concurrent_senders_is_recorded_without_resets(receiver: CallbackReceiver) -> None:
    """64 connections at once: with socketserver's backlog of 5 some were reset before the handler saw them."""

    async def burst() -> list[BaseException | None]:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=0)
        # No pool timeout: 256 requests queue for 64 connections, and how long they queue is the machine's.
        timeout = httpx.Timeout(30, pool=None)
        async with httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False) as client:
            async def one(index: int) -> None:
                response = await client.post(receiver.url, content=b'{"n":%d}' % index)
                assert response.status_code == 200

            results = await asyncio.gather(*(one(i) for i in range(64 * 4)), return_exceptions=True)
            return [r for r in results if r is not None]

    failures = asyncio.run(burst())
    assert failures == []
    assert len(receiver.calls) == 64 * 4
