"""What users upload is served so that no browser runs it (issue 19, item 3): nosniff, a sandboxing CSP, and
anything not an image, audio or video as an attachment; the dashboard cannot be framed."""

from __future__ import annotations

import base64

import pytest
from starlette.testclient import TestClient

AUTH = {"Authorization": "Bearer test-key"}
FILES = "/api/v1/files"


def _upload(client: TestClient, data: bytes, name: str) -> dict[str, str]:
    body = {"source": {"type": "base64", "data": base64.b64encode(data).decode()}, "file_name": name}
    made = client.post(FILES, json=body, headers=AUTH)
    assert made.status_code == 200, made.text
    return dict(made.json())


def _assert_inert(headers: object, *, attachment: bool) -> None:
    get = headers.get  # type: ignore[attr-defined]
    assert get("x-content-type-options") == "nosniff"
    assert "sandbox" in get("content-security-policy") and "default-src 'none'" in get("content-security-policy")
    assert (get("content-disposition") or "").startswith("attachment") is attachment


def test_an_uploaded_html_file_comes_back_as_an_inert_attachment(client: TestClient) -> None:
    made = _upload(client, b"<html>\x01<script>fetch('/_mock/callback-secret')</script>", "x.html")
    served = client.get(made["url"])
    assert served.status_code == 200
    _assert_inert(served.headers, attachment=True)
    assert 'filename="x.html"' in served.headers["content-disposition"]


@pytest.mark.parametrize(("data", "name", "attachment"), [
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.svg", True),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "a.png", False),
    (b"hello", "notes.txt", True),
])
def test_uploads_are_inert_and_only_media_shows_inline(client: TestClient, data: bytes, name: str,
                                                       attachment: bool) -> None:
    made = _upload(client, data, name)
    _assert_inert(client.get(made["url"]).headers, attachment=attachment)


def test_openai_file_content_is_inert(client: TestClient) -> None:
    made = client.post("/v1/files", headers=AUTH, data={"purpose": "user_data"},
                       files={"file": ("x.html", b"<html><script>1</script>", "text/html")})
    assert made.status_code == 200, made.text
    served = client.get(f"/v1/files/{made.json()['id']}/content", headers=AUTH)
    _assert_inert(served.headers, attachment=True)


def test_generated_files_get_nosniff_and_the_dashboard_forbids_framing(client: TestClient) -> None:
    task = client.post("/api/v1/flux_kontext/text_to_image", headers={**AUTH, "X-Mock-Progression": "immediate"},
                       json={"model": "flux-kontext-pro", "prompt": "x"}).json()
    url = client.get(f"/api/v1/flux_kontext/text_to_image/{task['id']}", headers=AUTH).json()["images"][0]["url"]
    assert client.get(url).headers["x-content-type-options"] == "nosniff"
    for page in ("/_mock/ui/", "/"):
        headers = client.get(page, headers={"Accept": "text/html"}).headers
        assert headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in headers["content-security-policy"]
