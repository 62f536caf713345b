"""The importer's field algebra: one action's field specs ordered, patched by the overlay, shaped by the
contract's rules, and factored into the action's shared fields and each model's overrides (importer.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["ContractError", "apply_rule", "conditional", "factor", "ordered", "patched"]


class ContractError(ValueError):
    """The contract (or the overlay) is not of the shape the importer reads."""


_ORDER = ("type", "format", "required", "enum", "pattern", "min_length", "max_length", "minimum", "maximum",
          "min_items", "max_items", "items", "default", "description")


def ordered(spec: Mapping[str, Any]) -> dict[str, Any]:
    known = [key for key in _ORDER if key in spec]
    return {key: spec[key] for key in known + sorted(set(spec) - set(known))}


def patched(spec: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    # A null in the overlay removes the key (e.g. a default the contract states and RunAPI does not apply).
    merged = {**spec, **{k: v for k, v in patch.items() if k != "why"}}
    return ordered({k: v for k, v in merged.items() if v is not None})


# --- rules: `when` / `required` / `required_any` / `forbidden` / `enum` ---


def apply_rule(rule: Mapping[str, Any], models: list[str], fields: dict[str, dict[str, Any]],
                required: dict[str, list[str]], forbidden: dict[str, list[str]],
                rules: dict[str, list[dict[str, Any]]]) -> None:
    when = dict(rule.get("when", {}))
    model = when.pop("model", None)
    targets = [m for m in models if model in (None, m)]
    unknown = set(rule) - {"when", "required", "required_any", "forbidden", "enum"}
    if unknown:
        raise ContractError(f"rule has keys the importer does not know: {sorted(unknown)}")
    for name in targets:
        if when:  # conditional on the body: a JSON Schema if/then the validator checks
            rules[name].append(conditional(when, rule))
            continue
        forbidden[name] += [f for f in rule.get("forbidden", ()) if f not in forbidden[name]]
        required[name] += [f for f in rule.get("required", ()) if f not in required[name]]
        for field, values in rule.get("enum", {}).items():
            if field in fields[name]:
                fields[name][field] = {**fields[name][field], "enum": list(values)}
        if rule.get("required_any"):
            rules[name].append(conditional({}, {"required_any": rule["required_any"]}))


def conditional(when: Mapping[str, Any], rule: Mapping[str, Any]) -> dict[str, Any]:
    condition: dict[str, Any] = {}
    present: list[str] = []
    absent: list[str] = []
    values: dict[str, Any] = {}
    for field, test in when.items():
        if isinstance(test, Mapping) and set(test) == {"present"}:
            (present if test["present"] else absent).append(field)
        else:
            values[field] = test
    if values:
        condition["properties"] = {field: {"const": value} for field, value in values.items()}
    if present or values:
        condition["required"] = sorted([*present, *values])
    if absent:
        condition["not"] = {"anyOf": [{"required": [field]} for field in absent]}
    then: dict[str, Any] = {}
    parts = []
    if rule.get("required"):
        then["required"] = list(rule["required"])
        parts.append(f"{' and '.join(rule['required'])} required")
    if rule.get("required_any"):
        then["anyOf"] = [{"required": [field]} for field in rule["required_any"]]
        parts.append(f"one of {', '.join(rule['required_any'])} required")
    if rule.get("forbidden"):
        then["not"] = {"anyOf": [{"required": [field]} for field in rule["forbidden"]]}
        parts.append(f"{', '.join(rule['forbidden'])} not allowed")
    if rule.get("enum"):
        then["properties"] = {field: {"enum": list(v)} for field, v in rule["enum"].items()}
        parts += [f"{field} must be one of: {', '.join(map(str, v))}" for field, v in rule["enum"].items()]
    subject = next(iter([*rule.get("enum", {}), *rule.get("required", ()), *rule.get("required_any", ()),
                         *rule.get("forbidden", ())]), "")
    cases = [f"{f} is {json.dumps(v)}" for f, v in values.items()]
    cases += [f"{f} is set" for f in present] + [f"{f} is not set" for f in absent]
    message = "; ".join(parts) + (f" when {' and '.join(cases)}" if cases else "")
    return {"if": condition, "then": then, "field": subject, "message": message, "source": "contract rule"}


# --- factoring models into an action's shared fields and each model's overrides ---


def factor(models: list[str], fields: Mapping[str, Mapping[str, Any]]
            ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The most common spec of each field at action level; each model keeps only how it differs.

    An override key of null removes that key, and an override of null removes the whole field.
    """
    names: list[str] = []
    for model in models:
        names += [name for name in fields[model] if name not in names]
    base: dict[str, Any] = {}
    overrides: dict[str, dict[str, Any]] = {model: {} for model in models}
    for name in names:
        specs = [fields[m].get(name) for m in models]
        present = [json.dumps(s, sort_keys=True) for s in specs if s is not None]
        common = max(present, key=lambda text: (present.count(text), -present.index(text)))
        base[name] = json.loads(common)
        base[name] = ordered(base[name])
        for model, spec in zip(models, specs, strict=True):
            if spec is None:
                overrides[model][name] = None
            elif spec != base[name]:
                diff = {k: v for k, v in spec.items() if base[name].get(k) != v}
                diff.update({k: None for k in base[name] if k not in spec})
                overrides[model][name] = diff
    return base, overrides
