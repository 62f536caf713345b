"""engine.terms: the memoised price and format of a create are the direct functions' answers, for every model.

The memo is keyed on the fields terms.key_fields names; a field it leaves out must not change the price or
format. So each model's memo is filled from one body and then asked about bodies that differ in one other
field at a time (each enum value, a few numbers, a flag flipped): a key missing a field the price reads (a
per-second model's duration) answers the stale price, and the comparison fails.
"""

from __future__ import annotations

from typing import Any

import pytest

from runapi_contracts import load_catalog
from runapi_contracts.catalog import Model
from runapi_contracts.pricing import request_microcents
from runapi_mock.engine import terms

MODELS = sorted(load_catalog().models(), key=lambda m: (m.family, m.action, m.name))


@pytest.fixture(autouse=True)
def _empty_memo() -> Any:
    """Each test starts with empty memos and leaves none behind (a fake price must not outlive its test)."""
    terms.clear()
    yield
    terms.clear()


def _variants(spec: Any) -> list[Any]:
    """Values to try in one field: its enum, else a few of its type."""
    if not isinstance(spec, dict):
        return []
    if isinstance(spec.get("enum"), list):
        return list(spec["enum"])
    types = spec.get("type")
    samples = {"integer": [1, 3, 7, 30], "number": [1.5, 4.0, 12.0], "boolean": [True, False], "string": ["a", "b"]}
    return [value for kind in (types if isinstance(types, list) else [types]) for value in samples.get(kind, [])]


def _direct(model: Model, body: dict[str, Any]) -> tuple[int, str]:
    return request_microcents(model, body), model.output_format(body)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m.family}/{m.action}/{m.name}")
def test_memo_answers_the_direct_terms(model: Model) -> None:
    base: dict[str, Any] = {"model": model.name}
    assert terms.create_terms(model, base) == _direct(model, base)
    keyed = set(terms.key_fields(model) or ())
    for name, spec in model.fields.items():
        if name in keyed:
            continue
        for value in _variants(spec):
            body = {**base, name: value}
            assert terms.create_terms(model, body) == _direct(model, body), (name, value)


def test_keyed_fields_are_memoised(monkeypatch: pytest.MonkeyPatch) -> None:
    model = next(m for m in MODELS if terms.key_fields(m))
    priced: list[dict[str, Any]] = []
    monkeypatch.setattr(terms, "request_microcents", lambda m, body: priced.append(dict(body)) or 1)
    body = {"model": model.name}
    assert terms.create_terms(model, body) == terms.create_terms(model, dict(body))
    assert len(priced) == 1  # the second create was answered from the memo


def test_per_second_models_are_never_memoised() -> None:
    per_second = [m for m in MODELS if m.output_spec.get("price_per") == "second"]
    assert per_second
    assert all(terms.key_fields(m) is None for m in per_second)
