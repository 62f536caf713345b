"""A real local HTTP server that records callback deliveries and answers with scripted statuses."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

__all__ = ["CallbackReceiver", "ReceivedCallback", "WaitTimeout"]



def is_loopback_host(host: str) -> bool:
    """`localhost` or a loopback IP literal: the hosts a local receiver listens on (names are not resolved)."""
    host = host.lower().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5; a sender with 16 callbacks in flight overflows it, and the
    # overflow shows up as stalled or reset attempts that never reached the handler. Real endpoints allow 128+.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler)


@dataclass(frozen=True)
class ReceivedCallback:
    """One request as it arrived: header names lower-cased, body as the exact bytes sent."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float


class WaitTimeout(AssertionError):
    """Fewer callbacks than expected arrived before the deadline."""


class CallbackReceiver:
    """Stands in for a user's webhook endpoint on 127.0.0.1, so deliveries cross a real socket.

    Requests are recorded when they arrive, before any configured delay, so a sender that
    times out on a slow receiver still shows up in `calls`.
    """

    def __init__(self, path: str = "/callback", host: str = "127.0.0.1") -> None:
        self._path = path
        self._host = host  # a loopback address: 127.0.0.1, or ::1 for a receiver on IPv6
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()
        self._calls: list[ReceivedCallback] = []
        self._status = 200
        self._queue: deque[int] = deque()
        self._delay = 0.0

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("CallbackReceiver is not started; call start() or use it as a context manager")
        host, port = str(self._server.server_address[0]), self._server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}{self._path}"

    @property
    def calls(self) -> list[ReceivedCallback]:
        with self._changed:
            return list(self._calls)

    def respond_with(
        self, status: int | None = None, *, statuses: Iterable[int] | None = None, delay: float | None = None
    ) -> None:
        """Change only the given settings: the default status, a queue used first, the delay in seconds."""
        with self._changed:
            if status is not None:
                self._status = status
            if statuses is not None:
                self._queue = deque(statuses)
            if delay is not None:
                self._delay = delay

    def clear(self) -> None:
        """Forget recorded calls and scripted answers, so a shared receiver starts each test clean."""
        with self._changed:
            self._calls.clear()
            self._status, self._queue, self._delay = 200, deque(), 0.0

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedCallback]:
        """Block until at least `count` calls were recorded; raise `WaitTimeout` after `timeout` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._calls) >= count, timeout):
                got = len(self._calls)
                raise WaitTimeout(f"runapi-mock: expected {count} callback(s) in {timeout}s, received {got}")
            return list(self._calls)

    def start(self) -> CallbackReceiver:
        if self._server is None:
            self._server = _Server((self._host, 0), _handler_for(self))
            # A short poll interval makes stop() quick: shutdown() waits for the loop's next poll.
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="callback-receiver", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> CallbackReceiver:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _record(self, call: ReceivedCallback) -> tuple[int, float]:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()
            status = self._queue.popleft() if self._queue else self._status
            return status, self._delay


def _handler_for(receiver: CallbackReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            call = ReceivedCallback(self.command, self.path, headers, body, time.time())
            status, delay = receiver._record(call)
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up waiting (a timeout test); nothing left to answer

        do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean; calls are inspected through the receiver

    return Handler
