"""The jsonschema-rs fast path accepts exactly what jsonschema accepts, so the server's verdicts cannot drift.

check_request() asks jsonschema-rs first and jsonschema only when the body is not known to be valid; a body
jsonschema-rs accepted but jsonschema would reject would slip through unreported. These tests pin both
directions on generated valid bodies, generated one-rule-broken bodies and arbitrary JSON in every field.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runapi_contracts import load_catalog
from runapi_contracts.strategies import CreateRequest, InvalidRequest, create_requests, invalid_create_requests
from runapi_contracts.validate import accepts, check_request, normalize_request, validator_for

MODELS = [(m.family, m.action, m.name) for m in load_catalog().models()]
IDS = [f"{family}/{action}/{model}" for family, action, model in MODELS]

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-2**70, max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
    | st.sampled_from(["http://example.com/a.png", "HTTPS://h:65535/x?y#z", "http://h:65536/", "http://a b/",
                       "https://example.com/\n", "ftp://x/y", "", "\ud800", "1:1", "png", "1k"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


def _same_verdict(name: str, body: Any) -> None:
    assert accepts(name, body) == validator_for(name).is_valid(body), body


@pytest.mark.parametrize(("family", "action", "model"), MODELS, ids=IDS)
def test_fast_path_accepts_valid_bodies(family: str, action: str, model: str) -> None:
    @settings(max_examples=15, deadline=None)
    @given(create_requests(family, action, model))
    def check(request: CreateRequest) -> None:
        normalized, _ = normalize_request(family, action, request.body)
        assert accepts(f"request/{family}/{action}/{model}", normalized)
        assert check_request(family, action, request.body) == (normalized, [])

    check()


@pytest.mark.parametrize(("family", "action", "model"), MODELS, ids=IDS)
def test_fast_path_agrees_on_bodies_that_break_one_rule(family: str, action: str, model: str) -> None:
    @settings(max_examples=25, deadline=None)
    @given(invalid_create_requests(family, action, model))
    def check(request: InvalidRequest) -> None:
        normalized, _ = normalize_request(family, action, request.body)
        _same_verdict(f"request/{family}/{action}/{model}", normalized)

    check()


@pytest.mark.parametrize(("family", "action", "model"), MODELS, ids=IDS)
def test_fast_path_agrees_on_any_json_in_any_field(family: str, action: str, model: str) -> None:
    fields = sorted(load_catalog().action(family, action).models[model].fields)  # type: ignore[union-attr]

    @settings(max_examples=40, deadline=None)
    @given(create_requests(family, action, model), st.dictionaries(st.sampled_from(fields), JSON_VALUES,
                                                                   min_size=1, max_size=3))
    def check(request: CreateRequest, changes: dict[str, Any]) -> None:
        _same_verdict(f"request/{family}/{action}/{model}", {**request.body, **changes})

    check()


@pytest.mark.parametrize("body", [
    {"prompt": "p", "\ud800": 1},  # jsonschema-rs cannot take a lone surrogate in a key: not "valid"
    {"prompt": "p", "safety_tolerance": 10 ** 30},
    {"prompt": "p", "safety_tolerance": 1.0},
    {"prompt": "p", "safety_tolerance": True},
    {"prompt": "\ud800"},
])
def test_fast_path_edge_values(body: dict[str, Any]) -> None:
    name = "request/flux_kontext/text_to_image/flux-kontext-pro"
    _same_verdict(name, {"model": "flux-kontext-pro", **body})
