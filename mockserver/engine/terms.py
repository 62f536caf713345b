"""A create's price and file format, memoised per model where the catalog says they read only a few fields.

`request_microcents` and `Model.output_format` stay the one definition: this only remembers their answers.
A model priced per unit reads three body fields for both, the ones its output spec names as `resolution`,
`count` and `format` (catalog.Model.price_microcents, output.format_of): its memo is keyed on their values
(with their types: `True` is no `1` here). A model priced by the second (`price_per: second`) is never
memoised: its seconds may follow an extend, a duration or a source's length, so it is priced on every create.
A value that is not a scalar, or a memo already holding MEMO_SIZE keys, is priced directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runapi_contracts.catalog import Model
from runapi_contracts.pricing import request_microcents

__all__ = ["MEMO_SIZE", "clear", "create_terms", "key_fields"]

MEMO_SIZE = 256
MAX_MODELS = 4096
_SCALARS = (str, int, float, bool, type(None))
_KEYED = ("resolution", "count", "format")  # the spec's keys whose fields price and format read
Terms = tuple[int, str]  # (price in microcents, the files' format)


def key_fields(model: Model) -> tuple[str, ...] | None:
    """The body fields `model`'s price and format read, or None where they may read more (per-second prices)."""
    spec = model.output_spec
    if spec.get("price_per") is not None:
        return None
    return tuple(name for name in (spec.get(key) for key in _KEYED) if isinstance(name, str))


class _ModelTerms:
    __slots__ = ("memo", "model", "names")

    def __init__(self, model: Model) -> None:
        self.model = model  # held, so the id() this is filed under is not reused
        self.names = key_fields(model)
        self.memo: dict[tuple[Any, ...], Terms] = {}


_BY_MODEL: dict[int, _ModelTerms] = {}


def clear() -> None:
    """Forget every memo (tests start from an empty one)."""
    _BY_MODEL.clear()


def _direct(model: Model, body: Mapping[str, Any]) -> Terms:
    return request_microcents(model, body), model.output_format(body)


def create_terms(model: Model, body: Mapping[str, Any]) -> Terms:
    """(request_microcents(model, body), model.output_format(body)), remembered where key_fields allows."""
    found = _BY_MODEL.get(id(model))
    if found is None or found.model is not model:
        if len(_BY_MODEL) >= MAX_MODELS:  # catalogs parsed anew (tests) would otherwise pile up here
            _BY_MODEL.clear()
        found = _BY_MODEL[id(model)] = _ModelTerms(model)
    if found.names is None:
        return _direct(model, body)
    key = []
    for name in found.names:
        value = body.get(name)
        if not isinstance(value, _SCALARS):
            return _direct(model, body)
        key.append((value.__class__, value))
    memo_key = tuple(key)
    terms = found.memo.get(memo_key)
    if terms is None:
        terms = _direct(model, body)
        if len(found.memo) < MEMO_SIZE:
            found.memo[memo_key] = terms
    return terms
