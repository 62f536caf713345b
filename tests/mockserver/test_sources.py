"""Source images on the mock's own files: a missing, expired or non-image one fails the task; a good one is the
picture the output is derived from (its shape where the request leaves it open, its pixels recoloured)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageOps
from starlette.testclient import TestClient

from runapi_contracts import validate_response
from runapi_mock import Settings, create_app, images, sources
from runapi_mock.model import Upload
from runapi_mock.state import task_from_record, task_record

AUTH = {"Authorization": "Bearer test-key"}
IMMEDIATE = {**AUTH, "X-Mock-Progression": "immediate"}
ORIGIN = "http://127.0.0.1:8787"
GENERATE = "/api/v1/gpt_image_2/text_to_image"
EDIT = "/api/v1/qwen_image/edit_image"  # one source_image_url; aspect_ratio defaults to 1:1 when sent
EDIT_MANY = "/api/v1/gpt_image_2/edit_image"  # source_image_urls; aspect_ratio defaults to auto
UPSCALE = "/api/v1/topaz/upscale_image"


def png(size: tuple[int, int] = (300, 200), mode: str = "RGB") -> bytes:
    """A picture no render resembles: a left-to-right gradient with a dark diagonal."""
    ramp = Image.linear_gradient("L").rotate(90).resize(size)
    image = Image.merge("RGB", (ramp, Image.new("L", size, 40), ramp.point(lambda v: 255 - v)))
    ImageDraw.Draw(image).line((0, 0, *size), fill=(10, 10, 10), width=max(1, size[1] // 10))
    out = io.BytesIO()
    image.convert(mode).save(out, format="PNG")
    return out.getvalue()


def upload(client: TestClient, data: bytes, *, mime: str = "image/png", ttl: float = 3600,
           name: str = "in put.png") -> tuple[Upload, str]:
    """An upload put straight into the namespace (the files routes are another branch's), and its URL."""
    ns = client.app.state.engine.namespace("default")  # type: ignore[attr-defined]
    now = ns.clock.now()
    made = Upload(id=uuid.uuid4().hex, namespace="default", key="test-key", file_name=name, mime_type=mime,
                  data=data, created_at=now, expires_at=now + ttl)
    ns.uploads[made.id] = made
    return made, made.url(ORIGIN)


def create(client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str] = IMMEDIATE) -> str:
    created = client.post(path, json=body, headers=headers)
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


def run(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    task: dict[str, Any] = client.get(f"{path}/{create(client, path, body)}", headers=IMMEDIATE).json()
    return task


def edit(url: str, **extra: Any) -> dict[str, Any]:
    return {"model": "qwen-image-edit-image", "prompt": "make it blue", "source_image_url": url, **extra}


def download(client: TestClient, url: str) -> Image.Image:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content)).convert("RGB")


def balance(client: TestClient) -> int:
    return int(client.get("/api/v1/me/balance", headers=AUTH).json()["balance_cents"])


def strips(image: Image.Image, shape: Image.Image) -> list[tuple[int, int, int]]:
    """`image` cropped to `shape`'s proportions (as a derived image crops its source), brought to 64x64 and read
    along the top and bottom, clear of the caption panel in the middle and of the frame."""
    small = ImageOps.fit(image.convert("RGB"), shape.size).resize((64, 64), Image.Resampling.BILINEAR)
    pixels: list[tuple[int, int, int]] = list(small.getdata())
    return [pixels[64 * y + x] for y in (*range(2, 12), *range(52, 62)) for x in range(2, 62)]


def correlation(a: Image.Image, b: Image.Image) -> float:
    """Pearson correlation of two pictures' strips, each channel about its own mean (a tint shifts channels)."""
    def centred(pixels: list[tuple[int, int, int]]) -> list[float]:
        channels = [[pixel[c] for pixel in pixels] for c in range(3)]
        return [v - sum(channel) / len(channel) for channel in channels for v in channel]
    x, y = centred(strips(a, a)), centred(strips(b, a))
    var = (sum(p * p for p in x) * sum(q * q for q in y)) ** 0.5
    return sum(p * q for p, q in zip(x, y, strict=True)) / var if var else 0.0


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """The mean difference of two pictures' strips, per channel value."""
    pairs = list(zip(strips(a, a), strips(b, a), strict=True))
    return sum(abs(p[c] - q[c]) for p, q in pairs for c in range(3)) / (3 * len(pairs))


def assert_derived(client: TestClient, task: dict[str, Any], source: Image.Image, *,
                   distinct: bool = False) -> Image.Image:
    """The task's image is its source recoloured: its colours follow the source's, it is not the source
    unchanged, and it is not what the same task renders without a source (which, for a `distinct` source no
    render resembles, does not follow the source at all)."""
    assert task["status"] == "completed", task
    output = download(client, task["images"][0]["url"])
    plain = Image.open(io.BytesIO(images.render(f"{task['id']}/0.png", *output.size, "png"))).convert("RGB")
    assert correlation(output, source) > 0.95, correlation(output, source)
    assert mean_difference(output, source) > 10  # recoloured, not passed through
    assert mean_difference(output, plain) > 20
    if distinct:
        assert correlation(plain, source) < 0.5, correlation(plain, source)
    return output


