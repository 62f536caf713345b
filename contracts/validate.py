"""Validation of requests and responses against the contracts, as field-level violations.

Nothing here raises on a JSON value: any body, of any shape, yields a (possibly empty) list.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jsonschema_rs

from .catalog import Action, Model, load_catalog
from .registry import load_schema

if TYPE_CHECKING:  # jsonschema is imported at first use: a valid body never needs it, and a start is faster
    from jsonschema import Draft7Validator, FormatChecker
    from jsonschema.exceptions import ValidationError

_TYPE_NAMES = {"string": "a string", "integer": "an integer", "boolean": "a boolean", "array": "an array",
               "object": "an object", "number": "a number"}

def is_http_url(value: object) -> bool:
    """An absolute http(s) URL with a host and no ASCII space or control characters (as URL_PATTERN says)."""
    if not isinstance(value, str):
        return True  # the type keyword reports non-strings
    if any(ord(ch) <= 32 or ord(ch) == 127 for ch in value):
        return False
    try:
        value.encode("utf-8")  # lone surrogates cannot be sent anywhere
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except (ValueError, UnicodeError):
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


@cache
def _format_checker() -> FormatChecker:
    """jsonschema's format checker with "http-url" (is_http_url), built at first use."""
    from jsonschema import FormatChecker

    checker = FormatChecker()
    checker.checks("http-url")(is_http_url)
    return checker


def __getattr__(name: str) -> Any:
    """`format_checker`, for code that builds its own jsonschema validators (built, and jsonschema imported, only
    when asked for: issue 24)."""
    if name == "format_checker":
        return _format_checker()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Violation:
    """One broken rule: the top-level field it concerns ("" for the body), a rule tag and a message."""

    field: str
    rule: str
    message: str
    pointer: str = ""


def errors_by_field(violations: Iterable[Violation]) -> dict[str, list[str]]:
    """The 422 body's ``errors`` member: messages grouped by field."""
    grouped: dict[str, list[str]] = {}
    for violation in violations:
        grouped.setdefault(violation.field or "body", []).append(violation.message)
    return grouped


@cache
def validator_for(name: str) -> Draft7Validator:
    """A compiled validator per schema name, built once per process."""
    from jsonschema import Draft7Validator

    return Draft7Validator(load_schema(name), format_checker=_format_checker())


@cache
def fast_validator_for(name: str) -> jsonschema_rs.Draft7Validator:
    """The same schema compiled by jsonschema-rs (~50x faster), used only to accept valid bodies quickly."""
    return jsonschema_rs.Draft7Validator(load_schema(name), formats={"http-url": is_http_url},
                                         validate_formats=True)


def accepts(name: str, instance: Any) -> bool:
    """True when jsonschema-rs finds `instance` valid under schema `name`.

    False means "not known to be valid": the caller asks jsonschema, which stays the authority on what is
    wrong and how to say it. Anything jsonschema-rs cannot take (a lone surrogate in a key) is such a case.
    """
    try:
        return fast_validator_for(name).is_valid(instance)
    except Exception:
        return False


def normalize_request(family: str, action: str, body: Mapping[str, Any]) -> tuple[dict[str, Any], list[Violation]]:
    """Rewrite the older spellings the public docs use into the SDKs' spelling.

    Flux Kontext ``image_url``/``input_image`` become ``source_image_url``; the docs' GPT Image 2 model
    names become ``gpt-image-2``. Two spellings of one field with different values is a violation.
    """
    catalog = load_catalog()
    target = catalog.action(family, action)
    normalized = dict(body)
    violations: list[Violation] = []
    if target is None:
        return normalized, violations
    sent_as: dict[str, str] = {}  # canonical -> the name the client gave it, for a conflict's message
    for alias, canonical in target.field_aliases.items():
        if alias not in normalized:
            continue
        value = normalized.pop(alias)
        if canonical in normalized and normalized[canonical] != value:
            other = sent_as.get(canonical, canonical)
            violations.append(Violation(alias, "conflict", f"{alias} and {other} name the same field; send one",
                                        f"/{alias}"))
        else:
            normalized[canonical] = value
            sent_as.setdefault(canonical, alias)
    model = normalized.get("model")
    if isinstance(model, str):
        normalized["model"] = catalog.canonical_model(family, action, model)
    elif "model" not in normalized and target.implied_model is not None:
        normalized["model"] = target.implied_model  # an action whose SDK sends no model
    return normalized, violations


