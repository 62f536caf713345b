"""Mock speech: as long as reading the text aloud, one tone per word at known times.

Why timings first: speech_to_text of the mock's own speech must give back the words that were "spoken",
with timings inside the file. `word_timings` is the single source of those timings; `render_speech`
voices exactly them (a tone per word, pitch from the word, silence between words), and the engine only
has to remember the text a file says. Audio the mock did not make gets `transcript`, a deterministic
made-up text whose timings fit its duration.
"""

from __future__ import annotations

from dataclasses import dataclass

from runapi_contracts.audio_output import WORDS_PER_MINUTE, reading_seconds, word_weight

from .audio import audio_format, encode, resolved_rate
from .tones import frequency, note, rest, seed_bytes

__all__ = ["Word", "render_speech", "speech_duration", "transcript", "word_timings"]

_GAP = 0.25  # share of each word's slot left silent, so words are audible as words
_AMPLITUDE = 9000
_FILLER = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do",
           "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna", "aliqua")


@dataclass(frozen=True)
class Word:
    """One spoken word and when it is heard, in seconds from the start of the file."""

    word: str
    start: float
    end: float


def speech_duration(text: str, speed: float = 1.0) -> float:
    """Seconds it takes to read `text` aloud at about 150 words a minute (`speed` 2.0 is twice as fast),
    never under one second: runapi_contracts' reading-time rule, so a task knows its file's length unrendered."""
    return reading_seconds(text, speed)


def word_timings(text: str, speed: float = 1.0, duration_seconds: float | None = None) -> list[Word]:
    """When each whitespace-separated word of `text` is spoken: slots in proportion to the word's length,
    filling `speech_duration(text, speed)` (or `duration_seconds` when given), each word ending before the
    next starts, all inside the file."""
    tokens = text.split()
    total = speech_duration(text, speed) if duration_seconds is None else duration_seconds
    if not tokens or total <= 0:
        return []
    weights = [word_weight(t) + 0.1 * len(t) for t in tokens]
    scale = total / sum(weights)
    out: list[Word] = []
    at = 0.0
    for token, weight in zip(tokens, weights, strict=True):
        slot = weight * scale
        out.append(Word(token, round(at, 3), round(at + slot * (1 - _GAP), 3)))
        at += slot
    return out


def _pitch(word: str) -> float:
    """A voice-like pitch (about 110-330 Hz) that follows the word, so different texts sound different."""
    return frequency(45 + seed_bytes(word.lower(), "word")[0] % 19)


def render_speech(text: str, format: str = "mp3", speed: float = 1.0, sample_rate: int | None = None,
                  bitrate: int | None = None, seed: str = "") -> bytes:
    """Speech-shaped audio for `text`: one tone per word at `word_timings(text, speed)`, silence between
    them, `speech_duration(text, speed)` long. `seed` (a voice id) shifts the pitch: another voice sounds
    different, the same text and voice give the same bytes."""
    entry = audio_format(format)
    rate = resolved_rate(entry, sample_rate)
    total = round(speech_duration(text, speed) * rate)
    # A voice shifts the pitch by 1-3 semitones either way, never 0: a named voice never sounds like none.
    shift = (seed_bytes(seed, "voice")[0] % 6 - 3) if seed else 0
    shift += 1 if seed and shift >= 0 else 0
    samples = rest(0)
    for word in word_timings(text, speed):
        samples += rest(round(word.start * rate) - len(samples))
        length = round(word.end * rate) - len(samples)
        samples += note(_pitch(word.word) * 2 ** (shift / 12), length, rate, _AMPLITUDE, "saw")
    samples += rest(total - len(samples))
    return encode(samples[:total], rate, entry.name, 1, bitrate)


def transcript(seed: str, duration_seconds: float) -> list[Word]:
    """A deterministic transcript for audio the mock did not make: filler words chosen by `seed`, spoken at
    the usual pace, their timings filling `duration_seconds`."""
    count = max(1, round(duration_seconds * WORDS_PER_MINUTE / 60.0))
    digest = seed_bytes(seed, "transcript")
    words = [_FILLER[(digest[i % len(digest)] + i) % len(_FILLER)] for i in range(count)]
    return word_timings(" ".join(words), duration_seconds=duration_seconds)
