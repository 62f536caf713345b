"""The answers of the synchronous actions: what each gives back, as a function of its task.

The catalog's output spec names the answer (``answer: seed``...); `answer(task, facts)` builds it, the same
whether it goes out at once or is stored in a task result for the 202 path. Every answer follows the request:
a seed stable per image, prompts shortened from the one sent, an image described from its caption when it is
the mock's own, a persona or style from the words sent, lyrics aligned inside the song they name. Nothing here
names a family; `Facts` is what an answer may look up beyond its task (the key's other tasks, its files).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runapi_contracts import load_catalog

from ..engine.model import Task
from ..media import music
from ..media.audio_files import source_of
from .speech_files import SpeechFile
from .transcripts import transcription

__all__ = ["Answer", "Facts", "answer", "answer_name", "stable_id"]

Answer = tuple[str, Any]  # (content type, body): a JSON object, or text for a transcript's text formats
JSON_TYPE = "application/json"
_STOP = frozenset(["a", "an", "the", "of", "and", "with", "in", "on", "at", "to", "for", "by", "from", "very",
                   "really", "that", "this", "is", "are", "its"])
_STYLE_WORDS = ("warm analog mix", "tight drums", "wide stereo", "clear lead vocal", "polished production")


@dataclass(frozen=True)
class Facts:
    """What an answer may look up beyond its own task."""

    find_task: Callable[[str], Task | None]  # a task of the same key and namespace, by id
    speech_file: Callable[[Task], SpeechFile]  # the task's speech file, its URL on the reading origin


def answer_name(task: Task) -> str:
    """The answer the task's action gives (its output spec's ``answer``; "" for an action that is not one)."""
    entry = load_catalog().action(task.family, task.action)
    return str(entry.output_spec.get("answer", "")) if entry is not None else ""


def stable_id(prefix: str, *parts: object) -> str:
    """An id that follows what it is made of (the same parts give the same id)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return f"{prefix}_{digest[:24]}"


def _head(task: Task) -> dict[str, Any]:
    return {"id": task.id, "status": "completed"}


def _speech(task: Task, facts: Facts) -> dict[str, Any]:
    file = facts.speech_file(task)
    return {**_head(task), "audios": [{"url": file.url, "format": file.format, "mime_type": file.mime_type,
                                       "size_bytes": len(file.data)}]}


def _voice_record(task: Task) -> dict[str, Any]:
    return {"voice_id": stable_id("voice", task.namespace, task.key, task.id), "name": task.body.get("name"),
            "state": "trained"}


def _fish_voice(task: Task, facts: Facts) -> dict[str, Any]:
    return {"voice": _voice_record(task)}


def _gemini_audio(task: Task, facts: Facts) -> dict[str, Any]:
    return {**_head(task), "audio": {"id": stable_id("audio", task.id), "name": task.body.get("name")}}


def _gemini_character(task: Task, facts: Facts) -> dict[str, Any]:
    url = task.body.get("reference_image_url")
    name = task.body.get("character_name") or _words(str(task.body.get("descriptions", "")))[:3]
    return {**_head(task), "character": {"id": stable_id("character", task.id),
                                         "name": name if isinstance(name, str) else " ".join(name).title(),
                                         "images": [{"url": url}] if isinstance(url, str) else []}}


def _seed(task: Task, facts: Facts) -> dict[str, Any]:
    image_id = str(task.body.get("image_id", ""))
    digest = hashlib.sha256(f"seed\x1f{image_id}".encode()).digest()
    return {**_head(task), "seed": int.from_bytes(digest[:4], "big")}  # Midjourney seeds are 0..2**32-1


def _words(text: str) -> list[str]:
    return re.findall(r"[\w'-]+", text)


def shorten(prompt: str) -> list[str]:
    """Five shortenings of `prompt`, longest first: its content words, then fewer of them; each a subsequence
    of the words sent (Midjourney's /shorten keeps the words that carry the image)."""
    words = _words(prompt)
    content = [w for w in words if w.lower() not in _STOP] or words
    keep = [len(content), max(1, round(len(content) * 0.75)), max(1, round(len(content) * 0.5)),
            max(1, round(len(content) * 0.35)), max(1, min(3, len(content)))]
    return [", ".join(content[:n]) if n < len(content) else " ".join(content) for n in keep]


