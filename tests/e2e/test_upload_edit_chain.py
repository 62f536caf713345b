"""The upload-then-edit flow with the official SDKs, unmodified: upload a local PNG through the files client,
edit it by its returned URL, download the result and see the upload in it; the same edit of a deleted or expired
upload ends `failed` with an error that says why."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from PIL import Image
from runapi.core import RequestOptions, TaskFailedError
from runapi.gpt_image_2 import GptImage2Client

from runapi_contracts.admin import MockAdmin
from runapi_mock import Settings
from runapi_mock.serving.server import RunningServer
from tests.e2e import sdk_support


def _client(server: RunningServer) -> GptImage2Client:
    return sdk_support.client(GptImage2Client, server.base_url)


def _checkerboard(path: Path) -> Image.Image:
    """A source no generated placeholder looks like: a 4x3 checkerboard of saturated red and blue, 800x600."""
    image = Image.new("RGB", (800, 600))
    for x in range(4):
        for y in range(3):
            colour = (230, 20, 20) if (x + y) % 2 else (20, 20, 230)
            image.paste(colour, (x * 200, y * 200, (x + 1) * 200, (y + 1) * 200))
    image.save(path, format="PNG")
    return image


def _download(url: str) -> Image.Image:
    return sdk_support.image(sdk_support.download(url).content).convert("RGB")


def _likeness(a: Image.Image, b: Image.Image) -> float:
    """Correlation of red-minus-blue over a 64x48 grid: 1 when b's checkerboard is there, whatever a tint adds."""
    def signal(image: Image.Image) -> list[float]:
        return [float(r - bl) for r, _, bl in image.resize((64, 48)).getdata()]
    x, y = signal(a), signal(b)
    mx, my = sum(x) / len(x), sum(y) / len(y)
    cov = sum((p - mx) * (q - my) for p, q in zip(x, y, strict=True))
    spread = (sum((p - mx) ** 2 for p in x) * sum((q - my) ** 2 for q in y)) ** 0.5
    return cov / spread if spread else 0.0


def test_an_uploaded_png_edited_by_its_url_comes_back_derived_from_it(server: RunningServer, opts: RequestOptions,
                                                                     tmp_path: Path) -> None:
    source = _checkerboard(tmp_path / "board.png")
    client = _client(server)
    upload = client.files.create(file=str(tmp_path / "board.png"), options=opts)  # prepare, PUT, confirm
    assert upload.mime_type == "image/png" and upload.url.startswith(server.base_url + "/")

    edited = client.edit_image.run(model="gpt-image-2", prompt="make it warmer", source_image_urls=[upload.url],
                                   options=opts)
    assert edited.status == "completed"
    result = _download(edited.images[0].url)
    plain = client.text_to_image.run(model="gpt-image-2", prompt="make it warmer", options=opts)
    unrelated = _download(plain.images[0].url)
    # The edit shows the checkerboard (under its tint and caption); a text-to-image render of the prompt does not.
    assert _likeness(result, source) > 0.6, _likeness(result, source)
    assert abs(_likeness(unrelated, source)) < 0.3, _likeness(unrelated, source)
    assert abs(result.width / result.height - 4 / 3) < 0.05  # the source's aspect ratio, left open by the request


@pytest.mark.parametrize("how", ["deleted", "expired"])
def test_an_edit_of_a_deleted_or_expired_upload_fails_with_a_clear_error(server: RunningServer, ns: str,
                                                                         opts: RequestOptions, tmp_path: Path,
                                                                         how: str) -> None:
    _checkerboard(tmp_path / "board.png")
    client = _client(server)
    upload = client.files.create(file=str(tmp_path / "board.png"), options=opts)
    with httpx.Client() as http:
        _spoil(MockAdmin(http, server.base_url, namespace=ns), upload.url, how)
    assert httpx.get(upload.url).status_code == {"deleted": 404, "expired": 410}[how]

    with pytest.raises(TaskFailedError) as failure:
        client.edit_image.run(model="gpt-image-2", prompt="make it warmer", source_image_urls=[upload.url],
                              options=opts)
    message = str(failure.value)
    assert "source_image_urls[0]" in message and upload.url in message, message
    with httpx.Client() as http:
        (failed,) = MockAdmin(http, server.base_url, namespace=ns).tasks(status="failed")
    assert failed["error_code"] == "source_image_unavailable", failed


def _spoil(admin: MockAdmin, url: str, how: str) -> None:
    if how == "deleted":
        (found,) = [u for u in admin.uploads() if u["url"] == url]
        admin.delete_upload(found["id"])
    else:
        admin.advance(Settings().file_ttl_seconds + 1)  # uploads expire like generated files
