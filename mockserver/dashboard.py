"""The dashboard at /_mock/ui/: static pages that are a client of the admin API, plus a stream of changes.

The page reads and acts only through /_mock/* (the same validation as any other admin client); this module
serves its files, the home page at `/`, and `events`, which tells open pages when to fetch again.
"""

from __future__ import annotations

import asyncio
import html
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .engine import TaskEngine
from .responses import JSON

UI_DIR = Path(__file__).parent / "ui"
POLL_SECONDS = 0.25  # how often an open stream looks for a change
HEARTBEAT_SECONDS = 15.0  # a comment line now and then, so idle proxies keep the stream open
RETRY_MS = 1000  # how soon a browser reconnects a dropped stream
# The page loads only its own files and talks only to this server.
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'"
_CLOSED = "dashboard_streams_closed"


def version(engine: TaskEngine, name: str) -> tuple[Any, ...]:
    """A summary of everything the dashboard shows of namespace `name`: when it changes, pages fetch again.

    Today's engine publishes no change events, so open streams compare this every POLL_SECONDS. It covers the
    journal (every API request), the tasks' status histories (the scheduler's moves too), callback attempts,
    the clock, rules, balances and config. Typed engine events can replace this one function.
    """
    with engine.lock:
        ns = engine.namespaces.get(name)
        if ns is None:
            return ()
        deliveries = hash(tuple((d.state, len(d.attempts), d.next_attempt_at) for d in ns.deliveries.values()))
        return (id(ns), ns.journal.next_seq(), len(ns.tasks), sum(len(t.history) for t in ns.tasks.values()),
                deliveries, ns.clock.state(), repr(ns.rules.to_list()), repr(ns.ledger.snapshot()),
                str(ns.progression), repr(ns.callback_mode))


def close_streams(app: object) -> None:
    """End every open event stream of `app` (a Starlette app; others have none): the server calls this as it
    shuts down, or it would wait on them."""
    if isinstance(app, Starlette):
        setattr(app.state, _CLOSED, True)


async def _changes(request: Request, engine: TaskEngine, name: str) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    seen: tuple[Any, ...] | None = None
    quiet_since = time.monotonic()
    while not getattr(request.app.state, _CLOSED, False):
        current = version(engine, name)
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
    return FileResponse(UI_DIR / "index.html", headers={"Content-Security-Policy": CSP,
                                                        "Cache-Control": "no-cache"})


_HOME = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>runapi-mock</title>
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
        return HTMLResponse(_HOME.format(root=html.escape(root)), headers={"Content-Security-Policy": CSP})
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
