"""What an audio action's request says about its files: the text spoken, how long reading it takes, the stems,
whether a song has a voice. Read from the output spec's keys (overlay/audio.json), so no family is named here:

- ``speech_text``: where the words spoken are in the body: a field (``text``) or a list of objects and the
  key of each one's words (``dialogue[].text``: every turn in order); ``speed``: the speed field (1.0 default).
  A spoken file lasts as long as reading its words aloud (`reading_seconds`), whatever a duration field says;
- ``stems``: ``{field, default, sets}``: the request's field picks a set of stem names, one file per stem;
- ``instrumental``: a ``{field: value}`` condition under which a song has no voice (``{}``: never a voice);
- ``renderer``: what plays in the files (``tone``, ``speech``, ``speech_of_source``, ``song``, ``stems``; the
  server names the renderers), and the song facts' fields: ``lyrics``, ``title``, ``tags``, ``prompt``.

`reading_seconds` is the one reading-time rule: the mock's speech renderer (runapi_mock.media.speech) plays
exactly that long, and a task that reads a mock file's length gets the same figure before it is rendered.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

__all__ = ["WORDS_PER_MINUTE", "instrumental", "reading_seconds", "speech_speed", "spoken_text", "stem_names",
           "word_weight"]

WORDS_PER_MINUTE = 150.0  # an unhurried reading pace
MIN_SECONDS = 1.0  # even "Hi" makes a file long enough to hear
_CJK_PER_WORD = 2  # CJK scripts have no spaces: about two characters a spoken "word"


def word_weight(token: str) -> float:
    """How many words' time a token takes: 1 per spaced word, its CJK characters / 2 for unspaced text."""
    wide = sum(unicodedata.east_asian_width(c) in ("W", "F") and c.isalpha() for c in token)
    return max(1.0, wide / _CJK_PER_WORD) if wide else 1.0


def reading_seconds(text: str, speed: float = 1.0) -> float:
    """Seconds it takes to read `text` aloud at about 150 words a minute (`speed` 2.0 is twice as fast), never
    under one second."""
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    words = sum(word_weight(token) for token in text.split())
    return round(max(MIN_SECONDS, words * 60.0 / WORDS_PER_MINUTE / speed), 3)


def spoken_text(spec: Mapping[str, Any], body: Mapping[str, Any]) -> str | None:
    """The words a request's file speaks, per the spec's ``speech_text`` path; None when the spec names none."""
    path = spec.get("speech_text")
    if not isinstance(path, str):
        return None
    field, _, key = path.partition("[].")
    value = body.get(field)
    if not key:
        return value if isinstance(value, str) else ""
    turns = value if isinstance(value, list) else []
    return " ".join(str(turn[key]) for turn in turns if isinstance(turn, Mapping) and isinstance(turn.get(key), str))


def speech_speed(spec: Mapping[str, Any], body: Mapping[str, Any]) -> float:
    """The request's speaking speed (the spec's ``speed`` field), 1.0 when unset or not a positive number."""
    name = spec.get("speed")
    value = body.get(name) if isinstance(name, str) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return 1.0
    return float(value)


def stem_names(spec: Mapping[str, Any], body: Mapping[str, Any]) -> tuple[str, ...]:
    """The stems a request separates (one file each), per the spec's ``stems``; () when it names none."""
    stems = spec.get("stems")
    if not isinstance(stems, Mapping):
        return ()
    chosen = body.get(str(stems.get("field")))
    sets = stems.get("sets", {})
    names = sets.get(chosen) if isinstance(chosen, str) else None
    return tuple(names if names is not None else sets.get(stems.get("default"), ()))


def instrumental(spec: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    """Whether a song has no voice: the spec's ``instrumental`` condition holds for the body (``{}``: always)."""
    condition = spec.get("instrumental")
    if not isinstance(condition, Mapping):
        return False
    return all(body.get(field) == value for field, value in condition.items())
