"""The speech files of the synchronous text-to-speech actions (Fish Audio, OpenAI TTS): rendered, named, and
recognised when they come back.

A file is `media.speech.render_speech` of the request's text, in the format, sample rate and bitrate the output
spec's fields name, its pitch set by the voice: deterministic, so it is rendered again whenever it is needed
(an LRU keeps the recent ones) and never stored. That is also how the mock knows what its own speech says
when a client uploads it to be transcribed: `said_by` renders the namespace's speech tasks and compares bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from runapi_contracts import load_catalog

from ..engine.model import Task
from ..media import audio, speech

__all__ = ["SPEECH_DIR", "SpeechFile", "file_name", "is_speech", "render", "said_by", "speech_file"]

SPEECH_DIR = "speech"  # /files/{namespace}/{task_id}/speech/{name}: beside the task's image files


@dataclass(frozen=True)
class SpeechFile:
    url: str
    format: str
    mime_type: str
    data: bytes


def _spec(task: Task) -> Mapping[str, Any]:
    entry = load_catalog().action(task.family, task.action)
    return entry.output_spec if entry is not None else {}


def is_speech(task: Task) -> bool:
    """Whether the task's answer is a speech file."""
    return _spec(task).get("answer") == "speech_audios"


def _field(spec: Mapping[str, Any], key: str, body: Mapping[str, Any]) -> Any:
    name = spec.get(key)
    return body.get(name) if isinstance(name, str) else None


def spoken(task: Task) -> tuple[str, str, int | None, int | None, str]:
    """(text, format, sample rate, bitrate in bit/s, voice) of the task's speech, per its output spec."""
    spec, body = _spec(task), task.body
    text = _field(spec, "speech_text", body)
    fmt = _field(spec, "speech_format", body)  # not `format`: that is an image task's encoding (output.py)
    if not isinstance(fmt, str) or fmt not in spec.get("speech_formats", ()):
        fmt = str(spec.get("speech_default_format", "mp3"))
    rate = _field(spec, "sample_rate", body)
    kbps = _field(spec, "bitrate", body)
    voice = _field(spec, "voice", body)
    return (text if isinstance(text, str) else "", fmt, rate if isinstance(rate, int) else None,
            kbps * 1000 if isinstance(kbps, int) and fmt == "mp3" else None, voice if isinstance(voice, str) else "")


@lru_cache(maxsize=32)
def _rendered(text: str, fmt: str, rate: int | None, bitrate: int | None, voice: str) -> bytes:
    return speech.render_speech(text, fmt, sample_rate=rate, bitrate=bitrate, seed=voice)


def render(task: Task) -> bytes:
    """The task's speech file (the same task always gives the same bytes)."""
    return _rendered(*spoken(task))


def file_name(task: Task) -> str:
    return f"0.{audio.extension(spoken(task)[1])}"


def speech_file(task: Task, origin: str) -> SpeechFile:
    """The task's file with its URL on `origin` (the reading request's, with any /ns/<name> prefix)."""
    fmt = spoken(task)[1]
    return SpeechFile(f"{origin}/files/{task.namespace}/{task.id}/{SPEECH_DIR}/{file_name(task)}", fmt,
                      audio.content_type(fmt), render(task))


@lru_cache(maxsize=256)
def _digest_of(text: str, fmt: str, rate: int | None, bitrate: int | None, voice: str) -> str:
    return hashlib.sha256(_rendered(text, fmt, rate, bitrate, voice)).hexdigest()


def said_by(data: bytes, tasks: Iterable[Task]) -> str | None:
    """The text `data` says when it is one of these tasks' speech files (the mock's own speech), else None."""
    digest = hashlib.sha256(data).hexdigest()
    for task in tasks:
        if task.status == "completed" and is_speech(task) and _digest_of(*spoken(task)) == digest:
            return spoken(task)[0]
    return None
