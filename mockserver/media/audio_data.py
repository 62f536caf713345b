"""The data members of audio-family results: the generators a result layout names (``from: data:<name>``).

Each generator is a function of the task, its files' URLs and what the mock knows of its primary source
(model.SourceMedia): a transcript of the source's words (its own speech says what was spoken; other audio gets a
seeded transcript timed inside it), lyric sheets, MIDI notes of the source song, the stems object, a voice
id, a validation phrase. Nothing here names a family: the catalog's layout picks the generator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runapi_contracts.audio_output import stem_names

from ..engine.model import SourceMedia, Task
from ..engine.resources import resource_id
from ..engine.songs import spec_of
from . import lyrics as words
from . import music, speech
from .audio_files import source_of

__all__ = ["GENERATORS", "generate"]

Generator = Callable[[Task, Sequence[str], SourceMedia | None], Any]


def _spoken(task: Task, source: SourceMedia | None) -> list[speech.Word]:
    """The words a source says, timed inside it: its own words when the mock made it, else a seeded
    transcript (an upload's seed is its label, so the same file gets the same words)."""
    seconds = task.output().duration_seconds or 1.0  # the source's length (duration_from), or the default
    if source is not None and source.text:
        return speech.word_timings(source.text, duration_seconds=seconds)
    return speech.transcript(source.label if source is not None else task.id, seconds)


def _transcript(task: Task, urls: Sequence[str], source: SourceMedia | None) -> str:
    return " ".join(word.word for word in _spoken(task, source))


def _words(task: Task, urls: Sequence[str], source: SourceMedia | None) -> list[dict[str, Any]]:
    # ElevenLabs' shape: [{text, start, end, type}] (untyped in the SDK: kept as an extra member).
    return [{"text": w.word, "start": w.start, "end": w.end, "type": "word"} for w in _spoken(task, source)]


def _language(task: Task, urls: Sequence[str], source: SourceMedia | None) -> str:
    code = task.body.get("language_code")
    return code if isinstance(code, str) and code else "en"


def _lyrics(task: Task, urls: Sequence[str], source: SourceMedia | None) -> list[dict[str, str]]:
    prompt = str(task.body.get("prompt") or "")
    return [{"title": words.title(f"{task.id}/{i}", prompt), "text": words.lyrics(f"{task.id}/{i}", prompt)}
            for i in range(2)]


def _blended(task: Task, urls: Sequence[str], source: SourceMedia | None) -> list[dict[str, str]]:
    text = words.blend(str(task.body.get("lyrics_a") or ""), str(task.body.get("lyrics_b") or ""))
    return [{"title": words.title(task.id, text), "text": text}]


def _midi(task: Task, urls: Sequence[str], source: SourceMedia | None) -> list[dict[str, Any]]:
    """The notes the source song plays (its tune, the one its audio and stems play), per instrument, inside
    its length."""
    seed = (source.tune or f"{source.task_id}/{source.index}") if source is not None and source.task_id else task.id
    seconds = task.output().duration_seconds or 1.0
    notes = music.midi_notes(seed, seconds, source is not None and source.text == "")
    return [{"name": name, "notes": [{"pitch": n.pitch, "start_time": n.start_time, "end_time": n.end_time,
                                      "velocity": n.velocity} for n in played]}
            for name, played in notes.items()]


def _separated(task: Task, urls: Sequence[str], source: SourceMedia | None) -> dict[str, Any]:
    """Suno's SeparatedAudio: a `<stem>_url` per stem, or `pairs` for an advanced split (extracted, remaining)."""
    stems = stem_names(spec_of(task), task.body)
    if stems != ("extracted", "remaining"):
        return {f"{stem}_url": url for stem, url in zip(stems, urls, strict=False)}
    seconds = task.output().duration_seconds
    halves = {stem: {"id": f"{task.id}-{stem}", "duration_seconds": seconds, "audio_url": url}
              for stem, url in zip(stems, urls, strict=False)}
    return {"pairs": [{"stem_name": task.body.get("stem_name"), "extracted_audio": halves.get("extracted"),
                       "remaining_audio": halves.get("remaining")}]}


def _phrase(task: Task, urls: Sequence[str], source: SourceMedia | None) -> str:
    language = task.body.get("language")
    return words.validation_phrase(task.id, language if isinstance(language, str) else None)


def _voice_id(task: Task, urls: Sequence[str], source: SourceMedia | None) -> str:
    return resource_id("voice", task.id)  # the voice the completed task made (resources.made_by)


GENERATORS: Mapping[str, Generator] = {
    "transcript": _transcript,
    "words": _words,
    "language_code": _language,
    "lyrics": _lyrics,
    "blended_lyrics": _blended,
    "midi": _midi,
    "separated_audios": _separated,
    "validation_phrase": _phrase,
    "voice_id": _voice_id,
}


def generate(layout: Sequence[Mapping[str, Any]], task: Task, urls: Sequence[str]) -> dict[str, Any]:
    """The values of the generators `layout` names (``from: data:<name>``), by name."""
    source = source_of(task)
    out: dict[str, Any] = {}
    for member in layout:
        origin = member.get("from")
        if isinstance(origin, str) and origin.startswith("data:"):
            name = origin.removeprefix("data:")
            out[name] = GENERATORS[name](task, urls, source)
    return out
