"""Prices as RunAPI's pricing API shows them, from the catalog: price schedules, quotes and the model list.

Pure data, no HTTP: the mock's handlers (runapi_mock.pricing_api) answer with it, and a client can compute
what the mock will charge without asking. One function prices a request, `request_microcents`: the engine
reserves exactly that at create, and a quote answers it rounded up to whole cents (`quote_cents`), which is
exactly what the create then takes off a whole-cent `balance_cents` (the balance shows whole cents, rounded
down). Shapes follow the official Python SDK, runapi-core 0.10.1 (`runapi/core/pricing.py`).
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Mapping
from typing import Any

from .catalog import Action, Catalog, Model, load_catalog
from .output import count_of, value_of
from .vocabulary import MICROCENTS_PER_CENT

__all__ = [
    "AS_OF",
    "CURRENCY",
    "find_action",
    "find_family",
    "model_list",
    "price_quote",
    "price_schedule",
    "price_schedules",
    "pricing_status",
    "quote_cents",
    "request_microcents",
    "spellings",
]

# The prices are the catalog's overlay's, set when the catalog was imported from RunAPI's contract v0.12.0
# (released 2026-08-21; v0.12.2 changed no price): they change only with a new catalog, so they are "as of" it.
AS_OF = "2026-08-21T00:00:00.000000Z"
CURRENCY = "USD"
CATALOG_STATUS = "active"  # every catalog model can be created on the mock
BILLING_UNIT = "image"


def request_microcents(model: Model, body: Mapping[str, Any]) -> int:
    """The price of one create of `model` with the validated, normalised `body`: what the ledger reserves."""
    return model.price_microcents(body, load_catalog().default_resolution)


def quote_cents(microcents: int) -> int:
    """Whole cents for a micro-cent price, rounded up: the drop in a whole-cent `balance_cents` it causes."""
    return -(-microcents // MICROCENTS_PER_CENT)


def pricing_status(model: Model) -> str:
    """``public`` when the catalog's price is a published figure, ``assumed`` when the mock made it up."""
    return "public" if model.price_source.startswith("public") else "assumed"


def spellings(name: str) -> list[str]:
    """The two names of a family or action: the route's ``flux_2`` and the slug's ``flux-2`` (one when equal)."""
    return list(dict.fromkeys((name, name.replace("_", "-"))))


def find_family(catalog: Catalog, service: str) -> str | None:
    """The catalog family a service name means: the route's ``flux_2`` or the slug's ``flux-2``."""
    return next((family for family in catalog.families() if service in spellings(family)), None)


def find_action(catalog: Catalog, service: str, action: str) -> Action | None:
    """The catalog action of `service`/`action`, either spelling of each (``text_to_image``, ``text-to-image``)."""
    family = find_family(catalog, service)
    return next((target for (fam, name), target in catalog.actions.items()
                 if fam == family and action in spellings(name)), None)


def _cents(microcents: int) -> int | float:
    cents = microcents / MICROCENTS_PER_CENT
    return int(cents) if cents.is_integer() else cents


def price_schedule(model: Model) -> dict[str, Any]:
    """One schedule: the SDK's `PriceSchedule` for `model` of its family/action.

    `unit_price_cents` (an int in the SDK) is the price of one image at the default resolution; it is left out
    when that price is not a whole number of cents (Flux Kontext Pro's 2.5), and `billing_config` always has
    the exact table per resolution, in cents and micro-cents, and which request fields it depends on.
    """
    spec = model.output_spec
    resolution_field = spec.get("resolution") if spec.get("resolution") in model.fields else None
    count_field = spec.get("count") if spec.get("count") in model.fields else None
    default = value_of(spec, "resolution", {}, model.fields)
    default = default if isinstance(default, str) and default else load_catalog().default_resolution
    table = {key: round(cents * MICROCENTS_PER_CENT) for key, cents in model.price_cents.items()}
    by_resolution = len(table) > 1
    unit = table.get(default, max(table.values()))
    schedule: dict[str, Any] = {
        "service": model.family, "action": model.action, "model": model.name,
        "pricing_status": pricing_status(model), "catalog_status": CATALOG_STATUS, "currency": CURRENCY,
        "billing_unit": BILLING_UNIT,
        "billing_strategy": "per_image_by_resolution" if by_resolution else "per_image",
    }
    if unit % MICROCENTS_PER_CENT == 0:
        schedule["unit_price_cents"] = unit // MICROCENTS_PER_CENT
    schedule["billing_config"] = {
        "unit_price_micro_cents": unit,
        "resolution_field": resolution_field if by_resolution else None,
        "default_resolution": default,
        "unit_price_cents_by_resolution": {key: _cents(value) for key, value in table.items()},
        "unit_price_micro_cents_by_resolution": table,
        "other_resolutions": "priced at the highest unit price",
        "count_field": count_field,
        "default_count": count_of(spec, {}, model.fields),
        "reservation": "unit price x image count, in micro-cents; quotes round up to whole cents",
        "price_source": model.price_source,
    }
    return schedule


def price_schedules(service: str | None = None, action: str | None = None, model: str | None = None, *,
                    catalog: Catalog | None = None) -> list[dict[str, Any]]:
    """Every catalog model's schedule, narrowed by the filters given; a filter nothing matches gives []."""
    catalog = catalog or load_catalog()
    family = find_family(catalog, service) if service else None
    if service and family is None:
        return []
    return [price_schedule(entry)
            for (fam, name), target in sorted(catalog.actions.items())
            if (family is None or fam == family) and (action is None or action in spellings(name))
            for entry in target.models.values() if model is None or entry.name == model]


def price_quote(model: Model, body: Mapping[str, Any], *, basis: str) -> dict[str, Any]:
    """The SDK's `PriceQuote` for a create of `model` with `body` (validated and normalised by the caller)."""
    microcents = request_microcents(model, body)
    return {
        "service": model.family, "action": model.action, "model": model.name,
        "pricing_status": pricing_status(model), "currency": CURRENCY,
        "reservation_amount_cents": quote_cents(microcents),
        "reservation_amount_micro_cents": microcents,
        "estimate_basis": basis, "as_of": AS_OF,
    }


def model_list(catalog: Catalog | None = None) -> dict[str, Any]:
    """``GET /v1/models``: an OpenAI-style list (``{"object": "list", "data": [...]}``, what RunAPI's MCP client
    reads), one entry per model id, with the family/action routes it serves and their prices."""
    catalog = catalog or load_catalog()
    created = calendar.timegm(time.strptime(AS_OF[:19], "%Y-%m-%dT%H:%M:%S"))
    entries: dict[str, dict[str, Any]] = {}
    for (family, action), target in sorted(catalog.actions.items()):
        for model in target.models.values():
            entry = entries.setdefault(model.name, {"id": model.name, "object": "model", "created": created,
                                                    "owned_by": "runapi", "endpoints": []})
            schedule = price_schedule(model)
            entry["endpoints"].append({
                "service": family, "action": action, "modality": target.modality, "path": target.path,
                "title": target.title,
                "required_fields": list(model.required), "pricing_status": schedule["pricing_status"],
                "unit_price_micro_cents": schedule["billing_config"]["unit_price_micro_cents"],
            })
    return {"object": "list", "data": sorted(entries.values(), key=lambda entry: entry["id"])}
