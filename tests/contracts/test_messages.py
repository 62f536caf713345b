"""The 422 messages of `validate_request` say what to send: required, counts in the right number, near misses."""

from __future__ import annotations

from typing import Any

import pytest

from runapi_contracts import validate_request


def messages(family: str, action: str, body: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for violation in validate_request(family, action, body):
        found.setdefault(violation.field, []).append(violation.message)
    return found


def test_a_missing_model_is_required_not_one_of() -> None:
    body = {"prompt": "a red bicycle"}
    assert messages("flux_kontext", "text_to_image", body) == {"model": ["model is required"]}


def test_a_wrong_model_lists_the_choices() -> None:
    [message] = messages("flux_kontext", "text_to_image", {"model": "flux", "prompt": "x"})["model"]
    choices = message.removeprefix("model must be one of: ").split(", ")
    assert message.startswith("model must be one of: ") and {"flux-kontext-pro", "flux-kontext-max"} <= set(choices)


def test_a_minimum_of_one_character_is_singular() -> None:
    body = {"model": "flux-kontext-pro", "prompt": ""}
    assert messages("flux_kontext", "text_to_image", body) == {"prompt": ["prompt must be at least 1 character"]}
    body = {"model": "flux-2-pro-text-to-image", "prompt": "hi"}
    assert messages("flux_2", "text_to_image", body) == {"prompt": ["prompt must be between 3 and 5000 characters"]}


@pytest.mark.parametrize(("sent", "meant"), [("aspectRatio", "aspect_ratio"), ("aspect-ratio", "aspect_ratio"),
                                             ("callbackUrl", "callback_url"), ("output_formt", "output_format"),
                                             ("safety_tolerence", "safety_tolerance")])
def test_an_unknown_field_near_a_known_one_gets_a_suggestion(sent: str, meant: str) -> None:
    body = {"model": "flux-kontext-pro", "prompt": "a red bicycle", sent: "16:9"}
    assert messages("flux_kontext", "text_to_image", body) == {
        sent: [f"{sent} is not a field of flux-kontext-pro; did you mean {meant}?"]}


def test_an_unknown_field_far_from_every_known_one_gets_none() -> None:
    body = {"model": "flux-kontext-pro", "prompt": "a red bicycle", "colour": "red"}
    assert messages("flux_kontext", "text_to_image", body) == {"colour": ["colour is not a field of flux-kontext-pro"]}


def test_a_field_the_model_forbids_is_never_suggested() -> None:
    # flux-2-pro forbids output_count: "outputCount" must not be steered into another 422.
    body = {"model": "flux-2-pro-text-to-image", "prompt": "a red bicycle", "outputCount": 2}
    [message] = messages("flux_2", "text_to_image", body)["outputCount"]
    assert message == "outputCount is not a field of flux-2-pro-text-to-image"
