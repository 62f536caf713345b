"""Property tests: the catalog strategies make what they promise, and validation never raises on any JSON."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from runapi_contracts import load_catalog, validate_request, validate_response
from runapi_contracts.strategies import (
    CreateRequest,
    InvalidRequest,
    callback_payloads,
    create_requests,
    error_envelopes,
    invalid_create_requests,
    task_statuses,
)
from runapi_contracts.validate import Violation

CATALOG = load_catalog()
MODELS = [(f, a, m) for (f, a), action in CATALOG.actions.items() for m in action.models]
MODEL_IDS = [f"{f}/{a}/{m}" for f, a, m in MODELS]
RULE_TAGS = {
    "required",
    "type",
    "enum",
    "length",
    "items",
    "url",
    "range",
    "forbidden",
    "unknown_field",
    "conditional",
    "conflict",
    "route",
}
FIELD_NAMES = sorted(
    {name for model in CATALOG.models() for name in model.fields}
    | {alias for action in CATALOG.actions.values() for alias in action.field_aliases}
)
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _tags(violations: list[Violation]) -> set[tuple[str, str]]:
    return {(v.field, v.rule) for v in violations}


def _assert_well_formed(violations: Any) -> None:
    assert isinstance(violations, list)
    for violation in violations:
        assert isinstance(violation, Violation)
        assert isinstance(violation.field, str) and violation.rule in RULE_TAGS, violation
        assert violation.pointer == "" or violation.pointer.startswith("/"), violation


@pytest.mark.parametrize("family, action, model", MODELS, ids=MODEL_IDS)
def test_generated_requests_validate(family: str, action: str, model: str) -> None:
    @FEW
    @given(create_requests(family, action, model))
    def check(request: CreateRequest) -> None:
        assert (request.family, request.action, request.model) == (family, action, model)
        assert request.body.get("model", load_catalog().actions[(family, action)].implied_model) == model
        assert validate_request(family, action, request.body) == []

    check()


@pytest.mark.parametrize("family, action, model", MODELS, ids=MODEL_IDS)
def test_generated_invalid_requests_are_rejected_for_their_field_and_rule(
    family: str, action: str, model: str
) -> None:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(invalid_create_requests(family, action, model))
    def check(request: InvalidRequest) -> None:
        violations = validate_request(family, action, request.body)
        assert (request.field, request.rule) in _tags(violations)
        # One rule broken: every violation is about that one field (a wrong type may also miss an enum).
        assert {v.field for v in violations} == {request.field}

    check()


POSSIBLE_BREAKS = {  # which rules each model's field specs let a request break (reference §3)
    "flux-kontext-pro": {
        "required",
        "type",
        "enum",
        "length",
        "range",
        "url",
        "unknown_field",
        "conditional",
        "conflict",
    },
    "flux-2-pro-text-to-image": {"required", "type", "enum", "length", "forbidden", "unknown_field", "url"},
    "flux-2-max-remix-image": {
        "required",
        "type",
        "enum",
        "length",
        "items",
        "url",
        "forbidden",
        "unknown_field",
    },
    "gpt-image-2": {"required", "type", "enum", "length", "items", "url", "unknown_field", "conditional"},
}
ALL_BREAKS = (
    "required",
    "type",
    "enum",
    "length",
    "range",
    "items",
    "url",
    "forbidden",
    "unknown_field",
    "conditional",
    "conflict",
)


@pytest.mark.parametrize(
    "model, rule", [(m, r) for m, rules in POSSIBLE_BREAKS.items() for r in sorted(rules)]
)
def test_invalid_requests_break_each_rule_the_field_specs_allow(model: str, rule: str) -> None:
    @settings(max_examples=8, deadline=None)
    @given(invalid_create_requests(model=model, rule=rule))
    def check(request: InvalidRequest) -> None:
        assert request.rule == rule
        assert (request.field, rule) in _tags(validate_request(request.family, request.action, request.body))

    check()


@pytest.mark.parametrize(
    "model, rule", [(m, r) for m, rules in POSSIBLE_BREAKS.items() for r in ALL_BREAKS if r not in rules]
)
def test_invalid_requests_refuse_rules_the_field_specs_rule_out(model: str, rule: str) -> None:
    with pytest.raises(InvalidArgument):
        invalid_create_requests(model=model, rule=rule)


@FEW
@given(create_requests())
def test_generated_urls_stay_on_test_hosts(request: CreateRequest) -> None:
    for name, value in request.body.items():
        urls = value if isinstance(value, list) else [value]
        for url in (u for u in urls if isinstance(u, str) and u.startswith("http")):
            host = urlsplit(url).hostname
            if "callback" in name:
                assert host == "127.0.0.1", url  # never off the machine
            else:
                assert host is not None and host.endswith((".test", "example.com")), url


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.sampled_from(sorted(CATALOG.actions)), st.tuples(st.text(max_size=12), st.text(max_size=12))
    ),
    json_values,
)
def test_validate_request_never_raises_on_any_json(route: tuple[str, str], body: Any) -> None:
    _assert_well_formed(validate_request(route[0], route[1], body))


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(sorted(CATALOG.actions)),
    st.dictionaries(st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=10)), json_values, max_size=8),
    st.sampled_from(sorted({m.name for m in CATALOG.models()} | set(CATALOG.model_aliases))),
)
def test_validate_request_never_raises_on_objects_with_random_members(
    route: tuple[str, str], body: dict[str, Any], model: str
) -> None:
    _assert_well_formed(validate_request(*route, body))
    _assert_well_formed(validate_request(*route, {**body, "model": model}))


@st.composite
def _requests_with_one_member_replaced(draw: st.DrawFn) -> tuple[CreateRequest, dict[str, Any]]:
    request = draw(create_requests())
    key = draw(st.one_of(st.sampled_from(sorted(request.body) or FIELD_NAMES), st.sampled_from(FIELD_NAMES)))
    return request, {**request.body, key: draw(json_values)}


@settings(max_examples=200, deadline=None)
@given(_requests_with_one_member_replaced())
def test_validate_request_never_raises_when_one_member_is_any_json(
    case: tuple[CreateRequest, dict[str, Any]],
) -> None:
    request, body = case
    _assert_well_formed(validate_request(request.family, request.action, body))


@pytest.mark.parametrize("status", [None, "pending", "processing", "completed", "failed"])
def test_generated_task_statuses_validate(status: str | None) -> None:
    @FEW
    @given(task_statuses(status))
    def check(body: dict[str, Any]) -> None:
        assert validate_response("task", body) == []
        assert status in (None, body["status"])
        assert str(uuid.UUID(body["id"])) == body["id"]
        assert body.get("task_id", body["id"]) == body["id"]
        if body["status"] == "completed":
            assert body["images"] and "cost" in body["usage"]

    check()


@pytest.mark.parametrize("status", [None, "completed", "failed"])
def test_generated_callback_payloads_validate(status: str | None) -> None:
    @FEW
    @given(callback_payloads(status))
    def check(body: dict[str, Any]) -> None:
        assert validate_response("callback_payload", body) == []
        assert body["status"] in ((status,) if status else ("completed", "failed"))

    check()


@FEW
@given(error_envelopes())
def test_generated_error_envelopes_validate(body: dict[str, Any]) -> None:
    assert validate_response("error", body) == []


@pytest.mark.parametrize(
    "make",
    [
        lambda: create_requests(family="flux_3"),
        lambda: create_requests("flux_2", "edit_image"),
        lambda: create_requests(model="dall-e-3"),
        lambda: create_requests("flux_2", "text_to_image", "flux-kontext-pro"),
        lambda: create_requests(
            model="gpt-image-2-text-to-image"
        ),  # docs alias: strategies take canonical names
        lambda: create_requests(family=2),  # type: ignore[arg-type]
        lambda: invalid_create_requests(family="flux_3"),
        lambda: invalid_create_requests(model="dall-e-3"),
        lambda: invalid_create_requests(rule="pattern"),
        lambda: task_statuses("queued"),
        lambda: callback_payloads("processing"),
    ],
    ids=[
        "family",
        "action",
        "model",
        "model-of-other-family",
        "alias",
        "non-string",
        "invalid-family",
        "invalid-model",
        "invalid-rule",
        "task-status",
        "callback-status",
    ],
)
def test_strategies_reject_unknown_arguments_eagerly(make: Callable[[], Any]) -> None:
    with pytest.raises(InvalidArgument):
        make()  # raised when the strategy is built, before anything is drawn
