"""Facts of video results that depend on the request, checked through the official SDKs unmodified: Seedance's
`last_frame_image_url` (a PNG of the video's last frame, when `return_last_frame` asks for it) and Grok Imagine
extend's `start_seconds` (the source cut there, then the extension; a start past the source's end fails the
task naming the field)."""

from __future__ import annotations

import importlib
import math
import re

import httpx
import pytest
from PIL import Image
from runapi.core import RequestOptions, TaskFailedError
from runapi.core.models import BaseModel, Field
from runapi.grok_imagine import GrokImagineClient
from runapi.seedance import SeedanceClient

from runapi_contracts import load_catalog
from runapi_contracts.admin import MockAdmin
from runapi_mock.media import frame_at, probe
from runapi_mock.serving.server import RunningServer
from tests.e2e.sdk_support import client, download, image

SEEDANCE = {"model": "seedance-2.5", "prompt": "a red kite over dunes", "duration_seconds": 4,
            "output_resolution": "480p", "aspect_ratio": "16:9", "generate_audio": False}


def _grey(image: Image.Image) -> list[int]:
    return list(image.convert("L").resize((160, 90)).getdata())


def _correlation(a: Image.Image, b: Image.Image) -> float:
    """Pearson's r of two pictures' grey levels on a 160x90 grid (1: the same picture up to brightness)."""
    x, y = _grey(a), _grey(b)
    mx, my = sum(x) / len(x), sum(y) / len(y)
    cov = sum((p - mx) * (q - my) for p, q in zip(x, y, strict=True))
    spread = math.sqrt(sum((p - mx) ** 2 for p in x) * sum((q - my) ** 2 for q in y))
    return cov / spread if spread else 0.0


def _distance(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute RGB difference (0-255) of two frames between the caption (top) and the moving strip."""
    w, h = a.size
    box = (0, round(h * 0.3), w, round(h * 0.88))
    x, y = (list(f.convert("RGB").crop(box).resize((64, 20)).getdata()) for f in (a, b))
    return sum(abs(p - q) for pa, pb in zip(x, y, strict=True) for p, q in zip(pa, pb, strict=True)) / (3 * len(x))


def _strip(image: Image.Image) -> Image.Image:
    """The bottom eighth of a frame: the moving strip (progress bar, marker, timestamp), unlike in each frame."""
    w, h = image.size
    return image.crop((0, h - h // 8, w, h))


def test_seedance_last_frame_is_a_png_of_the_videos_last_frame(server: RunningServer, opts: RequestOptions) -> None:
    seedance = client(SeedanceClient, server.base_url)
    done = seedance.text_to_video.run(**SEEDANCE, return_last_frame=True, options=opts)
    assert isinstance(done.last_frame_image_url, str)
    served = download(done.last_frame_image_url)
    assert served.headers["content-type"] == "image/png"
    still = image(served.content)
    assert still.format == "PNG"
    video = download(done.videos[0].url).content
    info = probe(video)
    assert still.size == (info.width, info.height) == (854, 480)
    last, first = frame_at(video, info.duration_seconds), frame_at(video, 0.0)
    assert _correlation(still, last) > 0.98
    # The strip moves each frame: the still's is the last frame's, not the first's.
    assert _correlation(_strip(still), _strip(last)) > 0.95
    assert _correlation(_strip(still), _strip(first)) < _correlation(_strip(still), _strip(last)) - 0.1
    again = seedance.text_to_video.get(done.id, options=opts)
    assert again.last_frame_image_url == done.last_frame_image_url
    assert download(done.last_frame_image_url).content == served.content  # deterministic per task


def test_seedance_lists_no_last_frame_unless_asked(server: RunningServer, opts: RequestOptions) -> None:
    seedance = client(SeedanceClient, server.base_url)
    done = seedance.text_to_video.run(**SEEDANCE, options=opts)
    assert done.last_frame_image_url is None
    assert "last_frame_image_url" not in done.to_dict()


def test_a_last_frame_is_served_only_for_a_video_file_the_task_has(
        server: RunningServer, opts: RequestOptions) -> None:
    seedance = client(SeedanceClient, server.base_url)
    done = seedance.text_to_video.run(**SEEDANCE, return_last_frame=True, options=opts)
    base = done.last_frame_image_url.rsplit("/", 1)[0]
    assert httpx.get(f"{base}/1.last.png").status_code == 404  # one video: no file 1
    assert httpx.get(f"{base}/x.last.png").status_code == 404


@pytest.mark.parametrize(("start", "extension", "expected"), [(3, 6, 9.0), (6, 10, 16.0), (0, 6, 6.0)])
def test_grok_extend_cuts_the_source_at_start_seconds_then_adds_the_extension(
        server: RunningServer, opts: RequestOptions, start: int, extension: int, expected: float) -> None:
    grok = client(GrokImagineClient, server.base_url)
    source = grok.text_to_video.run(model="grok-imagine-text-to-video", prompt="a tide pool", duration_seconds=6,
                                    options=opts)
    assert probe(download(source.videos[0].url).content).duration_seconds == pytest.approx(6, rel=0.1)
    longer = grok.extensions.run(source_task_id=source.id, prompt="the tide comes in", start_seconds=start,
                                 extension_duration_seconds=extension, options=opts)
    video, source_video = download(longer.videos[0].url).content, download(source.videos[0].url).content
    assert probe(video).duration_seconds == pytest.approx(expected, rel=0.1)
    # Up to the cut the source plays; from it on, the extension (the frame at the cut, in the task's colours).
    if start:
        assert _distance(frame_at(video, start - 0.5), frame_at(source_video, start - 0.5)) < 3
    assert _distance(frame_at(video, start + 0.5), frame_at(source_video, min(start + 0.5, 5.5))) > 10


def test_grok_extend_from_past_the_source_end_fails_naming_start_seconds(
        server: RunningServer, ns: str, opts: RequestOptions) -> None:
    grok = client(GrokImagineClient, server.base_url)
    source = grok.text_to_video.run(model="grok-imagine-text-to-video", prompt="a tide pool", duration_seconds=6,
                                    options=opts)
    with pytest.raises(TaskFailedError) as failure:
        grok.extensions.run(source_task_id=source.id, prompt="later", start_seconds=7,
                            extension_duration_seconds=6, options=opts)
    assert "start_seconds (7)" in str(failure.value) and "lasts 6 s" in str(failure.value), str(failure.value)
    with httpx.Client() as http:
        (failed,) = MockAdmin(http, server.base_url, namespace=ns).tasks(status="failed")
    assert failed["error_code"] == "start_seconds_out_of_range", failed


def _size_fields(module: object) -> list[str]:
    """`Class.field` of every response field a runapi types module declares whose name speaks of a file size."""
    found = []
    for cls in vars(module).values():
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            found += [f"{cls.__name__}.{name}" for name, value in vars(cls).items()
                      if isinstance(value, Field) and re.search(r"byte|file_?size|^size$", name)]
    return sorted(found)


def test_no_video_sdk_types_a_file_size() -> None:
    """The mock lists no file size for videos because no video SDK's result types have one (runapi-* as pinned
    by the `sdks` extra). An SDK that gains one needs the true size of the served file: this fails then."""
    assert _size_fields(importlib.import_module("runapi.fish_audio.types")) == ["Audio.size_bytes"]  # it detects
    families = sorted({model.family for model in load_catalog().models() if model.kind == "video"})
    assert len(families) >= 19
    found = {family: _size_fields(importlib.import_module(f"runapi.{family}.types")) for family in families}
    assert {family: fields for family, fields in found.items() if fields} == {}
