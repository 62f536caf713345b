"""The files API in-process: uploads by base64, URL and direct PUT, their checks, their URLs, expiry and the admin view.

The official SDK clients run against a served mock in tests/e2e/test_sdk_files.py.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image
from starlette.testclient import TestClient

from runapi_contracts import validate_response
from runapi_mock import Settings, create_app
from runapi_mock.server import RunningServer
from runapi_mock.uploads import sniff_mime

AUTH = {"Authorization": "Bearer test-key"}
JSON_TYPE = {"Content-Type": "application/json"}  # admin writes must say JSON
FILES = "/api/v1/files"
SMOKE = b"hello from java sdk"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def png(size: tuple[int, int] = (8, 4)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def conforms(name: str, body: Any) -> Any:
    assert validate_response(name, body) == [], body
    return body


def upload(client: TestClient, data: bytes, file_name: str | None = None, **headers: str) -> dict[str, Any]:
    body: dict[str, Any] = {"source": {"type": "base64", "data": b64(data)}}
    if file_name is not None:
        body["file_name"] = file_name
    answer = client.post(FILES, json=body, headers={**AUTH, **headers})
    assert answer.status_code == 200, answer.text
    return conforms("upload", answer.json())  # type: ignore[no-any-return]


def refused(answer: Any, status: int, says: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = conforms("error", answer.json())
    assert says in body["error"]["message"], body
    return body


# -- POST /api/v1/files ------------------------------------------------------------------------------------------

def test_the_java_smoke_upload_is_text_plain_19_bytes_with_a_url(client: TestClient) -> None:
    body = upload(client, SMOKE, "java-smoke.txt")
    assert (body["mime_type"], body["size_bytes"], body["file_name"]) == ("text/plain", 19, "java-smoke.txt")
    served = client.get(body["url"])
    assert served.status_code == 200 and served.content == SMOKE
    assert served.headers["content-type"].startswith("text/plain")
    # The journal keeps the request, not the file: base64 data is summed up by its length.
    entry = client.get("/_mock/journal", params={"path": FILES}).json()["entries"][0]
    assert entry["request_body"] == {"source": {"type": "base64", "data": "<28 characters>"},
                                     "file_name": "java-smoke.txt"}


def test_a_data_url_is_base64_too_and_images_are_sniffed_from_their_bytes(client: TestClient) -> None:
    data = png()
    body = client.post(FILES, json={"source": {"type": "base64", "data": f"data:image/png;base64,{b64(data)}"},
                                    "file_name": "photo.txt"}, headers=AUTH).json()
    # The bytes win over the name: a PNG named .txt is image/png.
    assert conforms("upload", body)["mime_type"] == "image/png" and body["size_bytes"] == len(data)
    assert client.get(body["url"]).content == data


@pytest.mark.parametrize(("data", "name", "mime"), [
    (png(), None, "image/png"), (b"GIF89a" + png()[6:], None, "application/octet-stream"),
    ("héllo\n\tworld".encode(), None, "text/plain"), (b"\x00\x01binary", "a.pdf", "application/pdf"),
    (b"\x00\x01binary", "a.unknownext", "application/octet-stream"), (b"\x00\x01", None, "application/octet-stream"),
])
def test_mime_sniffing_order(data: bytes, name: str | None, mime: str) -> None:
    assert sniff_mime(data, name) == mime


def test_sniffing_knows_every_image_format_the_brief_lists() -> None:
    for pil_format, mime in (("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif"),
                             ("BMP", "image/bmp"), ("TIFF", "image/tiff")):
        out = io.BytesIO()
        Image.new("RGB", (4, 4)).save(out, pil_format)
        assert sniff_mime(out.getvalue(), "x.bin") == mime


@pytest.mark.parametrize(("body", "says"), [
    ([], "request body must be a JSON object"),
    ({}, "source is required"),
    ({"source": "aGk="}, "source must be an object"),
    ({"source": {}}, "source.type is required"),
    ({"source": {"type": "ftp", "url": "x"}}, "source.type must be one of: url, base64"),
    ({"source": {"type": "base64"}}, "source.data is required"),
    ({"source": {"type": "base64", "data": 42}}, "source.data must be a string"),
    ({"source": {"type": "base64", "data": "not base64!"}}, "not valid base64"),
    ({"source": {"type": "base64", "data": "data:text/plain,hello"}}, "data: URL must be base64"),
    ({"source": {"type": "base64", "data": ""}}, "source.data must not be blank"),
    ({"source": {"type": "base64", "data": "data:text/plain;base64,"}}, "the file is empty"),
    ({"source": {"type": "base64", "data": "aGk="}, "file_name": 7}, "file_name must be a string"),
    ({"source": {"type": "base64", "data": "aGk="}, "file_name": "../etc/passwd"}, "plain file name"),
    ({"source": {"type": "base64", "data": "aGk="}, "filename": "a.txt"}, "did you mean file_name?"),
    ({"source": {"type": "url", "url": "file:///etc/passwd"}}, "absolute http(s) URL"),
    ({"source": {"type": "url", "url": "http://[::1"}}, "not a valid URL"),
])
def test_hostile_bodies_get_the_422_envelope(client: TestClient, body: Any, says: str) -> None:
    refused(client.post(FILES, json=body, headers=AUTH), 422, says)


def test_no_key_is_a_401_and_malformed_json_a_400(client: TestClient) -> None:
    refused(client.post(FILES, json={"source": {"type": "base64", "data": "aGk="}}), 401, "Missing API key")
    refused(client.post(FILES, content=b"{nope", headers={**AUTH, "Content-Type": "application/json"}), 400,
            "Malformed JSON")


def test_the_size_limit_is_a_413_for_base64_and_for_multipart(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_upload_bytes=100)
    assert upload(client, b"x" * 100)["size_bytes"] == 100
    refused(client.post(FILES, json={"source": {"type": "base64", "data": b64(b"x" * 101)}}, headers=AUTH), 413,
            "larger than 100 bytes")
    # Past the bound the limit implies (4/3 of it, plus the JSON around it), the body is not even read.
    huge = {"source": {"type": "base64", "data": "A" * 200_000}}
    refused(client.post(FILES, json=huge, headers=AUTH), 413, "Body is larger than")
    refused(client.post("/v1/files", files={"file": ("a.bin", b"x" * 101)}, data={"purpose": "user_data"},
                        headers=AUTH), 422, "larger than 100 bytes")


# -- URL sources -----------------------------------------------------------------------------------------------

@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record (and refuse) every name lookup and connection attempt the process makes."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network use refused by the test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def test_a_url_on_another_host_is_refused_and_never_contacted(client: TestClient, no_network: list[Any]) -> None:
    body = {"source": {"type": "url", "url": "https://images.example.com/cat.png"}}
    refused(client.post(FILES, json=body, headers=AUTH), 422, "host 'images.example.com' is not allowed")
    assert no_network == []


def test_the_network_guard_sees_a_fetch_when_the_host_is_allowed(make_client: Callable[..., TestClient],
                                                                  no_network: list[Any]) -> None:
    # The control for the test above: with the host on the allow-list the same request does try the network.
    client = make_client(allow_source_hosts=("images.example.com",))
    body = {"source": {"type": "url", "url": "https://images.example.com/cat.png"}}
    refused(client.post(FILES, json=body, headers=AUTH), 422, "fetching url failed")
    assert no_network != []


def test_a_url_on_the_mock_itself_is_read_from_the_engine(client: TestClient, no_network: list[Any]) -> None:
    first = upload(client, png(), "first.png")
    again = client.post(FILES, json={"source": {"type": "url", "url": first["url"]}}, headers=AUTH)
    assert conforms("upload", again.json())["file_name"] == "first.png" and again.json()["url"] != first["url"]
    assert client.get(again.json()["url"]).content == png()
    # A generated image too, as GET /files/... serves it.
    created = client.post("/api/v1/gpt_image_2/text_to_image", json={"model": "gpt-image-2", "prompt": "x"},
                          headers={**AUTH, "X-Mock-Progression": "immediate"}).json()
    task = client.get(f"/api/v1/gpt_image_2/text_to_image/{created['id']}", headers=AUTH).json()
    image_url = task["images"][0]["url"]
    copied = client.post(FILES, json={"source": {"type": "url", "url": image_url}}, headers=AUTH).json()
    assert copied["mime_type"] == "image/png" and copied["file_name"] == "0.png"
    assert client.get(copied["url"]).content == client.get(image_url).content
    assert no_network == []


def test_own_urls_that_name_nothing_are_422s(client: TestClient) -> None:
    gone = "http://127.0.0.1:8787/uploads/default/00000000-0000-4000-8000-000000000000/a.png"
    refused(client.post(FILES, json={"source": {"type": "url", "url": gone}}, headers=AUTH), 422, "names no upload")
    task = "http://127.0.0.1:8787/files/default/00000000-0000-4000-8000-000000000000/0.png"
    refused(client.post(FILES, json={"source": {"type": "url", "url": task}}, headers=AUTH), 422,
            "no generated file")


def test_an_allowed_loopback_url_is_fetched_over_http(make_client: Callable[..., TestClient],
                                                     make_server: Callable[..., RunningServer]) -> None:
    other = make_server()  # another mock on a loopback port: a real HTTP fetch, once allowed
    client = make_client(allow_source_hosts=("127.0.0.1",))
    with httpx.Client(base_url=other.base_url) as http:
        made = http.post(FILES, json={"source": {"type": "base64", "data": b64(SMOKE)}, "file_name": "a.txt"},
                         headers=AUTH).json()
        copied = client.post(FILES, json={"source": {"type": "url", "url": made["url"]}}, headers=AUTH).json()
        assert conforms("upload", copied)["size_bytes"] == 19 and client.get(copied["url"]).content == SMOKE
        missing = made["url"].replace("/a.txt", "/b.txt")
        refused(client.post(FILES, json={"source": {"type": "url", "url": missing}}, headers=AUTH), 422,
                "answered 404")
    other.stop()
    refused(client.post(FILES, json={"source": {"type": "url", "url": made["url"]}}, headers=AUTH), 422,
            "fetching url failed: ConnectError")


# -- direct upload: prepare, PUT, confirm --------------------------------------------------------------------

def prepare(client: TestClient, data: bytes, **extra: Any) -> dict[str, Any]:
    body = {"filename": "direct.png", "byte_size": len(data),
            "checksum": b64(hashlib.md5(data).digest()), **extra}
    answer = client.post(f"{FILES}/prepare", json=body, headers=AUTH)
    assert answer.status_code == 200, answer.text
    return conforms("upload_prepare", answer.json())  # type: ignore[no-any-return]


def test_prepare_put_confirm(client: TestClient) -> None:
    data = png()
    target = prepare(client, data, content_type="image/png")
    assert target["upload_url"].startswith("http://127.0.0.1:8787/direct-uploads/default/")
    assert target["headers"] == {"Content-Type": "image/png", "Content-MD5": b64(hashlib.md5(data).digest())}
    confirm = {"signed_id": target["signed_id"]}
    refused(client.post(f"{FILES}/confirm", json=confirm, headers=AUTH), 409, "PUT the bytes to its upload_url")
    put = client.put(target["upload_url"], content=data, headers=target["headers"])  # no Authorization
    assert put.status_code == 204, put.text
    refused(client.put(target["upload_url"], content=data, headers=target["headers"]), 409, "one PUT")
    done = conforms("upload", client.post(f"{FILES}/confirm", json=confirm, headers=AUTH).json())
    assert (done["file_name"], done["mime_type"], done["size_bytes"]) == ("direct.png", "image/png", len(data))
    assert client.get(done["url"]).content == data
    refused(client.post(f"{FILES}/confirm", json=confirm, headers=AUTH), 409, "confirmed already")
    refused(client.post(f"{FILES}/confirm", json={"signed_id": "nope"}, headers=AUTH), 404, "No prepared upload")
    other_key = {"Authorization": "Bearer other-key"}
    target = prepare(client, data)
    client.put(target["upload_url"], content=data, headers=target["headers"])
    refused(client.post(f"{FILES}/confirm", json={"signed_id": target["signed_id"]}, headers=other_key), 404,
            "of another key")


@pytest.mark.parametrize(("sent", "headers", "says"), [
    (png() + b"!", {}, "is 1 bytes"), (png()[:-1], {}, "but byte_size was"),
    (b"\x00" * len(png()), {}, "MD5 is not the checksum"),
    (png(), {"Content-Type": "image/png"}, "Content-Type must be"),
], ids=["longer", "shorter", "other-md5", "other-content-type"])
def test_a_put_whose_bytes_differ_from_prepare_is_a_422(client: TestClient, sent: bytes, headers: dict[str, str],
                                                         says: str) -> None:
    target = prepare(client, png())
    body = refused(client.put(target["upload_url"], content=sent, headers={**target["headers"], **headers}), 422,
                   says.replace("is 1 bytes", f"is {len(png()) + 1} bytes"))
    assert body["error"]["code"] == "upload_integrity_error"
    # Refused bytes are not kept: confirm still waits for them.
    refused(client.post(f"{FILES}/confirm", json={"signed_id": target["signed_id"]}, headers=AUTH), 409,
            "Nothing was uploaded")


@pytest.mark.parametrize(("body", "says"), [
    ({"filename": "a", "byte_size": 0, "checksum": b64(b"0" * 16)}, "byte_size must be from 1"),
    ({"filename": "a", "byte_size": "3", "checksum": b64(b"0" * 16)}, "byte_size must be an integer"),
    ({"filename": "a", "byte_size": True, "checksum": b64(b"0" * 16)}, "byte_size must be an integer"),
    ({"filename": "a", "byte_size": 3, "checksum": "abc"}, "checksum must be the base64 of a 16-byte MD5"),
    ({"byte_size": 3, "checksum": b64(b"0" * 16)}, "filename is required"),
])
def test_bad_prepare_bodies_are_422s(client: TestClient, body: dict[str, Any], says: str) -> None:
    refused(client.post(f"{FILES}/prepare", json=body, headers=AUTH), 422, says)


def test_an_unknown_put_token_is_a_404(client: TestClient) -> None:
    refused(client.put("/direct-uploads/default/nope", content=b"x"), 404, "No prepared upload at this URL")


# -- expiry, deletion, reset, namespaces ----------------------------------------------------------------------

def test_uploads_expire_on_the_clock_and_the_admin_deletes_them(client: TestClient) -> None:
    ns = {"X-Mock-Namespace": "expiry"}
    kept, deleted = upload(client, SMOKE, "kept.txt", **ns), upload(client, SMOKE, "deleted.txt", **ns)
    listed = client.get("/_mock/uploads", headers=ns).json()["uploads"]
    assert [u["file_name"] for u in listed] == ["kept.txt", "deleted.txt"] and not listed[0]["expired"]
    deleted_one = client.delete(f"/_mock/uploads/{listed[1]['id']}", headers={**ns, **JSON_TYPE})
    assert deleted_one.json() == {"deleted": listed[1]["id"]}
    refused(client.get(deleted["url"]), 404, "No such upload")
    refused(client.delete(f"/_mock/uploads/{listed[1]['id']}", headers={**ns, **JSON_TYPE}), 404, "No upload")
    client.post("/_mock/clock/advance", json={"seconds": 7 * 86400 - 60}, headers=ns)
    assert client.get(kept["url"]).status_code == 200
    client.post("/_mock/clock/advance", json={"seconds": 120}, headers=ns)
    body = refused(client.get(kept["url"]), 410, "expired")
    assert body["error"]["code"] == "file_expired"
    assert client.get("/_mock/uploads", headers=ns).json()["uploads"][0]["expired"] is True
    client.post("/_mock/reset", json={}, headers=ns)
    assert client.get("/_mock/uploads", headers=ns).json() == {"uploads": []}
    refused(client.get(kept["url"]), 404, "No such upload")


def test_an_upload_url_keeps_the_namespace_prefix(client: TestClient) -> None:
    answer = client.post("/ns/prefixed/api/v1/files", json={"source": {"type": "base64", "data": b64(SMOKE)}},
                         headers=AUTH).json()
    assert answer["url"].startswith("http://127.0.0.1:8787/ns/prefixed/uploads/prefixed/")
    assert answer["file_name"] == "upload.txt" and client.get(answer["url"]).content == SMOKE


# -- /v1/files and /v1/uploads -------------------------------------------------------------------------------

def test_openai_files_list_pages_and_filters(client: TestClient) -> None:
    ns = {**AUTH, "X-Mock-Namespace": "listing"}
    made = [client.post("/v1/files", files={"file": (f"{n}.txt", b"text %d" % n)}, data={"purpose": purpose},
                        headers=ns).json() for n, purpose in enumerate(["user_data", "vision", "user_data"])]
    assert [conforms("file_object", m)["filename"] for m in made] == ["0.txt", "1.txt", "2.txt"]
    page = conforms("file_list", client.get("/v1/files", params={"limit": 2}, headers=ns).json())
    assert [f["id"] for f in page["data"]] == [made[2]["id"], made[1]["id"]] and page["has_more"] is True
    rest = client.get("/v1/files", params={"limit": 2, "after": page["last_id"]}, headers=ns).json()
    assert [f["id"] for f in rest["data"]] == [made[0]["id"]] and rest["has_more"] is False
    asc = client.get("/v1/files", params={"order": "asc", "purpose": "user_data"}, headers=ns).json()
    assert [f["id"] for f in asc["data"]] == [made[0]["id"], made[2]["id"]]
    other = client.get("/v1/files", headers={"Authorization": "Bearer other", "X-Mock-Namespace": "listing"})
    assert other.json()["data"] == [] and other.json()["first_id"] is None
    refused(client.get("/v1/files", params={"order": "sideways"}, headers=ns), 400, "order must be")
    refused(client.get("/v1/files", params={"after": "nope"}, headers=ns), 404, "after names no file")
    refused(client.get("/v1/files", params={"purpse": "vision"}, headers=ns), 400, "Unknown query parameter 'purpse'")
    deleted = conforms("deleted_file", client.delete(f"/v1/files/{made[0]['id']}", headers=ns).json())
    assert deleted == {"id": made[0]["id"], "object": "file", "deleted": True}
    refused(client.get(f"/v1/files/{made[0]['id']}/content", headers=ns), 404, "No such upload")
    assert client.get(f"/v1/files/{made[1]['id']}/content", headers=ns).content == b"text 1"


@pytest.mark.parametrize(("files", "data", "status", "says"), [
    ({"file": ("a.txt", b"")}, {"purpose": "user_data"}, 422, "the file is empty"),
    (None, {"purpose": "user_data", "file": "not a file"}, 415, "must be multipart/form-data"),
    ({"other": ("a.txt", b"x")}, {"purpose": "user_data", "file": "not a file"}, 422, "file must be a file part"),
    ({"file": ("a.txt", b"x")}, {}, 422, "purpose is required"),
    ({"file": ("a.txt", b"x")}, {"purpose": "user_data", "extra": "1"}, 422, "extra is not a field"),
])
def test_hostile_multipart_bodies_are_4xx(client: TestClient, files: dict[str, Any] | None, data: dict[str, str],
                                          status: int, says: str) -> None:
    refused(client.post("/v1/files", files=files, data=data, headers=AUTH), status, says)


def test_openai_uploads_complete_only_when_the_parts_add_up(client: TestClient) -> None:
    create = {"bytes": 10, "filename": "whole.txt", "mime_type": "text/plain", "purpose": "user_data"}
    session = conforms("upload_object", client.post("/v1/uploads", json=create, headers=AUTH).json())
    assert session["status"] == "pending" and session["file"] is None
    parts = [conforms("upload_part", client.post(f"/v1/uploads/{session['id']}/parts",
                                                files={"data": ("p", chunk)}, headers=AUTH).json())
             for chunk in (b"01234", b"5678", b"9")]
    ids = [p["id"] for p in parts]
    path = f"/v1/uploads/{session['id']}/complete"
    refused(client.post(path, json={"part_ids": ids[:2]}, headers=AUTH), 422, "add up to 9 bytes")
    refused(client.post(path, json={"part_ids": [*ids, "part_x"]}, headers=AUTH), 422, "does not have: part_x")
    refused(client.post(path, json={"part_ids": [ids[0], ids[0]]}, headers=AUTH), 422, "more than once")
    refused(client.post(path, json={"part_ids": ids, "md5": "0" * 32}, headers=AUTH), 422, "md5 is not")
    md5 = hashlib.md5(b"0123456789").hexdigest()
    done = conforms("upload_object", client.post(path, json={"part_ids": ids, "md5": md5}, headers=AUTH).json())
    assert done["status"] == "completed" and done["file"]["bytes"] == 10
    assert client.get(done["file"]["url"]).content == b"0123456789"
    refused(client.post(path, json={"part_ids": ids}, headers=AUTH), 409, "is completed")
    again = client.post("/v1/uploads", json=create, headers=AUTH).json()
    cancelled = client.post(f"/v1/uploads/{again['id']}/cancel", headers=AUTH).json()
    assert conforms("upload_object", cancelled)["status"] == "cancelled"
    refused(client.post(f"/v1/uploads/{again['id']}/parts", files={"data": ("p", b"x")}, headers=AUTH), 409,
            "is cancelled")
    refused(client.post("/v1/uploads", json={**create, "bytes": 0}, headers=AUTH), 422, "bytes must be from 1")
    refused(client.post("/v1/uploads/upload_nope/cancel", headers=AUTH), 404, "No such upload")


# -- --state ---------------------------------------------------------------------------------------------------

def test_uploads_survive_a_restart_with_state(tmp_path: Path) -> None:
    """A second app on the same state file while the first still runs (a crash): only what was committed
    before each answer can be there."""
    settings = Settings(state_path=str(tmp_path / "state.sqlite"))
    with contextlib.ExitStack() as stack:
        def open_app() -> TestClient:
            return stack.enter_context(TestClient(create_app(settings), base_url="http://127.0.0.1:8787"))

        first = open_app()
        kept, deleted, other = (upload(first, SMOKE, "kept.txt"), upload(first, png(), "deleted.png"),
                                upload(first, SMOKE, "other.txt", **{"X-Mock-Namespace": "gone"}))
        before = first.get("/_mock/uploads").json()["uploads"]
        ids = {u["file_name"]: u["id"] for u in before}
        first.delete(f"/_mock/uploads/{ids['deleted.png']}", headers=JSON_TYPE)
        first.post("/_mock/reset", json={}, headers={"X-Mock-Namespace": "gone"})
        second = open_app()
        served = second.get(kept["url"])
        assert served.status_code == 200 and served.content == SMOKE
        assert served.headers["content-type"].startswith("text/plain")
        assert second.get(deleted["url"]).status_code == 404 and second.get(other["url"]).status_code == 404
        after = second.get("/_mock/uploads").json()["uploads"]
        assert after == [before[0]]  # every field, times and expiry included
        second.delete(f"/v1/files/{ids['kept.txt']}", headers=AUTH)
        assert open_app().get("/_mock/uploads").json() == {"uploads": []}


def test_a_loopback_url_on_a_port_not_allowed_is_refused_unfetched(
        make_client: Callable[..., TestClient], make_server: Callable[..., RunningServer]) -> None:
    # Issue 19, item 7: a local service (here another mock) is not republished at /uploads/ unless allowed.
    other = make_server()
    with httpx.Client(base_url=other.base_url) as http:
        made = http.post(FILES, json={"source": {"type": "base64", "data": b64(SMOKE)}, "file_name": "a.txt"},
                         headers=AUTH).json()
    netloc = urlsplit(made["url"]).netloc
    client = make_client(allow_source_hosts=("127.0.0.1:1",))  # the same host on another port is not it
    answer = client.post(FILES, json={"source": {"type": "url", "url": made["url"]}}, headers=AUTH)
    refused(answer, 422, f"host {netloc!r} is not allowed")
    assert f"--allow-source-host {netloc}" in answer.text
    assert len(other.app.state.engine.find_namespace("default").journal) == 1  # the upload only: no GET
    for allowed in (netloc, "127.0.0.1"):
        copied = make_client(allow_source_hosts=(allowed,)).post(
            FILES, json={"source": {"type": "url", "url": made["url"]}}, headers=AUTH)
        assert copied.status_code == 200, copied.text
