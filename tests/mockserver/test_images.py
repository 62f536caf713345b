"""Tests for deterministic image rendering, sizing and caching."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any

import pytest
from PIL import Image

from runapi_contracts.output import dimensions
from runapi_mock.media.images import ImageCache, caption, content_type, extension, render


@pytest.mark.parametrize(
    ("aspect_ratio", "resolution", "expected"),
    [
        ("16:9", "1k", (1024, 576)),
        ("9:16", "2k", (1152, 2048)),
        ("1:1", "4k", (4096, 4096)),
        ("4:3", "1k", (1024, 768)),
        ("3:2", "2k", (2048, 1368)),
        ("2:3", "1k", (680, 1024)),
        ("21:9", "1k", (1024, 440)),
        ("9:21", "2k", (880, 2048)),
        ("3:1", "4k", (4096, 1368)),
        ("1:3", "1k", (344, 1024)),
        ("2:1", "1k", (1024, 512)),
        ("5:4", "1k", (1024, 816)),
        ("1000:1", "1k", (1024, 8)),
        ("auto", "1k", (1024, 1024)),
        ("auto", "2k", (2048, 2048)),
        (None, "4k", (4096, 4096)),
        ("16:9", None, (1024, 576)),
        (None, None, (1024, 1024)),
        ("16:9", "2K", (2048, 1152)),
        ("garbage", "1k", (1024, 1024)),
        ("a:b", "1k", (1024, 1024)),
        ("0:9", "1k", (1024, 1024)),
        ("-16:9", "1k", (1024, 1024)),
        ("", "1k", (1024, 1024)),
    ],
)
def test_dimensions(aspect_ratio: str | None, resolution: str | None, expected: tuple[int, int]) -> None:
    # The catalog maps a resolution to the long side (output.shape); the ratio gives the short one.
    long_side = {"1k": 1024, "2k": 2048, "4k": 4096}[(resolution or "1k").lower()]
    assert dimensions(aspect_ratio, long_side) == expected


@pytest.mark.parametrize(
    ("fmt", "pil_format"),
    [("png", "PNG"), ("jpeg", "JPEG"), ("jpg", "JPEG"), ("PNG", "PNG")],
)
@pytest.mark.parametrize(("width", "height"), [(1024, 576), (344, 1024), (8, 8), (3, 5)])
def test_render_decodes_to_requested_size_and_format(
    fmt: str, pil_format: str, width: int, height: int
) -> None:
    with Image.open(io.BytesIO(render("task-1", width, height, fmt))) as image:
        assert image.format == pil_format
        assert image.size == (width, height)
        image.load()


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_render_is_deterministic(fmt: str) -> None:
    assert render("task-1", 640, 480, fmt) == render("task-1", 640, 480, fmt)


def test_render_is_deterministic_across_processes() -> None:
    code = (
        "import sys; from runapi_mock.media.images import render; "
        "sys.stdout.buffer.write(render('task-1', 64, 48, 'png'))"
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert child.stdout == render("task-1", 64, 48, "png")


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_different_seeds_give_different_bytes(fmt: str) -> None:
    outputs = {render(f"task-{i}", 256, 256, fmt) for i in range(10)}
    assert len(outputs) == 10


def test_render_uses_several_colours() -> None:
    with Image.open(io.BytesIO(render("task-1", 256, 256, "png"))) as image:
        assert len(image.getcolors(maxcolors=256) or []) > 1


@pytest.mark.parametrize("fmt", ["gif", "webp", ""])
def test_render_rejects_unknown_format(fmt: str) -> None:
    with pytest.raises(ValueError, match="format"):
        render("task-1", 8, 8, fmt)


@pytest.mark.parametrize(("width", "height"), [(0, 8), (8, 0), (-1, 8)])
def test_render_rejects_empty_size(width: int, height: int) -> None:
    with pytest.raises(ValueError, match="size"):
        render("task-1", width, height, "png")


@pytest.mark.parametrize(
    ("fmt", "mime", "ext"),
    [("png", "image/png", "png"), ("jpeg", "image/jpeg", "jpg"), ("jpg", "image/jpeg", "jpg")],
)
def test_content_type_and_extension(fmt: str, mime: str, ext: str) -> None:
    assert content_type(fmt) == mime
    assert extension(fmt) == ext


def test_cache_hit_returns_identical_bytes() -> None:
    cache = ImageCache()
    first = cache.get_or_render("a", "seed-a", 64, 64, "png")
    second = cache.get_or_render("a", "other-seed", 64, 64, "png")
    assert second is first
    assert first == render("seed-a", 64, 64, "png")
    assert len(cache) == 1
    assert cache.total_bytes == len(first)


def test_cache_evicts_least_recently_used_when_over_budget() -> None:
    size = len(render("seed-a", 64, 64, "png"))
    cache = ImageCache(max_bytes=2 * size)
    cache.get_or_render("a", "seed-a", 64, 64, "png")
    cache.get_or_render("b", "seed-a", 64, 64, "png")
    cache.get_or_render("a", "seed-a", 64, 64, "png")  # touch "a" so "b" is the oldest
    cache.get_or_render("c", "seed-a", 64, 64, "png")
    assert "a" in cache
    assert "b" not in cache
    assert "c" in cache
    assert cache.total_bytes <= cache.max_bytes


def test_cache_does_not_keep_an_entry_larger_than_its_budget() -> None:
    cache = ImageCache(max_bytes=10)
    data = cache.get_or_render("a", "seed-a", 64, 64, "png")
    assert data == render("seed-a", 64, 64, "png")
    assert len(cache) == 0
    assert cache.total_bytes == 0


def test_cache_rejects_negative_budget() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        ImageCache(max_bytes=-1)


# -- captions: the image says where it came from ---------------------------------------------------------------

TASK_ID = "3f2a9c1e-1111-4222-8333-444455556666"


def test_caption_names_model_size_task_and_prompt_start() -> None:
    lines = caption("flux-kontext-pro", (1024, 576), "jpg", TASK_ID, "A  futuristic\ncityscape " + "x" * 80)
    assert lines[0] == "flux-kontext-pro"
    assert lines[1] == "1024 x 576 jpeg"
    assert lines[2] == f"task {TASK_ID}"
    assert lines[3].startswith('"A futuristic cityscape x') and lines[3].endswith('..."')
    assert len(lines[3]) <= 50


def test_caption_numbers_images_of_a_multi_image_task_and_skips_a_missing_prompt() -> None:
    lines = caption("gpt-image-2", (1024, 1024), "png", TASK_ID, None, index=1, count=3)
    assert lines == ("gpt-image-2", "1024 x 1024 png  (image 2 of 3)", f"task {TASK_ID}")


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_captioned_render_is_deterministic_and_differs_from_the_plain_one(fmt: str) -> None:
    lines = caption("flux-2-pro-text-to-image", (640, 480), fmt, TASK_ID, "A ceramic vase")
    first = render("task-1", 640, 480, fmt, lines)
    assert first == render("task-1", 640, 480, fmt, lines)
    assert first != render("task-1", 640, 480, fmt)
    with Image.open(io.BytesIO(first)) as image:
        assert image.size == (640, 480)


def test_caption_panel_is_drawn_in_the_middle_of_the_image() -> None:
    lines = caption("flux-kontext-pro", (1024, 576), "png", TASK_ID, "A red bicycle")
    plain = Image.open(io.BytesIO(render("task-1", 1024, 576, "png"))).convert("RGB")
    captioned = Image.open(io.BytesIO(render("task-1", 1024, 576, "png", lines))).convert("RGB")
    box = (312, 238, 712, 338)
    assert plain.crop(box).tobytes() != captioned.crop(box).tobytes()
    # Two tones at least around the centre: the panel and its text.
    assert len(captioned.crop(box).getcolors(maxcolors=100_000) or []) >= 2
    assert captioned.getpixel((2, 2)) == plain.getpixel((2, 2)), "the caption stays off the edges"


def test_tiny_images_go_without_a_caption() -> None:
    lines = caption("flux-kontext-pro", (8, 8), "png", TASK_ID, "A red bicycle")
    assert render("task-1", 8, 8, "png", lines) == render("task-1", 8, 8, "png")


def test_served_image_carries_its_tasks_caption(client: Any) -> None:
    created = client.post("/api/v1/flux_kontext/text_to_image", headers={"Authorization": "Bearer test-key"},
                          json={"model": "flux-kontext-pro", "prompt": "A red bicycle", "output_format": "png",
                                "aspect_ratio": "16:9"})
    assert created.status_code == 200, created.text
    task_id = created.json()["id"]
    done = client.post(f"/_mock/tasks/{task_id}/status", json={"status": "completed"})
    url = done.json()["images"][0]["url"]
    served = client.get(url)
    assert served.status_code == 200
    lines = caption("flux-kontext-pro", (1024, 576), "png", task_id, "A red bicycle")
    assert served.content == render(f"{task_id}/0.png", 1024, 576, "png", lines)
