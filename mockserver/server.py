"""Serving the app with uvicorn: in the foreground for the CLI, or on a background thread for tests."""

from __future__ import annotations

import asyncio
import gc
import importlib
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .dashboard import close_streams
from .settings import Settings


@dataclass(frozen=True)
class Stack:
    """The event loop and HTTP parser uvicorn serves on: the fastest installed, else the pure-Python ones."""

    loop: str  # "uvloop" or "asyncio"
    http: str  # "httptools" or "h11"

    def __str__(self) -> str:
        return f"{self.loop} + {self.http}"


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def fastest_stack() -> Stack:
    """uvloop and httptools when installed (`uvicorn[standard]` brings both; no uvloop on Windows)."""
    return Stack(loop="uvloop" if _importable("uvloop") else "asyncio",
                 http="httptools" if _importable("httptools") else "h11")


def _config(app: Starlette, settings: Settings, stack: Stack, **options: Any) -> uvicorn.Config:
    return uvicorn.Config(app, host=settings.host, port=settings.port, loop=stack.loop, http=stack.http,
                          log_level="warning", lifespan="on", access_log=False, **options)


def _run(main: Coroutine[Any, Any, None], stack: Stack) -> None:
    """asyncio.run on the stack's loop (asyncio.Runner takes a loop factory from 3.11 on)."""
    factory = asyncio.new_event_loop
    if stack.loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(main)
        return
    loop = factory()  # pragma: no cover - Python 3.10
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(main)
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        asyncio.set_event_loop(None)
        loop.close()


class _Server(uvicorn.Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn waits for every open response; the dashboard's event streams never end by themselves.
        close_streams(self.config.app)
        await super().shutdown(sockets)


class _ThreadServer(_Server):
    def install_signal_handlers(self) -> None:  # signals belong to the main thread's owner
        pass


@dataclass
class RunningServer:
    """A mock served on a real port; `stop()` shuts it down and joins the thread."""

    app: Starlette
    base_url: str
    server: uvicorn.Server
    thread: threading.Thread
    stack: Stack

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def bound_url(server: uvicorn.Server, host: str) -> str:
    port = server.servers[0].sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve_in_thread(settings: Settings | None = None, *, app: Starlette | None = None,
                    timeout: float = 10.0) -> RunningServer:
    """Start the mock on settings.host:settings.port (port 0 picks a free one) and wait until it answers."""
    settings = settings or Settings(port=0)
    app = app or create_app(settings)
    stack = fastest_stack()
    server = _ThreadServer(_config(app, settings, stack))
    thread = threading.Thread(target=server.run, name="runapi-mock", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)  # uvicorn offers no started event to wait on
    if not server.started:
        server.should_exit = True
        raise RuntimeError("runapi-mock did not start within the timeout")
    return RunningServer(app=app, base_url=bound_url(server, settings.host), server=server, thread=thread,
                         stack=stack)


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, or an OSError naming both: uvicorn would log its own `ERROR:` line and exit 3
    instead, without the host when the name does not resolve."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def serve_forever(settings: Settings, on_ready: Callable[[str], None], *, app: Starlette | None = None,
                  stack: Stack | None = None) -> None:
    """Serve in the foreground until interrupted, on `stack` (default: the fastest installed); call
    on_ready(base_url) once the socket listens."""
    sock = listen(settings.host, settings.port)  # before the app: a busy port is one `runapi-mock: error:` line
    app = app or create_app(settings)
    # The ~40k objects of a started app never die: keep them out of every full GC pass (13 ms each here), and
    # collect the middle generation less often, so GC pauses stay out of the latency tail.
    gc.collect()
    gc.freeze()
    gc.set_threshold(700, 100, 10)
    stack = stack or fastest_stack()
    server = _Server(_config(app, settings, stack, timeout_graceful_shutdown=10))
    # uvicorn shuts down gracefully on SIGTERM (stops accepting, finishes in-flight requests, then the lifespan
    # reports owed callbacks) and raises the signal again afterwards: exit 0 then, as after Ctrl-C.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))

    async def main() -> None:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        if server.started:
            on_ready(bound_url(server, settings.host))
        await serving

    _run(main(), stack)
