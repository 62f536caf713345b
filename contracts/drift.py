"""What a newer contract changes against the committed catalog, as lines a reviewer reads before importing.

Both sides are compared as the catalog sees them (each model's fields merged with its action's), so a change
is reported once per model it touches, whatever the contract's or the overlay's layout.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from .catalog import Model, parse_catalog
from .importer import import_file

__all__ = ["committed_catalog", "diff_catalogs", "diff_contract"]

_ATTRIBUTES = ("type", "format", "required", "enum", "pattern", "min_length", "max_length", "minimum", "maximum",
               "min_items", "max_items", "items", "default")


def committed_catalog() -> dict[str, Any]:
    """catalog.json as shipped."""
    text = resources.files("runapi_contracts").joinpath("catalog.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def diff_contract(path: Path, committed: Mapping[str, Any] | None = None) -> list[str]:
    """Import the contract at `path` (with the packaged overlay) and diff it against the committed catalog."""
    return diff_catalogs(committed_catalog() if committed is None else committed, import_file(path))


def diff_catalogs(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Lines: ``+`` added, ``-`` removed, ``~`` changed (empty when the catalogs agree)."""
    lines: list[str] = []
    old_contract, new_contract = old.get("contract", {}), new.get("contract", {})
    if old_contract != new_contract:
        lines.append(f"~ contract {_version(old_contract)} -> {_version(new_contract)}")
    before, after = parse_catalog(old), parse_catalog(new)
    for key in sorted(set(before.actions) | set(after.actions)):
        name = "/".join(key)
        if key not in after.actions:
            lines.append(f"- action {name} (models: {', '.join(before.actions[key].models)})")
            continue
        if key not in before.actions:
            lines.append(f"+ action {name} (models: {', '.join(after.actions[key].models)})")
            continue
        old_models, new_models = before.actions[key].models, after.actions[key].models
        for model in sorted(set(old_models) | set(new_models)):
            if model not in new_models:
                lines.append(f"- model {name} {model}")
            elif model not in old_models:
                lines.append(f"+ model {name} {model}")
            else:
                lines += [f"~ {name} {model} {change}" for change in _model_changes(old_models[model],
                                                                                      new_models[model])]
    return lines


def _version(contract: Mapping[str, Any]) -> str:
    return f"{contract.get('version', 'unknown')} (sha256 {str(contract.get('sha256', ''))[:12] or '?'})"


def _model_changes(old: Model, new: Model) -> list[str]:
    changes: list[str] = []
    for field in [*old.fields, *(f for f in new.fields if f not in old.fields)]:
        if field not in new.fields:
            changes.append(f"- field {field}")
        elif field not in old.fields:
            changes.append(f"+ field {field} {_compact(new.fields[field])}")
        else:
            changes += _field_changes(field, old.fields[field], new.fields[field])
    for label, was, now in (("required", old.required, new.required), ("forbidden", old.forbidden, new.forbidden)):
        if set(was) != set(now):
            changes.append(f"{label}: {_set_change(was, now)}")
    old_rules = [_compact({k: v for k, v in r.items() if k in ("if", "then")}) for r in old.rules]
    new_rules = [_compact({k: v for k, v in r.items() if k in ("if", "then")}) for r in new.rules]
    changes += [f"- rule {rule}" for rule in old_rules if rule not in new_rules]
    changes += [f"+ rule {rule}" for rule in new_rules if rule not in old_rules]
    return changes


def _field_changes(field: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    changes = []
    for attribute in _ATTRIBUTES:
        was, now = old.get(attribute), new.get(attribute)
        if was == now:
            continue
        if attribute == "enum" and isinstance(was, list) and isinstance(now, list):
            changes.append(f"{field}.enum: {_set_change(was, now)}")
        else:
            changes.append(f"{field}.{attribute}: {_compact(was)} -> {_compact(now)}")
    return changes


def _set_change(was: Any, now: Any) -> str:
    added = [v for v in now if v not in was]
    removed = [v for v in was if v not in now]
    return " ".join([*(f"+{v}" for v in added), *(f"-{v}" for v in removed)])


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
