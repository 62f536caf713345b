"""Issue 19 item 6: what clients send cannot grow the mock's memory without bound: uploads have a total, unfinished
uploads are dropped after their expiry, the journal cuts long bodies, API keys have a length limit."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from runapi_contracts import vocabulary
from runapi_mock import uploads

AUTH = {"Authorization": "Bearer memory-key"}
CREATE = "/api/v1/flux_kontext/text_to_image"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def upload(client: TestClient, size: int, ns: str = "default") -> Any:
    body = {"source": {"type": "base64", "data": b64(b"x" * size)}, "file_name": "f.txt"}
    return client.post("/api/v1/files", json=body, headers={**AUTH, "X-Mock-Namespace": ns})


def full(response: Any) -> None:
    assert response.status_code == 507, response.text
    error = response.json()["error"]
    assert error["code"] == "insufficient_storage" and "--max-upload-total-bytes" in error["message"], error


def test_uploads_have_a_total_across_namespaces(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_upload_total_bytes=1000)
    first = upload(client, 600)
    assert first.status_code == 200, first.text
    full(upload(client, 600, ns="other"))
    upload_id = first.json()["url"].split("/")[-2]  # /uploads/{namespace}/{id}/{file_name}
    assert client.delete(f"/_mock/uploads/{upload_id}").status_code in (200, 204)
    assert upload(client, 600, ns="other").status_code == 200


def test_a_prepared_upload_never_confirmed_is_dropped_after_its_expiry(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_upload_total_bytes=1000)
    data = b"y" * 600
    checksum = b64(hashlib.md5(data).digest())
    prepared = client.post("/api/v1/files/prepare", headers=AUTH, json={
        "filename": "y.bin", "byte_size": len(data), "checksum": checksum, "content_type": "application/octet-stream"})
    assert prepared.status_code == 200, prepared.text
    put = client.put(prepared.json()["upload_url"], content=data,
                     headers={"Content-Type": "application/octet-stream", "Content-MD5": checksum})
    assert put.status_code == 204, put.text
    full(upload(client, 600))  # the PUT's bytes count while the upload may still be confirmed
    client.post("/_mock/clock/advance", json={"seconds": uploads.DIRECT_TTL_SECONDS + 1})
    assert upload(client, 600).status_code == 200
    assert not client.app.state.engine.namespace().upload_sessions.direct  # type: ignore[attr-defined]


def test_parts_of_an_upload_never_completed_are_dropped_after_its_expiry(
        make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_upload_total_bytes=1000)
    created = client.post("/v1/uploads", headers=AUTH, json={"filename": "p.bin", "bytes": 600,
                                                             "mime_type": "text/plain", "purpose": "user_data"})
    assert created.status_code == 200, created.text
    part = client.post(f"/v1/uploads/{created.json()['id']}/parts", headers=AUTH,
                       files={"data": ("p.bin", b"z" * 600, "application/octet-stream")})
    assert part.status_code == 200, part.text
    full(upload(client, 600))
    client.post("/_mock/clock/advance", json={"seconds": 3601})
    assert upload(client, 600).status_code == 200


def test_the_journal_cuts_long_bodies_and_records_their_size(make_client: Callable[..., TestClient]) -> None:
    client = make_client(journal_body_bytes=100)
    long_prompt = "p" * 5000
    client.post(CREATE, json={"model": "flux-kontext-pro", "prompt": long_prompt, "bad": 1}, headers=AUTH)
    client.post(CREATE, json={"model": "flux-kontext-pro", "prompt": "short"}, headers=AUTH)
    short, cut = client.get("/_mock/journal").json()["entries"][:2]
    assert short["request_body"] == {"model": "flux-kontext-pro", "prompt": "short"}
    assert short["request_body_size"] is None
    assert isinstance(cut["request_body"], str) and len(cut["request_body"].encode()) <= 100
    assert cut["request_body"].startswith('{"model"')
    assert cut["request_body_size"] > 5000
    assert set(cut) == set(vocabulary.JOURNAL_FIELDS)


def test_a_long_api_key_is_a_401_and_is_not_kept(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_api_key_length=256)
    for index in range(20):
        key = f"{index:03d}" + "k" * 10_000
        response = client.get("/api/v1/me/balance", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 401 and "256" in response.json()["error"]["message"], response.text
    assert client.get("/api/v1/me/balance", headers={"Authorization": "Bearer " + "k" * 256}).status_code == 200
    balance = client.get("/_mock/balance")
    assert len(balance.content) < 2000, len(balance.content)
    assert all(len(entry["key"] or "") <= 256 for entry in client.get("/_mock/journal").json()["entries"])


def test_every_bound_is_in_the_config(client: TestClient) -> None:
    config = client.get("/_mock/config").json()
    assert config["max_upload_total_bytes"] == 512 * 1024 * 1024
    assert config["journal_body_bytes"] == 16 * 1024
    assert config["max_api_key_length"] == 256
    assert config["max_namespaces"] == 1000
