"""What a newer contract changes against the committed catalog, as lines a reviewer reads before importing.

Both sides are compared as the catalog sees them (each model's fields merged with its action's), so a change
is reported once per model it touches, whatever the contract's or the overlay's layout. Given the older
contract itself (``against``), the actions the catalog does not serve are compared too, in the contract's
own terms, so a reviewer sees every change of the new version, not only those of the served actions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from .catalog import Model, parse_catalog
from .importer import import_file, read_contract

__all__ = ["committed_catalog", "diff_catalogs", "diff_contract", "diff_unserved"]

_ATTRIBUTES = ("type", "format", "required", "enum", "pattern", "min_length", "max_length", "minimum", "maximum",
               "min_items", "max_items", "items", "default")


def committed_catalog() -> dict[str, Any]:
    """catalog.json as shipped."""
    text = resources.files("runapi_contracts").joinpath("catalog.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def diff_contract(path: Path, committed: Mapping[str, Any] | None = None, *,
                  against: Path | None = None) -> list[str]:
    """Import the contract at `path` (with the packaged overlay) and diff it against the committed catalog,
    or against the import of the contract at `against` followed by what changes in the unserved actions."""
    new = import_file(path)
    if against is None:
        return diff_catalogs(committed_catalog() if committed is None else committed, new)
    old = import_file(against)
    served = {str(action.get("contract_key")) for catalog in (old, new)
              for family in catalog["families"].values() for action in family["actions"].values()}
    return diff_catalogs(old, new) + diff_unserved(read_contract(against), read_contract(path), served)


def diff_unserved(old: Mapping[str, Any], new: Mapping[str, Any], served: set[str]) -> list[str]:
    """The contract's own changes in the actions whose keys are not in `served`, marked ``(not served)``.

    A change shared by several models of an action is one line naming them all.
    """
    lines: list[str] = []
    before, after = old.get("actions", {}), new.get("actions", {})
    for key in sorted((set(before) | set(after)) - served):
        if key not in after:
            lines.append(f"- action {key} (not served)")
        elif key not in before:
            lines.append(f"+ action {key} (not served)")
        else:
            lines += [f"~ {key} (not served) {change}" for change in _contract_changes(before[key], after[key])]
    return lines


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


def _contract_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    changes = [f"{key}: {_compact(old.get(key))} -> {_compact(new.get(key))}"
               for key in ("endpoint", "task_type") if old.get(key) != new.get(key)]
    if old.get("models") != new.get("models"):
        changes.append(f"models: {_set_change(old.get('models') or [], new.get('models') or [])}")
    by_field: dict[tuple[str, str], list[str]] = {}  # (field change, models) -> fields
    for change, models in _field_changes_by_model(old.get("fields_by_model", {}),
                                                  new.get("fields_by_model", {})).items():
        by_field.setdefault((change[1], ", ".join(models)), []).append(change[0])
    changes += [f"{models}: {', '.join(fields)} {change}" for (change, models), fields in by_field.items()]
    old_rules, new_rules = [_compact(r) for r in old.get("rules", ())], [_compact(r) for r in new.get("rules", ())]
    changes += [f"- rule {rule}" for rule in old_rules if rule not in new_rules]
    changes += [f"+ rule {rule}" for rule in new_rules if rule not in old_rules]
    return changes


def _field_changes_by_model(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[tuple[str, str], list[str]]:
    """(field, its change) -> the models it applies to; a change lists every attribute, descriptions aside."""
    by_change: dict[tuple[str, str], list[str]] = {}
    for model in [*old, *(m for m in new if m not in old)]:
        was, now = old.get(model, {}), new.get(model, {})
        for field in [*was, *(f for f in now if f not in was)]:
            if field not in now:
                change = "removed"
            elif field not in was:
                change = f"added {_compact(_undescribed(now[field]))}"
            else:
                keys = sorted(set(_undescribed(was[field])) | set(_undescribed(now[field])))
                change = ", ".join(f"{key} {_compact(was[field].get(key))} -> {_compact(now[field].get(key))}"
                                   for key in keys if was[field].get(key) != now[field].get(key))
            if change:
                by_change.setdefault((field, change), []).append(model)
    return by_change


def _undescribed(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in spec.items() if key != "description"}


def _version(contract: Mapping[str, Any]) -> str:
    return f"{contract.get('version', 'unknown')} (sha256 {str(contract.get('sha256', ''))[:12] or '?'})"


def _model_changes(old: Model, new: Model) -> list[str]:
    changes: list[str] = []
    for field in [*old.fields, *(f for f in new.fields if f not in old.fields)]:
        if field in new.forbidden and field in new.fields:
            continue  # a forbidden field's spec is only what strategies send; `forbidden:` reports the change
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
