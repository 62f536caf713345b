"""runapi-core's files clients, unmodified, against a served mock: FilesClient (RunAPI's uploads, the direct
prepare -> PUT -> confirm flow, the OpenAI-style /v1/files) and Uploads (/v1/uploads). The direct flow PUTs to
an absolute URL with a client of its own, so these need a real loopback server, not the in-process app.
"""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from runapi.core import ConflictError, FilesClient, NotFoundError, ValidationError
from runapi.flux_kontext import FluxKontextClient

from runapi_contracts import validate_response
from runapi_mock.serving.server import RunningServer
from tests.e2e import sdk_support
from tests.e2e.sdk_support import KEY

SMOKE = b"hello from java sdk"


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    yield from sdk_support.serve()


@pytest.fixture
def base_url(server: RunningServer) -> str:
    """A namespace of its own per test, chosen by path as an SDK that cannot add headers does."""
    return f"{server.base_url}/ns/sdk-files-{uuid.uuid4().hex[:12]}"


def conforms(name: str, model: Any) -> Any:
    body = model.to_dict()
    assert validate_response(name, body) == [], body
    return model


def png_file(tmp_path: Path, size: tuple[int, int] = (12, 6)) -> Path:
    path = tmp_path / "photo.png"
    Image.new("RGB", size, (20, 90, 200)).save(path, "PNG")
    return path


def test_create_from_base64_and_from_a_url_on_the_mock(base_url: str) -> None:
    files = sdk_support.closed_after_test(FilesClient(KEY, base_url=base_url))  # the standalone client
    first = conforms("upload", files.create(source=base64.b64encode(SMOKE).decode(), file_name="java-smoke.txt"))
    assert (first.mime_type, first.size_bytes, first.file_name) == ("text/plain", 19, "java-smoke.txt")
    assert first.url.startswith(base_url + "/uploads/") and httpx.get(first.url).content == SMOKE
    again = conforms("upload", files.create(source=first.url))  # a URL string becomes a url source
    assert again.url != first.url and httpx.get(again.url).content == SMOKE
    with pytest.raises(ValidationError, match="is not allowed as a source"):
        files.create(source="https://images.example.com/cat.png")
    with pytest.raises(ValidationError, match="not valid base64"):
        files.create(source="%%% not base64 %%%")


def test_create_a_local_file_runs_prepare_put_confirm(base_url: str, tmp_path: Path) -> None:
    path = png_file(tmp_path)
    client = sdk_support.closed_after_test(FluxKontextClient(api_key=KEY, base_url=base_url))  # .files of one
    made = conforms("upload", client.files.create(file=path))
    assert (made.file_name, made.mime_type, made.size_bytes) == ("photo.png", "image/png", path.stat().st_size)
    served = httpx.get(made.url)
    assert served.headers["content-type"] == "image/png" and served.content == path.read_bytes()
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.size == (12, 6)
    # The uploaded image is a source the mock's own API takes (the URL is on the mock).
    task = client.text_to_image.create(model="flux-kontext-pro", prompt="recolour it", source_image_url=made.url)
    assert task.id


def test_openai_files(base_url: str, tmp_path: Path) -> None:
    files = sdk_support.closed_after_test(FluxKontextClient(api_key=KEY, base_url=base_url)).files
    path = png_file(tmp_path)
    made = conforms("file_object", files.create_file(path, purpose="vision"))
    assert (made.object, made.filename, made.purpose, made.bytes) == ("file", "photo.png", "vision",
                                                                      path.stat().st_size)
    text = tmp_path / "notes.txt"
    text.write_bytes(SMOKE)
    other = files.create_file(text)
    listing = conforms("file_list", files.list(limit=1, order="asc"))
    assert [f.id for f in listing.data] == [made.id] and listing.has_more is True
    assert [f.id for f in files.list(purpose="user_data").data] == [other.id]
    assert conforms("file_object", files.retrieve(made.id)).filename == "photo.png"
    assert files.content(other.id) == SMOKE
    deleted = conforms("deleted_file", files.delete_file(made.id))
    assert deleted.deleted is True and deleted.id == made.id
    with pytest.raises(NotFoundError):
        files.retrieve(made.id)


def test_openai_uploads(base_url: str, tmp_path: Path) -> None:
    uploads = sdk_support.closed_after_test(FluxKontextClient(api_key=KEY, base_url=base_url)).uploads
    data = (tmp_path / "photo.png")
    Image.new("RGB", (40, 40), (5, 5, 5)).save(data, "PNG")
    whole = data.read_bytes()
    halves = [tmp_path / "a", tmp_path / "b"]
    halves[0].write_bytes(whole[:50])
    halves[1].write_bytes(whole[50:])
    session = conforms("upload_object", uploads.create(bytes=len(whole), filename="photo.png",
                                                       mime_type="image/png"))
    assert session.status == "pending"
    parts = [conforms("upload_part", uploads.add_part(session.id, half)) for half in halves]
    with pytest.raises(ConflictError, match="add up to 50 bytes"):  # the upload's parts, not the request: a 409
        uploads.complete(session.id, [parts[0].id])
    done = conforms("upload_object", uploads.complete(session.id, [p.id for p in parts]))
    assert done.status == "completed" and done.file.bytes == len(whole) and done.file.filename == "photo.png"
    assert httpx.get(done.file.url).content == whole
    other = uploads.create(bytes=3, filename="x.txt", mime_type="text/plain")
    assert conforms("upload_object", uploads.cancel(other.id)).status == "cancelled"


def test_the_java_smoke_upload_against_serve_with_no_flags() -> None:
    """RunAPI's LocalRunApiSmokeTest expectation, against `runapi-mock serve` as started with nothing set
    (only the port comes from the environment: 0, a free one, since 8787 may be taken)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("RUNAPI_")}
    env.update(PYTHONUNBUFFERED="1", RUNAPI_MOCK_PORT="0")
    process = subprocess.Popen([sys.executable, "-m", "runapi_mock", "serve"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith("runapi-mock serving on http://127.0.0.1:"), banner
        files = sdk_support.closed_after_test(FilesClient("runapi_test_token", base_url=banner.split()[3]))
        made = files.create(source=base64.b64encode(SMOKE).decode(), file_name="java-smoke.txt")
        assert (made.mime_type, made.size_bytes) == ("text/plain", 19) and made.url
        assert httpx.get(made.url).content == SMOKE
    finally:
        process.terminate()
        process.wait(timeout=15)
        process.stdout.close()  # an open pipe warns when collected (PytestUnraisableExceptionWarning)
