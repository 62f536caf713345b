"""OpenAPI 3.1 documents generated from the catalog and the same JSON Schemas the validators use.

`runapi_openapi()` describes the RunAPI surface as its clients see it (point it at the live API or the mock);
`mock_openapi()` describes only the mock's own control surface (admin API, files, `X-Mock-*` headers).
"""

from __future__ import annotations

from typing import Any

from .catalog import load_catalog
from .registry import load_schema

PRODUCTION_URL = "https://runapi.ai"
ERROR_STATUSES = {
    "400": "Malformed request (bad JSON, bad header value)",
    "401": "Missing or invalid API key",
    "402": "Insufficient credits",
    "404": "Unknown task or route",
    "409": "Idempotency-Key reused with a different body (files API: the upload is not in a state for this)",
    "410": "Expired (an upload past its expiry)",
    "413": "Body too large",
    "415": "Body is not JSON",
    "422": "Validation failed (per-field `errors`)",
    "429": "Rate limited (see Retry-After)",
    "455": "Service temporarily unavailable (RunAPI-specific status)",
    "503": "Service unavailable (see Retry-After)",
}
_COMPONENTS = {
    "Task": "task",
    "CreateResponse": "create_response",
    "TaskResult": "task_result",
    "Error": "error",
    "CallbackPayload": "callback_payload",
    "Account": "account",
    "Balance": "balance",
    "Upload": "upload",
    "UploadPrepare": "upload_prepare",
    "FileObject": "file_object",
    "FileList": "file_list",
    "DeletedFile": "deleted_file",
    "UploadObject": "upload_object",
    "UploadPart": "upload_part",
    "PriceSchedules": "price_schedules",
    "PriceQuoteRequest": "price_quote_request",
    "PriceQuote": "price_quote",
    "Models": "models",
    "Prompts": "prompts",
}