def _shortened(task: Task, facts: Facts) -> dict[str, Any]:
    return {**_head(task), "prompts": shorten(str(task.body.get("prompt", "")))}


def _described(task: Task, facts: Facts) -> str:
    """What the source image shows: the prompt of the mock's own image when it is one, else its file name."""
    own = task.source.label if task.source is not None else ""
    found = re.fullmatch(r"task (\S+) image \d+", own)
    source = facts.find_task(found.group(1)) if found else None
    if source is not None and isinstance(source.body.get("prompt"), str):
        return " ".join(str(source.body["prompt"]).split())
    url = str(task.body.get("source_image_url", ""))
    name = re.sub(r"\.[A-Za-z0-9]+$", "", url.rsplit("/", 1)[-1].split("?")[0])
    return " ".join(_words(name.replace("_", " "))) or "an image"


def _image_prompts(task: Task, facts: Facts) -> dict[str, Any]:
    seen = _described(task, facts)
    return {**_head(task), "prompts": [seen, f"{seen}, detailed, high quality", f"a picture of {seen}",
                                       f"{seen} --ar 1:1"]}


def _style(task: Task, facts: Facts) -> dict[str, Any]:
    words = _words(str(task.body.get("description", "")))
    pick = hashlib.sha256(" ".join(words).encode()).digest()[0]
    extra = [_STYLE_WORDS[(pick + i) % len(_STYLE_WORDS)] for i in range(2)]
    return {**_head(task), "style": ", ".join([" ".join(words), *extra]) if words else ", ".join(extra)}


def _voice_check(task: Task, facts: Facts) -> dict[str, Any]:
    source = facts.find_task(str(task.body.get("task_id", "")))
    return {**_head(task), "is_available": source is not None and source.status == "completed"}


def _persona(task: Task, facts: Facts) -> dict[str, Any]:
    return {**_head(task), "persona": {"id": stable_id("persona", task.namespace, task.key, task.id),
                                       "name": task.body.get("name"), "description": task.body.get("description")}}


def _aligned(task: Task, facts: Facts) -> dict[str, Any]:
    """The lyrics of the song `task_id` + `audio_id` name, on its vocal notes (music.aligned_words): the song
    as the mock composed it (engine.songs: its words, its tune, its length), an extension's or a remaster's
    too. An unknown song never gets here: its create is refused (sources_media.song_ref, hybrid's 422)."""
    song = source_of(task)
    lyrics, tune = (song.text or "", song.tune or "") if song is not None else ("", task.id)
    words = music.aligned_words(lyrics, task.output().duration_seconds or 0.0, tune)
    digest = hashlib.sha256(f"wave\x1f{task.body.get('audio_id', '')}".encode()).digest()
    return {**_head(task),
            "aligned_words": [{"word": w.word, "success": True, "start_time": w.start, "end_time": w.end,
                               "palign": 0} for w in words],
            "waveform_data": [round(b / 255, 3) for b in digest], "hoot_cer": 0.0, "is_streamed": False}


_GENERATORS: Mapping[str, Callable[[Task, Facts], dict[str, Any]]] = {
    "speech_audios": _speech, "fish_voice": _fish_voice, "gemini_audio": _gemini_audio,
    "gemini_character": _gemini_character, "seed": _seed, "image_prompts": _image_prompts,
    "shortened_prompts": _shortened, "style": _style, "voice_check": _voice_check, "persona": _persona,
    "aligned_words": _aligned,
}


def answer(task: Task, facts: Facts) -> Answer:
    """The completed answer of a synchronous task: (content type, body)."""
    name = answer_name(task)
    if name == "transcription":
        return transcription(task.body)
    return JSON_TYPE, _GENERATORS[name](task, facts)
