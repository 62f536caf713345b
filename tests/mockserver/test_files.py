"""Generated files: completed tasks' image URLs serve real PNG/JPEG bytes of the right size, then expire."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

AUTH = {"Authorization": "Bearer test-key"}
IMMEDIATE = {**AUTH, "X-Mock-Progression": "immediate"}
KONTEXT = "/api/v1/flux_kontext/text_to_image"
FLUX2 = "/api/v1/flux_2/text_to_image"
GPT = "/api/v1/gpt_image_2/text_to_image"


def completed(client: TestClient, path: str, body: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
    headers = {**IMMEDIATE, **({"X-Mock-Namespace": namespace} if namespace else {})}
    created = client.post(path, json=body, headers=headers)
    assert created.status_code == 200, created.text
    task = client.get(f"{path}/{created.json()['id']}", headers=headers).json()
    assert task["status"] == "completed"
    return task  # type: ignore[no-any-return]


def fetch_image(client: TestClient, url: str) -> tuple[Any, Image.Image]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response, Image.open(io.BytesIO(response.content))


@pytest.mark.parametrize(
    ("path", "body", "pil_format", "content_type", "size"),
    [(KONTEXT, {"model": "flux-kontext-pro", "prompt": "x"}, "JPEG", "image/jpeg", (1024, 576)),
     (KONTEXT, {"model": "flux-kontext-pro", "prompt": "x", "output_format": "png", "aspect_ratio": "9:16"},
      "PNG", "image/png", (576, 1024)),
     (KONTEXT, {"model": "flux-kontext-max", "prompt": "x", "aspect_ratio": "21:9"}, "JPEG", "image/jpeg",
      (1024, 440)),
     (FLUX2, {"model": "flux-2-pro-text-to-image", "prompt": "xyz"}, "PNG", "image/png", (1024, 1024)),
     (FLUX2, {"model": "flux-2-flex-text-to-image", "prompt": "xyz", "output_resolution": "2k",
              "aspect_ratio": "3:2"}, "PNG", "image/png", (2048, 1368)),
     (GPT, {"model": "gpt-image-2", "prompt": "x"}, "PNG", "image/png", (1024, 1024)),
     (GPT, {"model": "gpt-image-2", "prompt": "x", "aspect_ratio": "16:9", "output_resolution": "2k"}, "PNG",
      "image/png", (2048, 1152)),
     (GPT, {"model": "gpt-image-2", "prompt": "x", "aspect_ratio": "9:16", "output_resolution": "4k"}, "PNG",
      "image/png", (2304, 4096))],
)
def test_image_bytes_match_format_and_size(client: TestClient, path: str, body: dict[str, Any], pil_format: str,
                                           content_type: str, size: tuple[int, int]) -> None:
    task = completed(client, path, body)
    assert len(task["images"]) == 1
    url = task["images"][0]["url"]
    assert url.startswith("http://127.0.0.1:8787/files/default/")
    assert url.endswith(".jpg" if pil_format == "JPEG" else ".png")
    response, image = fetch_image(client, url)
    assert response.headers["content-type"] == content_type
    assert image.format == pil_format and image.size == size


def test_image_bytes_are_stable_across_fetches(client: TestClient) -> None:
    url = completed(client, GPT, {"model": "gpt-image-2", "prompt": "x"})["images"][0]["url"]
    assert client.get(url).content == client.get(url).content


def test_image_urls_use_the_request_origin(make_server: Callable[..., Any]) -> None:
    import httpx

    server = make_server()
    with httpx.Client(base_url=server.base_url) as http:
        task_id = http.post(GPT, json={"model": "gpt-image-2", "prompt": "x"}, headers=IMMEDIATE).json()["id"]
        url = http.get(f"{GPT}/{task_id}", headers=AUTH).json()["images"][0]["url"]
        assert url.startswith(f"{server.base_url}/files/")
        response = http.get(url)
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_image_urls_follow_the_reading_request_not_the_creating_one(make_client: Callable[..., TestClient]) -> None:
    # docker-compose: created through one service name, read through another (or after a restart on another
    # port); the links must be the reader's (issue 15, item 6). The names are allowed, as compose users do.
    client = make_client(allowed_hosts=".internal")
    created = client.post(GPT, json={"model": "gpt-image-2", "prompt": "x"},
                          headers={**IMMEDIATE, "Host": "creator.internal:9000"}).json()
    read = client.get(f"{GPT}/{created['id']}", headers={**AUTH, "Host": "reader.internal:9100"}).json()
    assert read["images"][0]["url"].startswith("http://reader.internal:9100/files/default/")
    admin = client.get(f"/_mock/tasks/{created['id']}", headers={"Host": "admin.internal"}).json()
    assert admin["images"][0]["url"].startswith("http://admin.internal/files/default/")
    result = client.get(f"/api/v1/tasks/{created['id']}", headers={**AUTH, "Host": "other.internal"}).json()
    assert result["response"]["body"]["images"][0]["url"].startswith("http://other.internal/files/")


def test_a_public_url_is_the_base_of_every_image_url(make_client: Callable[..., TestClient]) -> None:
    client = make_client(public_url="https://mock.example:8443/")
    created = client.post(GPT, json={"model": "gpt-image-2", "prompt": "x"}, headers=IMMEDIATE).json()
    url = client.get(f"{GPT}/{created['id']}", headers=AUTH).json()["images"][0]["url"]
    assert url.startswith(f"https://mock.example:8443/files/default/{created['id']}/")
    task = completed(client, f"/ns/n1{GPT}", {"model": "gpt-image-2", "prompt": "x"})
    assert task["images"][0]["url"].startswith("https://mock.example:8443/ns/n1/files/n1/")
    assert fetch_image(client, "http://127.0.0.1:8787" + url.removeprefix("https://mock.example:8443"))


def test_files_need_no_api_key(client: TestClient) -> None:
    url = completed(client, GPT, {"model": "gpt-image-2", "prompt": "x"})["images"][0]["url"]
    assert client.get(url, headers={"Authorization": ""}).status_code == 200


def test_files_expire_after_the_ttl_on_the_clock(make_client: Callable[..., TestClient]) -> None:
    client = make_client(frozen_clock=True, file_ttl_seconds=60)
    url = completed(client, GPT, {"model": "gpt-image-2", "prompt": "x"})["images"][0]["url"]
    client.post("/_mock/clock/advance", json={"seconds": 60})
    assert client.get(url).status_code == 200
    client.post("/_mock/clock/advance", json={"seconds": 1})
    gone = client.get(url)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "file_expired"
    assert gone.headers["x-request-id"]


def test_files_of_a_namespace_follow_its_clock(make_client: Callable[..., TestClient]) -> None:
    client = make_client(frozen_clock=True, file_ttl_seconds=60)
    url = completed(client, GPT, {"model": "gpt-image-2", "prompt": "x"}, namespace="a")["images"][0]["url"]
    assert "/files/a/" in url
    client.post("/_mock/clock/advance", json={"seconds": 100})  # the default namespace's clock
    assert client.get(url).status_code == 200
    client.post("/_mock/clock/advance", json={"seconds": 100}, headers={"X-Mock-Namespace": "a"})
    assert client.get(url).status_code == 410


def test_unfinished_and_failed_tasks_have_no_files(client: TestClient) -> None:
    pending = client.post(GPT, json={"model": "gpt-image-2", "prompt": "x"}, headers=AUTH).json()["id"]
    failed = client.post(GPT, json={"model": "gpt-image-2", "prompt": "x"},
                         headers={**IMMEDIATE, "X-Mock-Scenario": "failed"}).json()["id"]
    client.get(f"{GPT}/{failed}", headers=AUTH)
    for task_id in (pending, failed):
        response = client.get(f"/files/default/{task_id}/0.png")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("mangle", [
    lambda url: url.replace("/0.png", "/1.png"),
    lambda url: url.replace("/0.png", "/0.jpg"),
    lambda url: url.replace("/files/default/", "/files/other/"),
    lambda url: url.replace("/files/default/", "/files/bad%20name/"),
    lambda url: url[:-6] + "x/0.png",
])
def test_urls_that_were_not_issued_are_a_404(client: TestClient, mangle: Callable[[str], str]) -> None:
    url = completed(client, GPT, {"model": "gpt-image-2", "prompt": "x"})["images"][0]["url"]
    response = client.get(mangle(url))
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_reset_removes_the_files(client: TestClient) -> None:
    url = completed(client, GPT, {"model": "gpt-image-2", "prompt": "x"})["images"][0]["url"]
    client.post("/_mock/reset", json={})
    assert client.get(url).status_code == 404


def test_usage_counts_the_images(client: TestClient) -> None:
    task = completed(client, GPT, {"model": "gpt-image-2", "prompt": "x"})
    assert task["usage"]["generated_images"] == len(task["images"]) == 1