def assert_failed(client: TestClient, task: dict[str, Any], url: str, field: str, reason: str) -> None:
    assert task["status"] == "failed", task
    assert task["error_code"] == sources.ERROR_CODE
    assert field in task["error"] and url in task["error"] and reason in task["error"], task["error"]
    assert not validate_response("task", task) and not validate_response("callback_payload", task)


# -- a source that cannot be used fails the task, refunded ------------------------------------------------


@pytest.mark.parametrize(("kind", "reason"), [
    ("missing", "no upload"), ("deleted", "no upload"), ("expired", "expired"),
    ("text", "text/plain, not an image"), ("undecodable", "not an image Pillow can read"),
])
def test_an_unusable_upload_fails_the_task_and_refunds_it(make_client: Callable[..., TestClient], kind: str,
                                                          reason: str) -> None:
    client = make_client(frozen_clock=True)  # only the advance below moves time
    data = b"hello from java sdk" if kind in ("text", "undecodable") else png()
    made, url = upload(client, data, mime="text/plain" if kind == "text" else "image/png",
                       ttl=0 if kind == "expired" else 3600)
    if kind == "expired":  # past its last moment, as a generated file expires (Upload.expired)
        client.post("/_mock/clock/advance", json={"seconds": 1}).raise_for_status()
    if kind in ("missing", "deleted"):
        del client.app.state.engine.namespace("default").uploads[made.id]  # type: ignore[attr-defined]
    if kind == "missing":
        url = url.replace(made.id, "never-uploaded")
    before = balance(client)
    assert_failed(client, run(client, EDIT, edit(url)), url, "source_image_url", reason)
    assert balance(client) == before


def test_the_failure_comes_on_the_tasks_normal_clock_and_names_the_list_item(make_client: Callable[..., TestClient]
                                                                            ) -> None:
    client = make_client(frozen_clock=True)
    _, good = upload(client, png())
    bad = f"{ORIGIN}/uploads/default/gone/x.png"
    body = {"model": "gpt-image-2", "prompt": "x", "source_image_urls": [good, bad]}
    task_id = create(client, EDIT_MANY, body, AUTH)
    assert client.get(f"{EDIT_MANY}/{task_id}", headers=AUTH).json()["status"] == "pending"
    client.post("/_mock/clock/advance", json={"seconds": 60})
    assert_failed(client, client.get(f"{EDIT_MANY}/{task_id}", headers=AUTH).json(), bad, "source_image_urls[1]",
                  "no upload gone")


def test_a_task_image_of_an_unfinished_or_expired_task_fails(make_client: Callable[..., TestClient]) -> None:
    client = make_client(frozen_clock=True, file_ttl_seconds=60)
    waiting = create(client, GENERATE, {"model": "gpt-image-2", "prompt": "x"}, {**AUTH, "X-Mock-Progression":
                                                                               "manual"})
    unfinished = f"{ORIGIN}/files/default/{waiting}/0.png"
    assert_failed(client, run(client, EDIT, edit(unfinished)), unfinished, "source_image_url", "is pending")
    done = run(client, GENERATE, {"model": "gpt-image-2", "prompt": "x"})["images"][0]["url"]
    beyond = done.replace("/0.png", "/1.png")
    assert_failed(client, run(client, EDIT, edit(beyond)), beyond, "source_image_url", "has no image 1.png")
    client.post("/_mock/clock/advance", json={"seconds": 61})
    assert_failed(client, run(client, EDIT, edit(done)), done, "source_image_url", "expired")


