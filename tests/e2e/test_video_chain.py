"""A video made from the mock's own files, step by step, with the official SDKs unmodified: text_to_image ->
image_to_video from that image (its first frame shows it) -> extend (longer by what was asked) -> upscale
(bigger by the factor); an uploaded MP4 is a source like any other, and a deleted one fails the task naming
its field."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from PIL import Image
from runapi.core import RequestOptions, TaskFailedError
from runapi.gpt_image_2 import GptImage2Client
from runapi.pixverse import PixVerseClient
from runapi.topaz import TopazClient

from runapi_contracts.admin import MockAdmin
from runapi_mock.media import frame_at, probe
from runapi_mock.serving.server import RunningServer
from tests.e2e import sdk_support


def _get(url: str) -> bytes:
    return sdk_support.download(url).content


def _distance(frame: Image.Image, still: Image.Image) -> float:
    """Mean absolute RGB difference (0-255) between a video frame and an image, over the band the frame's own
    caption (top) and moving strip (bottom) leave uncovered, both scaled to the same 64x36 grid."""
    def band(image: Image.Image) -> list[int]:
        w, h = image.size
        return [v for pixel in image.crop((0, round(h * 0.3), w, round(h * 0.88))).resize((64, 20)).getdata()
                for v in pixel]
    a, b = band(frame.convert("RGB")), band(still.convert("RGB"))
    return sum(abs(p - q) for p, q in zip(a, b, strict=True)) / len(a)


def test_image_to_video_then_extend_then_upscale(server: RunningServer, opts: RequestOptions) -> None:
    images = sdk_support.client(GptImage2Client, server.base_url)
    pixverse = sdk_support.client(PixVerseClient, server.base_url)
    topaz = sdk_support.client(TopazClient, server.base_url)

    picture = images.text_to_image.run(model="gpt-image-2", prompt="a lighthouse at dusk", aspect_ratio="16:9",
                                       options=opts)
    still = sdk_support.image(_get(picture.images[0].url)).convert("RGB")

    common = {"model": "pixverse-v6", "prompt": "the beam sweeps", "output_resolution": "360p"}
    clip = pixverse.image_to_video.run(first_frame_image_url=picture.images[0].url, duration_seconds=2,
                                       options=opts, **common)
    made = _get(clip.videos[0].url)
    plain = pixverse.text_to_video.run(duration_seconds=2, aspect_ratio="16:9", options=opts, **common)
    # The first frame shows the image (below the clip's caption); a text-to-video clip's first frame does not.
    first, other = frame_at(made, 0.0), frame_at(_get(plain.videos[0].url), 0.0)
    assert _distance(first, still) < 20, _distance(first, still)
    assert _distance(other, still) > 2 * _distance(first, still), (_distance(other, still), _distance(first, still))
    info = probe(made)
    assert (info.codec, info.duration_seconds) == ("h264", 2.0)

    longer = pixverse.extend_video.run(source_task_id=clip.id, duration_seconds=3, options=opts, **common)
    extended = probe(_get(longer.videos[0].url))
    assert extended.duration_seconds == pytest.approx(info.duration_seconds + 3, abs=0.05)
    assert (extended.width, extended.height) == (info.width, info.height)
    assert longer.to_dict().get("source_task_id") == clip.id  # the SDK's echo member

    bigger = topaz.upscale_video.run(model="topaz-upscale-video", source_video_url=longer.videos[0].url,
                                     upscale_factor=2, options=opts)
    upscaled = probe(_get(bigger.videos[0].url))
    assert (upscaled.width, upscaled.height) == (2 * extended.width, 2 * extended.height)
    assert upscaled.duration_seconds == pytest.approx(extended.duration_seconds, abs=0.05)


def test_an_uploaded_mp4_is_a_source_until_it_is_deleted(server: RunningServer, ns: str, opts: RequestOptions,
                                                           tmp_path: Path) -> None:
    pixverse = sdk_support.client(PixVerseClient, server.base_url)
    topaz = sdk_support.client(TopazClient, server.base_url)
    clip = pixverse.text_to_video.run(model="pixverse-v6", prompt="waves", output_resolution="360p", aspect_ratio="4:3",
                                      duration_seconds=1, options=opts)
    (tmp_path / "waves.mp4").write_bytes(_get(clip.videos[0].url))
    upload = topaz.files.create(file=str(tmp_path / "waves.mp4"), options=opts)
    assert upload.mime_type == "video/mp4"

    done = topaz.upscale_video.run(model="topaz-upscale-video", source_video_url=upload.url, upscale_factor=4,
                                   options=opts)
    source, result = probe((tmp_path / "waves.mp4").read_bytes()), probe(_get(done.videos[0].url))
    assert (result.width, result.height, result.duration_seconds) == \
        (4 * source.width, 4 * source.height, source.duration_seconds)

    with httpx.Client() as http:
        admin = MockAdmin(http, server.base_url, namespace=ns)
        (found,) = [u for u in admin.uploads() if u["url"] == upload.url]
        admin.delete_upload(found["id"])
    with pytest.raises(TaskFailedError) as failure:
        topaz.upscale_video.run(model="topaz-upscale-video", source_video_url=upload.url, options=opts)
    assert "source_video_url" in str(failure.value) and upload.url in str(failure.value), str(failure.value)
    with httpx.Client() as http:
        (failed,) = MockAdmin(http, server.base_url, namespace=ns).tasks(status="failed")
    assert failed["error_code"] == "source_video_unavailable", failed


def test_an_unknown_source_task_fails_naming_the_field(server: RunningServer, opts: RequestOptions) -> None:
    pixverse = sdk_support.client(PixVerseClient, server.base_url)
    with pytest.raises(TaskFailedError) as failure:
        pixverse.extend_video.run(model="pixverse-v6", prompt="more", output_resolution="360p", duration_seconds=1,
                                  source_task_id=str(uuid.uuid4()), options=opts)
    assert "source_task_id" in str(failure.value), str(failure.value)
