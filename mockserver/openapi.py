"""OpenAPI 3.1 document of the mock's own control surface: /_mock/*, /files, /healthz and the X-Mock-* headers.

Kept apart from `runapi_contracts.openapi.runapi_openapi()`, which describes only what the real API serves.
"""

from __future__ import annotations

from typing import Any

from runapi_contracts import vocabulary as v

_OBJECT = {"type": "object"}
_PROGRESSION = {"type": "string", "pattern": v.PROGRESSION_PATTERN}
_NAMESPACE: dict[str, Any] = {
    "name": v.NAMESPACE_HEADER, "in": "header", "required": False,
    "description": "Isolates tasks, rules, clock, ledger and journal (default: `default`). "
                   "A `/ns/<name>/` path prefix does the same for clients that cannot add headers.",
    "schema": {"type": "string", "pattern": v.NAMESPACE_PATTERN}}
REQUEST_HEADERS: list[dict[str, Any]] = [
    {"name": v.SCENARIO_HEADER, "in": "header", "required": False,
     "description": "Force an outcome for this request: " + "; ".join(
         f"`{name}`: {text}" for name, text in v.SCENARIOS.items()),
     "schema": {"enum": list(v.SCENARIO_NAMES)}},
    {"name": v.PROGRESSION_HEADER, "in": "header", "required": False,
     "description": "On create: how this task moves (`auto`, `immediate`, `manual`, `polls:N` with "
                    f"1 <= N <= {v.MAX_POLLS}; any case).",
     "schema": _PROGRESSION},
    {"name": v.RETRY_AFTER_HEADER, "in": "header", "required": False,
     "description": "Seconds of Retry-After for rate_limited / unavailable scenarios.",
     "schema": {"type": "number", "minimum": 0, "maximum": 86400}},
    {"name": v.CALLBACK_MODE_HEADER, "in": "header", "required": False,
     "description": "On create: `duplicate`, `delay:SECONDS`, `early` (comma-separated).",
     "schema": {"type": "string"}},
    _NAMESPACE,
]


