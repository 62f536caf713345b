"""Song covers: the picture each of the mock's songs lists as its `image_url`, drawn by the image renderer.

The catalog's output spec says what a cover is (``cover: {format, width, height}``, overlay/audio.json), so
nothing here names a family. A cover is captioned with what it is (the model that sang the song, its title,
its task and number) and coloured by its `audio_id`: the same song gives the same bytes, another song another
picture. It is served beside the task's files, at /files/{namespace}/{task}/cover/{n}.{ext} (api/cover_files).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..engine.songs import Song
from . import images

__all__ = ["COVER_DIR", "Cover", "caption", "cover_of", "cover_url", "file_name", "seed"]

COVER_DIR = "cover"
_TITLE_CHARS = 40


@dataclass(frozen=True)
class Cover:
    """What a song's cover is: its size and encoding (png or jpeg)."""

    width: int
    height: int
    format: str


def cover_of(spec: Mapping[str, Any]) -> Cover | None:
    """The cover an output spec gives its songs (None: its songs list no picture)."""
    found = spec.get("cover")
    if not isinstance(found, Mapping):
        return None
    return Cover(int(found["width"]), int(found["height"]), str(found["format"]))


def file_name(index: int, cover: Cover) -> str:
    return f"{index}.{images.extension(cover.format)}"


def cover_url(file_url: str, index: int, cover: Cover) -> str:
    """The cover's URL beside the song's file URL (on the same origin and namespace)."""
    return f"{file_url.rsplit('/', 1)[0]}/{COVER_DIR}/{file_name(index, cover)}"


def seed(song: Song) -> str:
    return f"cover\x1f{song.id}"


def caption(song: Song, count: int, cover: Cover) -> tuple[str, ...]:
    """The lines a cover shows: the model, the song's title, its task, which song and what picture."""
    title = song.title if len(song.title) <= _TITLE_CHARS else song.title[:_TITLE_CHARS - 3].rstrip() + "..."
    return (song.model, f'"{title}"', f"task {song.task_id}",
            f"cover of song {song.index + 1} of {count}, {cover.width} x {cover.height}")
