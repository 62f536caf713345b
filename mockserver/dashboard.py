"""The dashboard at /_mock/ui/: static pages that are a client of the admin API, plus a stream of changes.

The page reads and acts only through /_mock/* (the same validation as any other admin client); this module
serves its files, the home page at `/`, and `events`, which tells open pages when to fetch again.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from . import events as engine_events
from .engine import TaskEngine
from .responses import JSON

UI_DIR = Path(__file__).parent / "ui"
POLL_SECONDS = 0.25  # how often an open stream looks for a change
HEARTBEAT_SECONDS = 15.0  # a comment line now and then, so idle proxies keep the stream open
RETRY_MS = 1000  # how soon a browser reconnects a dropped stream
# The page loads only its own files and talks only to this server.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
       "frame-ancestors 'none'")
# No other site may frame the pages (clickjacking): the CSP says so, and X-Frame-Options for older browsers.
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}
_CLOSED = "dashboard_streams_closed"


class Changes:
    """A subscriber to the engine's and the dispatcher's events: when each namespace last changed.

    Each event stamps its namespace with the next number of one counter (next() on itertools.count is atomic,
    so the engine's and the dispatcher's threads need no lock of their own here); a reset of every namespace
    stamps them all at once.
    """

    def __init__(self) -> None:
        self._stamps = itertools.count(1)
        self._last: dict[str, int] = {}
        self._every = 0

    def __call__(self, event: engine_events.Event) -> None:
        if isinstance(event, (engine_events.DeliveryChanged, engine_events.DeliveryForgotten)):
            self._last[event.delivery.namespace] = next(self._stamps)
        elif isinstance(event, engine_events.NamespaceReset):
            if event.name is None:
                self._every = next(self._stamps)
            else:
                self._last[event.name] = next(self._stamps)
        else:
            self._last[event.namespace.name] = next(self._stamps)

    def last(self, name: str) -> int:
        """The stamp of the namespace's latest change (0: none seen)."""
        return max(self._last.get(name, 0), self._every)


def version(changes: Changes, engine: TaskEngine, name: str) -> tuple[int, int]:
    """What the dashboard shows of namespace `name` changed when this does: pages fetch again then.

    The events cover tasks (the scheduler's moves too), callback attempts, the clock, rules, balances, config
    and resets; the journal's sequence covers requests that change nothing else (a failed create, a poll
    before anything moved, a rule used up).
    """
    ns = engine.find_namespace(name)
    return changes.last(name), ns.journal.next_seq() if ns is not None else 0


def close_streams(app: object) -> None:
    """End every open event stream of `app` (a Starlette app; others have none): the server calls this as it
    shuts down, or it would wait on them."""
    if isinstance(app, Starlette):
        setattr(app.state, _CLOSED, True)


async def _changes(request: Request, engine: TaskEngine, name: str) -> AsyncIterator[str]:
    changes: Changes = request.app.state.changes
    yield f"retry: {RETRY_MS}\n\n"
    seen: tuple[int, int] | None = None
    quiet_since = time.monotonic()
    while not getattr(request.app.state, _CLOSED, False):
        current = version(changes, engine, name)
        if current != seen:
            seen, quiet_since = current, time.monotonic()
            yield f"event: change\ndata: {json.dumps({'namespace': name})}\n\n"
        elif time.monotonic() - quiet_since > HEARTBEAT_SECONDS:
            quiet_since = time.monotonic()
            yield ": still here\n\n"
        await asyncio.sleep(POLL_SECONDS)  # a server-side timer; a client disconnect cancels this generator


async def events(request: Request) -> Response:
    """GET /_mock/ui/events: server-sent `change` events for one namespace (header or ?namespace=)."""
    engine: TaskEngine = request.app.state.engine
    name = request.headers.get("x-mock-namespace") or request.query_params.get("namespace")
    ns = engine.namespace(name)  # validates the name (400 otherwise), as every admin route does
    return StreamingResponse(_changes(request, engine, ns.name), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def to_page(request: Request) -> Response:
    """/_mock/ui without its slash: the page's relative links need the slash."""
    search = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"{request.scope.get('root_path', '')}/_mock/ui/{search}", status_code=308)


async def page(request: Request) -> Response:
    return FileResponse(UI_DIR / "index.html", headers={**PAGE_HEADERS, "Cache-Control": "no-cache"})


_HOME = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>runapi-mock</title>
<link rel="icon" href="{root}/_mock/ui/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{root}/_mock/ui/static/style.css"></head>
<body class="home">
<h1>runapi-mock</h1>
<p>An offline mock of the RunAPI image-generation API.</p>
<ul>
<li><a href="{root}/_mock/ui/">Dashboard</a>: tasks, images, callbacks, the journal, the clock</li>
<li><a href="{root}/openapi.json">OpenAPI document of the API</a></li>
<li><a href="{root}/_mock/openapi.json">OpenAPI document of the admin API</a> (under <code>/_mock/</code>)</li>
<li><a href="{root}/healthz">Health</a></li>
</ul>
</body></html>
"""


async def home(request: Request) -> Response:
    """GET /: a page of links for a browser; the same links as JSON for anything else."""
    root = str(request.scope.get("root_path", ""))
    links = {"dashboard": f"{root}/_mock/ui/", "openapi": f"{root}/openapi.json",
             "admin_openapi": f"{root}/_mock/openapi.json", "health": f"{root}/healthz"}
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(_HOME.format(root=html.escape(root)), headers=PAGE_HEADERS)
    return JSON({"service": "runapi-mock", "links": links})


routes: list[BaseRoute] = [
    Route("/", home, methods=["GET"]),
    Route("/_mock/ui", to_page, methods=["GET"]),
    Mount("/_mock/ui", routes=[
        Route("/", page, methods=["GET"]),
        Route("/events", events, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=UI_DIR), name="dashboard-static"),
    ]),
]
