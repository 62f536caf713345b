"""An ASGI app behind a plain `httpx.Client`, with its lifespan running: no port, no `starlette.testclient`.

The app runs on an event loop in a thread of its own (an anyio blocking portal), so its background work (the
scheduler, callback deliveries) goes on between requests, as it does when served. Requests go through
httpx's own `ASGITransport` on that loop. Starlette's TestClient did the same, but importing it warns on
recent Starlette, which fails a user's suite run with `-W error`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from starlette.types import ASGIApp, Message

__all__ = ["PortalTransport", "lifespan", "serve_in_portal"]


@contextlib.asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Run the app's ASGI lifespan: startup on entry (raises if it fails), shutdown on exit."""
    to_app, app_inbox = anyio.create_memory_object_stream[Message](2)
    app_outbox, from_app = anyio.create_memory_object_stream[Message](2)

    async def run() -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        await app(scope, app_inbox.receive, app_outbox.send)

    async def step(event: str) -> None:
        await to_app.send({"type": f"lifespan.{event}"})
        answer = await from_app.receive()
        if answer["type"] == f"lifespan.{event}.failed":
            raise RuntimeError(f"the app's lifespan {event} failed: {answer.get('message', '')}")

    async with anyio.create_task_group() as group, to_app, from_app, app_inbox, app_outbox:
        group.start_soon(run)
        await step("startup")
        try:
            yield
        finally:
            await step("shutdown")


class PortalTransport(httpx.BaseTransport):
    """A sync transport that runs each request through `httpx.ASGITransport` on the portal's loop."""

    def __init__(self, app: ASGIApp, portal: BlockingPortal) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # the body as bytes, which the async transport can stream too
        return self._portal.call(self._send, request)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self._asgi.handle_async_request(request)
        try:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
        return httpx.Response(response.status_code, headers=response.headers, stream=httpx.ByteStream(raw),
                              extensions=response.extensions)


@contextlib.contextmanager
def serve_in_portal(app: ASGIApp, **client_options: Any) -> Iterator[httpx.Client]:
    """An `httpx.Client` on `app` (options as for httpx.Client), its lifespan running until the block ends."""
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(lifespan(app)), \
            httpx.Client(transport=PortalTransport(app, portal), **client_options) as client:
        yield client
