"""OpenAI Transcription's answers: what an uploaded file says, in the response format asked.

The multipart route keeps a small description of the file in the task's body (`heard`: its name, size,
digest, length and, when it is the mock's own speech, the words it says), so the answer is a function of the
task like every other one. The words and their timings come from `media.speech`: the mock's own speech
gives back exactly the words spoken, other audio a seeded transcript timed inside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..media import speech

__all__ = ["FORMATS", "Heard", "transcription"]

# response_format -> content type (OpenAI's: json and verbose_json are JSON, the rest text).
FORMATS: Mapping[str, str] = {"json": "application/json", "verbose_json": "application/json",
                              "text": "text/plain; charset=utf-8", "srt": "application/x-subrip",
                              "vtt": "text/vtt; charset=utf-8"}
DEFAULT_SECONDS = 5.0  # a file the mock cannot read: about a sentence


@dataclass(frozen=True)
class Heard:
    """What an uploaded audio file is, as far as the mock can tell."""

    name: str
    size: int
    sha256: str
    seconds: float
    said: str | None = None  # its words, when it is the mock's own speech

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "sha256": self.sha256, "seconds": self.seconds,
                "said": self.said}

    @classmethod
    def of(cls, record: object) -> Heard:
        data = record if isinstance(record, Mapping) else {}
        said = data.get("said")
        return cls(str(data.get("name", "")), int(data.get("size", 0)), str(data.get("sha256", "")),
                   float(data.get("seconds", DEFAULT_SECONDS)), said if isinstance(said, str) else None)


def words(heard: Heard) -> list[speech.Word]:
    """The words the file says and when: its own words, timed as spoken, or a seeded transcript."""
    if heard.said is not None:
        return speech.word_timings(heard.said, duration_seconds=heard.seconds)
    return speech.transcript(heard.sha256 or heard.name, heard.seconds)


def _clock(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def _cues(said: list[speech.Word], per_cue: int = 8) -> list[tuple[float, float, str]]:
    return [(chunk[0].start, chunk[-1].end, " ".join(w.word for w in chunk))
            for chunk in (said[i:i + per_cue] for i in range(0, len(said), per_cue))]


def transcription(body: Mapping[str, Any], heard_record: object = None) -> tuple[str, Any]:
    """(content type, body) of a transcription of the request's file, in its ``response_format``."""
    heard = Heard.of(heard_record if heard_record is not None else body.get("file"))
    fmt = body.get("response_format")
    fmt = fmt if isinstance(fmt, str) and fmt in FORMATS else "json"
    said = words(heard)
    text = " ".join(w.word for w in said)
    if fmt == "json":
        return FORMATS[fmt], {"text": text}
    if fmt == "text":
        return FORMATS[fmt], text
    cues = _cues(said)
    if fmt == "srt":
        return FORMATS[fmt], "".join(f"{i}\n{_clock(a, ',')} --> {_clock(b, ',')}\n{t}\n\n"
                                     for i, (a, b, t) in enumerate(cues, 1))
    if fmt == "vtt":
        return FORMATS[fmt], "WEBVTT\n\n" + "".join(f"{_clock(a, '.')} --> {_clock(b, '.')}\n{t}\n\n"
                                                    for a, b, t in cues)
    language = body.get("language")
    return FORMATS[fmt], {
        "task": "transcribe", "language": language if isinstance(language, str) and language else "english",
        "duration": heard.seconds, "text": text,
        "words": [{"word": w.word, "start": w.start, "end": w.end} for w in said],
        "segments": [{"id": i, "start": a, "end": b, "text": t} for i, (a, b, t) in enumerate(cues)],
    }
