"""Catalog facts from the reference, alias resolution, prices, and a new model covered with no code change."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from jsonschema import Draft7Validator

from runapi_contracts import load_catalog, normalize_request, validate_request
from runapi_contracts.catalog import parse_catalog
from runapi_contracts.registry import model_schema
from runapi_contracts.strategies import (
    CreateRequest,
    InvalidRequest,
    create_requests,
    invalid_create_requests,
)
from runapi_contracts.validate import format_checker

CATALOG = load_catalog()
FLUX_2 = [m for m in CATALOG.models() if m.family == "flux_2"]
GPT_IMAGE_2_RATIOS = [
    "auto",
    "1:1",
    "3:2",
    "2:3",
    "4:3",
    "3:4",
    "5:4",
    "4:5",
    "16:9",
    "9:16",
    "2:1",
    "1:2",
    "3:1",
    "1:3",
    "21:9",
    "9:21",
]


def _model(family: str, action: str, name: str) -> Any:
    return CATALOG.actions[(family, action)].models[name]


def _raw_catalog() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        resources.files("runapi_contracts").joinpath("catalog.json").read_text("utf-8")
    )
    return data


def test_catalog_serves_the_reference_routes_and_models() -> None:
    served = {(f, a): sorted(action.models) for (f, a), action in CATALOG.actions.items()}
    # The imported catalog serves every image action of the contract; the seed ones are among them.
    assert served.items() >= {
        ("flux_kontext", "text_to_image"): ["flux-kontext-max", "flux-kontext-pro"],
        ("flux_2", "text_to_image"): [
            "flux-2-flex-text-to-image",
            "flux-2-max-text-to-image",
            "flux-2-pro-text-to-image",
        ],
        ("flux_2", "remix_image"): [
            "flux-2-flex-remix-image",
            "flux-2-max-remix-image",
            "flux-2-pro-remix-image",
        ],
        ("gpt_image_2", "text_to_image"): ["gpt-image-2"],
        ("gpt_image_2", "edit_image"): ["gpt-image-2"],
    }.items()
    assert CATALOG.actions[("flux_2", "remix_image")].path == "/api/v1/flux_2/remix_image"


@pytest.mark.parametrize("action", ["text_to_image", "remix_image"])
def test_flux_2_max_requires_aspect_ratio_and_forbids_the_safety_checker(action: str) -> None:
    model = _model("flux_2", action, f"flux-2-max-{action.replace('_', '-')}")
    assert "aspect_ratio" in model.required and "enable_safety_checker" in model.forbidden
    assert model.default("aspect_ratio") is None and model.fields["output_resolution"]["enum"] == ["1k"]
    assert "output_count" not in model.forbidden and model.fields["output_count"]["enum"] == [1]


@pytest.mark.parametrize("name", [m.name for m in FLUX_2 if "-max-" not in m.name])
def test_flux_2_pro_and_flex_forbid_output_count(name: str) -> None:
    model = next(m for m in FLUX_2 if m.name == name)
    assert model.forbidden == ("output_count",) and "aspect_ratio" not in model.required
    assert model.fields["output_resolution"]["enum"] == ["1k", "2k"]


@pytest.mark.parametrize(
    "name, low, high",
    [
        ("flux-2-pro-remix-image", 1, 8),
        ("flux-2-flex-remix-image", 1, 8),
        ("flux-2-max-remix-image", 1, 1),
    ],
)
def test_remix_source_image_urls_counts(name: str, low: int, high: int) -> None:
    spec = _model("flux_2", "remix_image", name).fields["source_image_urls"]
    assert (spec["min_items"], spec["max_items"]) == (low, high)
    assert spec["items"]["format"] == "http-url" and spec["required"] is True


@pytest.mark.parametrize("name", [m.name for m in FLUX_2])
def test_flux_2_prompts_are_3_to_5000_characters(name: str) -> None:
    model = next(m for m in FLUX_2 if m.name == name)
    spec = model.fields["prompt"]
    assert (spec["min_length"], spec["max_length"]) == (3, 5000)
    body: dict[str, Any] = {"model": name, "prompt": "abc", "aspect_ratio": "1:1"}
    if model.action == "remix_image":
        body["source_image_urls"] = ["https://example.com/a.png"]
    assert validate_request(model.family, model.action, body) == []
    assert validate_request(model.family, model.action, {**body, "prompt": "x" * 5000}) == []
    for prompt in ("ab", "x" * 5001):
        violations = validate_request(model.family, model.action, {**body, "prompt": prompt})
        assert [(v.field, v.rule) for v in violations] == [("prompt", "length")]


@pytest.mark.parametrize("action", ["text_to_image", "edit_image"])
def test_gpt_image_2_has_16_aspect_ratios_and_three_resolutions(action: str) -> None:
    model = _model("gpt_image_2", action, "gpt-image-2")
    assert model.fields["aspect_ratio"]["enum"] == GPT_IMAGE_2_RATIOS
    assert model.fields["output_resolution"]["enum"] == ["1k", "2k", "4k"]
    assert model.default("aspect_ratio") == "auto" and model.default("output_resolution") == "1k"


@pytest.mark.parametrize(
    "action, model, family, canonical",
    [
        ("text_to_image", "gpt-image-2-text-to-image", "gpt_image_2", "gpt-image-2"),
        ("edit_image", "gpt-image-2-image-to-image", "gpt_image_2", "gpt-image-2"),
        ("text_to_image", "gpt-image-2", "gpt_image_2", "gpt-image-2"),
        ("text_to_image", "flux-kontext-pro", "flux_kontext", "flux-kontext-pro"),
        ("remix_image", "flux-2-max-remix-image", "flux_2", "flux-2-max-remix-image"),
    ],
)
def test_docs_routes_resolve_a_model_to_its_family(
    action: str, model: str, family: str, canonical: str
) -> None:
    resolved = CATALOG.resolve(action, model)
    assert resolved is not None
    assert (resolved[0].family, resolved[0].name, resolved[1]) == (family, action, canonical)


@pytest.mark.parametrize(
    "action, model",
    [
        ("edit_image", "gpt-image-2-text-to-image"),
        ("text_to_image", "gpt-image-2-image-to-image"),
        ("remix_image", "flux-kontext-pro"),
        ("text_to_image", "dall-e-3"),
    ],
)
def test_docs_routes_do_not_resolve_a_model_of_another_action(action: str, model: str) -> None:
    assert CATALOG.resolve(action, model) is None


@pytest.mark.parametrize(
    "family, action, body, normalized",
    [
        (
            "flux_kontext",
            "text_to_image",
            {"model": "flux-kontext-pro", "prompt": "p", "image_url": "https://e.com/a"},
            {"model": "flux-kontext-pro", "prompt": "p", "source_image_url": "https://e.com/a"},
        ),
        (
            "flux_kontext",
            "text_to_image",
            {"model": "flux-kontext-max", "prompt": "p", "input_image": "https://e.com/a"},
            {"model": "flux-kontext-max", "prompt": "p", "source_image_url": "https://e.com/a"},
        ),
        (
            "gpt_image_2",
            "text_to_image",
            {"model": "gpt-image-2-text-to-image", "prompt": "p"},
            {"model": "gpt-image-2", "prompt": "p"},
        ),
        (
            "gpt_image_2",
            "edit_image",
            {"model": "gpt-image-2-image-to-image", "prompt": "p"},
            {"model": "gpt-image-2", "prompt": "p"},
        ),
        (
            "gpt_image_2",
            "edit_image",
            {"model": "gpt-image-2-text-to-image", "prompt": "p"},
            {"model": "gpt-image-2-text-to-image", "prompt": "p"},
        ),
        (
            "flux_2",
            "text_to_image",
            {"model": "flux-2-pro-text-to-image", "image_url": "https://e.com/a"},
            {"model": "flux-2-pro-text-to-image", "image_url": "https://e.com/a"},
        ),
    ],
)
def test_normalize_request_rewrites_docs_spellings(
    family: str, action: str, body: dict[str, Any], normalized: dict[str, Any]
) -> None:
    assert normalize_request(family, action, body) == (normalized, [])


def test_normalize_request_flags_two_spellings_with_different_values() -> None:
    body = {
        "model": "flux-kontext-pro",
        "prompt": "p",
        "source_image_url": "https://e.com/a",
        "input_image": "https://e.com/b",
    }
    normalized, violations = normalize_request("flux_kontext", "text_to_image", body)
    assert normalized["source_image_url"] == "https://e.com/a" and "input_image" not in normalized
    assert [(v.field, v.rule) for v in violations] == [("input_image", "conflict")]


@pytest.mark.parametrize("model", CATALOG.models(), ids=lambda m: f"{m.family}/{m.action}/{m.name}")
def test_each_model_has_a_price_for_each_resolution_it_allows(model: Any) -> None:
    # Images are priced per image by the catalog's resolutions; videos per second by its video sizes; the
    # audio families' actions (sound, songs, their data and covers) one flat price per file or request.
    if set(model.price_cents) == {"request"}:
        assert model.price_cents["request"] > 0 and model.output_spec.get("price_per") is None
        return
    video = model.kind == "video"
    default = model.output_spec.get("default_resolution") if video else CATALOG.default_resolution
    allowed = [str(v).lower() for v in model.fields.get("output_resolution", {}).get("enum", [default])]
    assert set(allowed) <= set(model.price_cents), model.price_cents
    assert set(model.price_cents) <= set(model.video_sizes if video else CATALOG.resolutions)
    assert all(price > 0 for price in model.price_cents.values())
    assert (model.output_spec.get("price_per") == "second") is video


@pytest.mark.parametrize(
    "family, action, model, resolution, cents",
    [
        ("flux_kontext", "text_to_image", "flux-kontext-pro", "1k", 2.5),
        ("flux_2", "text_to_image", "flux-2-pro-text-to-image", "1k", 5),
        ("flux_2", "text_to_image", "flux-2-pro-text-to-image", "2k", 7),
        ("flux_2", "remix_image", "flux-2-flex-remix-image", "1k", 14),
        ("flux_2", "remix_image", "flux-2-flex-remix-image", "2k", 24),
    ],
)
def test_public_prices_match_the_seed_pages(
    family: str, action: str, model: str, resolution: str, cents: float
) -> None:
    assert _model(family, action, model).price_cents[resolution] == cents


def _catalog_with_a_new_model() -> dict[str, Any]:
    data = copy.deepcopy(_raw_catalog())
    data["families"]["flux_2"]["actions"]["text_to_image"]["models"]["flux-2-turbo-text-to-image"] = {
        "forbidden": ["output_count"],
        "required": ["aspect_ratio"],
        "fields": {"output_resolution": {"enum": ["1k", "2k", "4k"]}, "prompt": {"max_length": 100}},
        "price_cents": {"1k": 1, "2k": 2, "4k": 3},
    }
    return data


def test_a_new_catalog_model_needs_no_code_change() -> None:
    catalog = parse_catalog(_catalog_with_a_new_model())
    model = catalog.actions[("flux_2", "text_to_image")].models["flux-2-turbo-text-to-image"]
    assert model.required == ("model", "prompt", "aspect_ratio") and model.forbidden == ("output_count",)
    assert catalog.resolve("text_to_image", model.name) is not None
    validator = Draft7Validator(model_schema(model), format_checker=format_checker)
    Draft7Validator.check_schema(model_schema(model))
    good = {"model": model.name, "prompt": "a red kite", "aspect_ratio": "1:1", "output_resolution": "4k"}
    assert validator.is_valid(good)
    for bad in (
        {**good, "output_count": 1},
        {**good, "prompt": "x" * 101},
        {"model": model.name, "prompt": "abc"},
    ):
        assert not validator.is_valid(bad)
    assert model.price_microcents(good) == 3_000_000


def test_strategies_cover_a_new_catalog_model_with_no_code_change() -> None:
    catalog = parse_catalog(_catalog_with_a_new_model())
    model = catalog.actions[("flux_2", "text_to_image")].models["flux-2-turbo-text-to-image"]
    validator = Draft7Validator(model_schema(model), format_checker=format_checker)

    @settings(max_examples=20, deadline=None)
    @given(
        create_requests(model=model.name, catalog=catalog),
        invalid_create_requests(model=model.name, catalog=catalog),
    )
    def check(valid: CreateRequest, invalid: InvalidRequest) -> None:
        assert valid.family == "flux_2" and validator.is_valid(valid.body)
        assert "aspect_ratio" in valid.body and "output_count" not in valid.body
        assert not validator.is_valid(invalid.body)

    check()


ALIAS_POINTER_BUG = ("validate_request reports an alias member's violations under the canonical name and "
                     "pointer (/source_image_url), and a conflict with pointer ''")


@pytest.mark.parametrize("body, field, rule", [
    ({"model": "flux-kontext-pro", "prompt": "p", "image_url": "ftp://e.com/a.png"}, "image_url", "url"),
    ({"model": "flux-kontext-pro", "prompt": "p", "input_image": 5}, "input_image", "type"),
    ({"model": "flux-kontext-pro", "prompt": "p", "image_url": "https://e.com/a",
      "input_image": "https://e.com/b"}, "input_image", "conflict"),
])
def test_alias_violations_point_at_the_member_the_client_sent(body: dict[str, Any], field: str,
                                                              rule: str) -> None:
    violations = validate_request("flux_kontext", "text_to_image", body)
    assert [(v.field, v.rule, v.pointer) for v in violations] == [(field, rule, f"/{field}")]
