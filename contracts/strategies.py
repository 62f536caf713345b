"""Hypothesis strategies for RunAPI messages, built from catalog data (a new model needs no code change)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from jsonschema import Draft7Validator

from .catalog import Action, Catalog, Model, load_catalog
from .registry import model_schema
from .validate import format_checker

__all__ = [
    "CreateRequest",
    "InvalidRequest",
    "callback_payloads",
    "create_requests",
    "error_envelopes",
    "invalid_create_requests",
    "task_statuses",
]

TASK_STATUSES = ("pending", "processing", "completed", "failed")
CALLBACK_STATUSES = ("completed", "failed")
IMAGE_HOSTS = ("example.com", "example.test", "cdn.example.com", "images.example.test")
RESULT_HOSTS = ("file.runapi.ai", "example.com", "example.test")
# Callback URLs must never leave the machine: a generated body may be sent to a server that delivers it.
CALLBACK_HOST = "127.0.0.1"
UNKNOWN_FIELDS = ("seed", "n", "negative_prompt", "input_urls", "nsfw_checker", "prompt_upsampling")
BAD_URLS = (
    "", "example.com/a.png", "//example.com/a.png", "ftp://example.com/a.png", "file:///etc/passwd",
    "javascript:alert(1)", "http://", "https:// example.com/a.png", "http://exa mple.com/a.png",
    "https://example.com/a b.png", "http://[::1", "http://example.com:99999/a.png",
    "https://example.com/\u0000.png", "https://example.com/" + "a" * 2048,
)
INVALID_RULES = ("required", "type", "enum", "length", "range", "items", "url", "forbidden", "unknown_field",
                 "conditional", "conflict")
ERROR_CODES = ("validation_failed", "unauthorized", "insufficient_credits", "forbidden", "not_found",
               "request_conflict", "rate_limited", "service_unavailable", "internal_error")

_TEXT = st.characters(categories=("L", "M", "N", "P", "S", "Zs"))
_WORDS = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-_"), min_size=1, max_size=12)


@dataclass(frozen=True)
class CreateRequest:
    """A valid create request: the route's family/action, the (canonical) model and the JSON body."""

    family: str
    action: str
    model: str
    body: dict[str, Any]

    @property
    def path(self) -> str:
        return f"/api/v1/{self.family}/{self.action}"


@dataclass(frozen=True)
class InvalidRequest:
    """A create request that breaks exactly one rule; ``field`` and ``rule`` are validate.py's tags for it."""

    family: str
    action: str
    model: str
    body: dict[str, Any]
    field: str
    rule: str

    @property
    def path(self) -> str:
        return f"/api/v1/{self.family}/{self.action}"


# --- URLs and text ---


def _image_urls() -> st.SearchStrategy[str]:
    paths = st.lists(_WORDS, min_size=1, max_size=3).map("/".join)
    extensions = st.sampled_from((".png", ".jpg", ".jpeg", ".webp"))
    return st.builds(lambda scheme, host, path, ext: f"{scheme}://{host}/{path}{ext}",
                     st.sampled_from(("https", "http")), st.sampled_from(IMAGE_HOSTS), paths, extensions)


def _callback_urls() -> st.SearchStrategy[str]:
    paths = st.lists(_WORDS, max_size=3).map("/".join)
    return st.builds(lambda port, path: f"http://{CALLBACK_HOST}:{port}/cb/{path}".rstrip("/"),
                     st.integers(1, 65535) | st.just(9), paths)


def _result_urls() -> st.SearchStrategy[str]:
    return st.builds(lambda host, name, ext: f"https://{host}/generated/{name}{ext}",
                     st.sampled_from(RESULT_HOSTS), _WORDS, st.sampled_from((".png", ".jpg", ".webp")))


def _texts(min_size: int = 0, max_size: int | None = None) -> st.SearchStrategy[str]:
    # Short printable text (any script); never whitespace-only, since SDKs drop blank strings before sending.
    high = min_size + 40 if max_size is None else min(max_size, min_size + 40)
    return st.text(_TEXT, min_size=min_size, max_size=high).filter(lambda s: min_size == 0 or s.strip())


