"""OpenAPI 3.1 of the mock's own control surface: how a documented route becomes a path item, the X-Mock-*
headers, and the routes outside /_mock (/files, /uploads, /direct-uploads, /healthz).

The admin routes are documented where they are declared (admin_routes.py: each route with its operations and
schemas), and `admin_routes.mock_openapi()` puts the document together. Kept apart from
`runapi_contracts.openapi.runapi_openapi()`, which describes only what the real API serves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runapi_contracts import vocabulary as v

Schema = dict[str, Any]
OBJECT: Schema = {"type": "object"}
PROGRESSION: Schema = {"type": "string", "pattern": v.PROGRESSION_PATTERN}
NAMESPACE: Schema = {
    "name": v.NAMESPACE_HEADER, "in": "header", "required": False,
    "description": "Isolates tasks, rules, clock, ledger and journal (default: `default`). "
                   "A `/ns/<name>/` path prefix does the same for clients that cannot add headers.",
    "schema": {"type": "string", "pattern": v.NAMESPACE_PATTERN}}
REQUEST_HEADERS: list[Schema] = [
    {"name": v.SCENARIO_HEADER, "in": "header", "required": False,
     "description": "Force an outcome for this request: " + "; ".join(
         f"`{name}`: {text}" for name, text in v.SCENARIOS.items()),
     "schema": {"enum": list(v.SCENARIO_NAMES)}},
    {"name": v.PROGRESSION_HEADER, "in": "header", "required": False,
     "description": "On create: how this task moves (`auto`, `immediate`, `manual`, `polls:N` with "
                    f"1 <= N <= {v.MAX_POLLS}; any case).",
     "schema": PROGRESSION},
    {"name": v.RETRY_AFTER_HEADER, "in": "header", "required": False,
     "description": "Seconds of Retry-After for rate_limited / unavailable scenarios.",
     "schema": {"type": "number", "minimum": 0, "maximum": 86400}},
    {"name": v.CALLBACK_MODE_HEADER, "in": "header", "required": False,
     "description": "On create: `duplicate`, `delay:SECONDS`, `early` (comma-separated).",
     "schema": {"type": "string"}},
    NAMESPACE,
]


@dataclass(frozen=True)
class Op:
    """One documented operation of an admin route: what it does, what it takes, what it answers."""

    summary: str
    body: Schema | None = None
    params: Sequence[Schema] = ()
    status: str = "200"
    schema: Schema | None = None

    def item(self) -> Schema:
        op: Schema = {
            "summary": self.summary,
            "parameters": [NAMESPACE, *self.params],
            "responses": {self.status: {"description": "OK",
                                        "content": {"application/json": {"schema": self.schema or OBJECT}}},
                          "400": {"description": "Bad request"}, "404": {"description": "Not found"}},
        }
        if self.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": self.body}}}
        return op


@dataclass(frozen=True)
class Documented:
    """A route's OpenAPI path and its operations by method: what the document is generated from."""

    path: str
    ops: Mapping[str, Op] = field(default_factory=dict)


def path_param(name: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def query(name: str, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string"}}


# The served routes outside /_mock that belong to the mock, not to RunAPI's API.
CONTROL_PATHS: dict[str, Schema] = {
    "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "ok"}}}},
    "/files/{namespace}/{task_id}/{name}": {"get": {
        "summary": "A generated image (no auth, like a CDN); 410 once expired",
        "parameters": [path_param("namespace"), path_param("task_id"), path_param("name")],
        "responses": {"200": {"description": "image/png or image/jpeg"},
                      "404": {"description": "unknown"}, "410": {"description": "expired"}}}},
    "/uploads/{namespace}/{upload_id}/{file_name}": {"get": {
        "summary": "An upload's bytes with their MIME type (no auth, like storage); 410 once expired",
        "parameters": [path_param("namespace"), path_param("upload_id"), path_param("file_name")],
        "responses": {"200": {"description": "the uploaded bytes"}, "404": {"description": "unknown, deleted"},
                      "410": {"description": "expired"}}}},
    "/direct-uploads/{namespace}/{token}": {"put": {
        "summary": "The PUT target of POST /api/v1/files/prepare (the token authorizes; no API key)",
        "parameters": [path_param("namespace"), path_param("token")],
        "responses": {"204": {"description": "received"}, "404": {"description": "unknown token"},
                      "409": {"description": "already received"},
                      "422": {"description": "size, MD5 or Content-Type differ from prepare's"}}}},
}


def _json_writes(paths: dict[str, Any]) -> None:
    """Every admin write takes Content-Type: application/json, a bodiless one too (hosts.py says why)."""
    for path, item in paths.items():
        for method, op in item.items():
            if not path.startswith("/_mock/") or method not in ("post", "put", "patch", "delete"):
                continue
            op.setdefault("requestBody", {"required": False, "content": {"application/json": {"schema": OBJECT}}})
            op["responses"].update({
                "403": {"description": "a foreign Host, or an Origin that is not the mock's own, loopback or "
                                       "an --allowed-host"},
                "415": {"description": "not sent as Content-Type: application/json"}})


def document(admin: Iterable[Documented], server_url: str, schemas: Mapping[str, Schema]) -> Schema:
    """The control surface's OpenAPI document: CONTROL_PATHS, then every admin route under /_mock."""
    paths = dict(CONTROL_PATHS)
    for route in admin:
        item = paths.setdefault("/_mock" + route.path, {})
        item.update({method.lower(): op.item() for method, op in route.ops.items()})
    _json_writes(paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "runapi-mock control surface", "version": "1",
                 "description": "Admin API and test headers of runapi-mock. The headers below are accepted on "
                                "every RunAPI route: " + ", ".join(v.MOCK_HEADERS) + "."},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"parameters": {h["name"].replace("-", ""): h for h in REQUEST_HEADERS},
                       "schemas": dict(schemas)},
    }