def _component(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = load_schema(name)
    schema.pop("$schema", None)
    schema.pop("$id", None)  # an $id would rebase $ref resolution inside the document
    stripped: dict[str, Any] = _strip_custom_formats(schema)
    return stripped


def _strip_custom_formats(node: Any) -> Any:
    # `http-url` is this project's format (checked in validate.py); generators only need the pattern.
    if isinstance(node, dict):
        return {k: _strip_custom_formats(v) for k, v in node.items() if not (k == "format" and v == "http-url")}
    if isinstance(node, list):
        return [_strip_custom_formats(v) for v in node]
    return node


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


def _errors(*codes: str) -> dict[str, Any]:
    retry = {"Retry-After": _header("Seconds to wait before retrying.")}
    return {
        code: _json(_ref("Error"), ERROR_STATUSES[code], retry if code in ("429", "503") else None)
        for code in codes
    }


_TASK_HEADERS = {
    "X-Request-Id": _header("Request id, also in SDK errors."),
    "X-RunAPI-Task-Id": _header("The task this response concerns."),
}
_CLIENT_HEADERS = [
    {"name": "Idempotency-Key", "in": "header", "required": False,
     "description": "Same key and body replays the task (task_replayed: true); a different body is a 409.",
     "schema": {"type": "string", "pattern": "^[\\x20-\\x7e]{1,512}$"}},
    {"name": "X-Client-Request-Id", "in": "header", "required": False,
     "description": "Printable ASCII, echoed back.",
     "schema": {"type": "string", "pattern": "^[\\x20-\\x7e]{1,512}$"}},
]
_CALLBACKS = {
    "taskFinished": {
        "{$request.body#/callback_url}": {
            "post": {
                "summary": "Signed callback sent when the task completes or fails",
                "parameters": [
                    {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
                    for name in ("X-Callback-Id", "X-Callback-Timestamp", "X-Callback-Signature")
                ],
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": _ref("CallbackPayload")}}},
                "responses": {"200": {"description": "Any 2xx within 10 s acknowledges the delivery."}},
            }
        }
    }
}


_UUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def _task_id_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}


def _create(summary: str, schema: dict[str, Any], tag: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "tags": [tag],
        "parameters": _CLIENT_HEADERS,
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
        "responses": {
            "200": _json(_ref("CreateResponse"), "Task accepted (status pending)", _TASK_HEADERS),
            **_errors("400", "401", "402", "409", "413", "415", "422", "429", "455", "503"),
        },
        "callbacks": _CALLBACKS,
    }


def _status(summary: str, tag: str, param: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "tags": [tag],
        "parameters": [_task_id_param(param)],
        "responses": {
            "200": _json(_ref("Task"), "Task status", _TASK_HEADERS),
            **_errors("401", "404", "429", "503"),
        },
    }


_NO_AUTH: list[dict[str, list[str]]] = [{}, {"bearerAuth": []}]  # a key is optional; sent, it is checked


def _pricing_paths() -> dict[str, Any]:
    """Price schedules, quotes and the model list: no key needed (runapi-core's PricingClient may send none)."""
    filters = [{"name": name, "in": "query", "required": False, "schema": {"type": "string", "maxLength": 200}}
               for name in ("service", "action", "model")]
    etag = {"ETag": _header("Tag of this list; send it back as If-None-Match.")}
    prompt_filters = [{"name": name, "in": "query", "required": False, "schema": {"type": "string", "maxLength": 200}}
                      for name in ("modality", "category", "q", "model")]
    return {
        "/api/v1/price_schedules": {"get": {
            "summary": "Price schedules (service: the route's family, flux_2, or its slug, flux-2)",
            "tags": ["Pricing"], "security": _NO_AUTH,
            "parameters": [*filters, {"name": "If-None-Match", "in": "header", "required": False,
                                      "schema": {"type": "string"}}],
            "responses": {"200": _json(_ref("PriceSchedules"), "Schedules matching the filters ([] if none)", etag),
                          "304": {"description": "Not modified (If-None-Match matched)", "headers": etag},
                          **_errors("400", "401", "429")}}},
        "/api/v1/price_quotes": {"post": {
            "summary": "What a create with these params reserves", "tags": ["Pricing"], "security": _NO_AUTH,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("PriceQuoteRequest")}}},
            "responses": {"200": _json(_ref("PriceQuote"), "Quote"),
                          **_errors("400", "401", "413", "415", "422", "429")}}},
        "/api/v1/prompts": {"get": {
            "summary": "RunAPI's prompt library: one page of the prompts matching every filter given",
            "tags": ["Prompts"], "security": _NO_AUTH,
            "parameters": [*prompt_filters,
                           {"name": "tags", "in": "query", "required": False, "description": "comma-separated; all",
                            "schema": {"type": "string", "maxLength": 200}},
                           {"name": "featured", "in": "query", "required": False,
                            "schema": {"type": "string", "enum": ["true", "false"]}},
                           *[{"name": name, "in": "query", "required": False,
                              "schema": {"type": "integer", "minimum": 1, **({"maximum": 100} if name == "per_page"
                                                                              else {})}}
                             for name in ("page", "per_page")]],
            "responses": {"200": _json(_ref("Prompts"), "Prompts and pagination"), **_errors("400", "401", "429")}}},
        "/v1/models": {"get": {
            "summary": "Every catalog model and the routes that serve it", "tags": ["Models"], "security": _NO_AUTH,
            "responses": {"200": _json(_ref("Models"), "Model list"), **_errors("401", "429")}}},
    }


