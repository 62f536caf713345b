"""Routing helpers: the path as routed, and a Starlette Router that answers literal paths from a dict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Route, Router
from starlette.types import Receive, Scope, Send


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
    """

    def __init__(self, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(routes, **kwargs)
        self.exact: dict[str, Route] = {}
        for route in self.routes:
            if isinstance(route, Route) and not route.param_convertors:
                self.exact.setdefault(route.path, route)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.exact.get(route_path(scope)) if scope["type"] == "http" else None
        if route is not None and (route.methods is None or scope["method"] in route.methods):
            # What Router.app does with the first full match (Route.matches' child scope, no path params).
            scope.setdefault("router", self)
            scope["route"] = route
            scope["endpoint"] = route.endpoint
            scope["path_params"] = dict(scope.get("path_params", {}))
            await route.handle(scope, receive, send)
            return
        await super().app(scope, receive, send)
