"""JSON Schemas by name: the static message schemas in schemas/ and the create-request schemas built from the catalog.

Names: ``task``, ``create_response``, ``task_result``, ``error``, ``callback_payload``, ``callback_headers``,
``account``, ``balance``, the files API's ``upload``, ``upload_prepare``, ``file_object``, ``file_list``,
``deleted_file``, ``upload_object``, ``upload_part``, the pricing API's ``price_schedules``, ``price_quote_request``,
``price_quote``, ``models``, the prompt library's ``prompts``, `runapi listen`'s ``listen_keys``, ``listen_secret``,
``listen_session``, ``listen_events`` and
``request/<family>/<action>`` (one per catalog action; ``request/<family>/<action>/<model>`` for one model).
Every schema is draft-07 and also valid JSON Schema 2020-12 (no ``definitions``, no tuple ``items``),
so the same dicts serve jsonschema here and OpenAPI 3.1 in openapi.py.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from .catalog import Catalog, Model, load_catalog
from .output import result_layout
from .pricing import spellings

DRAFT7 = "http://json-schema.org/draft-07/schema#"
# The static schemas whose completed variant lists the task's files: their members come from the catalog.
RESULT_SCHEMAS = ("task", "callback_payload")
STATIC_SCHEMAS = (
    "task", "create_response", "task_result", "error", "callback_payload", "callback_headers", "account", "balance",
    # the files API (issue 12)
    "upload", "upload_prepare", "file_object", "file_list", "deleted_file", "upload_object", "upload_part",
    # prices and models (issue 12)
    "price_schedules", "price_quote", "models",
    # the prompt library (issue 20)
    "prompts",
    # the synchronous actions' answers, the 202 of the hybrid ones and Suno's persona read (issue 20)
    "sync_accepted", "answer_speech", "answer_fish_voice", "answer_fish_voices", "answer_transcription",
    "answer_gemini_audio", "answer_gemini_character", "answer_seed", "answer_prompts", "answer_style",
    "answer_voice_check", "answer_persona", "answer_aligned_words", "persona_read",
    # `runapi listen` (issue 20)
    "listen_keys", "listen_secret", "listen_session", "listen_events",
)
GENERATED_SCHEMAS = ("price_quote_request",)  # built from the catalog, as the request schemas are
_H16 = "[0-9A-Fa-f]{1,4}"
# An IPv6 literal, as RFC 3986 brackets it ([::1]): every form Python's ipaddress and urlsplit accept, no zone id.
IPV6_PATTERN = (rf"({_H16}:){{7}}{_H16}|({_H16}:){{1,7}}:|({_H16}:){{1,6}}:{_H16}|({_H16}:){{1,5}}(:{_H16}){{1,2}}"
                rf"|({_H16}:){{1,4}}(:{_H16}){{1,3}}|({_H16}:){{1,3}}(:{_H16}){{1,4}}|({_H16}:){{1,2}}(:{_H16}){{1,5}}"
                rf"|{_H16}:(:{_H16}){{1,6}}|:((:{_H16}){{1,7}}|:)")
_PORT = r"(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
URL_PATTERN = (r"^[Hh][Tt][Tt][Pp][Ss]?://([A-Za-z0-9._~%!$&'()*+,;=-]+|\[(" + IPV6_PATTERN + r")\])" + _PORT
               + r"([/?#][^\x00-\x20\x7f]*)?$")

_KEYWORDS = {
    "enum": "enum",
    "default": "default",
    "description": "description",
    "min_length": "minLength",
    "max_length": "maxLength",
    "minimum": "minimum",
    "maximum": "maximum",
    "min_items": "minItems",
    "max_items": "maxItems",
}


class UnknownSchema(LookupError):
    """No schema has that name."""


def field_schema(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Turn one catalog field spec into a JSON Schema fragment."""
    schema: dict[str, Any] = {}
    if spec.get("format") == "http-url":
        schema.update(type="string", format="http-url", pattern=URL_PATTERN, maxLength=2048)
    else:
        schema["type"] = spec["type"]
    for key, keyword in _KEYWORDS.items():
        if key in spec:
            schema[keyword] = spec[key]
    if "items" in spec:
        schema["items"] = field_schema(spec["items"])
    return schema


def model_schema(model: Model) -> dict[str, Any]:
    """The create-request schema for one model: its fields, required set, forbidden fields and rules."""
    properties: dict[str, Any] = {}
    for name, spec in model.fields.items():
        if name in model.forbidden:
            properties[name] = False
        elif name == "model":
            properties[name] = {"const": model.name, "description": spec.get("description", "Model slug.")}
        else:
            properties[name] = field_schema(spec)
    schema: dict[str, Any] = {
        "title": model.name,
        "type": "object",
        "required": list(model.required),
        "properties": properties,
        "additionalProperties": False,
    }
    if model.rules:
        schema["allOf"] = [{"if": rule["if"], "then": rule["then"]} for rule in model.rules]
    return schema


