"""Facts of video results that depend on the request, checked through the official SDKs unmodified: Grok Imagine
extend's `start_seconds` (the source cut there, then the extension; a start past the source's end fails the
task naming the field)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image
from runapi.core import RequestOptions, TaskFailedError
from runapi.grok_imagine import GrokImagineClient

from runapi_contracts.admin import MockAdmin
from runapi_mock import Settings
from runapi_mock.engine.lifecycle import Progression
from runapi_mock.media import frame_at, probe
from runapi_mock.serving.server import RunningServer, serve_in_thread

KEY = "video-facts-key"
SDK = {"api_key": KEY, "retry_base_delay": 0.01, "retry_max_delay": 0.05}


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    running = serve_in_thread(Settings(port=0, progression=Progression.parse("immediate")))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def ns() -> str:
    return f"video-facts-{uuid.uuid4().hex[:12]}"


def _opts(ns: str) -> RequestOptions:
    return RequestOptions(headers={"X-Mock-Namespace": ns})


def _get(url: str) -> httpx.Response:
    response = httpx.get(url, timeout=60)
    assert response.status_code == 200, response.text
    return response


def _distance(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute RGB difference (0-255) of two frames between the caption (top) and the moving strip."""
    w, h = a.size
    box = (0, round(h * 0.3), w, round(h * 0.88))
    x, y = (list(f.convert("RGB").crop(box).resize((64, 20)).getdata()) for f in (a, b))
    return sum(abs(p - q) for pa, pb in zip(x, y, strict=True) for p, q in zip(pa, pb, strict=True)) / (3 * len(x))


@pytest.mark.parametrize(("start", "extension", "expected"), [(3, 6, 9.0), (6, 10, 16.0), (0, 6, 6.0)])
def test_grok_extend_cuts_the_source_at_start_seconds_then_adds_the_extension(
        server: RunningServer, ns: str, start: int, extension: int, expected: float) -> None:
    grok = GrokImagineClient(base_url=server.base_url, **SDK)
    source = grok.text_to_video.run(model="grok-imagine-text-to-video", prompt="a tide pool", duration_seconds=6,
                                    options=_opts(ns))
    assert probe(_get(source.videos[0].url).content).duration_seconds == pytest.approx(6, rel=0.1)
    longer = grok.extensions.run(source_task_id=source.id, prompt="the tide comes in", start_seconds=start,
                                 extension_duration_seconds=extension, options=_opts(ns))
    video, source_video = _get(longer.videos[0].url).content, _get(source.videos[0].url).content
    assert probe(video).duration_seconds == pytest.approx(expected, rel=0.1)
    # Up to the cut the source plays; from it on, the extension (the frame at the cut, in the task's colours).
    if start:
        assert _distance(frame_at(video, start - 0.5), frame_at(source_video, start - 0.5)) < 3
    assert _distance(frame_at(video, start + 0.5), frame_at(source_video, min(start + 0.5, 5.5))) > 10


def test_grok_extend_from_past_the_source_end_fails_naming_start_seconds(server: RunningServer, ns: str) -> None:
    grok = GrokImagineClient(base_url=server.base_url, **SDK)
    source = grok.text_to_video.run(model="grok-imagine-text-to-video", prompt="a tide pool", duration_seconds=6,
                                    options=_opts(ns))
    with pytest.raises(TaskFailedError) as failure:
        grok.extensions.run(source_task_id=source.id, prompt="later", start_seconds=7,
                            extension_duration_seconds=6, options=_opts(ns))
    assert "start_seconds (7)" in str(failure.value) and "lasts 6 s" in str(failure.value), str(failure.value)
    with httpx.Client() as http:
        (failed,) = MockAdmin(http, server.base_url, namespace=ns).tasks(status="failed")
    assert failed["error_code"] == "start_seconds_out_of_range", failed
