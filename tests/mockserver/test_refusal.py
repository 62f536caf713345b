"""A body over the limit gets its 413 envelope every time, over real sockets, whatever the client does.

A server that answers and closes while the client is still sending makes the client see a reset (the unread
bytes turn the close into an RST) instead of the 413: so the mock reads the rest of the body first. Clients
that close after each request (urllib, HTTP/1.0 ones: `Connection: close`) are the ones that hit it.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from runapi_mock.api.parsing import DRAIN_LIMIT
from runapi_mock.serving.server import RunningServer

PATH = "/api/v1/flux_kontext/text_to_image"
MIB = 1024 * 1024
PIECE = 64 * 1024


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    from runapi_mock import Settings
    from runapi_mock.serving.server import serve_in_thread

    running: RunningServer = serve_in_thread(Settings(port=0))
    try:
        yield int(running.base_url.rsplit(":", 1)[1])
    finally:
        running.stop()


def _head(size: int | None, close: bool = True) -> bytes:
    framing = "Transfer-Encoding: chunked" if size is None else f"Content-Length: {size}"
    return (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer k\r\n"
            f"Content-Type: application/json\r\n{framing}\r\n"
            f"{'Connection: close' if close else 'Connection: keep-alive'}\r\n"
            "\r\n").encode()


def _pieces(size: int, chunked: bool) -> Iterator[bytes]:
    for start in range(0, size, PIECE):
        piece = b"x" * min(PIECE, size - start)
        yield b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
    if chunked:
        yield b"0\r\n\r\n"


def _read_response(sock: socket.socket) -> tuple[int, dict[str, object]]:
    """Status and JSON body of one response (Content-Length framed, as the mock sends them)."""
    data = b""
    while b"\r\n\r\n" not in data:
        got = sock.recv(65536)
        assert got, f"connection closed before a response: {data!r}"
        data += got
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
    while len(body) < length:
        got = sock.recv(65536)
        assert got, "connection closed in the middle of the response"
        body += got
    return int(lines[0].split()[1]), json.loads(body[:length])


def _post(port: int, size: int, chunked: bool) -> str:
    """One oversized POST on a fresh connection; its outcome: the error code, or how the connection failed."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(_head(None if chunked else size))
            for piece in _pieces(size, chunked):
                sock.sendall(piece)
            status, body = _read_response(sock)
        except OSError as exc:
            return type(exc).__name__
    error = body.get("error")
    return f"{status} {error['code'] if isinstance(error, dict) else error}"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("size", [2 * MIB, 20 * MIB], ids=["2MiB", "20MiB"])
def test_an_oversized_body_gets_its_413_every_time(port: int, size: int, chunked: bool) -> None:
    outcomes: dict[str, int] = {}
    for _ in range(100):
        outcome = _post(port, size, chunked)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes == {"413 payload_too_large": 100}


def test_slow_clients_that_dribble_their_bodies_get_their_413(port: int) -> None:
    """100 clients at once, each sending a piece in turn: every server-side read finds only part of a body."""
    sizes = [2 * MIB + n * 4096 for n in range(100)]
    chunked = [n % 2 == 1 for n in range(100)]  # half declare their size, half pass the limit chunk by chunk
    socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in sizes]
    outcomes: dict[str, int] = {}
    try:
        streams: list[Iterator[bytes]] = []
        for sock, size, by_chunks in zip(socks, sizes, chunked, strict=True):
            sock.sendall(_head(None if by_chunks else size))
            streams.append(_pieces(size, by_chunks))
        live = list(range(len(socks)))
        while live:
            for index in list(live):
                piece = next(streams[index], None)
                if piece is None:
                    live.remove(index)
                    continue
                socks[index].sendall(piece)
        for sock in socks:
            status, body = _read_response(sock)
            error = body["error"]
            outcome = f"{status} {error['code'] if isinstance(error, dict) else error}"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    finally:
        for sock in socks:
            sock.close()
    assert outcomes == {"413 payload_too_large": 100}


def test_a_kept_alive_connection_serves_the_next_request_after_a_413(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_head(2 * MIB, close=False) + b"x" * (2 * MIB))
        assert _read_response(sock)[0] == 413
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert _read_response(sock)[0] == 200


def test_a_client_waiting_for_100_continue_gets_the_413_without_sending(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_head(2 * MIB).replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n"))
        assert _read_response(sock) == (413, {"error": {"code": "payload_too_large",
                                                        "message": "Body is larger than 1048576 bytes"}})


def test_a_body_declared_past_the_drain_limit_is_answered_at_once(port: int) -> None:
    """The drain is bounded: past DRAIN_LIMIT the mock does not wait for the body (none is sent here)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_head(DRAIN_LIMIT + 1))
        assert _read_response(sock)[0] == 413
