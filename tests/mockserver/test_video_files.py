"""A video task's files as the mock serves them: rendered on first download, byte ranges, a poster, the
render cache's bound (a flag and /_mock/config), and video tasks across a --state restart."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from starlette.testclient import TestClient

from runapi_mock import Settings
from runapi_mock.app import create_app
from runapi_mock.media import probe

AUTH = {"Authorization": "Bearer k"}
BODY = {"model": "pixverse-v6", "prompt": "waves", "output_resolution": "360p", "duration_seconds": 1,
        "aspect_ratio": "16:9"}


URL = "http://127.0.0.1:8787"  # a loopback Host: the mock answers only there (DNS rebinding guard)


def _video(client: TestClient, **changes: object) -> tuple[str, str]:
    created = client.post("/api/v1/pixverse/text_to_video", json={**BODY, **changes}, headers=AUTH)
    assert created.status_code == 200, created.text
    task = client.get(f"/api/v1/pixverse/text_to_video/{created.json()['id']}", headers=AUTH).json()
    return task["id"], task["videos"][0]["url"]


def test_a_video_file_is_served_whole_in_ranges_and_as_a_poster() -> None:
    with TestClient(create_app(Settings(progression="immediate")), base_url=URL) as client:
        _, url = _video(client)
        whole = client.get(url)
        assert (whole.status_code, whole.headers["content-type"], whole.headers["accept-ranges"]) == \
            (200, "video/mp4", "bytes")
        assert (probe(whole.content).width, probe(whole.content).height) == (640, 360)
        part = client.get(url, headers={"Range": "bytes=4-11"})
        assert (part.status_code, part.content) == (206, whole.content[4:12])
        assert part.headers["content-range"] == f"bytes 4-11/{len(whole.content)}"
        tail = client.get(url, headers={"Range": "bytes=-5"})
        assert (tail.status_code, tail.content) == (206, whole.content[-5:])
        past = client.get(url, headers={"Range": f"bytes={len(whole.content)}-"})
        assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(whole.content)}"
        assert past.json()["error"]["code"] == "range_not_satisfiable"
        poster = client.get(url + "?poster=1")
        assert poster.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(poster.content)).size == (640, 360)
        assert client.get(url).content == whole.content  # the same bytes again (cached, and deterministic)


def test_the_render_cache_keeps_files_within_its_bound_and_config_changes_it() -> None:
    settings = Settings(progression="immediate", render_cache_bytes=0)
    with TestClient(create_app(settings), base_url=URL) as client:
        assert client.get("/_mock/config").json()["render_cache_bytes"] == 0
        _, url = _video(client)
        assert client.get(url).status_code == 200
        assert client.get("/_mock/config").json()["render_cache_used_bytes"] == 0  # nothing kept past a 0 bound
        assert client.put("/_mock/config", json={"render_cache_bytes": 10_000_000}).status_code == 200
        size = len(client.get(url).content)
        assert client.get("/_mock/config").json()["render_cache_used_bytes"] == size
        client.put("/_mock/config", json={"render_cache_bytes": size - 1})  # shrinking evicts at once
        assert client.get("/_mock/config").json()["render_cache_used_bytes"] == 0
        bad = client.put("/_mock/config", json={"render_cache_bytes": -1})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_render_cache_bytes"


def test_video_tasks_and_their_sources_survive_a_restart(tmp_path: Path) -> None:
    settings = Settings(progression="immediate", state_path=str(tmp_path / "state.sqlite"))
    with TestClient(create_app(settings), base_url=URL) as client:
        source, _ = _video(client)
        extend = {key: value for key, value in BODY.items() if key != "aspect_ratio"}
        created = client.post("/api/v1/pixverse/extend_video",
                              json={**extend, "source_task_id": source, "duration_seconds": 2}, headers=AUTH)
        assert created.status_code == 200, created.text
        extended = client.get(f"/api/v1/pixverse/extend_video/{created.json()['id']}", headers=AUTH).json()
        before = client.get(extended["videos"][0]["url"]).content
    with TestClient(create_app(settings), base_url=URL) as client:
        again = client.get(f"/api/v1/pixverse/extend_video/{extended['id']}", headers=AUTH).json()
        assert again["videos"] == extended["videos"]
        after = client.get(again["videos"][0]["url"]).content
    assert after == before and probe(after).duration_seconds == 3.0  # 1 s source + 2 s, rendered again
