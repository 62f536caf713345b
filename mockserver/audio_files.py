"""The audio files of a task: what each plays (the spec's ``renderer``), in the format asked, and the facts
its result item lists (Suno's song fields, Producer's, or a bare URL).

Renderers, named by the catalog data: ``tone`` (a seeded tune for the duration asked), ``speech`` (the
request's words, as long as reading them: `media.speech`), ``speech_of_source`` (the voice of the primary
source: its words when the mock made it, else a tune as long as it), ``song`` (a seeded song with vocals
unless instrumental: `media.music`; a song derived from one of the mock's songs plays that song's tune) and
``stems`` (one file per stem of the source song, each as long as it). `Heard` is what the mock knows of a
source's sound: its length, the words it says and the song it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runapi_contracts.audio_output import instrumental, speech_speed, spoken_text, stem_names

from .media import audio, music, speech
from .model import Task
from .songs import Song, songs, spec_of

__all__ = ["Heard", "content_type", "extension", "file_facts", "file_names", "render"]

STREAM_SUFFIX = "?stream=1"  # stream_audio_url: the same file, read as it is served


@dataclass(frozen=True)
class Heard:
    """What the mock knows of a source's sound (nothing, for a URL elsewhere)."""

    duration: float | None = None
    text: str | None = None  # the words it speaks or sings, when the mock made it
    song: Song | None = None  # the song it is, when it is one of the mock's songs
    seed: str | None = None  # what it plays (a task file's seed, an upload's id)


def _format(task: Task) -> str:
    return task.output().format


def extension(task: Task) -> str:
    return audio.extension(_format(task))


def content_type(task: Task) -> str:
    return audio.content_type(_format(task))


def file_count(task: Task) -> int:
    """How many files the task makes: one per stem for a separation, else the output's count."""
    stems = stem_names(spec_of(task), task.body)
    return len(stems) if stems else task.output().count


def file_names(task: Task) -> list[str]:
    ext = extension(task)
    return [f"{index}.{ext}" for index in range(file_count(task))]


def _rate(spec: Mapping[str, Any]) -> int | None:
    value = spec.get("default_sample_rate")
    return value if isinstance(value, int) else None


def _voice(spec: Mapping[str, Any], body: Mapping[str, Any]) -> str:
    name = spec.get("voice")
    value = body.get(name) if isinstance(name, str) else None
    return value if isinstance(value, str) else ""


def render(task: Task, index: int, source: Heard) -> bytes:
    """File `index` of `task`, deterministic: the same task and source give the same bytes."""
    spec = spec_of(task)
    fmt = _format(task)
    kind = spec.get("renderer", "tone")
    seconds = task.output().duration_seconds or 1.0
    if kind == "speech":
        text = spoken_text(spec, task.body) or ""
        return speech.render_speech(text, fmt, speech_speed(spec, task.body), _rate(spec),
                                    seed=_voice(spec, task.body))
    if kind == "speech_of_source" and source.text:
        return speech.render_speech(source.text, fmt, sample_rate=_rate(spec), seed=source.seed or "")
    if kind == "stems":
        stems = stem_names(spec, task.body)
        song = _song_spec(task, source, 0, seconds, fmt)
        return music.render_stem(song, _stem_layer(task, stems[index]))
    if kind == "song":
        return music.render_song(_song_spec(task, source, index, seconds, fmt))
    return audio.render_audio(audio.AudioSpec(f"{task.id}/{index}", seconds, fmt, _rate(spec)))


def _song_spec(task: Task, source: Heard, index: int, seconds: float, fmt: str) -> music.SongSpec:
    """A song of the task: the source song's tune when it derives from one of the mock's songs (a remaster,
    a conversion, stems, an extension play it on), else its own."""
    spec = spec_of(task)
    seed = source.song.seed if source.song is not None else f"{task.id}/{index}"
    silent = instrumental(spec, task.body) or (source.song is not None and source.song.instrumental
                                               and spec.get("renderer") == "stems")
    rate = 22050 if audio.audio_format(fmt).fixed_rate is False else None
    return music.SongSpec(seed, seconds, fmt, sample_rate=rate, instrumental=silent)


def _stem_layer(task: Task, stem: str) -> str:
    """The stem name a file plays: an advanced split's `extracted` plays the requested stem_name, its
    `remaining` everything else (the instrumental when a voice is extracted)."""
    name = task.body.get("stem_name")
    if stem == "extracted" and isinstance(name, str):
        return name
    if stem == "remaining":
        return "instrumental" if isinstance(name, str) and "vocal" in name.lower() else "vocal"
    return stem


def file_facts(task: Task, urls: list[str]) -> list[dict[str, Any]]:
    """Each file's facts for its result item: its song's fields (id, title, lyrics, tags...) and its duration,
    format and MIME type."""
    listed = songs(task)
    fmt = _format(task)
    seconds = task.output().duration_seconds
    facts = []
    for index, url in enumerate(urls):
        fact: dict[str, Any] = {"url": url, "stream_url": url + STREAM_SUFFIX, "duration": seconds,
                                "format": fmt, "mime_type": audio.content_type(fmt)}
        if index < len(listed):
            song = listed[index]
            fact |= {"audio_id": song.id, "title": song.title, "lyrics": song.lyrics, "tags": song.tags,
                     "prompt": song.prompt, "model": song.model,
                     "cover_url": url.rsplit("/", 1)[0] + f"/cover-{index}.png"}
        facts.append(fact)
    return facts
