"""Serving the app with uvicorn: in the foreground for the CLI, or on a background thread for tests."""

from __future__ import annotations

import asyncio
import gc
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable

import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .dashboard import close_streams
from .settings import Settings


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
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning",
                            lifespan="on", access_log=False)
    server = _ThreadServer(config)
    thread = threading.Thread(target=server.run, name="runapi-mock", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)  # uvicorn offers no started event to wait on
    if not server.started:
        server.should_exit = True
        raise RuntimeError("runapi-mock did not start within the timeout")
    return RunningServer(app=app, base_url=bound_url(server, settings.host), server=server, thread=thread)


def serve_forever(settings: Settings, on_ready: Callable[[str], None], *, app: Starlette | None = None) -> None:
    """Serve in the foreground until interrupted; call on_ready(base_url) once the socket listens."""
    app = app or create_app(settings)
    # The ~40k objects of a started app never die: keep them out of every full GC pass (13 ms each here), and
    # collect the middle generation less often, so GC pauses stay out of the latency tail.
    gc.collect()
    gc.freeze()
    gc.set_threshold(700, 100, 10)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning",
                            lifespan="on", access_log=False, timeout_graceful_shutdown=10)
    server = _Server(config)
    # uvicorn shuts down gracefully on SIGTERM (stops accepting, finishes in-flight requests, then the lifespan
    # reports owed callbacks) and raises the signal again afterwards: exit 0 then, as after Ctrl-C.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))

    async def main() -> None:
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        if server.started:
            on_ready(bound_url(server, settings.host))
        await serving

    asyncio.run(main())
