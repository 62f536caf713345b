"""What the request strategies share: values drawn from catalog field specs, and per-model plans.

Internal to `strategies` (valid requests) and `invalid_requests`; import the strategies from
`runapi_contracts.strategies`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from jsonschema import Draft7Validator

from .catalog import Action, Catalog, Model, load_catalog
from .registry import model_schema
from .validate import format_checker

__all__ = ["CreateRequest", "Plan", "select_plans", "valid_bodies", "valid_values"]

IMAGE_HOSTS = ("example.com", "example.test", "cdn.example.com", "images.example.test")
RESULT_HOSTS = ("file.runapi.ai", "example.com", "example.test")
# Callback URLs must never leave the machine: a generated body may be sent to a server that delivers it.
CALLBACK_HOST = "127.0.0.1"

TEXT = st.characters(categories=("L", "M", "N", "P", "S", "Zs"))
WORDS = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-_"), min_size=1, max_size=12)



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




# --- URLs and text ---


def image_urls() -> st.SearchStrategy[str]:
    paths = st.lists(WORDS, min_size=1, max_size=3).map("/".join)
    extensions = st.sampled_from((".png", ".jpg", ".jpeg", ".webp"))
    return st.builds(lambda scheme, host, path, ext: f"{scheme}://{host}/{path}{ext}",
                     st.sampled_from(("https", "http")), st.sampled_from(IMAGE_HOSTS), paths, extensions)


def callback_urls() -> st.SearchStrategy[str]:
    paths = st.lists(WORDS, max_size=3).map("/".join)
    return st.builds(lambda port, path: f"http://{CALLBACK_HOST}:{port}/cb/{path}".rstrip("/"),
                     st.integers(1, 65535) | st.just(9), paths)


def result_urls() -> st.SearchStrategy[str]:
    return st.builds(lambda host, name, ext: f"https://{host}/generated/{name}{ext}",
                     st.sampled_from(RESULT_HOSTS), WORDS, st.sampled_from((".png", ".jpg", ".webp")))


def texts(min_size: int = 0, max_size: int | None = None) -> st.SearchStrategy[str]:
    # Short printable text (any script); never whitespace-only, since SDKs drop blank strings before sending.
    high = min_size + 40 if max_size is None else min(max_size, min_size + 40)
    return st.text(TEXT, min_size=min_size, max_size=high).filter(lambda s: min_size == 0 or s.strip())


def long_texts(min_size: int) -> st.SearchStrategy[str]:
    # Repeat a short chunk: drawing thousands of characters one by one would overrun Hypothesis' buffer.
    chunks = st.tuples(st.text(TEXT, min_size=1, max_size=8), st.integers(0, 8))
    return chunks.map(lambda pair: (pair[0] * (min_size // len(pair[0]) + 1))[: min_size + pair[1]])


# --- field values from a catalog field spec ---


def types_of(spec: Mapping[str, Any]) -> list[str]:
    kind = spec.get("type", "string")
    return list(kind) if isinstance(kind, list) else [kind]


def is_url(spec: Mapping[str, Any]) -> bool:
    return spec.get("format") == "http-url"


def valid_values(name: str, spec: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    if "enum" in spec:
        return st.sampled_from(list(spec["enum"]))
    if "const" in spec:
        return st.just(spec["const"])
    if is_url(spec):
        return callback_urls() if "callback" in name else image_urls()
    return st.one_of([valid_values_of_type(name, spec, kind) for kind in types_of(spec)])


def valid_values_of_type(name: str, spec: Mapping[str, Any], kind: str) -> st.SearchStrategy[Any]:
    if kind == "string":
        return texts(spec.get("min_length", 0), spec.get("max_length"))
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(spec.get("minimum"), spec.get("maximum"))
    if kind == "number":
        return st.floats(spec.get("minimum"), spec.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "array":
        low = spec.get("min_items", 0)
        items = valid_values(name, spec.get("items", {}))
        return st.lists(items, min_size=low, max_size=spec.get("max_items", low + 4))
    if kind == "object":
        return st.fixed_dictionaries({})
    if kind == "null":
        return st.none()
    raise InvalidArgument(f"catalog field {name!r} has unsupported type {kind!r}")





# --- per-model plans ---

ACCOUNT_MEDIA = frozenset({"voice"})  # catalog `media` values that name a resource of the caller's account


class Plan:
    """What the strategies need about one model, computed once when the strategy is built.

    A plain class, not a dataclass: Hypothesis pretty-prints dataclass fields (the whole catalog) in reprs.
    """

    def __init__(self, catalog: Catalog, action: Action, model: Model) -> None:
        self.action, self.model = action, model
        if undescribed := [name for name in model.required if name not in model.fields]:
            raise InvalidArgument(f"catalog model {model.name!r} requires undescribed fields {undescribed}")
        # An optional field naming an account resource (a voice or persona id, media "voice") is left out of
        # valid bodies: no drawn string names a voice the account holds, and a target refuses an unknown one.
        allowed = [name for name in model.fields if name not in model.forbidden
                   and (model.fields[name].get("media") not in ACCOUNT_MEDIA or name in model.required)]
        self.values = {name: valid_values(name, model.fields[name]) for name in allowed if name != "model"}
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

    def __repr__(self) -> str:
        return f"<plan {self.action.family}/{self.action.name} {self.model.name}>"

    def request(self, body: dict[str, Any]) -> CreateRequest:
        return CreateRequest(self.action.family, self.action.name, self.model.name, body)

    def is_valid(self, body: Mapping[str, Any]) -> bool:
        return bool(self.validator.is_valid(body))

    def rules_broken(self, body: Mapping[str, Any]) -> list[int]:
        return [i for i, validator in enumerate(self.rule_validators) if not validator.is_valid(body)]


def select_plans(catalog: Catalog | None, family: str | None, action: str | None,
                 model: str | None) -> list[Plan]:
    if catalog is None or catalog is load_catalog():
        return list(_packaged_plans(family, action, model))
    return _select_plans(catalog, family, action, model)


@lru_cache(maxsize=256)
def _packaged_plans(family: str | None, action: str | None, model: str | None) -> tuple[Plan, ...]:
    # Plans compile validators and field strategies: with forty actions, building them on every draw of a
    # composite that calls create_requests() dominated the time of a test.
    return tuple(_select_plans(load_catalog(), family, action, model))


def _select_plans(catalog: Catalog, family: str | None, action: str | None, model: str | None) -> list[Plan]:
    for argument, value in (("family", family), ("action", action), ("model", model)):
        if value is not None and not isinstance(value, str):
            raise InvalidArgument(f"{argument}={value!r} must be a string or None")
    actions = [a for a in catalog.actions.values()
               if (family is None or a.family == family) and (action is None or a.name == action)]
    if not actions:
        known = ", ".join(f"{f}/{a}" for f, a in catalog.actions)
        raise InvalidArgument(f"no catalog action matches family={family!r}, action={action!r} "
                              f"(known: {known})")
    plans = [Plan(catalog, a, m) for a in actions for m in a.models.values() if model in (None, m.name)]
    if not plans:
        known = ", ".join(sorted({m for a in actions for m in a.models}))
        raise InvalidArgument(f"model={model!r} is not a model of the selected actions (known: {known})")
    return plans



@st.composite
def bodies(draw: st.DrawFn, plan: Plan) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name in plan.model.fields:
        # `model` always: an action whose SDK sends none has it optional, and a request names its model.
        if name in plan.values and (name in plan.model.required or name == "model" or draw(st.booleans())):
            body[name] = draw(plan.values[name])
    return body


@st.composite
def _repaired(draw: st.DrawFn, plan: Plan) -> dict[str, Any]:
    """A free draw, then each conditional rule it breaks made to hold (its `then`: required fields drawn,
    forbidden ones dropped, enums sampled): a model with many rules (Kling's omni edit has seven) rarely
    gets a valid body by chance."""
    body = draw(bodies(plan))
    for _ in range(3):
        broken = plan.rules_broken(body)
        if not broken:
            break
        for index in broken:
            then = plan.model.rules[index]["then"]
            for name in then.get("required", ()):
                if name not in body and name in plan.values:
                    body[name] = draw(plan.values[name])
            for name, spec in then.get("properties", {}).items():
                if "enum" in spec and name in plan.values:
                    body[name] = draw(st.sampled_from(spec["enum"]))
            for option in then.get("not", {}).get("anyOf", ()):
                for name in option.get("required", ()):
                    body.pop(name, None)
            options = [o.get("required", []) for o in then.get("anyOf", ())]
            if options and not any(all(n in body for n in names) for names in options):
                body.update({n: draw(plan.values[n]) for n in options[0] if n in plan.values})
    return body


def valid_bodies(plan: Plan) -> st.SearchStrategy[dict[str, Any]]:
    # Conditional rules are rare and narrow: a draw that breaks one is repaired by the rule, then filtered.
    return _repaired(plan).filter(plan.is_valid)
