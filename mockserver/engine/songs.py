"""The songs a music task made, as the SDKs list them, and the song an `audio_id` names.

Why here and not stored: every fact of a song follows from its task (id, body, model, output spec), so a
song is derived on demand and a restart with `--state` gives the same songs. Song `index` of task T plays
the tune seeded `T/index`, unless T derives from one of the mock's songs (an extension, a remaster): then
it plays that song's tune (`tune`), at every step of a chain, so its audio, stems, MIDI notes and lyric
timings are all of one tune. Its `audio_id` is a UUID derived from `T/index` (Suno's ids are UUIDs). A later
request names a song by `task_id` + `audio_id` (the overlay's source kind ``song:<task field>``), which
sources_media.song_ref resolves against the namespace's own tasks.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runapi_contracts import load_catalog
from runapi_contracts.audio_output import instrumental, spoken_text

from ..media import lyrics as words
from .model import Task

__all__ = ["SONG_RENDERERS", "Song", "audio_id", "file_tune", "songs", "spec_of", "tune", "words_of"]

SONG_RENDERERS = ("song", "stems")  # the renderers whose tasks list songs (their sources are songs too)


@dataclass(frozen=True)
class Song:
    """One song of a task: what its item in `audios` says, and the seed its file plays."""

    id: str
    task_id: str
    index: int
    seed: str  # the tune it plays (`tune`)
    title: str
    lyrics: str
    tags: str
    prompt: str
    model: str
    duration: float
    instrumental: bool


def audio_id(task_id: str, index: int) -> str:
    """The UUID of song `index` of a task: the same after a restart, unique across tasks."""
    return str(uuid.UUID(bytes=hashlib.sha256(f"{task_id}/song/{index}".encode()).digest()[:16], version=4))


def spec_of(task: Task) -> Mapping[str, Any]:
    """The output spec of a task's model ({} for a model the catalog no longer has)."""
    entry = load_catalog().action(task.family, task.action)
    model = entry.models.get(task.model) if entry is not None else None
    return model.output_spec if model is not None else {}


def tune(task: Task, index: int) -> str:
    """The seed of the tune file `index` of a task plays: its primary source's tune when that is one of the
    mock's songs (kept at create: model.SourceMedia.tune), else its own `task/index`."""
    name = spec_of(task).get("source")
    source = task.source_media(name) if isinstance(name, str) else None
    if source is not None and source.task_id:
        return source.tune or f"{source.task_id}/{source.index}"
    return f"{task.id}/{index}"


def file_tune(task: Task, index: int) -> str | None:
    """The tune file `index` of a task plays when it is a song (None for speech, a tone, a sound)."""
    listed = songs(task)
    return listed[index].seed if index < len(listed) else None


def _text(body: Mapping[str, Any], spec: Mapping[str, Any], key: str) -> str:
    name = spec.get(key)
    value = body.get(name) if isinstance(name, str) else None
    return value if isinstance(value, str) else ""


def songs(task: Task) -> list[Song]:
    """The songs a task lists (none unless its renderer makes songs), in file order."""
    spec = spec_of(task)
    if spec.get("renderer") not in SONG_RENDERERS:
        return []
    output = task.output()
    body = task.body
    prompt = _text(body, spec, "prompt")
    tags = _text(body, spec, "tags")
    silent = instrumental(spec, body)
    out = []
    for index in range(output.count):
        own = f"{task.id}/{index}"  # its words are its own, whatever tune it plays
        sung = "" if silent else (_text(body, spec, "lyrics") or words.lyrics(own, prompt or tags))
        name = _text(body, spec, "title") or words.title(own, prompt or tags)
        out.append(Song(id=audio_id(task.id, index), task_id=task.id, index=index, seed=tune(task, index),
                        title=name, lyrics=sung, tags=tags, prompt=prompt, model=task.requested_model or task.model,
                        duration=output.duration_seconds or 0.0, instrumental=silent))
    return out


def words_of(task: Task, index: int) -> str | None:
    """What file `index` of a task says: the words its speech reads, its song's lyrics ("" for an
    instrumental), or None when the mock cannot tell (a tune, a sound)."""
    spoken = spoken_text(spec_of(task), task.body)
    if spoken is not None:
        return spoken
    listed = songs(task)
    return listed[index].lyrics if index < len(listed) else None