def validate_request(family: str, action: str, body: Any) -> list[Violation]:
    """Field-level violations of a create request for family/action ([] when valid)."""
    return check_request(family, action, body)[1]


def check_request(family: str, action: str, body: Any) -> tuple[dict[str, Any], list[Violation]]:
    """The request normalised to the SDKs' spelling, and its violations: one pass for a server."""
    target = load_catalog().action(family, action)
    if target is None:
        return {}, [Violation("", "route", f"no such family/action: {family}/{action}")]
    if not isinstance(body, dict):
        return {}, [Violation("", "type", "request body must be a JSON object")]
    normalized, violations = normalize_request(family, action, body)
    model = _check_model(target, normalized.get("model"), "model" in normalized)
    if isinstance(model, Violation):
        return normalized, violations + [model]
    sent_as = {canonical: alias for alias, canonical in target.field_aliases.items()
               if alias in body and canonical not in body}
    # jsonschema reports a `false` property schema without its path, so forbidden fields are named here.
    violations += [Violation(name, "forbidden", f"{name} is not allowed when model is {model.name}", f"/{name}")
                   for name in model.forbidden if name in normalized]
    name = f"request/{family}/{action}/{model.name}"
    if not violations and accepts(name, normalized):
        return normalized, []  # the common case: describing errors costs more than finding there are none
    for error in validator_for(name).iter_errors(normalized):
        if error.validator is not None:
            violations.extend(_describe(error, model))
    if sent_as:  # name the member the client sent (image_url), not the one it was normalised to
        violations = [_renamed(v, sent_as) for v in violations]
    return normalized, sorted(set(violations), key=lambda v: (v.field, v.rule, v.pointer, v.message))


def _renamed(violation: Violation, sent_as: Mapping[str, str]) -> Violation:
    alias = sent_as.get(violation.field)
    if alias is None:
        return violation
    return Violation(alias, violation.rule, violation.message.replace(violation.field, alias, 1),
                     violation.pointer.replace(f"/{violation.field}", f"/{alias}", 1))


def validate_response(name: str, instance: Any) -> list[Violation]:
    """Violations of a response-side message (``task``, ``create_response``, ``error``, ``callback_*``)."""
    violations: list[Violation] = []
    for error in validator_for(name).iter_errors(instance):
        for leaf in _leaves(error):
            path = list(leaf.absolute_path)
            required: Any = leaf.validator_value
            if leaf.validator == "required" and isinstance(leaf.instance, dict):
                path += [name for name in required if name not in leaf.instance][:1]
            field = str(path[0]) if path else ""
            violations.append(Violation(field, str(leaf.validator), leaf.message, "/" + "/".join(map(str, path))))
    if isinstance(instance, dict) and "task_id" in instance and "id" in instance \
            and instance["task_id"] != instance["id"]:
        violations.append(Violation("task_id", "equal", "task_id must equal id", "/task_id"))
    return violations


def _leaves(error: ValidationError) -> list[ValidationError]:
    # The status schemas are a oneOf of variants keyed by `status`: report the errors of the variant whose
    # status matched, or a status error when none did, rather than "is not valid under any of the given schemas".
    if error.validator != "oneOf" or not error.context:
        return [error]
    by_variant: dict[int, list[ValidationError]] = {}
    for sub in error.context:
        by_variant.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    for subs in by_variant.values():
        if not any(list(sub.relative_path)[:1] == ["status"] for sub in subs):
            return subs
    variants: Any = error.validator_value
    statuses = [v["properties"]["status"]["const"] for v in variants if "status" in v.get("properties", {})]
    if statuses:
        from jsonschema.exceptions import ValidationError

        error = ValidationError(f"status must be one of: {', '.join(statuses)}", validator="enum", path=["status"])
    return [error]


