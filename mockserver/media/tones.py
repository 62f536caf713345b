"""Pure-Python tone synthesis on 16-bit sample arrays: notes, rests, noise bursts and mixing.

Why no numpy: the mock's sounds are a few tones, and every note is one period computed once and repeated
by array multiplication (C speed), so a 3-minute track costs milliseconds here and the encoder is the only
real cost. Everything is a deterministic function of its inputs (no clock, no global random state).
"""

from __future__ import annotations

import hashlib
import math
import operator
import random
from array import array
from collections.abc import Sequence
from functools import lru_cache

__all__ = ["PENTATONIC", "frequency", "melody", "mix", "noise", "note", "rest", "seed_bytes"]

# Semitones of a major pentatonic scale: any sequence of its notes sounds tuneful enough.
PENTATONIC = (0, 2, 4, 7, 9)
_FADE_SECONDS = 0.006  # a short ramp at each end of a note keeps joins free of clicks


def seed_bytes(seed: str, salt: str = "") -> bytes:
    """64 bytes that follow the seed (and a salt, so independent choices do not correlate)."""
    return hashlib.sha512(f"{salt}\x00{seed}".encode()).digest()


def frequency(midi_pitch: float) -> float:
    """The frequency of a MIDI pitch (69 is A4, 440 Hz)."""
    return float(440.0 * 2.0 ** ((midi_pitch - 69) / 12))


def _period(freq: float, sample_rate: int, amplitude: int, shape: str) -> array[int]:
    length = max(2, round(sample_rate / freq))
    if shape == "square":
        half = length // 2
        return array("h", [amplitude] * half + [-amplitude] * (length - half))
    if shape == "saw":
        return array("h", [int(amplitude * (2 * i / length - 1)) for i in range(length)])
    return array("h", [int(amplitude * math.sin(2 * math.pi * i / length)) for i in range(length)])


def note(freq: float, samples: int, sample_rate: int, amplitude: int, shape: str = "sine") -> array[int]:
    """`samples` samples of a periodic tone, faded in and out; the period is rounded to whole samples."""
    if samples <= 0:
        return array("h")
    period = _period(freq, sample_rate, amplitude, shape)
    out = (period * (samples // len(period) + 1))[:samples]
    fade = min(int(sample_rate * _FADE_SECONDS), samples // 2)
    for i in range(fade):
        out[i] = out[i] * i // fade
        out[samples - 1 - i] = out[samples - 1 - i] * i // fade
    return out


def rest(samples: int) -> array[int]:
    """Silence."""
    return array("h", bytes(2 * max(0, samples)))


@lru_cache(maxsize=64)
def noise(samples: int, amplitude: int, seed: str) -> array[int]:
    """A decaying burst of seeded noise (a drum hit); cached, as a song repeats its few hits (callers copy
    it into their own arrays and never change it)."""
    rng = random.Random(seed)
    return array("h", [int(rng.uniform(-amplitude, amplitude) * (1 - i / samples)) for i in range(samples)])


def mix(tracks: Sequence[array[int]]) -> array[int]:
    """Sum tracks sample by sample (to the longest); callers keep amplitudes low enough not to clip."""
    length = max((len(t) for t in tracks), default=0)
    out = rest(length)
    for track in tracks:
        padded = track + rest(length - len(track)) if len(track) < length else track
        out = array("h", map(operator.add, out, padded))
    return out


def melody(seed: str, samples: int, sample_rate: int, amplitude: int, note_seconds: float = 0.25,
           root: int = 60) -> array[int]:
    """A looping pentatonic phrase chosen by the seed: the same seed always plays the same tune."""
    digest = seed_bytes(seed, "melody")
    pitches = [root + 12 * (b % 3 == 0) + PENTATONIC[b % len(PENTATONIC)] for b in digest[:8]]
    step = max(1, int(sample_rate * note_seconds))
    phrase = array("h")
    for pitch in pitches:
        phrase += note(frequency(pitch), step, sample_rate, amplitude)
    return (phrase * (samples // len(phrase) + 1))[:samples]
