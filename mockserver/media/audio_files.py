"""The audio files of a task: what each plays (the spec's ``renderer``), in the format asked, and the facts
its result item lists (Suno's song fields, Producer's, or a bare URL).

Renderers, named by the catalog data: ``tone`` (a seeded tune for the duration asked), ``speech`` (the
request's words, as long as reading them: `media.speech`), ``speech_of_source`` (the voice of the primary
source: its words when the mock made it, else a tune as long as it), ``song`` (a seeded song with vocals
unless instrumental: `media.music`; a song derived from one of the mock's songs plays that song's tune) and
``stems`` (one file per stem of the source song, each as long as it). A source is what the
mock kept of it at create (model.SourceMedia: its length, its words, the task file that plays it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runapi_contracts.audio_output import instrumental, speech_speed, spoken_text, stem_names

from ..engine.model import SourceMedia, Task
from ..engine.songs import songs, spec_of
from . import audio, covers, music, speech
from .renderers import RenderJob

__all__ = ["file_facts", "render", "source_of"]

STREAM_SUFFIX = "?stream=1"  # stream_audio_url: the same file, read as it is served


def source_of(task: Task) -> SourceMedia | None:
    """The task's primary source (the spec's ``source``) as the mock kept it, when it could read it."""
    name = spec_of(task).get("source")
    return task.source_media(name) if isinstance(name, str) else None


def _source_seed(source: SourceMedia | None) -> str | None:
    """What a source plays: a song's tune (the one its own source played, down a chain of edits), else a task
    file's seed (`task/index`), else None."""
    if source is None or not source.task_id:
        return None
    return source.tune or f"{source.task_id}/{source.index}"


def _format(task: Task) -> str:
    return task.output().format


def _rate(spec: Mapping[str, Any]) -> int | None:
    value = spec.get("default_sample_rate")
    return value if isinstance(value, int) else None


def _voice(spec: Mapping[str, Any], body: Mapping[str, Any]) -> str:
    name = spec.get("voice")
    value = body.get(name) if isinstance(name, str) else None
    return value if isinstance(value, str) else ""


def render(job: RenderJob) -> bytes:
    """File `job.index` of an audio task, deterministic: the same task and source give the same bytes."""
    task, index = job.task, job.index
    source = source_of(task)
    spec = spec_of(task)
    fmt = _format(task)
    kind = spec.get("renderer", "tone")
    seconds = task.output().duration_seconds or 1.0
    if kind == "speech":
        text = spoken_text(spec, task.body) or ""
        return speech.render_speech(text, fmt, speech_speed(spec, task.body), _rate(spec),
                                    seed=_voice(spec, task.body))
    if kind == "speech_of_source" and source is not None and source.text:
        return speech.render_speech(source.text, fmt, sample_rate=_rate(spec), seed=_source_seed(source) or "")
    if kind == "stems":
        stems = stem_names(spec, task.body)
        song = _song_spec(task, source, 0, seconds, fmt)
        return music.render_stem(song, _stem_layer(task, stems[index]))
    if kind == "song":
        return music.render_song(_song_spec(task, source, index, seconds, fmt))
    return audio.render_audio(audio.AudioSpec(f"{task.id}/{index}", seconds, fmt, _rate(spec)))


def _song_spec(task: Task, source: SourceMedia | None, index: int, seconds: float, fmt: str) -> music.SongSpec:
    """A song of the task: the source song's tune when it derives from one of the mock's files (a remaster,
    a conversion, stems, an extension play it on), else its own."""
    spec = spec_of(task)
    seed = _source_seed(source) or f"{task.id}/{index}"
    silent = instrumental(spec, task.body) or (source is not None and source.text == ""
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


def file_facts(task: Task, urls: Sequence[str]) -> list[dict[str, Any]]:
    """Each file's facts for its result item beyond the kind's (renderers.Kind.facts): its song's fields
    (id, title, lyrics, tags, the model that sang it, its cover's URL) and its streaming URL."""
    listed = songs(task)
    cover = covers.cover_of(spec_of(task))
    facts = []
    for index, url in enumerate(urls):
        fact: dict[str, Any] = {"stream_url": url + STREAM_SUFFIX}
        if index < len(listed):
            song = listed[index]
            tags = [tag.strip() for tag in song.tags.split(",") if tag.strip()]  # Suno's tags: a list
            fact |= {"audio_id": song.id, "title": song.title, "lyrics": song.lyrics, "tags": tags,
                     "prompt": song.prompt, "model": song.model}
            if cover is not None:  # its picture (image_url): media.covers
                fact["cover_url"] = covers.cover_url(url, index, cover)
        facts.append(fact)
    return facts
