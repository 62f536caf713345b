"""The prompt library's data and its search: mcp-core's searchPrompts filters and pagination."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runapi_contracts import load_catalog, validate_response
from runapi_contracts.prompt_library import MAX_PER_PAGE, PromptQuery, load_prompts, parse_query, search_prompts

PROMPTS = load_prompts()


def _ids(query: PromptQuery) -> list[int]:
    return [prompt["id"] for prompt in search_prompts(query)["prompts"]]


def test_the_library_is_valid_and_covers_image_video_and_audio() -> None:
    page = {"prompts": list(PROMPTS), "pagination": {"page": 1, "per_page": 100, "total": len(PROMPTS), "pages": 1}}
    assert validate_response("prompts", page) == []
    assert [prompt["id"] for prompt in PROMPTS] == list(range(1, len(PROMPTS) + 1))
    assert {prompt["modality"] for prompt in PROMPTS} == {"image", "image_edit", "video", "music"}
    assert all(prompt["source"] and prompt["category"] and prompt["tags"] for prompt in PROMPTS)


def test_every_image_prompts_model_is_served_by_its_action() -> None:
    actions = load_catalog().actions
    for prompt in PROMPTS:
        if prompt["modality"] in ("image", "image_edit"):
            action = actions[(prompt["service"].replace("-", "_"), prompt["action"])]
            assert prompt["runapi_model"] in action.models, prompt


@pytest.mark.parametrize("params, expected", [
    ({"modality": "video"}, [24, 25]),
    ({"modality": "IMAGE_EDIT", "category": "background"}, [13, 15, 17, 21]),
    ({"tags": "city,neon"}, [18, 21, 24]),
    ({"tags": "city, NEON ,night"}, [24]),
    ({"q": "mountain"}, [11, 25]),
    ({"q": "lake dawn"}, [11]),            # every word, in the title or the prompt
    ({"q": "twilight", "modality": "image"}, [16]),
    ({"model": "suno-v4.5-plus"}, [26]),
    ({"featured": "true"}, [1, 2, 11, 24, 26]),
    ({"featured": "false", "category": "product"}, [6, 7, 8, 12, 22]),
    ({"q": "  ", "tags": ""}, list(range(1, 21))),  # blank means absent; 20 a page
])
def test_filters(params: dict[str, str], expected: list[int]) -> None:
    assert _ids(parse_query(params)) == expected


@settings(max_examples=40, deadline=None)
@given(per_page=st.integers(1, 12), modality=st.sampled_from([None, "image", "image_edit", "video", "music"]),
       featured=st.sampled_from([None, True, False]))
def test_the_pages_together_are_the_whole_match_in_order(per_page: int, modality: str | None,
                                                        featured: bool | None) -> None:
    whole = _ids(PromptQuery(modality=modality, featured=featured, per_page=MAX_PER_PAGE))
    first = search_prompts(PromptQuery(modality=modality, featured=featured, per_page=per_page))["pagination"]
    assert first["total"] == len(whole) and first["pages"] == -(-len(whole) // per_page)
    pages = [_ids(PromptQuery(modality=modality, featured=featured, page=page, per_page=per_page))
             for page in range(1, first["pages"] + 2)]
    assert [prompt_id for page in pages for prompt_id in page] == whole
    assert pages[-1] == [] and all(len(page) == per_page for page in pages[:-2])


@pytest.mark.parametrize("params, message", [
    ({"per_page": "0"}, "per_page must be an integer from 1 to 100"),
    ({"per_page": "101"}, "per_page must be an integer from 1 to 100"),
    ({"page": "-1"}, "page must be an integer from 1"),
    ({"page": "٣"}, "page must be an integer from 1"),  # a digit, but not an ASCII one
    ({"featured": "yes"}, "featured must be true or false"),
    ({"q": "x" * 201}, "q must be at most 200 characters"),
])
def test_a_malformed_query_is_refused_naming_its_parameter(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_query(params)
