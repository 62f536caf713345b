"""The data members of audio-family results: the generators a result layout names (``from: data:<name>``).

Each generator is a function of the task, its files' URLs and what the mock knows of its primary source
(`Heard`): a transcript of the source's words (its own speech says what was spoken; other audio gets a
seeded transcript timed inside it), lyric sheets, MIDI notes of the source song, the stems object, a voice
id, a validation phrase. Nothing here names a family: the catalog's layout picks the generator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runapi_contracts.audio_output import stem_names

from .audio_files import Heard
from .media import lyrics as words
from .media import music, speech
from .model import Task
from .songs import spec_of

__all__ = ["GENERATORS", "generate", "voice_id"]

Generator = Callable[[Task, Sequence[str], Heard], Any]


def _spoken(task: Task, source: Heard) -> list[speech.Word]:
    seconds = source.duration or task.output().duration_seconds or 1.0
    if source.text:
        return speech.word_timings(source.text, duration_seconds=seconds)
    return speech.transcript(source.seed or task.id, seconds)


def _transcript(task: Task, urls: Sequence[str], source: Heard) -> str:
    return " ".join(word.word for word in _spoken(task, source))


def _words(task: Task, urls: Sequence[str], source: Heard) -> list[dict[str, Any]]:
    # ElevenLabs' shape: [{text, start, end, type}] (untyped in the SDK: kept as an extra member).
    return [{"text": w.word, "start": w.start, "end": w.end, "type": "word"} for w in _spoken(task, source)]


def _language(task: Task, urls: Sequence[str], source: Heard) -> str:
    code = task.body.get("language_code")
    return code if isinstance(code, str) and code else "en"


def _lyrics(task: Task, urls: Sequence[str], source: Heard) -> list[dict[str, str]]:
    prompt = str(task.body.get("prompt") or "")
    return [{"title": words.title(f"{task.id}/{i}", prompt), "text": words.lyrics(f"{task.id}/{i}", prompt)}
            for i in range(2)]


def _blended(task: Task, urls: Sequence[str], source: Heard) -> list[dict[str, str]]:
    text = words.blend(str(task.body.get("lyrics_a") or ""), str(task.body.get("lyrics_b") or ""))
    return [{"title": words.title(task.id, text), "text": text}]


def _midi(task: Task, urls: Sequence[str], source: Heard) -> list[dict[str, Any]]:
    song = source.song
    seed = song.seed if song is not None else task.id
    seconds = source.duration or task.output().duration_seconds or 1.0
    notes = music.midi_notes(seed, seconds, song.instrumental if song is not None else False)
    return [{"name": name, "notes": [{"pitch": n.pitch, "start_time": n.start_time, "end_time": n.end_time,
                                      "velocity": n.velocity} for n in played]}
            for name, played in notes.items()]


def _separated(task: Task, urls: Sequence[str], source: Heard) -> dict[str, Any]:
    """Suno's SeparatedAudio: a `<stem>_url` per stem, or `pairs` for an advanced split (extracted, remaining)."""
    stems = stem_names(spec_of(task), task.body)
    if stems != ("extracted", "remaining"):
        return {f"{stem}_url": url for stem, url in zip(stems, urls, strict=False)}
    seconds = task.output().duration_seconds
    halves = {stem: {"id": f"{task.id}-{stem}", "duration_seconds": seconds, "audio_url": url}
              for stem, url in zip(stems, urls, strict=False)}
    return {"pairs": [{"stem_name": task.body.get("stem_name"), "extracted_audio": halves.get("extracted"),
                       "remaining_audio": halves.get("remaining")}]}


def _phrase(task: Task, urls: Sequence[str], source: Heard) -> str:
    language = task.body.get("language")
    return words.validation_phrase(task.id, language if isinstance(language, str) else source.text)


def voice_id(task_id: str) -> str:
    """The id of the voice a task created (stable: derived from the task)."""
    return f"voice_{task_id.replace('-', '')[:24]}"


def _voice_id(task: Task, urls: Sequence[str], source: Heard) -> str:
    return voice_id(task.id)


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


def generate(layout: Sequence[Mapping[str, Any]], task: Task, urls: Sequence[str], source: Heard) -> dict[str, Any]:
    """The members of `layout` that name a generator (``from: data:<name>``), generated."""
    out: dict[str, Any] = {}
    for member in layout:
        origin = member.get("from")
        if isinstance(origin, str) and origin.startswith("data:"):
            out[member["member"]] = GENERATORS[origin.removeprefix("data:")](task, urls, source)
    return out