def test_a_source_elsewhere_is_not_read_and_the_task_completes_as_before(client: TestClient,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def parsed(*args: Any) -> None:
        raise AssertionError("a URL elsewhere was parsed")
    monkeypatch.setattr(sources, "_own_file", parsed)  # the prefix test turns these away before any parsing
    for url in ("https://cdn.example.com/files/default/x/0.png", "http://127.0.0.1:9/plain.png"):
        task = run(client, EDIT, edit(url))
        assert task["status"] == "completed", task
        assert download(client, task["images"][0]["url"]).size == (1024, 1024)  # qwen-image's default 1:1
    monkeypatch.undo()
    # on loopback but not a path the mock serves files at: a server of the client's own, accepted unread
    assert run(client, EDIT, edit("http://127.0.0.1:9/files/cat.png"))["status"] == "completed"


@pytest.mark.parametrize("url", [
    "http://localhost:9999/ns/default/uploads/default/{id}/a.png",  # another loopback port, a /ns/ prefix
    "http://runapi-mock.local/uploads/default/{id}/a.png",  # the creating request's host (in-process)
    "https://mock.example.test/base/uploads/default/{id}/a.png",  # the --public-url
])
def test_every_address_of_the_mock_names_its_files(make_client: Callable[..., TestClient], url: str) -> None:
    client = make_client(public_url="https://mock.example.test/base", allowed_hosts=("runapi-mock.local",))
    client.base_url = "http://runapi-mock.local"
    made, _ = upload(client, png())
    task = run(client, EDIT, edit(url.format(id="nope")))
    assert task["status"] == "failed" and "no upload nope" in task["error"], task
    assert run(client, EDIT, edit(url.format(id=made.id)))["status"] == "completed"


# -- a good source is what the output is derived from ------------------------------------------------------


def test_generate_edit_edit_again_each_output_derived_from_its_input(make_client: Callable[..., TestClient]
                                                                    ) -> None:
    client = make_client(seed=12)  # the same task ids, so the same colours, on every run
    generated = run(client, GENERATE, {"model": "gpt-image-2", "prompt": "a cat", "aspect_ratio": "16:9",
                                       "output_resolution": "2k"})
    first = download(client, generated["images"][0]["url"])
    assert first.size == (2048, 1152)
    # aspect_ratio left out: the source's 16:9, not qwen-image's 1:1 default; at the edit's own 1k
    edited = run(client, EDIT, edit(generated["images"][0]["url"]))
    second = assert_derived(client, edited, first)
    assert second.size == (1024, 576)
    kept = client.app.state.engine.find_namespace("default").tasks[edited["id"]]  # type: ignore[attr-defined]
    assert kept.caption(0)[-1] == f"from task {generated['id'][:8]} image 1"
    # auto means "as the input"; an explicit ratio is the client's choice
    again = run(client, EDIT_MANY, {"model": "gpt-image-2", "prompt": "again", "aspect_ratio": "auto",
                                    "source_image_urls": [edited["images"][0]["url"]]})
    assert assert_derived(client, again, second).size == (1024, 576)
    square = run(client, EDIT, edit(edited["images"][0]["url"], aspect_ratio="1:1"))
    assert assert_derived(client, square, second).size == (1024, 1024)


def test_an_upload_is_derived_from_and_kept_after_it_is_deleted(client: TestClient) -> None:
    made, url = upload(client, png((300, 200)))
    task_id = create(client, EDIT, edit(url))
    del client.app.state.engine.namespace("default").uploads[made.id]  # type: ignore[attr-defined]
    task = client.get(f"{EDIT}/{task_id}", headers=IMMEDIATE).json()
    output = assert_derived(client, task, Image.open(io.BytesIO(made.data)).convert("RGB"), distinct=True)
    assert output.size == (1024, 680)  # 3:2


@pytest.mark.parametrize(("size", "edited", "upscaled"), [((1, 1), (1024, 1024), (8, 8)),
                                                           ((8000, 100), (1024, 16), (4096, 48))])
def test_tiny_and_extreme_sources_stay_within_bounds(client: TestClient, size: tuple[int, int],
                                                     edited: tuple[int, int], upscaled: tuple[int, int]) -> None:
    _, url = upload(client, png(size, "RGBA"))
    assert download(client, run(client, EDIT, edit(url))["images"][0]["url"]).size == edited
    body = {"model": "topaz-upscale-image", "source_image_url": url, "upscale_factor": 4}
    assert download(client, run(client, UPSCALE, body)["images"][0]["url"]).size == upscaled


def test_an_upscale_scales_the_real_source(client: TestClient) -> None:
    made, url = upload(client, png((300, 200)))
    body = {"model": "topaz-upscale-image", "source_image_url": url, "upscale_factor": 2}
    task = run(client, UPSCALE, body)
    source = Image.open(io.BytesIO(made.data)).convert("RGB")
    assert assert_derived(client, task, source, distinct=True).size == (600, 400)


def test_a_restored_task_still_renders_its_derived_output(tmp_path: Path) -> None:
    settings = Settings(state_path=str(tmp_path / "state.db"))
    with TestClient(create_app(settings), base_url=ORIGIN) as client:
        _, url = upload(client, png())
        task = run(client, EDIT, edit(url))
        before = client.get(task["images"][0]["url"]).content
    with TestClient(create_app(settings), base_url=ORIGIN) as again:
        assert again.get(task["images"][0]["url"]).content == before
        restored = again.app.state.engine.find_namespace("default").tasks[task["id"]]  # type: ignore[attr-defined]
    assert restored.source is not None and (restored.source.width, restored.source.height) == (300, 200)
    record = task_record(restored)
    del record["source"]  # a state file written before source images still loads
    assert task_from_record(record).source is None
