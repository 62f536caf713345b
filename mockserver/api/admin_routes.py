"""The admin API's route table, written once: each route under /_mock with its handler and, beside it, its
documented operations and schemas. The Starlette routes, the index (`GET /_mock/`) and the admin OpenAPI
document (`GET /_mock/openapi.json`) are all generated from it; the paths are `runapi_contracts.admin_paths.AdminPath`,
the ones `MockAdmin` calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from runapi_contracts import vocabulary as v
from runapi_contracts.admin_paths import AdminPath as P

from . import admin, files_api, listen_admin
from .admission import origin
from .openapi import PROGRESSION, Documented, Op, Schema, document, path_param, query
from .responses import JSON

Endpoint = Callable[[Request], Any]


@dataclass(frozen=True)
class AdminRoute:
    """One admin path: its handler, its operations by method, and its parameters' convertors (`int`)."""

    path: str
    endpoint: Endpoint
    ops: Mapping[str, Op]
    convertors: Mapping[str, str] = field(default_factory=dict)

    def route(self) -> Route:
        path = self.path
        for name, convertor in self.convertors.items():
            path = path.replace(f"{{{name}}}", f"{{{name}:{convertor}}}")
        return Route(path, self.endpoint, methods=list(self.ops))

    def documented(self) -> Documented:
        return Documented(self.path, self.ops)


_TASK = [path_param("task_id")]
_PAGING = [query("limit", "at most this many (1-10000, default 100)"),
           query("offset", "skip this many matches first (default 0)")]
_JOURNAL: Schema = {"type": "object", "required": ["entries", "size", "capacity", "offset", "more"], "properties": {
    "entries": {"type": "array", "items": {"$ref": "#/components/schemas/JournalEntry"}},
    "size": {"type": "integer"}, "capacity": {"type": "integer"}, "offset": {"type": "integer"},
    "more": {"type": "boolean", "description": "whether a next page exists"}}}
_RULE: Schema = {"type": "object", "required": ["scenario"], "additionalProperties": False, "properties": {
    "scenario": {"enum": list(v.SCENARIO_NAMES)}, "count": {"type": ["integer", "null"], "minimum": 1},
    "method": {"type": "string"}, "path": {"type": "string", "description": "glob, e.g. /api/v1/*"},
    "model": {"type": "string"}, "key": {"type": "string"}}}
_FORCE: Schema = {"type": "object", "required": ["status"], "properties": {
    "status": {"enum": list(v.FORCEABLE_STATUSES)}, "error": {"type": "string"}}}
_ADVANCE: Schema = {"type": "object", "required": ["seconds"],
                    "properties": {"seconds": {"type": "number", "minimum": 0}}}
_BALANCE: Schema = {"type": "object", "required": ["balance_cents"],
                    "properties": {"key": {"type": "string"}, "balance_cents": {"type": "integer"}}}
_ACCOUNT: Schema = {"type": "object", "additionalProperties": False, "properties": {
    "name": {"type": ["string", "null"]}, "email": {"type": ["string", "null"]},
    "balance_cents": {"type": "integer", "minimum": 0}}}
_CONFIG: Schema = {"type": "object", "properties": {"progression": {"oneOf": [PROGRESSION, {"type": "null"}]},
                                                    "callback_mode": {"type": ["string", "null"]},
                                                    "render_cache_bytes": {"type": "integer", "minimum": 0}}}
SCHEMAS: Mapping[str, Schema] = {"JournalEntry": {k: s for k, s in v.JOURNAL_ENTRY_SCHEMA.items() if k != "$schema"}}


async def index(request: Request) -> Response:
    """GET /_mock/: the namespace, and every admin route (METHOD /_mock/path)."""
    return JSON({"namespace": admin.namespace_of(request).name,
                 "routes": sorted({f"{m} /_mock{r.path}" for r in routes for m in (r.methods or []) if m != "HEAD"})})


def mock_openapi(server_url: str = "http://127.0.0.1:8787") -> dict[str, Any]:
    """The control surface's OpenAPI document, its admin paths generated from TABLE."""
    return document((route.documented() for route in TABLE), server_url, SCHEMAS)


async def openapi(request: Request) -> Response:
    return JSON(mock_openapi(origin(request)))


