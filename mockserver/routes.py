"""The route table: SDK routes, the public docs' routes, account, files, and the admin mount."""

from __future__ import annotations

import inspect
import re
from typing import Any, Awaitable, Callable

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Mount, Route

from runapi_contracts import load_catalog

from . import admin, dashboard, endpoints


class OneOf(Convertor[str]):
    """A path segment that is one of the catalog's names, so /api/v1/me/balance never reads as a family."""

    def __init__(self, names: set[str]) -> None:
        self.regex = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


_catalog = load_catalog()
register_url_convertor("family", OneOf({family for family, _ in _catalog.actions}))
register_url_convertor("action", OneOf({action for _, action in _catalog.actions}))

routes = [
    Route("/healthz", endpoints.healthz, methods=["GET"]),
    Route("/openapi.json", endpoints.openapi, methods=["GET"]),
    Route("/api/v1/me", endpoints.me, methods=["GET"]),
    Route("/api/v1/me/balance", endpoints.balance, methods=["GET"]),
    Route("/api/v1/tasks/{task_id}", endpoints.get_task_result, methods=["GET"]),
    Route("/api/v1/{family:family}/{action:action}", endpoints.create_task, methods=["POST"]),
    Route("/api/v1/{family:family}/{action:action}/{task_id}", endpoints.get_task, methods=["GET"]),
    Route("/v1/tasks/{task_id}", endpoints.get_docs_task, methods=["GET"]),
    Route("/v1/{action:action}", endpoints.create_docs_task, methods=["POST"]),
    Route("/v1/{action:action}/{task_id}", endpoints.get_docs_task, methods=["GET"]),
    Route("/files/{namespace}/{task_id}/{name}", endpoints.file, methods=["GET"]),
    *dashboard.routes,  # `/` and /_mock/ui/, before the admin mount that would take /_mock/ui
    Mount("/_mock", routes=admin.routes),
]


Endpoint = Callable[[Request], Awaitable[Response]]


def precompute(method: str, paths: list[str]) -> dict[tuple[str, str], tuple[Endpoint, dict[str, Any]]]:
    """The router's own answer for each exact (method, path): its first full match, as Router.app picks it.

    Only plain Routes of async endpoints are kept (a Mount routes further; a sync endpoint needs a thread).
    """
    table: dict[tuple[str, str], tuple[Endpoint, dict[str, Any]]] = {}
    for path in paths:
        scope = {"type": "http", "method": method, "path": path, "root_path": ""}
        for route in routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                if isinstance(route, Route) and inspect.iscoroutinefunction(route.endpoint):
                    table[(method, path)] = (route.endpoint, child["path_params"])
                break
    return table


# The create routes carry most of the traffic: the middleware dispatches them without the router.
FAST_ROUTES = precompute("POST", [action.path for action in _catalog.actions.values()]
                         + [f"/v1/{name}" for name in sorted({name for _, name in _catalog.actions})])
