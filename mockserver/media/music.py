"""Mock songs: a seeded tune with vocals, chords, bass and drums, its stems, its MIDI notes and lyric timings.

Why notes first: a song is composed as notes (two 2-bar phrases, A and B, in the pattern A A B A), and
everything else reads those notes: the audio plays them, each stem plays its own layer of them (every stem
as long as the song), `midi_notes` lists them, and `aligned_words` puts the lyrics on its vocal notes. Only
the two phrases are synthesised, and an MP3 song encodes only two rounds of AABA (`encode_looped`).
Songs default to 22050 Hz mono at 32 kbit/s (ElevenLabs' own lowest MP3, `mp3_22050_32`): audible, and
the cheapest MP3 LAME writes; the encoder is nearly all of a song's cost.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from . import lyrics as sheets
from .audio import audio_format, encode_looped, resolved_rate
from .speech import Word
from .tones import PENTATONIC, frequency, mix, noise, note, rest, seed_bytes

__all__ = ["LAYERS", "STEMS_SEPARATE_VOCAL", "STEMS_SPLIT", "Note", "SongSpec", "aligned_words", "midi_notes",
           "render_song", "render_stem", "render_stems", "stem_layers"]

LAYERS = ("vocals", "chords", "bass", "drums")
# Suno's stem sets (runapi-suno's SeparatedAudio): separate_vocal gives two files, split_stem twelve.
STEMS_SEPARATE_VOCAL = ("vocal", "instrumental")
STEMS_SPLIT = ("vocal", "backing_vocals", "drums", "bass", "guitar", "keyboard", "percussion", "strings",
               "synth", "fx", "brass", "woodwinds")
# Which layers a stem name plays, by a word in its name (Suno names ~100 stems: "Lead Vocal", "Kick",
# "Synth Bass"...); the first matching row wins and any other instrument plays the chords.
_STEM_WORDS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("instrumental",), ("chords", "bass", "drums")),
    (("vocal", "voice", "choir"), ("vocals",)),
    (("drum", "kick", "snare", "hat", "percussion", "cymbal", "clap", "conga", "bongo", "tabla", "djembe",
      "taiko", "shaker", "tambourine", "cowbell", "timpani"), ("drums",)),
    (("bass", "808"), ("bass",)),
)
_AMPLITUDES = {"vocals": 7000, "chords": 5000, "bass": 6000, "drums": 6000}  # sum < 32767: no clipping
_SHAPES = {"vocals": "saw", "chords": "sine", "bass": "square"}
_DRUM_PITCHES = {"kick": 36, "snare": 38, "hat": 42}  # General MIDI percussion keys
_BARS = 2
_ORDER = "AABA"
_STEP, _STEP_RATE = 72, 22050  # 8 beats of 72-sample steps: 576 samples (an MPEG-2 frame) per step


@dataclass(frozen=True)
class SongSpec:
    """What `render_song` plays: a song chosen by `seed`, `duration_seconds` long, in `format`."""

    seed: str
    duration_seconds: float
    format: str = "mp3"
    sample_rate: int | None = 22050
    bitrate: int | None = 32_000
    instrumental: bool = False


@dataclass(frozen=True)
class Note:
    """One MIDI-style note: pitch (MIDI number), start and end in seconds, velocity 1-127."""

    instrument: str
    pitch: int
    start_time: float
    end_time: float
    velocity: int


def _tempo(seed: str) -> tuple[float, int]:
    """Seconds per beat (90-129 bpm) and the key's root pitch, both from the seed. The beat is a whole number
    of 72-sample steps at 22050 Hz, so a phrase (8 beats) is a whole number of MP3 frames at 22050 and
    44100 Hz, and `encode_looped` can repeat its frames instead of encoding every second of the song."""
    digest = seed_bytes(seed, "song")
    steps = round(60.0 / (90 + digest[0] % 40) * _STEP_RATE / _STEP)
    return steps * _STEP / _STEP_RATE, 57 + digest[1] % 7


def _phrase(seed: str, part: str) -> list[Note]:
    """One 2-bar phrase's notes, times from the phrase's start: part "A" or "B" varies only the vocals."""
    beat, root = _tempo(seed)
    digest = seed_bytes(seed, f"phrase-{part}")
    chords = [0, 5, 7, 3 + 2 * (seed_bytes(seed, "mode")[0] % 2)]  # I IV V and vi or a minor turn
    notes: list[Note] = []
    for bar in range(_BARS):
        base = root + chords[(bar + (part == "B")) % len(chords)]
        for i in range(4):  # one beat each: vocals on the beat, an arpeggio, bass on 1 and 3, drums
            at = (bar * 4 + i) * beat
            step = digest[bar * 4 + i]
            notes.append(Note("vocals", root + 12 + PENTATONIC[step % 5] + 12 * (step % 7 == 0), at,
                              at + beat * 0.9, 90))
            notes.append(Note("chords", base + (0, 4, 7, 12)[i], at, at + beat, 70))
            if i % 2 == 0:
                notes.append(Note("bass", base - 24, at, at + beat * 1.8, 100))
            drum = "kick" if i % 2 == 0 else "snare"
            notes.append(Note("drums", _DRUM_PITCHES[drum], at, at + beat / 4, 110))
            notes.append(Note("drums", _DRUM_PITCHES["hat"], at + beat / 2, at + beat * 0.6, 60))
    return notes


def _layer(notes: Iterable[Note], layer: str, length: int, rate: int, seed: str) -> array[int]:
    """Render one layer of a phrase: its notes in order, silence where none plays."""
    out = rest(0)
    amplitude = _AMPLITUDES[layer]
    for n in sorted((n for n in notes if n.instrument == layer), key=lambda n: n.start_time):
        start, end = round(n.start_time * rate), round(n.end_time * rate)
        if start < len(out):  # a hat inside a kick's tail: the drums take turns
            continue
        out += rest(start - len(out))
        if layer != "drums":
            out += note(frequency(n.pitch), end - start, rate, amplitude, _SHAPES[layer])
        elif n.pitch == _DRUM_PITCHES["kick"]:
            out += note(55.0, end - start, rate, amplitude)
        else:
            out += noise(end - start, amplitude // (1 + (n.pitch == _DRUM_PITCHES["hat"])), f"{seed}/{n.pitch}")
    return out + rest(length - len(out))


def _song(spec: SongSpec, layers: Sequence[str]) -> bytes:
    if spec.duration_seconds <= 0:
        raise ValueError(f"duration_seconds must be positive, got {spec.duration_seconds}")
    entry = audio_format(spec.format)
    rate = resolved_rate(entry, spec.sample_rate)
    beat, _ = _tempo(spec.seed)
    length = round(_BARS * 4 * beat * rate)
    wanted = [layer for layer in layers if not (spec.instrumental and layer == "vocals")]
    phrases = {}
    for part in sorted(set(_ORDER)):
        notes = _phrase(spec.seed, part)
        phrases[part] = mix([_layer(notes, layer, length, rate, spec.seed) for layer in wanted]) \
            if wanted else rest(length)
    period = array("h")
    for part in _ORDER:
        period += phrases[part]
    return encode_looped(period, round(spec.duration_seconds * rate), rate, entry.name, spec.bitrate)


def render_song(spec: SongSpec) -> bytes:
    """The whole song (vocals unless `instrumental`, chords, bass, drums), `duration_seconds` long."""
    return _song(spec, LAYERS)


def stem_layers(stem: str) -> tuple[str, ...]:
    """The layers a stem name plays (`"Lead Vocal"` -> vocals, `"drums"` -> drums, `"Piano"` -> chords)."""
    name = stem.lower().replace("_", " ")
    for words, layers in _STEM_WORDS:
        if any(word in name for word in words):
            return layers
    return ("chords",)


def render_stem(spec: SongSpec, stem: str) -> bytes:
    """One stem of the song `spec` describes, as long as the song (a vocal stem of an instrumental is
    silent, as a real separation of it would be)."""
    return _song(spec, stem_layers(stem))


def render_stems(spec: SongSpec, stems: Sequence[str] = STEMS_SEPARATE_VOCAL) -> dict[str, bytes]:
    """Each named stem of the song, every file as long as the song."""
    return {stem: render_stem(spec, stem) for stem in stems}


def midi_notes(seed: str, duration_seconds: float, instrumental: bool = False) -> dict[str, list[Note]]:
    """The notes the song of `seed` plays, per instrument, every note inside `duration_seconds` (a note
    cut by the end is shortened to it)."""
    beat, _ = _tempo(seed)
    span = _BARS * 4 * beat
    phrases = {part: _phrase(seed, part) for part in set(_ORDER)}
    out: dict[str, list[Note]] = {layer: [] for layer in LAYERS if not (instrumental and layer == "vocals")}
    i = 0
    while i * span < duration_seconds:
        offset = i * span
        for n in phrases[_ORDER[i % len(_ORDER)]]:
            start = round(n.start_time + offset, 3)
            if n.instrument in out and start < duration_seconds:
                end = round(min(n.end_time + offset, duration_seconds), 3)
                out[n.instrument].append(Note(n.instrument, n.pitch, start, end, n.velocity))
        i += 1
    return out


def aligned_words(lyrics: str, duration_seconds: float, seed: str) -> list[Word]:
    """When each sung word of `lyrics` is heard in the song of `seed`: on its vocal notes (`midi_notes`, the
    notes its audio, vocal stem and MIDI play), the words spread evenly over them in order, a note shared by
    several words split between them; so every word is inside the song. Section tags are not sung; an
    instrumental (no words) has none."""
    sung = sheets.sung(lyrics)
    notes = midi_notes(seed, duration_seconds)["vocals"]
    if not sung or not notes:
        return []
    by_note: dict[int, list[str]] = {}
    for i, word in enumerate(sung):
        by_note.setdefault(i * len(notes) // len(sung), []).append(word)
    out = []
    for at, group in sorted(by_note.items()):
        start, span = notes[at].start_time, (notes[at].end_time - notes[at].start_time) / len(group)
        out += [Word(word, round(start + k * span, 3), round(start + (k + 1) * span, 3))
                for k, word in enumerate(group)]
    return out
