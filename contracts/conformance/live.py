"""Live mode: conformance against the real API under a spending cap, with a drift report of what it sends.

The guard adds up catalog prices before every create and refuses the one that would cross the budget; the
drift report lists fields the service sends that the contracts lack, contract fields it never sent, and the
status codes seen per operation.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..catalog import load_catalog
from ..registry import load_schema
from ..vocabulary import MICROCENTS_PER_CENT
from .server import Report, run_server_conformance
from .target import LIVE_BASE_URL, Exchange, StopConformance, Target

__all__ = ["API_KEY_ENV", "BudgetExceeded", "BudgetGuard", "DriftReport", "LiveRun", "live_target",
           "run_live_conformance"]

API_KEY_ENV = "RUNAPI_API_KEY"
BASE_URL_ENV = "RUNAPI_BASE_URL"


class BudgetExceeded(StopConformance):
    """The next create would cross the live budget, so it was not sent."""


@dataclass
class BudgetGuard:
    """Adds up the catalog price of each create before it is sent; refuses one that would cross the budget.

    Use it as a Target create guard: `target.create_guards.append(guard)`.
    """

    budget_microcents: int
    spent_microcents: int = 0
    creates: int = 0

    def __post_init__(self) -> None:
        if self.budget_microcents < 0:
            raise ValueError("budget must not be negative")

    @classmethod
    def from_cents(cls, cents: float) -> BudgetGuard:
        return cls(round(cents * MICROCENTS_PER_CENT))

    def price(self, family: str, action: str, model: str, body: Mapping[str, Any]) -> int:
        """The catalog price of one create (the action's dearest model when `model` is unknown)."""
        entry = load_catalog().actions[(family, action)]
        known = entry.models.get(model)
        models = [known] if known is not None else list(entry.models.values())
        return max(m.price_microcents(body) for m in models)

    def __call__(self, family: str, action: str, model: str, body: Mapping[str, Any]) -> None:
        price = self.price(family, action, model, body)
        if self.spent_microcents + price > self.budget_microcents:
            raise BudgetExceeded(
                f"runapi-mock: live budget: a create of {model} ({family}/{action}) costs "
                f"{price / MICROCENTS_PER_CENT:g}¢; {self.spent_microcents / MICROCENTS_PER_CENT:g}¢ of "
                f"{self.budget_microcents / MICROCENTS_PER_CENT:g}¢ spent in {self.creates} create(s), "
                "so it was not sent")
        self.spent_microcents += price
        self.creates += 1


def _pointers(value: Any, prefix: str = "") -> set[str]:
    """JSON pointers of every member of `value`, array items written as `*`."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            pointer = f"{prefix}/{key}"
            found.add(pointer)
            found |= _pointers(item, pointer)
    elif isinstance(value, list):
        for item in value:
            found |= _pointers(item, f"{prefix}/*")
    return found


def _schema_pointers(schema: Mapping[str, Any], prefix: str = "") -> tuple[set[str], set[str]]:
    """(declared member pointers, pointers of objects that allow any member) of one schema variant."""
    declared: set[str] = set()
    open_objects: set[str] = set()
    properties = schema.get("properties")
    if schema.get("type") == "object" and properties is None:
        open_objects.add(prefix)
    for key, sub in (properties or {}).items():
        pointer = f"{prefix}/{key}"
        declared.add(pointer)
        inner_d, inner_o = _schema_pointers(sub, pointer)
        declared |= inner_d
        open_objects |= inner_o
    if isinstance(schema.get("items"), dict):
        inner_d, inner_o = _schema_pointers(schema["items"], f"{prefix}/*")
        declared |= inner_d
        open_objects |= inner_o
    if isinstance(schema.get("additionalProperties"), dict):
        open_objects.add(prefix)
    return declared, open_objects


def _variants(name: str) -> dict[str, Mapping[str, Any]]:
    schema = load_schema(name)
    variants = schema.get("oneOf")
    if not variants:
        return {name: schema}
    return {f"{name} ({v['properties']['status']['const']})": v for v in variants
            if "const" in v.get("properties", {}).get("status", {})}


@dataclass
class DriftReport:
    """What a service sends, compared with the contracts; attach with `target.observers.append(report)`."""

    target: str = ""
    status_codes: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    seen: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    unknown: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    bodies: Counter[str] = field(default_factory=Counter)

    def __call__(self, exchange: Exchange) -> None:
        self.observe(exchange)

    def observe(self, exchange: Exchange) -> None:
        response = exchange.response
        self.status_codes[exchange.operation][response.status_code] += 1
        schema = exchange.schema if response.is_success else "error" if response.status_code >= 400 else None
        if schema is None:
            return
        try:
            body = response.json()
        except ValueError:
            return
        variants = _variants(schema)
        if len(variants) > 1:
            status = body.get("status") if isinstance(body, dict) else None
            variant = f"{schema} ({status})"
            if variant not in variants:
                return  # not a status the contract knows: the conformance check reports it
        else:
            variant = schema
        self.bodies[variant] += 1
        declared, open_objects = _schema_pointers(variants[variant])
        sent = _pointers(body)
        self.seen[variant] |= sent
        for pointer in sorted(sent - declared):
            parent = pointer.rsplit("/", 1)[0]
            inside_open = any(parent == o or parent.startswith(o + "/") for o in open_objects)
            if parent in sent - declared or inside_open:
                continue  # inside an unknown member or a free-form object: the outer one is reported
            self.unknown[variant][pointer] = self.unknown[variant].get(pointer, 0) + 1

    def never_sent(self) -> dict[str, list[str]]:
        """Per contract (status variant) seen at least once: declared fields no body carried."""
        result = {}
        for variant in sorted(self.bodies):
            name = variant.split(" ", 1)[0]
            declared, _ = _schema_pointers(_variants(name)[variant])
            missing = sorted(declared - self.seen[variant])
            if missing:
                result[variant] = missing
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "status_codes": {op: {str(code): n for code, n in sorted(codes.items())}
                             for op, codes in sorted(self.status_codes.items())},
            "bodies_checked": dict(sorted(self.bodies.items())),
            "unknown_fields": {v: dict(sorted(p.items())) for v, p in sorted(self.unknown.items()) if p},
            "never_sent": self.never_sent(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    def to_markdown(self) -> str:
        data = self.to_dict()
        lines = [f"# RunAPI drift report: {self.target}", "", "## Status codes seen", "",
                 "| operation | status | count |", "|---|---|---|"]
        lines += [f"| `{op}` | {code} | {n} |" for op, codes in data["status_codes"].items()
                  for code, n in codes.items()]
        lines += ["", "## Fields the service sends that the contracts lack", ""]
        unknown = data["unknown_fields"]
        lines += (["| contract | field | times |", "|---|---|---|"]
                  + [f"| {v} | `{p}` | {n} |" for v, fields in unknown.items() for p, n in fields.items()]
                  if unknown else ["None."])
        lines += ["", "## Contract fields the service never sent", ""]
        never = data["never_sent"]
        lines += (["| contract | fields |", "|---|---|"]
                  + [f"| {v} | {', '.join(f'`{p}`' for p in ps)} |" for v, ps in never.items()]
                  if never else ["None."])
        return "\n".join(lines) + "\n"

    def write(self, directory: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write `drift-report.json` and `drift-report.md` into `directory` (created if missing)."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        json_path, md_path = folder / "drift-report.json", folder / "drift-report.md"
        json_path.write_text(self.to_json(), encoding="utf-8")
        md_path.write_text(self.to_markdown(), encoding="utf-8")
        return json_path, md_path


@dataclass
class LiveRun:
    """A live run's outcome: the conformance report, the budget guard's tally and the drift report."""

    report: Report
    guard: BudgetGuard
    drift: DriftReport
    written: tuple[Path, Path] | None = None


def live_target(api_key: str | None = None, base_url: str | None = None, **options: Any) -> Target:
    """A Target for the live API, treated as an unknown remote (no admin API is probed).

    The key comes from `api_key` or $RUNAPI_API_KEY (ValueError when neither is set); `base_url` (or
    $RUNAPI_BASE_URL) overrides https://runapi.ai.
    """
    key = api_key or os.environ.get(API_KEY_ENV)
    if not key:
        raise ValueError(f"live mode needs an API key: set {API_KEY_ENV}")
    url = base_url or os.environ.get(BASE_URL_ENV) or LIVE_BASE_URL
    return Target(base_url=url, api_key=key, has_admin=False, **options)


def run_live_conformance(target: Target, *, budget_cents: float = 25.0, examples: int = 1,
                         report_dir: str | os.PathLike[str] | None = None, wait: float = 300.0,
                         interval: float = 2.0, callbacks: bool = False) -> LiveRun:
    """Conformance for the cheapest model of each action, stopping before `budget_cents` would be crossed.

    Writes the drift report to `report_dir` when given. Invalid requests are priced too (a service that
    wrongly accepted one would charge for it).
    """
    guard = BudgetGuard.from_cents(budget_cents)
    drift = DriftReport(target.base_url)
    target.create_guards.append(guard)
    target.observers.append(drift)
    try:
        report = run_server_conformance(target, examples=examples, cheapest_only=True, callbacks=callbacks,
                                        wait=wait, interval=interval)
    finally:
        target.create_guards.remove(guard)
        target.observers.remove(drift)
    written = drift.write(report_dir) if report_dir is not None else None
    return LiveRun(report, guard, drift, written)