def _check_model(target: Action, model: Any, present: bool) -> Model | Violation:
    if not present:
        return Violation("model", "required", "model is required", "/model")
    if not isinstance(model, str) or model not in target.models:
        return Violation("model", "enum", f"model must be one of: {', '.join(target.models)}", "/model")
    return target.models[model]


def _describe(error: ValidationError, model: Model) -> list[Violation]:
    path = list(error.absolute_path)
    pointer = "/" + "/".join(str(p) for p in path) if path else ""
    field = str(path[0]) if path else ""
    kind = str(error.validator)
    value: Any = error.validator_value
    instance: Any = error.instance
    schema_path = list(error.relative_schema_path)
    if schema_path[:1] == ["allOf"] and len(schema_path) > 1 and isinstance(schema_path[1], int):
        rule = model.rules[schema_path[1]]
        return [Violation(rule.get("field", field), "conditional", rule["message"], "/" + rule.get("field", field))]
    if kind == "required":
        present = instance if isinstance(instance, dict) else {}
        return [Violation(name, "required", f"{name} is required", f"/{name}")
                for name in value if name not in present]
    if kind == "additionalProperties":
        known = set(model.fields)
        extras = sorted(key for key in instance if key not in known)
        allowed = [name for name in model.fields if name not in model.forbidden]
        return [Violation(name, "unknown_field",
                          f"{name} is not a field of {model.name}{_did_you_mean(name, allowed)}", f"/{name}")
                for name in extras]
    spec = model.fields.get(field, {})
    where = field if len(path) == 1 else f"{field}[{path[1]}]"
    return [Violation(field, *_message(kind, where, spec, error), pointer)]


def _message(kind: str, where: str, spec: Mapping[str, Any], error: ValidationError) -> tuple[str, str]:
    url_spec = spec.get("items", {}) if where.endswith("]") else spec
    if url_spec.get("format") == "http-url" and kind in ("pattern", "format", "maxLength"):
        return "url", f"{where} must be an absolute http(s) URL"
    if kind == "type":
        expected: Any = error.validator_value
        types = [str(t) for t in (expected if isinstance(expected, list) else [expected])]
        names = " or ".join(_TYPE_NAMES.get(t, t) for t in types)
        return "type", f"{where} must be {names}"
    if kind in ("enum", "const"):
        allowed: Any = error.validator_value
        values = allowed if kind == "enum" else [allowed]
        return "enum", f"{where} must be one of: {', '.join(str(v) for v in values)}"
    if kind in ("minLength", "maxLength"):
        low, high = spec.get("min_length", 0), spec.get("max_length")
        span = f"between {low} and {high} characters" if high is not None else \
            f"at least {low} character{'' if low == 1 else 's'}"
        return "length", f"{where} must be {span}"
    if kind in ("minItems", "maxItems"):
        low, high = spec.get("min_items", 0), spec.get("max_items")
        span = f"exactly {low}" if low == high else f"between {low} and {high}"
        return "items", f"{where} must contain {span} item{'s' if high != 1 else ''}"
    if kind in ("minimum", "maximum"):
        return "range", f"{where} must be between {spec.get('minimum')} and {spec.get('maximum')}"
    return str(kind), f"{where}: {error.message}"


def _fold(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    """"; did you mean aspect_ratio?" when `name` is another spelling (aspectRatio) or a near miss of a field."""
    by_folded = {_fold(field): field for field in known}
    folded = _fold(name)
    match = by_folded.get(folded)
    if match is None:
        close = difflib.get_close_matches(folded, by_folded, n=1, cutoff=0.8)
        match = by_folded[close[0]] if close else None
    return f"; did you mean {match}?" if match else ""
