"""Contract v0.12.2 through the newest official SDKs, unmodified (`base_url=`), against a served mock.

runapi-grok-imagine 0.3.0 sends Image 2.0 edits as 1-5 `source_image_urls` with an `aspect_ratio`, and segment
maps by `image_url`; the v0.12.0 shapes (an edit of a segment-map task, a segment map of a task) are refused as
v0.12.2 says, and Topaz's 8x, which v0.12.2 removed, is refused too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from runapi.core import RequestOptions, ValidationError
from runapi.grok_imagine import GrokImagineClient
from runapi.topaz import TopazClient

from runapi_contracts import load_catalog
from runapi_mock.serving.server import RunningServer
from tests.e2e import sdk_support

SOURCE = "https://example.com/source.png"


def _grok(server: RunningServer) -> GrokImagineClient:
    return sdk_support.client(GrokImagineClient, server.base_url)


def _size(url: str) -> tuple[int, int]:
    return sdk_support.image(sdk_support.download(url).content).size


def _refusal(call: Any, **params: Any) -> dict[str, Any]:
    """The 422's `errors` (field -> messages) the SDK raises for `params`."""
    with pytest.raises(ValidationError) as caught:
        call(**params)
    assert caught.value.status == 422
    errors: dict[str, Any] = caught.value.details["errors"]
    return errors


def test_image_2_0_edit_of_source_image_urls_with_an_aspect_ratio_completes(server: RunningServer,
                                                                            opts: RequestOptions) -> None:
    client = _grok(server)
    result = client.edit_image.run(model="grok-imagine-image-2-0", source_image_urls=[SOURCE, SOURCE],
                                   aspect_ratio="16:9", prompt="make it dusk", options=opts)
    assert result.status == "completed" and len(result.images) == 1
    assert _size(result.images[0].url) == (1024, 576)
    square = client.edit_image.run(model="grok-imagine-image-2-0", source_image_urls=[SOURCE], aspect_ratio="1:1",
                                   options=opts)  # prompt is optional since v0.12.2
    assert square.status == "completed" and _size(square.images[0].url) == (1024, 1024)


def test_segment_map_of_an_uploaded_image_url_completes_with_segments_of_its_shape(
        server: RunningServer, opts: RequestOptions, tmp_path: Path) -> None:
    client = _grok(server)
    Image.new("RGB", (600, 400), (200, 40, 40)).save(tmp_path / "scene.png", format="PNG")
    upload = client.files.create(file=str(tmp_path / "scene.png"), options=opts)
    body = {"model": "grok-imagine-image-2-0", "image_url": upload.url}
    result = client.segment_map.run(options=opts, **body)
    assert result.status == "completed"
    expected = load_catalog().actions[("grok_imagine", "segment_map")].models["grok-imagine-image-2-0"].output(
        body, (600, 400))
    segments = result.to_dict()["segments"]
    assert [segment["index"] for segment in segments] == list(range(1, expected.count + 1))
    assert {_size(segment["url"]) for segment in segments} == {(expected.width, expected.height)}
    assert (expected.width, expected.height) == (1024, 680)  # the source's 3:2 (sides in steps of 8), not a square


def test_segment_map_still_takes_a_source_task_id(server: RunningServer, opts: RequestOptions) -> None:
    client = _grok(server)
    made = client.text_to_image.run(model="grok-imagine-image-2-0", prompt="a harbour", aspect_ratio="1:1",
                                    options=opts)
    result = client.segment_map.run(model="grok-imagine-image-2-0", source_task_id=made.id, options=opts)
    assert result.status == "completed" and result.to_dict()["segments"]


def test_the_v0_12_0_shapes_are_refused_as_v0_12_2_says(server: RunningServer, opts: RequestOptions) -> None:
    client = _grok(server)
    edit = client.edit_image.create
    old_edit = _refusal(edit, model="grok-imagine-image-2-0", source_task_id="a" * 8, mask_indices=[1],
                        prompt="make it dusk", options=opts)
    assert set(old_edit) == {"source_task_id", "mask_indices", "source_image_urls", "aspect_ratio"}
    assert old_edit["source_task_id"] == ["source_task_id is not allowed when model is grok-imagine-image-2-0"]
    assert old_edit["aspect_ratio"] == ["aspect_ratio is required"]
    assert set(_refusal(edit, model="grok-imagine-image-2-0", source_image_urls=[SOURCE] * 6, aspect_ratio="1:1",
                        options=opts)) == {"source_image_urls"}  # one to five
    assert set(_refusal(edit, model="grok-imagine-edit-image", source_image_url=SOURCE, aspect_ratio="1:1",
                        options=opts)) == {"aspect_ratio"}  # the legacy model takes no ratio
    segment = client.segment_map.create
    both = _refusal(segment, model="grok-imagine-image-2-0", image_url=SOURCE, source_task_id="a" * 8,
                    options=opts)
    assert both == {"image_url": ["image_url not allowed when source_task_id is set"],
                    "source_task_id": ["source_task_id not allowed when image_url is set"]}
    assert _refusal(segment, model="grok-imagine-image-2-0", options=opts) == {
        "image_url": ["one of image_url, source_task_id required"]}


def test_topaz_8x_is_refused_and_4x_completes(server: RunningServer, opts: RequestOptions) -> None:
    client = sdk_support.client(TopazClient, server.base_url)
    errors = _refusal(client.upscale_image.create, model="topaz-upscale-image", source_image_url=SOURCE,
                      upscale_factor=8, options=opts)
    assert errors == {"upscale_factor": ["upscale_factor must be one of: 1, 2, 4"]}
    result = client.upscale_image.run(model="topaz-upscale-image", source_image_url=SOURCE, upscale_factor=4,
                                      options=opts)
    assert result.status == "completed" and _size(result.images[0].url) == (2048, 2048)
