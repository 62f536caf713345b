"""The model catalog: families, actions, models, fields and prices, read from catalog.json."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from .vocabulary import MICROCENTS_PER_CENT


@dataclass(frozen=True)
class Model:
    """One model of one family/action, with its fields merged from the action and its own overrides."""

    name: str
    family: str
    action: str
    fields: Mapping[str, Mapping[str, Any]]
    required: tuple[str, ...]
    forbidden: tuple[str, ...]
    rules: tuple[Mapping[str, Any], ...]
    price_cents: Mapping[str, float]
    price_source: str

    def default(self, name: str) -> Any:
        return self.fields.get(name, {}).get("default")

    def price_microcents(self, body: Mapping[str, Any], default_resolution: str = "1k") -> int:
        """Price of one request: per-image price at its resolution times the image count."""
        resolution = body.get("output_resolution") or self.default("output_resolution") or default_resolution
        per_image = self.price_cents.get(resolution)
        if per_image is None:
            per_image = max(self.price_cents.values())
        count = body.get("output_count") or 1
        count = count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 1
        return round(per_image * MICROCENTS_PER_CENT) * count


@dataclass(frozen=True)
class Action:
    family: str
    name: str
    models: Mapping[str, Model]
    field_aliases: Mapping[str, str]
    timing_seconds: Mapping[str, float]

    @property
    def path(self) -> str:
        return f"/api/v1/{self.family}/{self.name}"


@dataclass(frozen=True)
class ModelAlias:
    model: str
    family: str
    action: str


@dataclass(frozen=True)
class Catalog:
    actions: Mapping[tuple[str, str], Action]
    model_aliases: Mapping[str, ModelAlias]
    resolutions: Mapping[str, int]
    default_resolution: str
    titles: Mapping[str, str] = field(default_factory=dict)

    def action(self, family: str, action: str) -> Action | None:
        return self.actions.get((family, action))

    def families(self) -> list[str]:
        return sorted({family for family, _ in self.actions})

    def models(self) -> list[Model]:
        return [model for action in self.actions.values() for model in action.models.values()]

    def resolve(self, action: str, model: str) -> tuple[Action, str] | None:
        """Find the family serving `model` for `action` (the docs routes name no family).

        Accepts the older model names the public docs use and returns the canonical one.
        """
        alias = self.model_aliases.get(model)
        if alias is not None:
            target = self.action(alias.family, alias.action)
            return (target, alias.model) if target is not None and alias.action == action else None
        for candidate in self.actions.values():
            if candidate.name == action and model in candidate.models:
                return candidate, model
        return None

    def canonical_model(self, family: str, action: str, model: str) -> str:
        alias = self.model_aliases.get(model)
        if alias is not None and (alias.family, alias.action) == (family, action):
            return alias.model
        return model


def _merge_field(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    # An override value of null removes the key (e.g. a model without the action's default).
    merged = {**base, **override}
    return {key: value for key, value in merged.items() if value is not None}


def _build_model(family: str, action: str, name: str, raw_action: Mapping[str, Any], raw: Mapping[str, Any]) -> Model:
    forbidden = tuple(raw.get("forbidden", ()))
    overrides = raw.get("fields", {})
    fields = {
        field_name: _merge_field(spec, overrides.get(field_name, {}))
        for field_name, spec in raw_action["fields"].items()
    }
    required = [f for f, spec in fields.items() if spec.get("required")]
    required += [f for f in raw.get("required", ()) if f not in required]
    return Model(
        name=name,
        family=family,
        action=action,
        fields=fields,
        required=tuple(required),
        forbidden=forbidden,
        rules=tuple(raw_action.get("rules", ())),
        price_cents=dict(raw["price_cents"]),
        price_source=raw.get("price_source", "assumed"),
    )


def parse_catalog(data: Mapping[str, Any]) -> Catalog:
    actions: dict[tuple[str, str], Action] = {}
    titles: dict[str, str] = {}
    for family, raw_family in data["families"].items():
        titles[family] = raw_family.get("title", family)
        for action_name, raw_action in raw_family["actions"].items():
            models = {
                name: _build_model(family, action_name, name, raw_action, raw)
                for name, raw in raw_action["models"].items()
            }
            actions[(family, action_name)] = Action(
                family=family,
                name=action_name,
                models=models,
                field_aliases=dict(raw_action.get("field_aliases", {})),
                timing_seconds=dict(raw_family.get("timing_seconds", {"pending": 2, "processing": 10})),
            )
    aliases = {
        name: ModelAlias(model=raw["model"], family=raw["family"], action=raw["action"])
        for name, raw in data.get("model_aliases", {}).items()
    }
    return Catalog(
        actions=actions,
        model_aliases=aliases,
        resolutions=dict(data["resolutions"]),
        default_resolution=data.get("default_resolution", "1k"),
        titles=titles,
    )


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The catalog shipped with the package (cached: it is read once per process)."""
    text = resources.files("runapi_contracts").joinpath("catalog.json").read_text(encoding="utf-8")
    return parse_catalog(json.loads(text))
