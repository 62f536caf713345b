"""Which request fields are source images, and which one an action's output is derived from: catalog data the
importer writes from the overlay's conventions, so a new family needs no code."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from runapi_contracts import load_catalog
from runapi_contracts.catalog import parse_catalog
from runapi_contracts.importer import import_file, load_overlay

MINI = Path(__file__).resolve().parents[2] / "fixtures" / "contracts"


def _mini_overlay(**conventions: Any) -> dict[str, Any]:
    """The mini overlay with the upscaler selected (it shows `exclude` elsewhere) and `conventions` added."""
    overlay: dict[str, Any] = json.loads((MINI / "mini-overlay.json").read_text("utf-8"))
    overlay["selection"]["exclude"] = {}
    overlay.setdefault("conventions", {}).update(conventions)
    return overlay


def test_a_new_family_gets_its_image_inputs_and_primary_source_from_the_conventions() -> None:
    images = copy.deepcopy(load_overlay()["conventions"]["image_inputs"])
    catalog = parse_catalog(import_file(MINI / "mini-contract.json", _mini_overlay(image_inputs=images)))
    upscale = catalog.action("acme_vision", "upscale_image")
    text = catalog.action("acme_vision", "text_to_image")
    assert upscale is not None and text is not None
    assert upscale.models["acme-upscale"].source_fields == ("source_image_url",)
    assert upscale.models["acme-upscale"].source_field == "source_image_url"
    # reference images are read (and checked) but never what the output is derived from; the callback is no image
    assert text.models["acme-vision-1"].source_fields == ("reference_image_urls",)
    assert text.models["acme-vision-1"].source_field is None
    # without the convention nothing is marked: the mini catalog stays as committed
    plain = parse_catalog(import_file(MINI / "mini-contract.json", _mini_overlay()))
    assert all(m.source_fields == () and m.source_field is None for m in plain.models())


def test_an_actions_own_output_source_overrides_the_convention() -> None:
    overlay = _mini_overlay(image_inputs=copy.deepcopy(load_overlay()["conventions"]["image_inputs"]))
    overlay["actions"].setdefault("acme-vision/upscale-image", {}).setdefault("output", {})["source"] = None
    catalog = parse_catalog(import_file(MINI / "mini-contract.json", overlay))
    upscale = catalog.action("acme_vision", "upscale_image")
    assert upscale is not None and upscale.models["acme-upscale"].source_field is None


def test_every_catalog_url_but_the_callback_is_a_source() -> None:
    for model in load_catalog().models():
        urls = [name for name, spec in model.fields.items()
                if spec.get("format") == "http-url" or spec.get("items", {}).get("format") == "http-url"]
        named = [name for name in model.source_fields if name not in urls]  # task refs (source_task_id)
        assert [name for name in model.source_fields if name in urls] == [n for n in urls if n != "callback_url"]
        for name in named:  # the other sources name something of the mock's own: a task, a song, a voice
            media = str(model.media(name))
            if media.startswith("song:"):  # Suno's audio_id: a song of the task the named field refers to
                assert str(model.media(media[len("song:"):])).startswith("task:"), (model.name, name)
            elif media == "voice":  # a persona or voice id: an account resource (engine/resources.py)
                assert model.fields[name]["type"] == "string", (model.name, name)
            elif name == "upload_url_list":  # URLs the contract leaves untyped (no items format): audio files
                assert model.fields[name]["type"] == "array" and media == "audio", model.name
            else:
                assert media.startswith("task:"), (model.name, name)
        assert model.source_field is None or model.source_field in model.source_fields, model.name
        if model.kind == "image":  # every image action's sources are images
            assert {model.media(name) for name in urls if name != "callback_url"} <= {"image"}, model.name


def test_video_sources_name_their_media_kind() -> None:
    kling = load_catalog().action("kling", "edit_video").models["kling-v3-omni-edit"]  # type: ignore[union-attr]
    assert (kling.media("source_video_url"), kling.media("source_task_id")) == ("video", "task:video")
    assert kling.media("reference_image_urls") == "image" and kling.media("prompt") is None
    talk = load_catalog().action("infinitetalk", "audio_to_video").models["infinitetalk-from-audio"]  # type: ignore[union-attr]
    assert (talk.media("source_audio_url"), talk.media("source_image_url")) == ("audio", "image")


def test_a_known_source_shapes_the_output_within_bounds() -> None:
    catalog = load_catalog()
    edit = catalog.action("qwen_image", "edit_image").models["qwen-image-edit-image"]  # type: ignore[union-attr]
    body = {"model": edit.name, "prompt": "x", "source_image_url": "http://127.0.0.1/uploads/d/u/a.png"}
    assert (edit.output(body).width, edit.output(body).height) == (1024, 1024)  # unknown source: as before
    assert (edit.output(body, (300, 200)).width, edit.output(body, (300, 200)).height) == (1024, 680)
    chosen = edit.output({**body, "aspect_ratio": "9:16"}, (300, 200))
    assert (chosen.width, chosen.height) == (576, 1024)  # a ratio the client sent is the client's choice
    upscale = catalog.action("topaz", "upscale_image").models["topaz-upscale-image"]  # type: ignore[union-attr]
    big = upscale.output({"model": upscale.name, "source_image_url": "x", "upscale_factor": 4}, (3000, 2000))
    assert (big.width, big.height) == (4096, 2728)  # 12000 px cut down to max_long_side
