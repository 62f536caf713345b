"""The importer: byte-for-byte reproducible, a new family arrives with no code change, and catalog diff."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from jsonschema import Draft7Validator

from runapi_contracts import load_catalog
from runapi_contracts.catalog import Catalog, parse_catalog, route_table
from runapi_contracts.drift import committed_catalog, diff_catalogs
from runapi_contracts.importer import (
    ContractError,
    import_contract,
    import_file,
    load_overlay,
    render_catalog,
    selected_actions,
)
from runapi_contracts.pricing import model_list
from runapi_contracts.registry import model_schema
from runapi_contracts.strategies import (
    CreateRequest,
    InvalidRequest,
    create_requests,
    invalid_create_requests,
)
from runapi_contracts.validate import format_checker, validate_response
from runapi_mock.serving import cli

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "fixtures" / "contracts"
UPSTREAM = ROOT / "contracts" / "upstream"
REFERENCE = UPSTREAM / "runapi-contract-v0.12.2.json"  # the contract catalog.json is imported from
PREVIOUS = UPSTREAM / "runapi-contract-v0.12.0.json"


def _mini_overlay() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((MINI / "mini-overlay.json").read_text("utf-8"))
    return data


def _mini_catalog() -> Catalog:
    return parse_catalog(import_file(MINI / "mini-contract.json", _mini_overlay()))


def test_the_mini_contract_imports_to_its_committed_catalog_byte_for_byte() -> None:
    first = render_catalog(import_file(MINI / "mini-contract.json", _mini_overlay()))
    again = render_catalog(import_file(MINI / "mini-contract.json", _mini_overlay()))
    assert first == again == (MINI / "mini-catalog.json").read_text("utf-8")
    assert json.loads(first)["contract"] == {
        "version": "0.0.1-test", "sha256": "8825167d3b62ae42e901c345d6c30a8f381f4014c67edde132778fb4aa4053e4"}


def test_an_overlay_change_changes_the_catalog() -> None:
    # The byte-for-byte check is not vacuous: a one-cent price change shows in the output.
    overlay = _mini_overlay()
    overlay["actions"]["acme-vision/text-to-image"]["models"]["acme-vision-1"]["price_cents"]["1k"] = 6
    changed = render_catalog(import_file(MINI / "mini-contract.json", overlay))
    assert changed != (MINI / "mini-catalog.json").read_text("utf-8")


def test_the_committed_catalog_is_the_import_of_runapis_contract() -> None:
    text = render_catalog(import_file(REFERENCE))
    assert text == (ROOT / "contracts" / "catalog.json").read_text("utf-8")
    assert load_catalog().contract["version"] == "0.12.2"


def test_the_vendored_contracts_are_the_files_their_readme_names() -> None:
    readme = (UPSTREAM / "README.md").read_text("utf-8")
    versions = load_overlay()["contract_versions"]
    for path, version in ((REFERENCE, "0.12.2"), (PREVIOUS, "0.12.0")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert versions[digest] == version and f"`{digest}`" in readme and f"`{path.name}` | {version}" in readme
    assert REFERENCE.stat().st_size == 402_292  # the published v0.12.2 file's length
    assert "Apache License" in (UPSTREAM / "LICENSE").read_text("utf-8")


def test_a_field_with_no_type_must_be_one_a_rule_forbids() -> None:
    # Since v0.12.2 a field a model does not accept is only named; anything else untyped is a contract error.
    contract = json.loads((MINI / "mini-contract.json").read_text("utf-8"))
    fields = contract["actions"]["acme-vision/text-to-image"]["fields_by_model"]["acme-vision-1-fast"]
    fields["output_resolution"] = {"description": "Not accepted by this model."}  # a rule forbids it
    fast = parse_catalog(import_contract(contract, _mini_overlay())).actions[
        ("acme_vision", "text_to_image")].models["acme-vision-1-fast"]
    assert "output_resolution" in fast.forbidden and fast.fields["output_resolution"]["type"] == "string"
    fields["style"] = {"description": "Not accepted by this model."}  # no rule forbids it
    with pytest.raises(ContractError, match=r"no type that no rule forbids: \['style'\]"):
        import_contract(contract, _mini_overlay())


def test_selection_takes_asynchronous_image_actions_with_models() -> None:
    contract = json.loads((MINI / "mini-contract.json").read_text("utf-8"))
    # text_to_video is not an image, describe_image is synchronous, restyle_image has no models, and the
    # overlay excludes upscale_image by name.
    assert selected_actions(contract, _mini_overlay()) == ["acme-vision/text-to-image"]
    assert selected_actions(contract, {}) == ["acme-vision/text-to-image", "acme-vision/upscale-image"]


def test_the_reference_selection() -> None:
    contract = json.loads(REFERENCE.read_text("utf-8"))
    overlay = load_overlay()
    images = selected_actions(contract, {**overlay, "parts": {}})  # the base overlay alone: the images
    assert {"grok-imagine/segment-map", "recraft/remove-background", "seedream/decompose-layers"} <= set(images)
    assert "grok-imagine/upscale-image" not in images and not any(k.endswith("video") for k in images)
    assert len(images) == 38 and len({k.split("/")[0] for k in images}) == 19
    assert sum(len(contract["actions"][k]["models"]) for k in images) == 66
    parts = overlay["parts"]
    videos = set(selected_actions(contract, {**overlay, "parts": {"video": parts["video"]}})) - set(images)
    assert len(videos) == 42 and "grok-imagine/upscale-image" in videos and "suno/visualize-music" not in videos
    assert {contract["actions"][k]["endpoint"] for k in videos} >= {"ai_avatar", "motion_control", "animate"}
    # overlay/audio.json's selection: ElevenLabs 5, Gemini TTS 1, Producer 1, Suno 22 (issue 23's list).
    audio = set(selected_actions(contract, {**overlay, "parts": {"audio": parts["audio"]}})) - set(images)
    assert len(audio) == 29 and {k.split("/")[0] for k in audio} == {"elevenlabs", "gemini-tts", "producer", "suno"}
    assert "suno/visualize-music" in audio and "suno/generate-voice" in audio and not audio & videos
    synchronous = set(selected_actions(contract, {**overlay, "parts": {"sync": parts["sync"]}})) - set(images)
    assert len(synchronous) == 15 and {contract["actions"][k]["task_type"] for k in synchronous} == {"synchronous"}
    every = set(images) | videos | audio | synchronous
    assert set(selected_actions(contract, overlay)) == every  # every part, nothing else


def test_which_actions_are_served_is_overlay_data() -> None:
    # Serving a kind is a part of the overlay with a selection of its own, not code.
    contract = json.loads(REFERENCE.read_text("utf-8"))
    base = {**load_overlay(), "parts": {}}
    part = {"selection": {"task_types": ["asynchronous"], "endpoint_suffixes": {"_video": "video"}}}
    wider = {**base, "parts": {"video": part}}
    added = set(selected_actions(contract, wider)) - set(selected_actions(contract, base))
    assert added and {contract["actions"][key]["endpoint"].rsplit("_", 1)[1] for key in added} == {"video"}
    assert "kling/text-to-video" in added
    twice = {**base, "parts": {"video": part, "again": part}}
    with pytest.raises(ContractError, match="selected by two overlay parts"):
        selected_actions(contract, twice)
    selection = base["selection"]
    synchronous = {**base, "selection": {**selection, "task_types": ["synchronous"],
                                         "endpoint_suffixes": {"_speech": "audio"}}}
    assert all(contract["actions"][key]["task_type"] == "synchronous"
               for key in selected_actions(contract, synchronous))


def test_v1_models_lists_every_model_of_every_modality_the_catalog_has() -> None:
    # /v1/models reads the catalog: a catalog that also serves video (overlay data only) lists those models too.
    overlay = load_overlay()
    # the images, overlay/video.json and overlay/audio.json (the synchronous part's actions are listed too, below)
    overlay = {**overlay, "parts": {"video": overlay["parts"]["video"], "audio": overlay["parts"]["audio"]}}
    catalog = parse_catalog(import_contract(json.loads(REFERENCE.read_text("utf-8")), overlay))
    listed = {(entry["id"], endpoint["service"], endpoint["action"], endpoint["modality"])
              for entry in model_list(catalog)["data"] for endpoint in entry["endpoints"]}
    expected = {(model, family, action, target.modality)
                for (family, action), target in catalog.actions.items() for model in target.models}
    assert listed == expected
    assert {modality for *_, modality in listed} == {"image", "video", "audio"}
    assert ("grok-imagine-text-to-video", "grok_imagine", "text_to_video", "video") in listed
    assert validate_response("models", model_list(catalog)) == []
    assert ("text-to-speech-multilingual-v2", "elevenlabs", "text_to_speech", "audio") in listed
    assert {endpoint["modality"] for entry in model_list()["data"] for endpoint in entry["endpoints"]} == \
        {"image", "video", "audio"}  # the packaged catalog: overlay/video.json, overlay/audio.json


def test_every_imported_action_routes_where_the_sdks_call() -> None:
    # The SDK packages' ENDPOINT constants, read from their wheels (runapi-<family> on PyPI).
    sdk_paths = {
        "/api/v1/flux/text_to_image", "/api/v1/flux_kontext/text_to_image", "/api/v1/gpt_4o_image/text_to_image",
        "/api/v1/gpt_image_2_5/edit_image", "/api/v1/grok_imagine/segment_map", "/api/v1/ideogram_v3/reframe_image",
        "/api/v1/imagen_4/remix_image", "/api/v1/nano_banana/edit_image", "/api/v1/qwen_2_1/text_to_image",
        "/api/v1/qwen_image/remix_image", "/api/v1/recraft/remove_background", "/api/v1/seedream/decompose_layers",
        "/api/v1/topaz/upscale_image", "/api/v1/wan/text_to_image", "/api/v1/z_image/text_to_image",
        "/api/v1/midjourney/edit_image", "/api/v1/qwen_3/edit_image", "/api/v1/gpt_image/edit_image",
    }
    assert sdk_paths <= {action.path for action in load_catalog().actions.values()}


# --- a family the catalog has never seen arrives through the importer alone ---


def test_a_new_family_is_validated_by_its_contract_fields_with_no_code_change() -> None:
    catalog = _mini_catalog()
    action = catalog.actions[("acme_vision", "text_to_image")]
    full, fast = action.models["acme-vision-1"], action.models["acme-vision-1-fast"]
    assert action.path == "/api/v1/acme_vision/text_to_image" and action.title == "Acme Vision"
    assert action.timing_seconds == {"pending": 2, "processing": 30}
    assert full.required == ("model", "prompt") and fast.forbidden == ("output_resolution",)
    validate = Draft7Validator(model_schema(full), format_checker=format_checker).is_valid
    validate_fast = Draft7Validator(model_schema(fast), format_checker=format_checker).is_valid
    good = {"model": "acme-vision-1", "prompt": "a kite", "aspect_ratio": "9:16", "output_count": 4,
            "guidance": 7.5}
    assert validate(good)
    assert validate({**good, "style": "photo", "negative_prompt": "fog"})
    assert validate({**good, "aspect_ratio": "1:1", "reference_image_urls": ["https://example.com/a.png"]})
    for bad in (
        {**good, "prompt": "x"},                                   # min 2 characters
        {**good, "output_count": 3},                               # enum 1, 2, 4
        {**good, "guidance": 11},                                  # max 10
        {**good, "style": "photo"},                                # when style is photo, negative_prompt
        {**good, "reference_image_urls": ["https://example.com/a.png"]},  # references need 1:1
        {**good, "reference_image_urls": ["ftp://example.com/a.png"]},    # *_urls hold http(s) URLs
        {**good, "callback_url": "not a url"},
        {**good, "seed": 1},                                       # no such field
    ):
        assert not validate(bad), bad
    assert validate_fast({"model": "acme-vision-1-fast", "prompt": "a kite", "aspect_ratio": "16:9"})
    assert not validate_fast({"model": "acme-vision-1-fast", "prompt": "a kite", "output_resolution": "1k"})
    assert not validate_fast({"model": "acme-vision-1-fast", "prompt": "a kite", "aspect_ratio": "9:16"})


def test_a_new_family_gets_strategies_output_prices_and_docs_routes_with_no_code_change() -> None:
    catalog = _mini_catalog()
    model = catalog.actions[("acme_vision", "text_to_image")].models["acme-vision-1"]
    validator = Draft7Validator(model_schema(model), format_checker=format_checker)

    @settings(max_examples=15, deadline=None)
    @given(create_requests("acme_vision", catalog=catalog), invalid_create_requests("acme_vision", catalog=catalog))
    def check(valid: CreateRequest, invalid: InvalidRequest) -> None:
        assert valid.path == "/api/v1/acme_vision/text_to_image"
        schema = model_schema(catalog.actions[("acme_vision", "text_to_image")].models[invalid.model])
        assert not Draft7Validator(schema, format_checker=format_checker).is_valid(invalid.body)

    check()
    body = {"model": "acme-vision-1", "prompt": "a kite", "output_count": 2, "output_resolution": "2k"}
    output = model.output(body)
    assert (output.count, output.width, output.height, output.format) == (2, 2048, 1152, "png")  # 16:9 default
    assert model.price_microcents(body) == 2 * 9_000_000 and validator.is_valid(body)
    assert catalog.resolve_docs("text_to_image", "acme-vision-classic") == (
        catalog.actions[("acme_vision", "text_to_image")], "acme-vision-1")


# --- output and price from the overlay's shaping data ---


@pytest.mark.parametrize("family, action, body, expected", [
    ("flux_2", "text_to_image", {"model": "flux-2-flex-text-to-image", "output_resolution": "2k",
                                 "aspect_ratio": "3:2"}, (1, 2048, 1368, "png")),
    ("flux_kontext", "text_to_image", {"model": "flux-kontext-pro"}, (1, 1024, 576, "jpeg")),
    ("gpt_4o_image", "text_to_image", {"model": "gpt-4o-image", "aspect_ratio": "2:3", "output_count": 4},
     (4, 680, 1024, "png")),
    ("topaz", "upscale_image", {"model": "topaz-upscale-image", "upscale_factor": 4}, (1, 2048, 2048, "png")),
    ("recraft", "upscale_image", {"model": "recraft-crisp-upscale"}, (1, 2048, 2048, "png")),
    ("seedream", "decompose_layers", {"model": "seedream-5-pro-layer-decomposition", "size": "1.5K"},
     (3, 1536, 1536, "jpeg")),
    ("imagen_4", "remix_image", {"model": "imagen-4-pro-remix-image", "output_format": "jpg",
                                 "output_resolution": "4k", "aspect_ratio": "21:9"}, (1, 4096, 1752, "jpg")),
    ("wan", "text_to_image", {"model": "wan-2.7-image", "output_count": 500}, (16, 1024, 1024, "png")),
])
def test_output_follows_each_actions_own_fields(family: str, action: str, body: dict[str, Any],
                                                expected: tuple[int, int, int, str]) -> None:
    output = load_catalog().actions[(family, action)].models[body["model"]].output(body)
    assert (output.count, output.width, output.height, output.format) == expected


def test_result_members_come_from_the_overlay() -> None:
    actions = load_catalog().actions
    assert actions[("grok_imagine", "segment_map")].output_spec["result"] == "segments"
    assert actions[("seedream", "decompose_layers")].output_spec["result"] == "layers"
    assert actions[("recraft", "remove_background")].output_spec["result"] == "images"


def test_price_counts_the_images_an_action_makes() -> None:
    model = load_catalog().actions[("gpt_4o_image", "text_to_image")].models["gpt-4o-image"]
    one = {"model": "gpt-4o-image", "aspect_ratio": "1:1"}
    assert model.price_microcents({**one, "output_count": 4}) == 4 * model.price_microcents(one)


# --- docs routes ---


def _two_families_serving_one_model() -> Catalog:
    data = copy.deepcopy(committed_catalog())
    shared = copy.deepcopy(data["families"]["flux_2"]["actions"]["text_to_image"]["models"]
                           ["flux-2-pro-text-to-image"])
    data["families"]["flux"]["actions"]["text_to_image"]["models"]["flux-2-pro-text-to-image"] = shared
    data["families"]["flux_2"]["actions"]["text_to_image"]["models"]["flux-dev"] = shared
    return parse_catalog(data)


@pytest.mark.parametrize("model, family", [("flux-2-pro-text-to-image", "flux_2"), ("flux-dev", "flux")])
def test_docs_routes_give_a_shared_model_to_the_family_its_name_claims(model: str, family: str) -> None:
    found = _two_families_serving_one_model().resolve_docs("text_to_image", model)
    assert found is not None and (found[0].family, found[1]) == (family, model)


@pytest.mark.parametrize("action, model, family", [
    ("edit_image", "nano-banana-2-lite", "nano_banana"), ("text_to_image", "nano-banana-2-lite", "nano_banana"),
    ("remix_image", "imagen-4-pro-remix-image", "imagen_4"), ("text_to_image", "grok-imagine-image-2-0",
                                                               "grok_imagine"),
])
def test_docs_routes_resolve_every_family(action: str, model: str, family: str) -> None:
    found = load_catalog().resolve_docs(action, model)
    assert found is not None and (found[0].family, found[0].name) == (family, action)


def test_docs_routes_do_not_move_a_model_to_another_action() -> None:
    assert load_catalog().resolve_docs("remix_image", "gpt-image-1.5") is None
    assert load_catalog().resolve_docs("edit_image", "grok-imagine-text-to-image") is None


# --- catalog diff ---


def _changed_contract() -> dict[str, Any]:
    contract: dict[str, Any] = json.loads((MINI / "mini-contract.json").read_text("utf-8"))
    action = contract["actions"]["acme-vision/text-to-image"]
    full = action["fields_by_model"]["acme-vision-1"]
    full["prompt"]["max"] = 300
    full["aspect_ratio"]["enum"] = ["1:1", "16:9", "4:3"]
    full["seed"] = {"type": "integer"}
    del full["guidance"]
    action["rules"].append({"when": {"model": "acme-vision-1"}, "forbidden": ["style"]})
    action["rules"].append({"when": {"output_count": 4}, "required": ["output_resolution"]})
    action["models"].remove("acme-vision-1-fast")
    del action["fields_by_model"]["acme-vision-1-fast"]
    contract["actions"]["acme-vision/edit-image"] = {
        "model": "Acme Vision", "endpoint": "edit_image", "task_type": "asynchronous", "models": ["acme-edit"],
        "fields_by_model": {"acme-edit": {"model": {"type": "string"}, "source_image_url": {"type": "string"}}}}
    return contract


def test_diff_names_what_a_newer_contract_adds_removes_and_changes() -> None:
    old = import_file(MINI / "mini-contract.json", _mini_overlay())
    new = import_contract(_changed_contract(), _mini_overlay(), digest="f" * 64)
    lines = diff_catalogs(old, new)
    assert lines == [
        "~ contract 0.0.1-test (sha256 8825167d3b62) -> unknown (sha256 ffffffffffff)",
        "+ action acme_vision/edit_image (models: acme-edit)",
        "~ acme_vision/text_to_image acme-vision-1 prompt.max_length: 400 -> 300",
        "~ acme_vision/text_to_image acme-vision-1 aspect_ratio.enum: +4:3 -9:16",
        "~ acme_vision/text_to_image acme-vision-1 - field guidance",
        "~ acme_vision/text_to_image acme-vision-1 + field seed {\"type\":\"integer\"}",
        "~ acme_vision/text_to_image acme-vision-1 forbidden: +style",
        ("~ acme_vision/text_to_image acme-vision-1 + rule {\"if\":{\"properties\":{\"output_count\":{\"const\":4}},"
         "\"required\":[\"output_count\"]},\"then\":{\"required\":[\"output_resolution\"]}}"),
        "- model acme_vision/text_to_image acme-vision-1-fast",
    ]
    assert diff_catalogs(old, old) == []


def test_cli_diff_and_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["catalog", "diff", str(REFERENCE)]) == 0
    assert capsys.readouterr().out == "no changes\n"
    changed = tmp_path / "contract.json"
    contract = json.loads(REFERENCE.read_text("utf-8"))
    contract["actions"]["topaz/upscale-image"]["fields_by_model"]["topaz-upscale-image"]["upscale_factor"][
        "enum"] = [1, 2, 4, 8, 16]
    changed.write_text(json.dumps(contract), "utf-8")
    assert cli.main(["catalog", "diff", str(changed)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == ["~ topaz/upscale_image topaz-upscale-image upscale_factor.enum: +8 +16"]
    target = tmp_path / "catalog.json"
    assert cli.main(["catalog", "import", str(REFERENCE), "--out", str(target)]) == 0
    assert target.read_text("utf-8") == (ROOT / "contracts" / "catalog.json").read_text("utf-8")


V0_12_2_SERVED = [
    "~ contract 0.12.0 (sha256 06c6ea941792) -> 0.12.2 (sha256 3bbe13a1ede2)",
    "~ grok_imagine/edit_image grok-imagine-edit-image forbidden: +source_image_urls +aspect_ratio",
    "~ grok_imagine/edit_image grok-imagine-image-2-0 prompt.required: true -> null",
    "~ grok_imagine/edit_image grok-imagine-image-2-0 prompt.max_length: null -> 390000",
    ('~ grok_imagine/edit_image grok-imagine-image-2-0 + field source_image_urls {"description":"Source image URLs, '
     'from one to five entries.","items":{"description":"Absolute http(s) URL.","format":"http-url","type":"string"},'
     '"max_items":5,"media":"image","min_items":1,"required":true,"type":"array"}'),
    ('~ grok_imagine/edit_image grok-imagine-image-2-0 + field aspect_ratio {"description":"Output aspect ratio.",'
     '"enum":["1:1","2:3","3:2","16:9","9:16","auto"],"required":true,"type":"string"}'),
    "~ grok_imagine/edit_image grok-imagine-image-2-0 required: +source_image_urls +aspect_ratio -source_task_id "
    "-prompt",
    "~ grok_imagine/edit_image grok-imagine-image-2-0 forbidden: +source_task_id +mask_indices",
    "~ grok_imagine/segment_map grok-imagine-image-2-0 source_task_id.required: true -> null",
    ('~ grok_imagine/segment_map grok-imagine-image-2-0 + field image_url {"description":"Public image URL that the '
     'service can fetch.","format":"http-url","media":"image","type":"string"}'),
    "~ grok_imagine/segment_map grok-imagine-image-2-0 required: -source_task_id",
    ('~ grok_imagine/segment_map grok-imagine-image-2-0 + rule {"if":{},"then":{"anyOf":[{"required":["image_url"]},'
     '{"required":["source_task_id"]}]}}'),
    ('~ grok_imagine/segment_map grok-imagine-image-2-0 + rule {"if":{"required":["image_url"]},"then":{"not":'
     '{"anyOf":[{"required":["source_task_id"]}]}}}'),
    ('~ grok_imagine/segment_map grok-imagine-image-2-0 + rule {"if":{"required":["source_task_id"]},"then":{"not":'
     '{"anyOf":[{"required":["image_url"]}]}}}'),
    "~ topaz/upscale_image topaz-upscale-image upscale_factor.enum: -8",
]
SUNO = "suno-v4, suno-v4.5, suno-v4.5-all, suno-v4.5-plus, suno-v5, suno-v5.5"


def test_diff_against_v0_12_0_lists_exactly_the_changes_of_v0_12_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["catalog", "diff", str(REFERENCE), "--against", str(PREVIOUS)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert not [line for line in lines if "(not served)" in line]  # overlay/audio.json serves Suno since 0.12.2
    suno = [line for line in lines if line.startswith("~ suno/")]
    assert [line for line in lines if line not in suno] == V0_12_2_SERVED
    assert {line.split()[1] for line in suno} == {
        "suno/add_instrumental", "suno/add_vocals", "suno/cover_audio", "suno/create_mashup", "suno/extend_music",
        "suno/replace_section", "suno/text_to_music"}
    for model in SUNO.split(", "):  # the changes v0.12.2 made to every Suno model, field by field now
        for line in (
            f"~ suno/text_to_music {model} prompt.max_length: 3000 -> 5000",
            f"~ suno/text_to_music {model} lyrics.max_length: null -> 5000",
            f"~ suno/cover_audio {model} style.max_length: null -> 1000",
            f"~ suno/cover_audio {model} title.max_length: null -> 80",
            *(f"~ suno/create_mashup {model} {name}.{bound}" for name in ("style_weight", "weirdness_constraint",
              "audio_weight") for bound in ("minimum: null -> 0", "maximum: null -> 1")),
        ):
            assert line in suno, line
    assert "~ suno/replace_section suno-v5.5 lyrics.max_length: null -> 5000" in suno
    assert "~ suno/replace_section suno-v5.5 full_lyrics.max_length: null -> 5000" in suno
    assert len(suno) == 286
    assert cli.main(["catalog", "diff", str(PREVIOUS), "--against", str(PREVIOUS)]) == 0
    assert capsys.readouterr().out == "no changes\n"


def test_cli_reports_a_file_that_is_not_a_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "contract.json"
    bad.write_text('{"no": "actions"}', "utf-8")
    assert cli.main(["catalog", "import", str(bad)]) == 1
    assert "no `actions` object" in capsys.readouterr().err
    assert cli.main(["catalog", "diff", str(tmp_path / "missing.json")]) == 2


# --- catalog routes (the site's family pages are generated at build time: tests/docs/test_site.py) ---


def test_catalog_routes_prints_every_family_and_action(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["catalog", "routes"]) == 0
    table = capsys.readouterr().out
    assert table == route_table(load_catalog())
    for family, action in load_catalog().actions:
        assert f"`{family}/{action}`" in table
