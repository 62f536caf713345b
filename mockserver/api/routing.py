"""Routing helpers: the path as routed, and a Starlette Router that answers literal paths from a dict."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, Router, request_response
from starlette.types import Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


async def _probe(request: Request) -> Response:
    raise NotImplementedError


# The code of the ASGI app Route wraps a `func(request) -> response` endpoint in (shared by every such route).
_REQUEST_RESPONSE = request_response(_probe).__code__


def route_path(scope: Scope) -> str:
    """scope["path"] without its root_path (a /ns/<name> prefix, the /_mock mount), as Starlette routes it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and (path == root or path.startswith(root + "/")) else path


class ExactRouter(Router):
    """A Router that looks a literal path up in a dict before trying its routes in order.

    Almost every route the mock serves is literal (the catalog's create routes above all), so most requests
    skip matching a regex per route. Only the first Route of each parameterless path is in the dict; for it,
    the path being the key is the regex matching, so a method it takes is a full match. Any other request goes
    the ordered way, so every answer is the one Router gives: tests/mockserver/test_exact_routes.py checks it.

    An async `func(request) -> response` endpoint of such a route is called directly, without the wrapper
    Route puts around it (a Request and an exception layer per request): RequestContextMiddleware answers its
    exceptions, as it answers those of every route (app.py).
    """

    def __init__(self, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(routes, **kwargs)
        self.exact: dict[str, Route] = {}
        self.direct: dict[str, Endpoint] = {}  # by path, for the route in `exact`
        for route in self.routes:
            if isinstance(route, Route) and not route.param_convertors and route.path not in self.exact:
                self.exact[route.path] = route
                endpoint = _direct_endpoint(route)
                if endpoint is not None:
                    self.direct[route.path] = endpoint

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = route_path(scope) if scope["type"] == "http" else ""
        route = self.exact.get(path) if path else None
        if route is not None and (route.methods is None or scope["method"] in route.methods):
            # What Router.app does with the first full match (Route.matches' child scope, no path params).
            scope.setdefault("router", self)
            scope["route"] = route
            scope["endpoint"] = route.endpoint
            scope["path_params"] = dict(scope.get("path_params", {}))
            endpoint = self.direct.get(path)
            if endpoint is None:
                await route.handle(scope, receive, send)
                return
            response = await endpoint(Request(scope, receive, send))
            await response(scope, receive, send)
            return
        await super().app(scope, receive, send)


def _direct_endpoint(route: Route) -> Endpoint | None:
    """The route's endpoint when Route only wraps it in request_response (no route middleware) and it is async."""
    if getattr(route.app, "__code__", None) is not _REQUEST_RESPONSE:
        return None
    func = route.endpoint
    while isinstance(func, functools.partial):
        func = func.func
    return route.endpoint if inspect.iscoroutinefunction(func) else None
