"""Hypothesis strategies for create requests that break exactly one rule, tagged with the rule they break.

Each kind of break is derived from the model's field specs in the catalog, so a new model needs no code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .catalog import Action, Catalog, Model
from .plans import (
    TEXT,
    WORDS,
    Plan,
    is_url,
    long_texts,
    select_plans,
    texts,
    types_of,
    valid_bodies,
    valid_values,
)

__all__ = ["BAD_URLS", "INVALID_RULES", "InvalidRequest", "invalid_create_requests"]

UNKNOWN_FIELDS = ("seed", "n", "negative_prompt", "input_urls", "nsfw_checker", "prompt_upsampling")
BAD_URLS = (
    "", "example.com/a.png", "//example.com/a.png", "ftp://example.com/a.png", "file:///etc/passwd",
    "javascript:alert(1)", "http://", "https:// example.com/a.png", "http://exa mple.com/a.png",
    "https://example.com/a b.png", "http://[::1", "http://example.com:99999/a.png",
    "https://example.com/\u0000.png", "https://example.com/" + "a" * 2048,
)
INVALID_RULES = ("required", "type", "enum", "length", "range", "items", "url", "forbidden", "unknown_field",
                 "conditional", "conflict")



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




_WRONG_TYPE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "integer": st.integers(-10, 10_000),
    "number": st.sampled_from((0.5, 2.75, -1.5)),  # never integral: 2.0 is an integer to JSON Schema
    "string": st.text(TEXT, max_size=10),
    "array": st.lists(st.integers(0, 9), max_size=2),
    "object": st.dictionaries(WORDS, st.integers(0, 9), max_size=2),
}


def _wrong_type_values(spec: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    allowed = set(types_of(spec))
    if "number" in allowed:
        allowed.add("integer")
    return st.one_of([values for kind, values in _WRONG_TYPE_VALUES.items() if kind not in allowed])




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
        text = not is_url(spec) and "string" in types_of(spec)
        if text and (spec.get("min_length", 0) > 0 or "max_length" in spec):
            kinds.append(("length", name))
        if "enum" not in spec and ("minimum" in spec or "maximum" in spec):
            kinds.append(("range", name))
        if "array" in types_of(spec) and (spec.get("min_items", 0) > 0 or "max_items" in spec):
            kinds.append(("items", name))
        if is_url(spec) or is_url(items):
            kinds.append(("url", name))
    kinds += [("forbidden", name) for name in model.forbidden if name in model.fields]
    kinds.append(("unknown_field", None))
    kinds += [("conditional", i) for i, rule in enumerate(model.rules) if _rule_breaker(model, rule)]
    kinds += [("conflict", alias) for alias, canonical in action.field_aliases.items()
              if canonical in model.fields and canonical not in model.forbidden]
    return tuple(kinds)


def _out_of_enum(spec: Mapping[str, Any], allowed: list[Any]) -> st.SearchStrategy[Any]:
    kinds = types_of(spec)
    if "integer" in kinds or "number" in kinds:
        return st.integers(-10, 10_000).filter(lambda v: v not in allowed)
    near_misses = st.sampled_from(["auto", "1:1", "2k", "4k", "8k", "gif", "0"])
    return st.one_of(near_misses, texts(1, 12)).filter(lambda v: v not in allowed)


def _out_of_range(spec: Mapping[str, Any]) -> st.SearchStrategy[int]:
    below = [st.integers(spec["minimum"] - 100, spec["minimum"] - 1)] if "minimum" in spec else []
    above = [st.integers(spec["maximum"] + 1, spec["maximum"] + 100)] if "maximum" in spec else []
    return st.one_of(below + above)


def _wrong_lengths(spec: Mapping[str, Any]) -> st.SearchStrategy[str]:
    options = []
    if spec.get("min_length", 0) > 0:
        options.append(st.text(TEXT, max_size=spec["min_length"] - 1))
    if "max_length" in spec:
        options.append(long_texts(spec["max_length"] + 1))
    return st.one_of(options)


def _wrong_counts(name: str, spec: Mapping[str, Any]) -> st.SearchStrategy[list[Any]]:
    item = valid_values(name, spec.get("items", {}))
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
        setters.setdefault(name, valid_values(name, model.fields[name]))
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
def _invalid_requests(draw: st.DrawFn, plan: Plan, kinds: tuple[tuple[str, Any], ...]) -> InvalidRequest:
    kind, name = draw(st.sampled_from(kinds))  # drawn first: a draw after a large one skews to its simplest
    body = draw(valid_bodies(plan))
    spec = plan.model.fields.get(name, {}) if isinstance(name, str) else {}
    field_name, rule = name, _rule_tag(kind)
    if kind == "required":
        del body[name]
    elif kind == "model":
        others = st.sampled_from(plan.foreign_models or ["no-such-model"])
        body["model"] = draw(st.one_of(others, texts(0, 20), _wrong_type_values({"type": "string"})))
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
            urls = draw(valid_values(name, spec)) or [draw(valid_values(name, spec["items"]))]
            urls[draw(st.integers(0, len(urls) - 1))] = bad
            body[name] = urls
        else:
            body[name] = bad
    elif kind == "forbidden":
        body[name] = draw(valid_values(name, spec))
    elif kind == "unknown_field":
        known = set(plan.model.fields) | set(plan.action.field_aliases)
        names = st.one_of(st.sampled_from(UNKNOWN_FIELDS), WORDS)
        field_name = draw(names.filter(lambda key: key not in known))
        body[field_name] = draw(st.one_of(st.none(), st.booleans(), st.integers(), texts(0, 20)))
    elif kind == "conditional":
        breaker = _rule_breaker(plan.model, plan.model.rules[name])
        assert breaker is not None  # only derivable rules are listed by _invalid_kinds
        field_name = breaker(draw, body)
        assume(plan.base_validator.is_valid(body) and plan.rules_broken(body) == [name])
    elif kind == "conflict":
        canonical = plan.action.field_aliases[name]
        spec = plan.model.fields[canonical]
        body[canonical] = draw(valid_values(canonical, spec))
        body[name] = draw(valid_values(canonical, spec).filter(lambda v: v != body[canonical]))
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
    plans = select_plans(catalog, family, action, model)
    chosen = [(plan, kinds) for plan in plans
              if (kinds := tuple(k for k in _invalid_kinds(plan.action, plan.model)
                                  if rule in (None, _rule_tag(k[0]))))]
    if not chosen:
        raise InvalidArgument(f"no selected model has a field spec that allows breaking rule={rule!r}")
    return st.one_of([_invalid_requests(plan, kinds) for plan, kinds in chosen])