TABLE: list[AdminRoute] = [
    AdminRoute(P.INDEX, index, {"GET": Op("This namespace and every admin route")}),
    AdminRoute(P.RESET, admin.reset, {"POST": Op("Forget this namespace (or every one with ?all=1)",
                                                 params=[query("all", "1 resets every namespace")])}),
    AdminRoute(P.NAMESPACES, admin.namespaces,
               {"GET": Op("The namespaces held now, with their sizes (looking creates none)")}),
    AdminRoute(P.TASKS, admin.list_tasks, {"GET": Op(
        "Tasks, newest first; `more` says whether a next page exists",
        params=[query("status", ", ".join(v.STATUSES)), query("key", ""), *_PAGING])}),
    AdminRoute(P.TASK, admin.get_task, {"GET": Op("One task with its history (not counted as a poll)",
                                                  params=_TASK)}),
    AdminRoute(P.TASK_STATUS, admin.force_status, {"POST": Op("Force a status (forward only)", params=_TASK,
                                                              body=_FORCE)}),
    AdminRoute(P.TASK_STEP, admin.step_task, {"POST": Op("One step along the path (manual progression)",
                                                         params=_TASK)}),
    AdminRoute(P.JOURNAL, admin.journal, {"GET": Op(
        "Requests received, newest first, bounded",
        params=[*(query(n, f"only entries with this {n}") for n in v.JOURNAL_FILTERS), *_PAGING],
        schema=_JOURNAL)}),
    AdminRoute(P.RULES, admin.rules, {
        "GET": Op("Scenario rules"),
        "POST": Op("The next `count` matching requests get `scenario`", body=_RULE, status="201"),
        "DELETE": Op("Remove every rule")}),
    AdminRoute(P.RULE, admin.delete_rule, {"DELETE": Op("Remove one rule", params=[path_param("rule_id")])},
               convertors={"rule_id": "int"}),
    AdminRoute(P.CLOCK, admin.clock, {"GET": Op("This namespace's clock")}),
    AdminRoute(P.CLOCK_ADVANCE, partial(admin.clock_action, action="advance"),
               {"POST": Op("Move the clock forward", body=_ADVANCE)}),
    AdminRoute(P.CLOCK_FREEZE, partial(admin.clock_action, action="freeze"), {"POST": Op("Stop the clock")}),
    AdminRoute(P.CLOCK_UNFREEZE, partial(admin.clock_action, action="unfreeze"),
               {"POST": Op("Let the clock run with wall time again")}),
    AdminRoute(P.BALANCE, admin.balance, {
        "GET": Op("Balances (one key with ?key=)", params=[query("key", "")]),
        "PUT": Op("Set a key's available balance; without `key`, every key's (seen or not)", body=_BALANCE)}),
    AdminRoute(P.ACCOUNT, admin.account, {
        "GET": Op("One key's user (name, email) and balance, as its own API calls see them",
                  params=[path_param("key")]),
        "PUT": Op("Set a key's user name, email and/or balance (what is left out stays)",
                  params=[path_param("key")], body=_ACCOUNT)}),
    AdminRoute(P.CONFIG, admin.config, {
        "GET": Op("Server settings and this namespace's overrides"),
        "PUT": Op("Set this namespace's progression and callback mode", body=_CONFIG)}),
    AdminRoute(P.CALLBACKS, admin.callbacks, {"GET": Op(
        "Callback deliveries with their attempts, newest first",
        params=[query("task_id", ""), query("state", ""), *_PAGING])}),
    AdminRoute(P.CALLBACK, admin.callback, {"GET": Op("One delivery", params=[path_param("delivery_id")])}),
    AdminRoute(P.CALLBACK_REDELIVER, admin.redeliver, {"POST": Op(
        "Send again with the same X-Callback-Id", params=[path_param("delivery_id")], status="202")}),
    AdminRoute(P.CALLBACK_SECRET, admin.callback_secret,
               {"GET": Op("The current callback signing secret (base64)")}),
    AdminRoute(P.CALLBACK_SECRET_ROTATE, admin.callback_secret,
               {"POST": Op("A new secret; the old one stops verifying")}),
    AdminRoute(P.OPENAPI, openapi, {"GET": Op("This document")}),
    AdminRoute(P.UPLOADS, files_api.admin_list,
               {"GET": Op("This namespace's uploads, oldest first (expired ones marked)")}),
    AdminRoute(P.UPLOAD, files_api.admin_delete, {"DELETE": Op(
        "Delete an upload (its URL answers 404 from then on)", params=[path_param("upload_id")])}),
    AdminRoute(P.LISTENERS, listen_admin.listeners, {"GET": Op(
        "`runapi listen`: every key with its listen secret, every session (open, then the last ended) with its "
        "queue, and the bounds")}),
    AdminRoute(P.LISTEN_KEY_DISABLE, partial(listen_admin.set_key, enabled=False), {"POST": Op(
        "Disable a callback API key: its sessions' polls and acks answer 410", params=[path_param("key_id")])}),
    AdminRoute(P.LISTEN_KEY_ENABLE, partial(listen_admin.set_key, enabled=True), {"POST": Op(
        "Enable a callback API key again", params=[path_param("key_id")])}),
    AdminRoute(P.LISTEN_SESSION_REVOKE, listen_admin.revoke, {"POST": Op(
        "Revoke a listener session: its polls and acks answer 403", params=[path_param("token")])}),
]
routes: list[Route] = [route.route() for route in TABLE]
