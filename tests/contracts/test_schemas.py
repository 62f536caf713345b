"""Every named JSON Schema is sound draft-07, accepts a good example and rejects a hand-written bad one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from jsonschema import Draft7Validator

from runapi_contracts import load_catalog, load_schema, schema_names
from runapi_contracts.strategies import CreateRequest, create_requests
from runapi_contracts.validate import format_checker

TID = "550e8400-e29b-41d4-a716-446655440000"
IMAGE = "https://file.runapi.ai/generated/a.png"
SOURCE = "https://example.com/source.png"

# name -> (accepted example, rejected example, what the rejected one gets wrong)
EXAMPLES: dict[str, tuple[Any, Any, str]] = {
    "task": (
        {"id": TID, "status": "completed", "images": [{"url": IMAGE}], "usage": {"cost": 0.05}},
        {"id": TID, "status": "completed", "images": [], "usage": {"cost": 0.05}},
        "completed with no images",
    ),
    "create_response": (
        {"id": TID, "status": "pending"},
        {"task_id": "tsk_abc123", "status": "pending", "model": "flux-kontext-pro"},
        "the docs' create response has no id",
    ),
    "task_result": (
        {
            "id": TID,
            "status": "completed",
            "response": {"status": 200, "content_type": "application/json", "body": {"id": TID}},
        },
        {"id": TID, "status": "completed", "response": {"status": 200, "body": {}}},
        "stored response without content_type",
    ),
    "error": (
        {
            "error": {"code": "validation_failed", "message": "Validation failed"},
            "errors": {"prompt": ["prompt is required"]},
        },
        {"error": {"code": "Validation Failed", "message": "Validation failed"}},
        "code is not snake_case",
    ),
    "callback_payload": (
        {"id": TID, "status": "failed", "error": "Content policy violation"},
        {"id": TID, "status": "processing"},
        "image callbacks are terminal only",
    ),
    "callback_headers": (
        {
            "x-callback-id": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "x-callback-timestamp": "1767225600",
            "x-callback-signature": "Q8ayPEQGCOz33pU45216be7KticcIZitTfVlrFktzd8=",
        },
        {
            "x-callback-id": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "x-callback-timestamp": "1767225600000",
            "x-callback-signature": "v1,Q8ayPEQGCOz33pU45216be7KticcIZitTfVlrFktzd8=",
        },
        "Standard Webhooks' v1, prefix and a millisecond timestamp",
    ),
    "account": (
        {"id": 1, "name": "Demo User", "email": "demo@example.com", "account": {"id": 1, "name": "Demo"}},
        {"id": "1", "name": "Demo User", "email": "demo@example.com", "account": {"id": 1, "name": "Demo"}},
        "id is a string",
    ),
    "balance": (
        {
            "balance_cents": 5000,
            "paid_balance_cents": 5000,
            "bonus_balance_cents": 0,
            "spent_cents_today": 0,
            "spent_cents_total": 0,
        },
        {"balance_cents": 50.0, "paid_balance_cents": 5000, "bonus_balance_cents": 0, "spent_cents_today": 0},
        "a missing member and a fractional balance",
    ),
    "price_schedules": (
        {"as_of": "2026-08-21T00:00:00.000000Z", "price_schedules": [
            {"service": "flux_2", "action": "text_to_image", "model": "flux-2-pro-text-to-image",
             "pricing_status": "public", "catalog_status": "active", "currency": "USD", "unit_price_cents": 5,
             "billing_config": {"unit_price_cents_by_resolution": {"1k": 5, "2k": 7}}}]},
        {"as_of": "2026-08-21T00:00:00.000000Z", "price_schedules": [
            {"service": "flux_kontext", "action": "text_to_image", "pricing_status": "public", "currency": "USD",
             "unit_price_cents": 2.5}]},
        "no catalog_status and a fractional unit_price_cents (the SDK's is an int)",
    ),
    "price_quote_request": (
        {"service": "flux", "action": "text_to_image", "model": "flux-dev", "params": {"prompt": "a fox"}},
        {"service": "flux", "params": ["a fox"]},
        "no action and params not an object",
    ),
    "price_quote": (
        {"price_quote": {"service": "flux_kontext", "action": "text_to_image", "model": "flux-kontext-pro",
                         "pricing_status": "public", "currency": "USD", "reservation_amount_cents": 3,
                         "estimate_basis": "request", "as_of": "2026-08-21T00:00:00.000000Z"}},
        {"price_quote": {"service": "flux_kontext", "action": "text_to_image", "pricing_status": "public",
                         "currency": "USD", "reservation_amount_cents": 2.5, "as_of": "2026-08-21"}},
        "no estimate_basis and a fractional reservation",
    ),
    "models": (
        {"object": "list", "data": [{"id": "flux-dev", "object": "model", "endpoints": [
            {"service": "flux", "action": "text_to_image", "path": "/api/v1/flux/text_to_image"}]}]},
        {"object": "list", "data": [{"object": "model"}]},
        "a model without its id",
    ),
    "prompts": (
        {"prompts": [{"id": 1, "title": "Lo-fi beat", "prompt": "A chill lo-fi beat", "modality": "music",
                      "runapi_model": "suno-v4.5-plus", "tags": ["lo-fi"], "featured": True, "source_url": None}],
         "pagination": {"page": 1, "per_page": 20, "total": 1, "pages": 1}},
        {"prompts": [{"id": "1", "prompt": "A chill lo-fi beat", "modality": "speech"}],
         "pagination": {"page": 0, "per_page": 20, "total": 1}},
        "a string id, an unknown modality, page 0 and no pages",
    ),
    "listen_keys": (
        {"api_keys": [{"id": "key_0123", "name": "Mock key", "masked_token": "sk-l••••••••0001", "enabled": True}]},
        {"api_keys": [{"id": "key_0123", "name": "Mock key", "masked_token": "sk-l••••••••0001"}]},
        "a key without enabled",
    ),
    "listen_secret": (
        {"listen_secret": "c2VjcmV0", "callback_api_key": {"id": "key_0123", "name": "Mock key",
                                                           "masked_token": "sk-l••••••••0001"}},
        {"listen_secret": "", "callback_api_key": {"id": "key_0123"}},
        "an empty secret and a key without name or masked_token",
    ),
    "listen_session": (
        {"session_token": "ls_abc", "listen_secret": "c2VjcmV0",
         "callback_api_key": {"id": "key_0123", "name": "Mock key", "masked_token": "sk-l••••••••0001"}},
        {"listen_secret": "c2VjcmV0",
         "callback_api_key": {"id": "key_0123", "name": "Mock key", "masked_token": "sk-l••••••••0001"}},
        "no session_token",
    ),
    "listen_events": (
        {"events": [{"id": 1, "signed_body": "{}", "headers": {
            "Content-Type": "application/json", "X-Callback-Id": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "X-Callback-Timestamp": "1767225600", "X-Callback-Signature": "c2ln"}}]},
        {"events": [{"id": "1", "signed_body": {}, "headers": {"X-Callback-Id": "x"}}]},
        "a string id, a body that is not a string and headers without a signature",
    ),
    "request/flux_kontext/text_to_image": (
        {
            "model": "flux-kontext-pro",
            "prompt": "make it night",
            "source_image_url": SOURCE,
            "safety_tolerance": 2,
        },
        {
            "model": "flux-kontext-pro",
            "prompt": "make it night",
            "source_image_url": SOURCE,
            "safety_tolerance": 5,
        },
        "editing allows safety_tolerance 0-2",
    ),
    "request/flux_2/text_to_image": (
        {"model": "flux-2-max-text-to-image", "prompt": "a snowy cabin", "aspect_ratio": "1:1"},
        {"model": "flux-2-max-text-to-image", "prompt": "a snowy cabin"},
        "max requires aspect_ratio",
    ),
    "request/flux_2/remix_image": (
        {"model": "flux-2-pro-remix-image", "prompt": "a pencil sketch", "source_image_urls": [SOURCE] * 8},
        {
            "model": "flux-2-max-remix-image",
            "prompt": "a pencil sketch",
            "aspect_ratio": "1:1",
            "source_image_urls": [SOURCE] * 2,
        },
        "max takes exactly one source image",
    ),
    "request/gpt_image_2/text_to_image": (
        {"model": "gpt-image-2", "prompt": "a fox", "aspect_ratio": "16:9", "output_resolution": "4k"},
        {"model": "gpt-image-2-text-to-image", "prompt": "a fox"},
        "the raw schema knows only the canonical model name (normalize_request maps the docs' one)",
    ),
    "request/gpt_image_2/edit_image": (
        {"model": "gpt-image-2", "prompt": "a fox", "source_image_urls": [SOURCE]},
        {"model": "gpt-image-2", "prompt": "a fox", "source_image_urls": ["file:///etc/passwd"]},
        "a non-http(s) source URL",
    ),
}
UPLOAD_URL = "http://127.0.0.1:8787/uploads/default/f99b8cbb/java-smoke.txt"
FILE_OBJECT = {"id": "f99b8cbb", "object": "file", "bytes": 19, "created_at": 1796130030, "expires_at": 1796734830,
               "filename": "java-smoke.txt", "purpose": "user_data", "url": UPLOAD_URL}
UPLOAD_OBJECT = {"id": "upload_1", "object": "upload", "bytes": 19, "created_at": 1796130030,
                 "filename": "java-smoke.txt", "purpose": "user_data", "status": "pending", "expires_at": 1796133630}
EXAMPLES.update({  # the files API (issue 12)
    "upload": ({"file_name": "java-smoke.txt", "url": UPLOAD_URL, "size_bytes": 19, "mime_type": "text/plain",
                "created_at": "2026-12-01T13:00:30.226Z", "expires_at": "2026-12-08T13:00:30.226Z"},
               {"file_name": "java-smoke.txt", "url": UPLOAD_URL, "size_bytes": 19, "mime_type": "text/plain",
                "created_at": 1796130030, "expires_at": 1796734830},
               "epoch times where runapi-core reads ISO-8601 strings"),
    "upload_prepare": ({"upload_url": "http://127.0.0.1:8787/direct-uploads/default/t", "signed_id": "s",
                        "headers": {"Content-Type": "text/plain"}},
                       {"upload_url": "/direct-uploads/default/t", "signed_id": "s", "headers": {}},
                       "a relative upload_url (the SDK PUTs it with a client that has no base URL)"),
    "file_object": (FILE_OBJECT, {**FILE_OBJECT, "created_at": "2026-12-01T13:00:30Z"}, "an ISO created_at"),
    "file_list": ({"object": "list", "data": [FILE_OBJECT], "first_id": "f99b8cbb", "last_id": "f99b8cbb",
                   "has_more": False},
                  {"object": "list", "data": [FILE_OBJECT]}, "no has_more"),
    "deleted_file": ({"id": "f99b8cbb", "object": "file", "deleted": True}, {"id": "f99b8cbb", "deleted": "yes"},
                     "no object, deleted not a boolean"),
    "upload_object": (UPLOAD_OBJECT, {**UPLOAD_OBJECT, "status": "completed"}, "completed without its file"),
    "upload_part": ({"id": "part_1", "object": "upload.part", "created_at": 1796130030, "upload_id": "upload_1"},
                    {"id": "part_1", "object": "upload.part", "created_at": 1796130030}, "no upload_id"),
})
EXAMPLES.update({  # the synchronous actions' answers (issue 20)
    "sync_accepted": ({"id": "t1", "task_id": "t1", "status": "pending", "model": "midjourney",
                       "task_result_url": "/api/v1/tasks/t1"}, {"id": "t1", "status": "pending"}, "no Location copy"),
    "answer_speech": ({"id": "t1", "status": "completed", "audios": [{"url": "http://h/f.mp3", "format": "mp3",
                                                                      "mime_type": "audio/mpeg", "size_bytes": 9}]},
                      {"id": "t1", "status": "completed", "audios": [{"url": "http://h/f.mp3"}]}, "no size_bytes"),
    "answer_fish_voice": ({"voice": {"voice_id": "v1", "name": "N", "state": "trained"}}, {"voice": {"name": "N"}},
                          "no voice_id"),
    "answer_fish_voices": ({"voices": [], "total": 0, "page_number": 1, "page_size": 10}, {"voices": []}, "no total"),
    "answer_transcription": ({"text": "hello"}, {"words": []}, "no text"),
    "answer_gemini_audio": ({"id": "t1", "status": "completed", "audio": {"id": "a1", "name": "n"}},
                            {"id": "t1", "status": "completed", "audio": {"name": "n"}}, "audio without id"),
    "answer_gemini_character": ({"id": "t1", "status": "completed", "character": {"id": "c1", "images": []}},
                                {"id": "t1", "status": "completed"}, "no character"),
    "answer_seed": ({"id": "t1", "status": "completed", "seed": 7}, {"id": "t1", "status": "completed", "seed": -1},
                    "a negative seed"),
    "answer_prompts": ({"id": "t1", "status": "completed", "prompts": ["a"]},
                       {"id": "t1", "status": "completed", "prompts": []}, "no prompt"),
    "answer_style": ({"id": "t1", "status": "completed", "style": "pop"}, {"id": "t1", "status": "completed"},
                     "no style"),
    "answer_voice_check": ({"id": "t1", "status": "completed", "is_available": True},
                           {"id": "t1", "status": "completed", "is_available": "yes"}, "not a boolean"),
    "answer_persona": ({"id": "t1", "status": "completed", "persona": {"id": "p", "name": "A", "description": "d"}},
                       {"id": "t1", "status": "completed", "persona": {"id": "p"}}, "no name or description"),
    "answer_aligned_words": ({"id": "t1", "status": "completed", "aligned_words": [
        {"word": "la", "success": True, "start_time": 0.1, "end_time": 0.4, "palign": 0}]},
        {"id": "t1", "status": "completed", "aligned_words": [{"word": "la"}]}, "a word without times"),
    "persona_read": ({"persona": {"id": "p"}, "status": "available"}, {"persona": {"id": "p"}, "status": "gone"},
                     "an unknown status"),
})
MODEL_SCHEMAS = [f"request/{m.family}/{m.action}/{m.name}" for m in load_catalog().models()]
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "requests"


def _fixture_examples() -> dict[str, tuple[Any, Any, str]]:
    # Imported actions take their examples from their request fixtures (one valid, one invalid at least).
    examples: dict[str, tuple[Any, Any, str]] = {}
    for family, action in load_catalog().actions:
        if f"request/{family}/{action}" in EXAMPLES:
            continue
        fixtures = [json.loads(p.read_text("utf-8")) for p in sorted(FIXTURES.glob(f"{family}.{action}.*.json"))]
        good = next((f["body"] for f in fixtures if f["valid"]), None)
        bad = next((f for f in fixtures if not f["valid"]), None)
        if good is not None and bad is not None:
            examples[f"request/{family}/{action}"] = (good, bad["body"], bad.get("note", "its invalid fixture"))
    return examples


EXAMPLES.update(_fixture_examples())
UNKNOWN_MEMBER = "no_such_member"  # a member no model has ("seed" was one until families with seeds arrived)


def _validator(name: str) -> Draft7Validator:
    return Draft7Validator(load_schema(name), format_checker=format_checker)


def _walk(node: Any, path: str = "#") -> list[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        return [(path, node)] + [
            item for key, value in node.items() for item in _walk(value, f"{path}/{key}")
        ]
    if isinstance(node, list):
        return [item for i, value in enumerate(node) for item in _walk(value, f"{path}/{i}")]
    return []


def test_every_schema_name_has_a_good_and_a_bad_example() -> None:
    assert set(schema_names()) == set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_schema_accepts_its_good_example(name: str) -> None:
    good, _, _ = EXAMPLES[name]
    assert [error.message for error in _validator(name).iter_errors(good)] == []


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_schema_rejects_its_bad_example(name: str) -> None:
    _, bad, why = EXAMPLES[name]
    assert not _validator(name).is_valid(bad), why


@pytest.mark.parametrize("name", [*schema_names(), *MODEL_SCHEMAS])
def test_schema_is_draft7_without_definitions_or_tuple_items(name: str) -> None:
    schema = load_schema(name)
    Draft7Validator.check_schema(schema)
    assert schema.get("$schema") == "http://json-schema.org/draft-07/schema#"
    for path, node in _walk(schema):
        assert "definitions" not in node and "$defs" not in node, path
        assert not isinstance(node.get("items"), list), f"{path}: tuple items"


@pytest.mark.parametrize("name", MODEL_SCHEMAS)
def test_request_schemas_accept_generated_bodies_and_reject_unknown_members(name: str) -> None:
    _, family, action, model = name.split("/")

    @settings(max_examples=10, deadline=None)
    @given(create_requests(family, action, model))
    def check(request: CreateRequest) -> None:
        for validator in (_validator(name), _validator(f"request/{family}/{action}")):
            assert validator.is_valid(request.body)
            assert not validator.is_valid({**request.body, UNKNOWN_MEMBER: 42})

    check()


@pytest.mark.parametrize("url", ["HTTPS://example.com/a.png", "Http://example.com/a.png"])
def test_url_fields_accept_an_upper_case_scheme(url: str) -> None:
    body = {"model": "gpt-image-2", "prompt": "a fox", "source_image_urls": [url]}
    assert _validator("request/gpt_image_2/edit_image").is_valid(body)