def _long_texts(min_size: int) -> st.SearchStrategy[str]:
    # Repeat a short chunk: drawing thousands of characters one by one would overrun Hypothesis' buffer.
    chunks = st.tuples(st.text(_TEXT, min_size=1, max_size=8), st.integers(0, 8))
    return chunks.map(lambda pair: (pair[0] * (min_size // len(pair[0]) + 1))[: min_size + pair[1]])


# --- field values from a catalog field spec ---


def _types(spec: Mapping[str, Any]) -> list[str]:
    kind = spec.get("type", "string")
    return list(kind) if isinstance(kind, list) else [kind]


def _is_url(spec: Mapping[str, Any]) -> bool:
    return spec.get("format") == "http-url"


def _valid_values(name: str, spec: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    if "enum" in spec:
        return st.sampled_from(list(spec["enum"]))
    if "const" in spec:
        return st.just(spec["const"])
    if _is_url(spec):
        return _callback_urls() if "callback" in name else _image_urls()
    return st.one_of([_valid_values_of_type(name, spec, kind) for kind in _types(spec)])


def _valid_values_of_type(name: str, spec: Mapping[str, Any], kind: str) -> st.SearchStrategy[Any]:
    if kind == "string":
        return _texts(spec.get("min_length", 0), spec.get("max_length"))
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(spec.get("minimum"), spec.get("maximum"))
    if kind == "number":
        return st.floats(spec.get("minimum"), spec.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "array":
        low = spec.get("min_items", 0)
        items = _valid_values(name, spec.get("items", {}))
        return st.lists(items, min_size=low, max_size=spec.get("max_items", low + 4))
    if kind == "object":
        return st.fixed_dictionaries({})
    if kind == "null":
        return st.none()
    raise InvalidArgument(f"catalog field {name!r} has unsupported type {kind!r}")


_WRONG_TYPE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "integer": st.integers(-10, 10_000),
    "number": st.sampled_from((0.5, 2.75, -1.5)),  # never integral: 2.0 is an integer to JSON Schema
    "string": st.text(_TEXT, max_size=10),
    "array": st.lists(st.integers(0, 9), max_size=2),
    "object": st.dictionaries(_WORDS, st.integers(0, 9), max_size=2),
}


def _wrong_type_values(spec: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    allowed = set(_types(spec))
    if "number" in allowed:
        allowed.add("integer")
    return st.one_of([values for kind, values in _WRONG_TYPE_VALUES.items() if kind not in allowed])


# --- per-model plans ---


class _Plan:
    """What the strategies need about one model, computed once when the strategy is built.

    A plain class, not a dataclass: Hypothesis pretty-prints dataclass fields (the whole catalog) in reprs.
    """

    def __init__(self, catalog: Catalog, action: Action, model: Model) -> None:
        self.action, self.model = action, model
        if undescribed := [name for name in model.required if name not in model.fields]:
            raise InvalidArgument(f"catalog model {model.name!r} requires undescribed fields {undescribed}")
        allowed = [name for name in model.fields if name not in model.forbidden]
        self.values = {name: _valid_values(name, model.fields[name]) for name in allowed if name != "model"}
        self.values["model"] = st.just(model.name)
        schema = model_schema(model)
        self.validator = Draft7Validator(schema, format_checker=format_checker)
        base = {key: value for key, value in schema.items() if key != "allOf"}
        self.base_validator = Draft7Validator(base, format_checker=format_checker)
        self.rule_validators = [Draft7Validator({"if": rule["if"], "then": rule["then"]},
                                                format_checker=format_checker) for rule in model.rules]
        known = {name for a in catalog.actions.values() for name in a.models} | set(catalog.model_aliases)
        self.accepted_models = {name for name in known
                                if catalog.canonical_model(action.family, action.name, name) in action.models}
        self.foreign_models = sorted(known - self.accepted_models)
        self.kinds = _invalid_kinds(action, model)

    def __repr__(self) -> str:
        return f"<plan {self.action.family}/{self.action.name} {self.model.name}>"

    def request(self, body: dict[str, Any]) -> CreateRequest:
        return CreateRequest(self.action.family, self.action.name, self.model.name, body)

    def is_valid(self, body: Mapping[str, Any]) -> bool:
        return bool(self.validator.is_valid(body))

    def rules_broken(self, body: Mapping[str, Any]) -> list[int]:
        return [i for i, validator in enumerate(self.rule_validators) if not validator.is_valid(body)]


def _select(catalog: Catalog | None, family: str | None, action: str | None,
            model: str | None) -> list[_Plan]:
    if catalog is None or catalog is load_catalog():
        return list(_packaged_plans(family, action, model))
    return _select_plans(catalog, family, action, model)


@lru_cache(maxsize=256)
def _packaged_plans(family: str | None, action: str | None, model: str | None) -> tuple[_Plan, ...]:
    # Plans compile validators and field strategies: with forty actions, building them on every draw of a
    # composite that calls create_requests() dominated the time of a test.
    return tuple(_select_plans(load_catalog(), family, action, model))


def _select_plans(catalog: Catalog, family: str | None, action: str | None, model: str | None) -> list[_Plan]:
    for argument, value in (("family", family), ("action", action), ("model", model)):
        if value is not None and not isinstance(value, str):
            raise InvalidArgument(f"{argument}={value!r} must be a string or None")
    actions = [a for a in catalog.actions.values()
               if (family is None or a.family == family) and (action is None or a.name == action)]
    if not actions:
        known = ", ".join(f"{f}/{a}" for f, a in catalog.actions)
        raise InvalidArgument(f"no catalog action matches family={family!r}, action={action!r} "
                              f"(known: {known})")
    plans = [_Plan(catalog, a, m) for a in actions for m in a.models.values() if model in (None, m.name)]
    if not plans:
        known = ", ".join(sorted({m for a in actions for m in a.models}))
        raise InvalidArgument(f"model={model!r} is not a model of the selected actions (known: {known})")
    return plans


# --- valid requests ---


@st.composite
def _bodies(draw: st.DrawFn, plan: _Plan) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name in plan.model.fields:
        if name in plan.values and (name in plan.model.required or draw(st.booleans())):
            body[name] = draw(plan.values[name])
    return body


def _valid_bodies(plan: _Plan) -> st.SearchStrategy[dict[str, Any]]:
    # Conditional rules are rare and narrow, so drawing freely and filtering is cheap.
    return _bodies(plan).filter(plan.is_valid)


def create_requests(
    family: str | None = None,
    action: str | None = None,
    model: str | None = None,
    *,
    catalog: Catalog | None = None,
) -> st.SearchStrategy[CreateRequest]:
    """Valid create requests for any catalog model, or only those of the given family, action and model.

    Args:
        model: a canonical model name (not a docs alias) of the selected actions.
        catalog: the catalog to draw from (default: the packaged one).
    """
    plans = _select(catalog, family, action, model)
    return st.one_of([_valid_bodies(plan).map(plan.request) for plan in plans])


# --- invalid requests ---


def _invalid_kinds(action: Action, model: Model) -> tuple[tuple[str, Any], ...]:
    kinds: list[tuple[str, Any]] = []
    kinds += [("required", name) for name in model.required]
    kinds.append(("model", "model"))
    for name, spec in model.fields.items():
        if name == "model" or name in model.forbidden:
            continue
        kinds.append(("type", name))
        items = spec.get("items", {})
        if "enum" in spec:
            kinds.append(("enum", name))
        text = not _is_url(spec) and "string" in _types(spec)
        if text and (spec.get("min_length", 0) > 0 or "max_length" in spec):
            kinds.append(("length", name))
        if "enum" not in spec and ("minimum" in spec or "maximum" in spec):
            kinds.append(("range", name))
        if "array" in _types(spec) and (spec.get("min_items", 0) > 0 or "max_items" in spec):
            kinds.append(("items", name))
        if _is_url(spec) or _is_url(items):
            kinds.append(("url", name))
    kinds += [("forbidden", name) for name in model.forbidden if name in model.fields]
    kinds.append(("unknown_field", None))
    kinds += [("conditional", i) for i, rule in enumerate(model.rules) if _rule_breaker(model, rule)]
    kinds += [("conflict", alias) for alias, canonical in action.field_aliases.items()
              if canonical in model.fields and canonical not in model.forbidden]
    return tuple(kinds)


def _out_of_enum(spec: Mapping[str, Any], allowed: list[Any]) -> st.SearchStrategy[Any]:
    kinds = _types(spec)
    if "integer" in kinds or "number" in kinds:
        return st.integers(-10, 10_000).filter(lambda v: v not in allowed)
    near_misses = st.sampled_from(["auto", "1:1", "2k", "4k", "8k", "gif", "0"])
    return st.one_of(near_misses, _texts(1, 12)).filter(lambda v: v not in allowed)


def _out_of_range(spec: Mapping[str, Any]) -> st.SearchStrategy[int]:
    below = [st.integers(spec["minimum"] - 100, spec["minimum"] - 1)] if "minimum" in spec else []
    above = [st.integers(spec["maximum"] + 1, spec["maximum"] + 100)] if "maximum" in spec else []
    return st.one_of(below + above)


def _wrong_lengths(spec: Mapping[str, Any]) -> st.SearchStrategy[str]:
    options = []
    if spec.get("min_length", 0) > 0:
        options.append(st.text(_TEXT, max_size=spec["min_length"] - 1))
    if "max_length" in spec:
        options.append(_long_texts(spec["max_length"] + 1))
    return st.one_of(options)


def _wrong_counts(name: str, spec: Mapping[str, Any]) -> st.SearchStrategy[list[Any]]:
    item = _valid_values(name, spec.get("items", {}))
    options = []
    if spec.get("min_items", 0) > 0:
        options.append(st.lists(item, max_size=spec["min_items"] - 1))
    if "max_items" in spec:
        options.append(st.lists(item, min_size=spec["max_items"] + 1, max_size=spec["max_items"] + 3))
    return st.one_of(options)


_Breaker = Callable[[st.DrawFn, dict[str, Any]], str]


def _rule_breaker(model: Model, rule: Mapping[str, Any]) -> _Breaker | None:
    """A function that makes a body meet the rule's `if` and miss its `then`; None if the data cannot."""
    condition, consequence = rule.get("if", {}), rule.get("then", {})
    if set(condition) - {"required", "properties"} or set(consequence) != {"properties"}:
        return None
    targets = consequence["properties"]
    if len(targets) != 1:
        return None
    ((target, constraint),) = targets.items()
    spec = model.fields.get(target)
    if spec is None or target in model.forbidden or target in condition.get("properties", {}):
        return None
    if set(constraint) == {"enum"} and "enum" in spec:
        bad = [v for v in spec["enum"] if v not in constraint["enum"]]
        values: st.SearchStrategy[Any] | None = st.sampled_from(bad) if bad else None
    elif set(constraint) == {"maximum"} and spec.get("maximum", math.inf) > constraint["maximum"]:
        values = st.integers(constraint["maximum"] + 1, spec.get("maximum", constraint["maximum"] + 100))
    elif set(constraint) == {"minimum"} and spec.get("minimum", -math.inf) < constraint["minimum"]:
        values = st.integers(spec.get("minimum", constraint["minimum"] - 100), constraint["minimum"] - 1)
    else:
        values = None
    setters: dict[str, st.SearchStrategy[Any]] = {}
    for name, sub in condition.get("properties", {}).items():
        field_spec = model.fields.get(name)
        if field_spec is None or name in model.forbidden or set(sub) - {"const", "enum"}:
            return None
        choices = [sub["const"]] if "const" in sub else list(sub["enum"])
        setters[name] = st.sampled_from(choices)
        if name not in condition.get("required", ()) and name not in model.required:
            setters[name] = st.one_of(st.just(_ABSENT), setters[name])  # an absent field meets `properties`
    for name in condition.get("required", ()):
        if name not in model.fields or name in model.forbidden:
            return None
        setters.setdefault(name, _valid_values(name, model.fields[name]))
    if values is None:
        return None

    def breaker(draw: st.DrawFn, body: dict[str, Any]) -> str:
        for name, setter in setters.items():
            value = draw(setter)
            if value is _ABSENT:
                body.pop(name, None)
            else:
                body[name] = value
        body[target] = draw(values)
        return str(rule.get("field", target))

    return breaker


_ABSENT = object()


def _rule_tag(kind: str) -> str:
    return "enum" if kind == "model" else kind  # a bad model name is reported as model/enum


@st.composite
def _invalid_requests(draw: st.DrawFn, plan: _Plan, kinds: tuple[tuple[str, Any], ...]) -> InvalidRequest:
    kind, name = draw(st.sampled_from(kinds))  # drawn first: a draw after a large one skews to its simplest
    body = draw(_valid_bodies(plan))
    spec = plan.model.fields.get(name, {}) if isinstance(name, str) else {}
    field_name, rule = name, _rule_tag(kind)
    if kind == "required":
        del body[name]
    elif kind == "model":
        others = st.sampled_from(plan.foreign_models or ["no-such-model"])
        body["model"] = draw(st.one_of(others, _texts(0, 20), _wrong_type_values({"type": "string"})))
        assume(not isinstance(body["model"], str) or body["model"] not in plan.accepted_models)
    elif kind == "type":
        items = spec.get("items")
        if items is not None and body.get(name) and draw(st.booleans()):
            body[name] = list(body[name])  # a wrong-typed item is reported on the array field
            body[name][draw(st.integers(0, len(body[name]) - 1))] = draw(_wrong_type_values(items))
        else:
            body[name] = draw(_wrong_type_values(spec))
    elif kind == "enum":
        body[name] = draw(_out_of_enum(spec, list(spec["enum"])))
    elif kind == "length":
        body[name] = draw(_wrong_lengths(spec))
    elif kind == "range":
        body[name] = draw(_out_of_range(spec))
    elif kind == "items":
        body[name] = draw(_wrong_counts(name, spec))
    elif kind == "url":
        bad = draw(st.sampled_from(BAD_URLS))
        if "items" in spec:
            urls = draw(_valid_values(name, spec)) or [draw(_valid_values(name, spec["items"]))]
            urls[draw(st.integers(0, len(urls) - 1))] = bad
            body[name] = urls
        else:
            body[name] = bad
    elif kind == "forbidden":
        body[name] = draw(_valid_values(name, spec))
    elif kind == "unknown_field":
        known = set(plan.model.fields) | set(plan.action.field_aliases)
        names = st.one_of(st.sampled_from(UNKNOWN_FIELDS), _WORDS)
        field_name = draw(names.filter(lambda key: key not in known))
        body[field_name] = draw(st.one_of(st.none(), st.booleans(), st.integers(), _texts(0, 20)))
    elif kind == "conditional":
        breaker = _rule_breaker(plan.model, plan.model.rules[name])
        assert breaker is not None  # only derivable rules are listed in plan.kinds
        field_name = breaker(draw, body)
        assume(plan.base_validator.is_valid(body) and plan.rules_broken(body) == [name])
    elif kind == "conflict":
        canonical = plan.action.field_aliases[name]
        spec = plan.model.fields[canonical]
        body[canonical] = draw(_valid_values(canonical, spec))
        body[name] = draw(_valid_values(canonical, spec).filter(lambda v: v != body[canonical]))
        assume(plan.is_valid({k: v for k, v in body.items() if k != name}))
    if kind != "conditional":
        # Breaking one field must not also break a conditional rule about another (or the same) field.
        assume(not plan.rules_broken(body))
    return InvalidRequest(plan.action.family, plan.action.name, plan.model.name, body, str(field_name), rule)


def invalid_create_requests(
    family: str | None = None,
    action: str | None = None,
    model: str | None = None,
    *,
    rule: str | None = None,
    catalog: Catalog | None = None,
) -> st.SearchStrategy[InvalidRequest]:
    """Create requests that break exactly one rule, of a kind the model's field specs make possible.

    Kinds: a missing required field, a wrong type, a value outside an enum or range, a string too short or
    long, too few or many items, a malformed or non-http(s) URL, a forbidden field, an unknown field, a broken
    conditional rule, a bad model name, and two spellings of one field with different values.

    Args:
        rule: only break rules with this validate.py tag (``required``, ``type``, ``enum``, ``length``,
            ``range``, ``items``, ``url``, ``forbidden``, ``unknown_field``, ``conditional``, ``conflict``).
    """
    if rule is not None and rule not in INVALID_RULES:
        raise InvalidArgument(f"rule={rule!r} must be one of {INVALID_RULES} or None")
    plans = _select(catalog, family, action, model)
    chosen = [(plan, kinds) for plan in plans
              if (kinds := tuple(k for k in plan.kinds if rule in (None, _rule_tag(k[0]))))]
    if not chosen:
        raise InvalidArgument(f"no selected model has a field spec that allows breaking rule={rule!r}")
    return st.one_of([_invalid_requests(plan, kinds) for plan, kinds in chosen])


# --- responses ---


def _model_names() -> st.SearchStrategy[str]:
    return st.sampled_from(sorted({model.name for model in load_catalog().models()}))


@st.composite
def _task_bodies(draw: st.DrawFn, status: str, optional_keys: tuple[str, ...]) -> dict[str, Any]:
    task_id = str(draw(st.uuids()))
    body: dict[str, Any] = {"id": task_id, "status": status}
    if "task_id" in optional_keys and draw(st.booleans()):
        body["task_id"] = task_id
    if draw(st.booleans()):
        body["model"] = draw(_model_names())
    if "task_replayed" in optional_keys and draw(st.booleans()):
        body["task_replayed"] = draw(st.booleans())
    if status == "processing" and draw(st.booleans()):
        body["progress"] = draw(st.one_of(st.integers(0, 100), st.integers(0, 100).map(lambda p: f"{p}%")))
    if status == "completed":
        images = draw(st.lists(st.builds(lambda url: {"url": url}, _result_urls()), min_size=1, max_size=4))
        for image in images:
            if draw(st.booleans()):
                image["origin_url"] = draw(_image_urls())
        body["images"] = images
        usage: dict[str, Any] = {"cost": draw(st.integers(0, 10_000)) / 1000}
        if draw(st.booleans()):
            usage["generated_images"] = len(images)
        if "usage" not in optional_keys or draw(st.booleans()):
            body["usage"] = usage
    if status == "failed":
        body["error"] = draw(st.one_of(st.sampled_from(("Content policy violation", "Generation failed")),
                                       _texts(1, 60)))
        if "error_code" in optional_keys and draw(st.booleans()):
            body["error_code"] = draw(st.sampled_from(("content_policy", "generation_failed", "timeout")))
    return body


def task_statuses(status: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Task status bodies (``GET .../{id}``) that satisfy the ``task`` schema; UUID ids, ``task_id == id``."""
    if status is not None and status not in TASK_STATUSES:
        raise InvalidArgument(f"status={status!r} must be one of {TASK_STATUSES} or None")
    statuses = TASK_STATUSES if status is None else (status,)
    return st.one_of([_task_bodies(s, ("task_id", "task_replayed", "error_code")) for s in statuses])


def callback_payloads(status: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies RunAPI POSTs to ``callback_url`` when a task ends, per the ``callback_payload`` schema."""
    if status is not None and status not in CALLBACK_STATUSES:
        raise InvalidArgument(f"status={status!r} must be one of {CALLBACK_STATUSES} or None")
    statuses = CALLBACK_STATUSES if status is None else (status,)
    return st.one_of([_task_bodies(s, ("task_id", "usage")) for s in statuses])


@st.composite
def _error_envelopes(draw: st.DrawFn) -> dict[str, Any]:
    code = draw(st.one_of(st.sampled_from(ERROR_CODES), st.from_regex(r"[a-z0-9_]{1,24}", fullmatch=True)))
    body: dict[str, Any] = {"error": {"code": code, "message": draw(_texts(1, 60))}}
    if code == "validation_failed" and draw(st.booleans()):
        names = sorted({name for model in load_catalog().models() for name in model.fields})
        messages = st.lists(_texts(1, 40), min_size=1, max_size=2)
        body["errors"] = draw(st.dictionaries(st.sampled_from(names), messages, min_size=1, max_size=3))
    return body


def error_envelopes() -> st.SearchStrategy[dict[str, Any]]:
    """Error bodies ``{"error": {"code", "message"}}``, with per-field ``errors`` on validation_failed."""
    return _error_envelopes()