def with_result_members(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` whose completed variant lists the files under any member layout a catalog action uses.

    The static file says what one file (``{"url", "origin_url"}``) looks like under ``images``; each action's
    output spec says which members a completed body has (see output.py's ``result_layout``), so a segment map
    completes with ``segments`` and a layer decomposition with ``base_image`` and ``layers``.
    """
    completed = next(v for v in schema["oneOf"] if v.get("properties", {}).get("status", {}).get("const")
                     == "completed")
    item = completed["properties"].pop("images")["items"]
    completed["required"] = [name for name in completed["required"] if name != "images"]
    layouts = {json.dumps(layout, sort_keys=True): layout
               for layout in (result_layout(m.output_spec) for m in load_catalog().models())}
    variants: list[dict[str, Any]] = []
    conditions: list[dict[str, Any]] = []  # what picks each variant: its first member (and its items' URL key)
    for layout in layouts.values():
        properties: dict[str, Any] = {}
        condition: dict[str, Any] = {}
        for position, member in enumerate(layout):
            if isinstance(member.get("from"), str) and member["from"] != "files":  # echoes, ids, generated data
                properties[member["member"]] = _filled(member["from"])
                continue
            one = copy.deepcopy(item)
            if isinstance(member.get("index"), str):
                one["properties"][member["index"]] = {"type": "integer"}
                one["required"] = [*one["required"], member["index"]]
            if isinstance(member.get("item"), dict):  # an item's facts (resolution, has_audio, id...)
                url_key = next((k for k, fact in member["item"].items() if fact == "url"), None)
                if url_key not in (None, "url"):  # the file's URL under another key (a song's audio_url)
                    one["properties"][url_key] = one["properties"].pop("url")
                    one["required"] = [url_key if r == "url" else r for r in one["required"]]
                one["properties"].update({key: {} for key in member["item"] if key != url_key})
                if position == 0 and url_key not in (None, "url"):
                    inner = {"required": [url_key]}
                    condition = {"properties": {member["member"]: inner if member.get("single")
                                                else {"items": inner}}}
            properties[member["member"]] = copy.deepcopy(item["properties"]["url"]) if member.get("bare") else \
                one if member.get("single") else {"type": "array", "minItems": 1 if position == 0 else 0, "items": one}
        # Files are required, and the generated members (a transcript, lyrics...), which are always filled.
        required = [m["member"] for m in layout if "from" not in m or str(m["from"]).startswith("data:")]
        variants.append({"required": required, "properties": properties})
        conditions.append({"required": required[:1], **condition})
    # if/then/else keyed by each layout's first member (and, where two layouts share it, its items' URL key:
    # Suno's `audios` list `audio_url`, ElevenLabs' `url`), plain `images` last: a body that lists nothing is
    # reported as missing `images` (the usual member), not as "not valid under any of the given schemas".
    order = sorted(range(len(variants)),
                   key=lambda i: (variants[i]["required"] == ["images"], not conditions[i].get("properties")))
    variants, conditions = [variants[i] for i in order], [conditions[i] for i in order]
    for variant in variants:  # every member is declared at the top too (what reads `properties` sees them all)
        for name, member_schema in variant["properties"].items():
            known = completed["properties"].setdefault(name, copy.deepcopy(member_schema))
            items, more = known.get("items", known), member_schema.get("items", member_schema)
            if isinstance(items.get("properties"), dict) and isinstance(more.get("properties"), dict):
                items["properties"] = {**more["properties"], **items["properties"]}  # every item key any layout has
                if items.get("required") != more.get("required"):  # items keyed apart: their variant decides
                    items.pop("required", None)
    chained = variants[-1]
    for variant, condition in reversed(list(zip(variants[:-1], conditions[:-1], strict=True))):
        chained = {"if": condition, "then": variant, "else": chained}
    completed.update(chained)
    return schema


_STRING: dict[str, Any] = {"type": "string"}
_SECONDS: dict[str, Any] = {"type": "number", "minimum": 0}
_TITLED = {"type": "array", "items": {"type": "object", "required": ["text"],
                                      "properties": {"title": _STRING, "text": _STRING}}}
# The generated members (``data:<name>``) as the official SDKs type them: a transcript's words (ElevenLabs),
# lyrics, MIDI notes per instrument and stems (Suno: `<stem>_url` per stem, or `pairs`, hence an open object).
DATA_MEMBERS: dict[str, dict[str, Any]] = {
    "transcript": _STRING, "language_code": _STRING, "validation_phrase": _STRING, "voice_id": _STRING,
    "words": {"type": "array", "items": {"type": "object", "required": ["text", "start", "end"],
                                         "properties": {"text": _STRING, "start": _SECONDS, "end": _SECONDS,
                                                        "type": _STRING}}},
    "lyrics": _TITLED, "blended_lyrics": _TITLED,
    "midi": {"type": "array", "items": {"type": "object", "required": ["name", "notes"], "properties": {
        "name": _STRING, "notes": {"type": "array", "items": {"type": "object", "properties": {
            "pitch": {"type": "integer"}, "start_time": _SECONDS, "end_time": _SECONDS,
            "velocity": {"type": "integer"}}}}}}},
    "separated_audios": {"type": "object"},
}


def _filled(source: str) -> dict[str, Any]:
    """The schema of a result member that is not files (output.py's ``from``)."""
    kind, _, name = source.partition(":")
    if kind == "data":
        return copy.deepcopy(DATA_MEMBERS.get(name, {}))
    if kind == "sources":
        return {"type": "array", "items": {"type": "object", "required": ["url"],
                                           "properties": {"url": {"type": "string"}}}}
    if kind == "file_ids":
        return {"type": "array", "items": {"type": "string"}}
    if kind in ("file_id", "frame"):  # a file's id; the URL of a still of its frame
        return {"type": "string"}
    return {}  # an echo of a request field, or a constant


def request_schema(family: str, action: str) -> dict[str, Any]:
    target = load_catalog().action(family, action)
    if target is None:
        raise UnknownSchema(f"request/{family}/{action}")
    return {
        "$schema": DRAFT7,
        "$id": f"request/{family}/{action}",
        "title": f"Create {family}/{action}",
        "type": "object",
        # Only what every model requires belongs at this level; each model's schema holds the rest.
        "required": sorted(set.intersection(*(set(m.required) for m in target.models.values()))),
        "oneOf": [model_schema(model) for model in target.models.values()],
    }


def quote_request_schema(catalog: Catalog | None = None) -> dict[str, Any]:
    """The exact `POST /api/v1/price_quotes` body: one variant per catalog model, `service` and `action` in either
    spelling, `model` at the top or in `params` (either is enough when the action has one model), `params` a
    create body of that model. What the server accepts, no more: the fuzzer holds the two to each other."""
    catalog = catalog or load_catalog()
    variants = []
    for (family, action), target in sorted(catalog.actions.items()):
        for model in target.models.values():
            params = model_schema(model)
            params["required"] = [name for name in params["required"] if name != "model"]
            variant: dict[str, Any] = {
                "title": f"{family}/{action} {model.name}", "type": "object", "required": ["service", "action"],
                "properties": {"service": {"enum": spellings(family)}, "action": {"enum": spellings(action)},
                               "model": {"const": model.name}, "params": params},
                "additionalProperties": False}
            if len(target.models) > 1:  # the model must be named somewhere
                variant["anyOf"] = [{"required": ["model"]},
                                    {"required": ["params"], "properties": {"params": {"required": ["model"]}}}]
            variants.append(variant)
    return {"$schema": DRAFT7, "$id": "price_quote_request", "title": "Price quote request (POST /api/v1/price_quotes)",
            "type": "object", "required": ["service", "action"], "oneOf": variants}


@cache
def _load(name: str) -> dict[str, Any]:
    parts = name.split("/")
    if name in STATIC_SCHEMAS:
        # One name per joinpath: Traversable.joinpath takes several only from Python 3.11.
        text = resources.files("runapi_contracts").joinpath("schemas").joinpath(f"{name}.json").read_text("utf-8")
        schema: dict[str, Any] = json.loads(text)
        return with_result_members(schema) if name in RESULT_SCHEMAS else schema
    if name == "price_quote_request":
        return quote_request_schema()
    if parts[0] == "request" and len(parts) == 3:
        return request_schema(parts[1], parts[2])
    if parts[0] == "request" and len(parts) == 4:
        target = load_catalog().action(parts[1], parts[2])
        if target is None or parts[3] not in target.models:
            raise UnknownSchema(name)
        return {"$schema": DRAFT7, "$id": name, **model_schema(target.models[parts[3]])}
    raise UnknownSchema(name)


def load_schema(name: str) -> dict[str, Any]:
    """A fresh copy of the named schema (callers may change it freely)."""
    return copy.deepcopy(_load(name))


def schema_names() -> list[str]:
    catalog = load_catalog()
    requests = [f"request/{family}/{action}" for family, action in catalog.actions]
    return [*STATIC_SCHEMAS, *GENERATED_SCHEMAS, *requests]