def _op(summary: str, body: dict[str, Any] | None = None, params: list[dict[str, Any]] | None = None,
        status: str = "200", schema: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "parameters": [_NAMESPACE, *(params or [])],
        "responses": {status: {"description": "OK",
                               "content": {"application/json": {"schema": schema or _OBJECT}}},
                      "400": {"description": "Bad request"}, "404": {"description": "Not found"}},
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def _json_writes(paths: dict[str, Any]) -> None:
    """Every admin write takes Content-Type: application/json, a bodiless one too (hosts.py says why)."""
    for path, item in paths.items():
        for method, op in item.items():
            if not path.startswith("/_mock/") or method not in ("post", "put", "patch", "delete"):
                continue
            op.setdefault("requestBody", {"required": False, "content": {"application/json": {"schema": _OBJECT}}})
            op["responses"].update({
                "403": {"description": "a foreign Host, or an Origin that is not the mock's own, loopback or "
                                       "an --allowed-host"},
                "415": {"description": "not sent as Content-Type: application/json"}})


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string"}}


def mock_openapi(server_url: str = "http://127.0.0.1:8787") -> dict[str, Any]:
    task = [_path_param("task_id")]
    paging = [_query("limit", "at most this many (1-10000, default 100)"),
              _query("offset", "skip this many matches first (default 0)")]
    entry = {k: value for k, value in v.JOURNAL_ENTRY_SCHEMA.items() if k != "$schema"}
    journal = {"type": "object", "required": ["entries", "size", "capacity", "offset", "more"], "properties": {
        "entries": {"type": "array", "items": {"$ref": "#/components/schemas/JournalEntry"}},
        "size": {"type": "integer"}, "capacity": {"type": "integer"}, "offset": {"type": "integer"},
        "more": {"type": "boolean", "description": "whether a next page exists"}}}
    journal_filters = [_query(n, f"only entries with this {n}") for n in v.JOURNAL_FILTERS] + paging
    rule = {"type": "object", "required": ["scenario"], "additionalProperties": False, "properties": {
        "scenario": {"enum": list(v.SCENARIO_NAMES)}, "count": {"type": ["integer", "null"], "minimum": 1},
        "method": {"type": "string"}, "path": {"type": "string", "description": "glob, e.g. /api/v1/*"},
        "model": {"type": "string"}, "key": {"type": "string"}}}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "runapi-mock control surface", "version": "1",
                 "description": "Admin API and test headers of runapi-mock. The headers below are accepted on "
                                "every RunAPI route: " + ", ".join(v.MOCK_HEADERS) + "."},
        "servers": [{"url": server_url}],
        "paths": {
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "ok"}}}},
            "/files/{namespace}/{task_id}/{name}": {"get": {
                "summary": "A generated image (no auth, like a CDN); 410 once expired",
                "parameters": [_path_param("namespace"), _path_param("task_id"), _path_param("name")],
                "responses": {"200": {"description": "image/png or image/jpeg"},
                              "404": {"description": "unknown"}, "410": {"description": "expired"}}}},
            "/uploads/{namespace}/{upload_id}/{file_name}": {"get": {
                "summary": "An upload's bytes with their MIME type (no auth, like storage); 410 once expired",
                "parameters": [_path_param("namespace"), _path_param("upload_id"), _path_param("file_name")],
                "responses": {"200": {"description": "the uploaded bytes"}, "404": {"description": "unknown, deleted"},
                              "410": {"description": "expired"}}}},
            "/direct-uploads/{namespace}/{token}": {"put": {
                "summary": "The PUT target of POST /api/v1/files/prepare (the token authorizes; no API key)",
                "parameters": [_path_param("namespace"), _path_param("token")],
                "responses": {"204": {"description": "received"}, "404": {"description": "unknown token"},
                              "409": {"description": "already received"},
                              "422": {"description": "size, MD5 or Content-Type differ from prepare's"}}}},
            "/_mock/uploads": {"get": _op("This namespace's uploads, oldest first (expired ones marked)")},
            "/_mock/uploads/{upload_id}": {"delete": _op("Delete an upload (its URL answers 404 from then on)",
                                                         params=[_path_param("upload_id")])},
            "/_mock/reset": {"post": _op("Forget this namespace (or every one with ?all=1)",
                                         params=[_query("all", "1 resets every namespace")])},
            "/_mock/namespaces": {"get": _op("The namespaces held now, with their sizes (looking creates none)")},
            "/_mock/tasks": {"get": _op("Tasks, newest first; `more` says whether a next page exists",
                                        params=[_query("status", ", ".join(v.STATUSES)), _query("key", ""),
                                                *paging])},
            "/_mock/tasks/{task_id}": {"get": _op("One task with its history (not counted as a poll)",
                                                  params=task)},
            "/_mock/tasks/{task_id}/status": {"post": _op(
                "Force a status (forward only)", params=task,
                body={"type": "object", "required": ["status"], "properties": {
                    "status": {"enum": list(v.FORCEABLE_STATUSES)}, "error": {"type": "string"}}})},
            "/_mock/tasks/{task_id}/step": {"post": _op("One step along the path (manual progression)",
                                                        params=task)},
            "/_mock/journal": {"get": _op("Requests received, newest first, bounded", params=journal_filters,
                                          schema=journal)},
            "/_mock/rules": {"get": _op("Scenario rules"), "delete": _op("Remove every rule"),
                             "post": _op("The next `count` matching requests get `scenario`", body=rule,
                                         status="201")},
            "/_mock/rules/{rule_id}": {"delete": _op("Remove one rule", params=[_path_param("rule_id")])},
            "/_mock/clock": {"get": _op("This namespace's clock")},
            "/_mock/clock/advance": {"post": _op("Move the clock forward", body={
                "type": "object", "required": ["seconds"],
                "properties": {"seconds": {"type": "number", "minimum": 0}}})},
            "/_mock/clock/freeze": {"post": _op("Stop the clock")},
            "/_mock/clock/unfreeze": {"post": _op("Let the clock run with wall time again")},
            "/_mock/balance": {
                "get": _op("Balances (one key with ?key=)", params=[_query("key", "")]),
                "put": _op("Set a key's available balance; without `key`, every key's (seen or not)", body={
                    "type": "object", "required": ["balance_cents"],
                    "properties": {"key": {"type": "string"}, "balance_cents": {"type": "integer"}}})},
            "/_mock/config": {
                "get": _op("Server settings and this namespace's overrides"),
                "put": _op("Set this namespace's progression and callback mode", body={
                    "type": "object", "properties": {"progression": {"oneOf": [_PROGRESSION, {"type": "null"}]},
                                                     "callback_mode": {"type": ["string", "null"]}}})},
            "/_mock/callbacks": {"get": _op("Callback deliveries with their attempts, newest first",
                                            params=[_query("task_id", ""), _query("state", ""), *paging])},
            "/_mock/callbacks/{delivery_id}": {"get": _op("One delivery", params=[_path_param("delivery_id")])},
            "/_mock/callbacks/{delivery_id}/redeliver": {"post": _op(
                "Send again with the same X-Callback-Id", params=[_path_param("delivery_id")], status="202")},
            "/_mock/callback-secret": {"get": _op("The current callback signing secret (base64)")},
            "/_mock/callback-secret/rotate": {"post": _op("A new secret; the old one stops verifying")},
        },
        "components": {"parameters": {h["name"].replace("-", ""): h for h in REQUEST_HEADERS},
                       "schemas": {"JournalEntry": entry}},
    }
    _json_writes(document["paths"])
    return document
