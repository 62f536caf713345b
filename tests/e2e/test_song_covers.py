"""Every song's cover (`image_url`) is a real picture, through the official Suno and Producer SDKs, unmodified.

The cover is what the catalog's output spec says (`cover`: format and size), captioned with what it is (model,
title, task), served like the mock's other files (nosniff, cached, a 404 for a song that is not there), and
the same song gives the same bytes.
"""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image
from runapi.core import RequestOptions
from runapi.producer import ProducerClient
from runapi.suno import SunoClient

from runapi_contracts import load_catalog
from runapi_mock.engine.songs import Song
from runapi_mock.media.covers import Cover, caption
from runapi_mock.media.images import ImageCache
from runapi_mock.serving.server import RunningServer
from tests.e2e import sdk_support

PILLOW = {"jpeg": "JPEG", "png": "PNG"}
MIME = {"jpeg": "image/jpeg", "png": "image/png"}


def _cover_spec(family: str, action: str) -> dict[str, Any]:
    entry = load_catalog().action(family, action)
    assert entry is not None
    cover = next(iter(entry.models.values())).output_spec["cover"]
    assert isinstance(cover, dict)
    return cover


def _download(url: str, spec: dict[str, Any]) -> bytes:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MIME[spec["format"]]
    assert response.headers["x-content-type-options"] == "nosniff"
    with Image.open(io.BytesIO(response.content)) as picture:
        assert picture.format == PILLOW[spec["format"]]
        assert picture.size == (spec["width"], spec["height"])
        assert len(set(picture.convert("RGB").getdata())) > 2  # a drawing with a caption, not a flat colour
    return response.content


def test_every_suno_song_has_its_own_cover(server: RunningServer, opts: RequestOptions) -> None:
    suno: Any = sdk_support.client(SunoClient, server.base_url)
    spec = _cover_spec("suno", "text_to_music")
    song = suno.text_to_music.run(options=opts, model="suno-v5.5", vocal_mode="instrumental", style="ambient",
                                  title="Drift", duration_seconds=10)
    covers = [_download(item.image_url, spec) for item in song.audios]
    assert len(covers) == len(song.audios) == 2 and covers[0] != covers[1]
    kept = server.app.state.image_cache
    server.app.state.image_cache = ImageCache()  # drawn again, not read from the cache
    try:
        assert [_download(item.image_url, spec) for item in song.audios] == covers  # the same song, the same bytes
    finally:
        server.app.state.image_cache = kept
    again = suno.text_to_music.get(song.id, options=opts)
    assert [item.image_url for item in again.audios] == [item.image_url for item in song.audios]

    extended = suno.extend_music.run(options=opts, model="suno-v5.5", parameter_mode="source", task_id=song.id,
                                     audio_id=song.audios[0].id, continue_at=5)
    assert _download(extended.audios[0].image_url, spec) not in covers  # a new song, a new cover
    missing = httpx.get(song.audios[0].image_url.rsplit("/", 1)[0] + "/7.jpg")
    assert missing.status_code == 404


def test_a_producer_song_has_a_cover(server: RunningServer, opts: RequestOptions) -> None:
    producer: Any = sdk_support.client(ProducerClient, server.base_url)
    song = producer.text_to_music.run(options=opts, model="fuzz-2.0", vocal_mode="instrumental",
                                      prompt="a calm piano piece")
    spec = _cover_spec("producer", "text_to_music")
    assert all(_download(item.image_url, spec) for item in song.audios)


def test_suno_artwork_is_drawn_for_the_song_it_names(server: RunningServer, opts: RequestOptions) -> None:
    suno: Any = sdk_support.client(SunoClient, server.base_url)
    song = suno.text_to_music.run(options=opts, model="suno-v5.5", vocal_mode="instrumental", style="ambient",
                                  title="Drift", duration_seconds=10)
    art = suno.generate_artwork.run(options=opts, task_id=song.id)
    entry = load_catalog().action("suno", "generate_artwork")
    assert entry is not None
    output = next(iter(entry.models.values())).output({"task_id": song.id})
    spec = {"format": output.format, "width": output.width, "height": output.height}
    drawn = [_download(cover.url, spec) for cover in art.covers]
    assert len(drawn) == output.count and drawn == [_download(cover.url, spec) for cover in art.covers]
    task = server.app.state.engine.find(server.app.state.engine.find_namespace(opts.headers["X-Mock-Namespace"]),
                                        art.id)
    assert task.caption(0)[-1] == f"from task {song.id[:8]} audio 1"  # the song it is the artwork of


def test_a_cover_says_what_it_is() -> None:
    song = Song(id="a-1", task_id="task-9", index=1, seed="task-9/1", title="Quiet Morning", lyrics="", tags="",
                prompt="", model="suno-v5.5", duration=10.0, instrumental=True)
    lines = caption(song, 2, Cover(512, 512, "jpeg"))
    assert lines[:3] == ("suno-v5.5", '"Quiet Morning"', "task task-9") and "song 2 of 2" in lines[3]