def runapi_openapi(server_url: str = PRODUCTION_URL) -> dict[str, Any]:
    """The RunAPI image API as clients see it: SDK routes, the public docs' routes, account routes."""
    catalog = load_catalog()
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {name: _component(schema) for name, schema in _COMPONENTS.items()}
    by_action: dict[str, list[str]] = {}
    for (family, action), entry in catalog.actions.items():
        component = f"Create_{family}_{action}"
        schemas[component] = _component(f"request/{family}/{action}")
        by_action.setdefault(action, []).append(component)
        title = catalog.titles.get(family, family)
        paths[entry.path] = {"post": _create(f"Create a {title} {action} task", _ref(component), title)}
        paths[f"{entry.path}/{{id}}"] = {"get": _status(f"Get a {title} {action} task", title, "id")}
    for family in sorted({family for family, _ in catalog.actions}):  # mcp-core getTask without an action
        title = catalog.titles.get(family, family)
        status = _status(f"Get a {title} task of any action (RunAPI's MCP server)", title, "id")
        status["parameters"] = [{**_task_id_param("id"), "schema": {"type": "string", "pattern": _UUID}}]
        paths[f"/api/v1/{family}/{{id}}"] = {"get": status}
    paths["/api/v1/tasks/{id}"] = {"get": {
        "summary": "Task-result resource (hybrid flow)", "tags": ["Tasks"], "parameters": [_task_id_param("id")],
        "responses": {"200": _json(_ref("TaskResult"), "Task result", _TASK_HEADERS), **_errors("401", "404")},
    }}
    for action, components in sorted(by_action.items()):
        schema = {"oneOf": [_ref(c) for c in components]} if len(components) > 1 else _ref(components[0])
        paths[f"/v1/{action}"] = {"post": _create(f"Create a {action} task (public docs route; family from model)",
                                                  schema, "Docs routes")}
    paths["/v1/tasks/{task_id}"] = {"get": _status("Get a task (public docs route)", "Docs routes", "task_id")}
    for action in sorted(by_action):
        paths[f"/v1/{action}/{{task_id}}"] = {"get": _status(f"Get a {action} task (docs route)", "Docs routes",
                                                              "task_id")}
    paths["/api/v1/me"] = {"get": {"summary": "The key's user and account", "tags": ["Account"],
                                   "responses": {"200": _json(_ref("Account"), "Account"), **_errors("401")}}}
    paths["/api/v1/me/balance"] = {"get": {"summary": "Credit balance", "tags": ["Account"],
                                           "responses": {"200": _json(_ref("Balance"), "Balance"), **_errors("401")}}}
    paths.update(files_paths())
    paths.update(_pricing_paths())
    return {
        "openapi": "3.1.0",
        "info": {"title": "RunAPI image generation", "version": "1",
                 "description": "Generated by runapi-mock from its catalog and contracts. Image creation is "
                                "asynchronous: create, then poll the status route or receive a signed callback."},
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


def _body(properties: dict[str, Any], required: list[str], media: str = "application/json") -> dict[str, Any]:
    # The files API refuses members it does not know (uploads.check_fields): the document says so.
    schema = {"type": "object", "required": required, "properties": properties, "additionalProperties": False}
    return {"required": True, "content": {media: {"schema": schema}}}


def _op(summary: str, response: str, *, body: dict[str, Any] | None = None, errors: tuple[str, ...] = (),
        params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    reading = ("400", "413", "415", "422") if body is not None else ()  # what reading any body can answer
    codes = sorted({"401", "429", *reading, *errors})
    op: dict[str, Any] = {"summary": summary, "tags": ["Files"],
                          "responses": {"200": _json(_ref(response), response), **_errors(*codes)}}
    if body is not None:
        op["requestBody"] = body
    if params:
        op["parameters"] = params
    return op


# At least one byte of standard base64 (padding optional), bare or in a data: URL whose parameters name base64.
_BASE64 = (r"^(?:data:[^,;]*(?:;[^,;]*)*;base64(?:;[^,;]*)*,)?(?:[A-Za-z0-9+/]{4})*"
           r"(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{2}={0,2}|[A-Za-z0-9+/]{3}=?)$")


def files_paths() -> dict[str, Any]:
    """The files API as runapi-core 0.10.1 calls it: RunAPI's uploads, and the OpenAI-style files and uploads."""
    text = {"type": "string"}
    # What the server calls blank (str.strip() leaves nothing) it refuses: a required text has a non-space.
    filled = {"type": "string", "pattern": r"\S"}
    name = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[^/\\\x00-\x1f\x7f]+$"}
    size = {"type": "integer", "minimum": 1}
    # The mock's default --max-upload-bytes: a direct upload prepared for more is refused (422).
    upload_size = {"type": "integer", "minimum": 1, "maximum": 30 * 1024 * 1024}
    source = {"oneOf": [
        {"type": "object", "required": ["type", "url"], "properties": {"type": {"const": "url"}, "url": text}},
        {"type": "object", "required": ["type", "data"],
         "properties": {"type": {"const": "base64"},
                        "data": {**text, "pattern": _BASE64, "description": "base64 (padding optional), or a "
                                 "data: URL of it"}}}]}
    file_id, upload_id = [_task_id_param("file_id")], [_task_id_param("upload_id")]
    query = [{"name": name, "in": "query", "required": False, "schema": schema} for name, schema in (
        ("after", text), ("limit", {"type": "integer", "minimum": 1, "maximum": 10_000}),
        ("order", {"enum": ["asc", "desc"]}), ("purpose", text))]
    multipart = "multipart/form-data"
    binary = {"type": "string", "format": "binary"}
    return {
        "/api/v1/files": {"post": _op("Upload a file from a URL or base64 data (a temporary upload)", "Upload",
                                      body=_body({"source": source, "file_name": name}, ["source"]),
                                      errors=("400", "413", "415", "422"))},
        "/api/v1/files/prepare": {"post": _op(
            "Prepare a direct upload: PUT the bytes to upload_url with the headers given, then confirm",
            "UploadPrepare", errors=("400", "422"),
            body=_body({"filename": name, "byte_size": upload_size,
                        "checksum": {**text, "pattern": "^[A-Za-z0-9+/]{22}==$", "description": "base64 MD5"},
                        "content_type": filled}, ["filename", "byte_size", "checksum"]))},
        "/api/v1/files/confirm": {"post": _op("Confirm a direct upload whose bytes were PUT", "Upload",
                                              body=_body({"signed_id": filled}, ["signed_id"]),
                                              errors=("404", "409", "422"))},
        "/v1/files": {
            "post": _op("Create a file (multipart)", "FileObject", errors=("400", "413", "415", "422"),
                        body=_body({"purpose": filled, "file": binary}, ["purpose", "file"], multipart)),
            "get": _op("List files", "FileList", errors=("400", "404"), params=query)},
        "/v1/files/{file_id}": {
            "get": _op("Retrieve a file", "FileObject", errors=("404", "410"), params=file_id),
            "delete": _op("Delete a file", "DeletedFile", errors=("404", "410"), params=file_id)},
        "/v1/files/{file_id}/content": {"get": {
            "summary": "A file's bytes", "tags": ["Files"], "parameters": file_id,
            "responses": {"200": {"description": "The bytes, with their MIME type"}, **_errors("401", "404", "410")}}},
        "/v1/uploads": {"post": _op("Create an upload that parts are added to", "UploadObject", errors=("422",),
                                    body=_body({"bytes": size, "filename": name, "mime_type": filled,
                                                "purpose": filled}, ["bytes", "filename", "mime_type", "purpose"]))},
        "/v1/uploads/{upload_id}/parts": {"post": _op(
            "Add a part (multipart `data`)", "UploadPart", errors=("404", "409", "413", "422"), params=upload_id,
            body=_body({"data": binary}, ["data"], multipart))},
        "/v1/uploads/{upload_id}/complete": {"post": _op(
            "Complete: the parts, in order, become a file (their sizes must add up to `bytes`)", "UploadObject",
            errors=("404", "409", "422"), params=upload_id,
            body=_body({"part_ids": {"type": "array", "items": text},
                        "md5": {"type": "string", "pattern": "^[0-9A-Fa-f]{32}$", "description": "hex MD5"}},
                       ["part_ids"]))},
        "/v1/uploads/{upload_id}/cancel": {"post": _op("Cancel an upload", "UploadObject", errors=("404", "409"),
                                                       params=upload_id)},
    }
