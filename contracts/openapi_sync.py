"""The synchronous actions in the OpenAPI document: their routes answer the result, not a task to poll.

Each action's 200 is its answer's schema (the output spec's ``schema``); a hybrid one may answer 202 with a
Location to poll as a task result. The routes only an SDK calls (the catalog's ``sdk_routes``) are here too,
with the SDK's field names: Fish Audio's voices, OpenAI's multipart transcriptions, Suno's personas,
style_expansions and timestamped_lyrics, and Suno's persona read.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .catalog import Action, Catalog
from .registry import load_schema, model_schema

__all__ = ["is_sync", "sync_components", "sync_paths"]

_TEXT_TYPES = ("text/plain", "application/x-subrip", "text/vtt")  # transcripts in text, srt and vtt
_ERRORS = {"400": "Malformed request", "401": "Missing or invalid API key", "402": "Insufficient credits",
           "404": "Unknown route, task or resource", "409": "Idempotency-Key reused with a different body",
           "413": "Body too large", "415": "Body is not of the route's media type",
           "422": "Validation failed, or the action failed (a content-policy refusal)",
           "429": "Rate limited (see Retry-After)", "455": "Service temporarily unavailable",
           "500": "The action failed", "503": "Service unavailable (see Retry-After)"}


def is_sync(action: Action) -> bool:
    return "sync" in action.output_spec


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _component_name(schema: str) -> str:
    return "".join(part.capitalize() for part in schema.split("_"))


def sync_components(catalog: Catalog) -> dict[str, Any]:
    """The answer schemas the synchronous routes refer to, as OpenAPI components."""
    names = {str(a.output_spec["schema"]) for a in catalog.actions.values() if is_sync(a)}
    out = {}
    for name in sorted(names | {"sync_accepted", "persona_read"}):
        schema = load_schema(name)
        schema.pop("$schema", None)
        schema.pop("$id", None)
        out[_component_name(name)] = schema
    return out


def _errors(*codes: str) -> dict[str, Any]:
    return {code: {"description": _ERRORS[code], "content": {"application/json": {"schema": _ref("Error")}}}
            for code in codes}


def _responses(action: Action, hybrid: bool) -> dict[str, Any]:
    answer = _ref(_component_name(str(action.output_spec["schema"])))
    content: dict[str, Any] = {"application/json": {"schema": answer}}
    if action.output_spec.get("answer") == "transcription":
        content.update({media: {"schema": {"type": "string"}} for media in _TEXT_TYPES})
    responses: dict[str, Any] = {"200": {"description": "The action's answer", "content": content}}
    if hybrid:
        responses["202"] = {
            "description": "Accepted: poll the Location (relative to the base URL) as a task result",
            "headers": {name: {"schema": {"type": "string"}} for name in ("Location", "Retry-After")},
            "content": {"application/json": {"schema": _ref("SyncAccepted")}}}
    return {**responses, **_errors("400", "401", "402", "404", "409", "413", "415", "422", "429", "455", "500", "503")}


def _renamed(schema: dict[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    """A request schema with the SDK's names for the contract's fields (`fields`: SDK name -> contract name)."""
    sdk = {contract: name for name, contract in fields.items()}
    out = copy.deepcopy(schema)
    for node in (out, *out.get("oneOf", ())):  # the action's schema and each model's variant
        if "properties" in node:
            node["properties"] = {sdk.get(k, k): v for k, v in node["properties"].items()}
        if "required" in node:
            node["required"] = [sdk.get(k, k) for k in node["required"]]
    return out


def _multipart(action: Action, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """OpenAI's form: one variant per model, the file a binary part, arrays as repeated `name[]` parts."""
    variants = []
    for model in action.models.values():
        schema = model_schema(model)
        props: dict[str, Any] = {}
        for name, spec in schema.get("properties", {}).items():
            if name == "file":
                props[name] = {"type": "string", "contentMediaType": "application/octet-stream"}
            elif spec.get("type") == "array":  # at most 4 parts each: the form takes 16 parts in all
                props[f"{name}[]"] = {**spec, "maxItems": min(4, int(spec.get("maxItems", 4)))}
            else:
                props[name] = spec
        required = [name for name in schema.get("required", ()) if name not in defaults]
        variants.append({"type": "object", "properties": props, "required": required,
                         "additionalProperties": False})
    return {"oneOf": variants} if len(variants) > 1 else variants[0]


def _operation(summary: str, tag: str, action: Action, hybrid: bool, body: dict[str, Any] | None,
               media: str = "application/json", parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": _responses(action, hybrid)}
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": {media: {"schema": body}}}
    return op


def sync_paths(catalog: Catalog, request_component: Mapping[tuple[str, str], str]) -> dict[str, Any]:
    """The synchronous actions' contract routes and the SDK-only routes that serve them."""
    paths: dict[str, Any] = {}
    for key, action in sorted(catalog.actions.items()):
        if is_sync(action):
            title = catalog.titles.get(action.family, action.family)
            paths[action.path] = {"post": _operation(
                f"{title} {action.name} (synchronous: answers its result)", title, action,
                action.output_spec["sync"] == "hybrid", _ref(request_component[key]))}
    for entry in catalog.sdk_routes:
        family, _, name = str(entry["action"]).partition("/")
        target = catalog.action(family.replace("-", "_"), name.replace("-", "_"))
        if target is None:
            continue
        action = target
        title = catalog.titles.get(action.family, action.family)
        summary = f"{title} {action.name}, as {entry['sdk']} calls it"
        hybrid, where = entry.get("sync") == "hybrid", entry.get("body", "json")
        schema = load_schema(f"request/{action.family}/{action.name}")
        schema.pop("$schema", None)
        schema.pop("$id", None)
        if where == "multipart":
            op = _operation(summary, title, action, hybrid, _multipart(action, entry.get("defaults", {})),
                            "multipart/form-data")
        elif where in ("query", "path"):
            fields = schema.get("properties") or next(iter(schema.get("oneOf", [{}]))).get("properties", {})
            params = [{"name": n, "in": where, "required": where == "path", "schema": s}
                      for n, s in fields.items() if n != "model"]
            op = _operation(summary, title, action, hybrid, None, parameters=params)
        else:
            op = _operation(summary, title, action, hybrid, _renamed(schema, entry.get("fields", {})))
        paths.setdefault(str(entry["path"]), {})[str(entry.get("method", "POST")).lower()] = op
    paths["/api/v1/personas/{persona_id}"] = {"get": {
        "summary": "A Suno persona of the account (runapi-suno personas.get)", "tags": ["Suno"],
        "parameters": [{"name": "persona_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "The persona",
                              "content": {"application/json": {"schema": _ref("PersonaRead")}}},
                      **_errors("401", "404", "429")}}}
    return paths
