"""A video made from the mock's own files, step by step, with the official SDKs unmodified: text_to_image ->
image_to_video from that image (its first frame shows it) -> extend (longer by what was asked) -> upscale
(bigger by the factor); an uploaded MP4 is a source like any other, and a deleted one fails the task naming
its field."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from runapi.core import RequestOptions, TaskFailedError
from runapi.gpt_image_2 import GptImage2Client
from runapi.pixverse import PixVerseClient
from runapi.topaz import TopazClient

from runapi_contracts.admin import MockAdmin
from runapi_mock import Settings
from runapi_mock.lifecycle import Progression
from runapi_mock.media import frame_at, probe
from runapi_mock.server import RunningServer, serve_in_thread

KEY = "video-chain-key"
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
    return f"video-chain-{uuid.uuid4().hex[:12]}"


def _opts(ns: str) -> RequestOptions:
    return RequestOptions(headers={"X-Mock-Namespace": ns})


def _get(url: str) -> bytes:
    response = httpx.get(url, timeout=60)
    assert response.status_code == 200, response.text
    return response.content


def _likeness(a: Image.Image, b: Image.Image) -> float:
    """Correlation of the grey levels over a 48x27 grid: near 1 when one picture is the other under a caption."""
    def signal(image: Image.Image) -> list[float]:
        return [float(v) for v in image.convert("L").resize((48, 27)).getdata()]
    x, y = signal(a), signal(b)
    mx, my = sum(x) / len(x), sum(y) / len(y)
    cov = sum((p - mx) * (q - my) for p, q in zip(x, y, strict=True))
    spread = (sum((p - mx) ** 2 for p in x) * sum((q - my) ** 2 for q in y)) ** 0.5
    return cov / spread if spread else 0.0


def test_image_to_video_then_extend_then_upscale(server: RunningServer, ns: str) -> None:
    images = GptImage2Client(base_url=server.base_url, **SDK)  # type: ignore[arg-type]
    pixverse = PixVerseClient(base_url=server.base_url, **SDK)  # type: ignore[arg-type]
    topaz = TopazClient(base_url=server.base_url, **SDK)  # type: ignore[arg-type]

    picture = images.text_to_image.run(model="gpt-image-2", prompt="a lighthouse at dusk", aspect_ratio="16:9",
                                       options=_opts(ns))
    still = Image.open(io.BytesIO(_get(picture.images[0].url))).convert("RGB")

    common = {"model": "pixverse-v6", "prompt": "the beam sweeps", "output_resolution": "360p"}
    clip = pixverse.image_to_video.run(first_frame_image_url=picture.images[0].url, duration_seconds=2,
                                       options=_opts(ns), **common)
    made = _get(clip.videos[0].url)
    plain = pixverse.text_to_video.run(duration_seconds=2, aspect_ratio="16:9", options=_opts(ns), **common)
    # The first frame shows the image (under the clip's caption); a text-to-video clip's first frame does not.
    first, other = frame_at(made, 0.0), frame_at(_get(plain.videos[0].url), 0.0)
    assert _likeness(first, still) > 0.6, _likeness(first, still)
    assert _likeness(other, still) < _likeness(first, still) - 0.3, (_likeness(other, still), _likeness(first, still))
    info = probe(made)
    assert (info.codec, info.duration_seconds) == ("h264", 2.0)

    longer = pixverse.extend_video.run(source_task_id=clip.id, duration_seconds=3, options=_opts(ns), **common)
    extended = probe(_get(longer.videos[0].url))
    assert extended.duration_seconds == pytest.approx(info.duration_seconds + 3, abs=0.05)
    assert (extended.width, extended.height) == (info.width, info.height)
    assert longer.to_dict().get("source_task_id") == clip.id  # the SDK's echo member

    bigger = topaz.upscale_video.run(model="topaz-upscale-video", source_video_url=longer.videos[0].url,
                                     upscale_factor=2, options=_opts(ns))
    upscaled = probe(_get(bigger.videos[0].url))
    assert (upscaled.width, upscaled.height) == (2 * extended.width, 2 * extended.height)
    assert upscaled.duration_seconds == pytest.approx(extended.duration_seconds, abs=0.05)


def test_an_uploaded_mp4_is_a_source_until_it_is_deleted(server: RunningServer, ns: str, tmp_path: Path) -> None:
    pixverse = PixVerseClient(base_url=server.base_url, **SDK)  # type: ignore[arg-type]
    topaz = TopazClient(base_url=server.base_url, **SDK)  # type: ignore[arg-type]
    clip = pixverse.text_to_video.run(model="pixverse-v6", prompt="waves", output_resolution="360p", aspect_ratio="4:3",
                                      duration_seconds=1, options=_opts(ns))
    (tmp_path / "waves.mp4").write_bytes(_get(clip.videos[0].url))
    upload = topaz.files.create(file=str(tmp_path / "waves.mp4"), options=_opts(ns))
    assert upload.mime_type == "video/mp4"

    done = topaz.upscale_video.run(model="topaz-upscale-video", source_video_url=upload.url, upscale_factor=4,
                                   options=_opts(ns))
    source, result = probe((tmp_path / "waves.mp4").read_bytes()), probe(_get(done.videos[0].url))
    assert (result.width, result.height, result.duration_seconds) == \
        (4 * source.width, 4 * source.height, source.duration_seconds)

    with httpx.Client() as http:
        admin = MockAdmin(http, server.base_url, namespace=ns)
        (found,) = [u for u in admin.uploads() if u["url"] == upload.url]
        admin.delete_upload(found["id"])
    with pytest.raises(TaskFailedError) as failure:
        topaz.upscale_video.run(model="topaz-upscale-video", source_video_url=upload.url, options=_opts(ns))
    assert "source_video_url" in str(failure.value) and upload.url in str(failure.value), str(failure.value)
    with httpx.Client() as http:
        (failed,) = MockAdmin(http, server.base_url, namespace=ns).tasks(status="failed")
    assert failed["error_code"] == "source_video_unavailable", failed


def test_an_unknown_source_task_fails_naming_the_field(server: RunningServer, ns: str) -> None:
    pixverse = PixVerseClient(base_url=server.base_url, **SDK)  # type: ignore[arg-type]
    with pytest.raises(TaskFailedError) as failure:
        pixverse.extend_video.run(model="pixverse-v6", prompt="more", output_resolution="360p", duration_seconds=1,
                                  source_task_id=str(uuid.uuid4()), options=_opts(ns))
    assert "source_task_id" in str(failure.value), str(failure.value)
