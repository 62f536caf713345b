"""Audio files in every format RunAPI names: each a file of that format, as long as asked, audible, the
same bytes for the same spec; speech as long as its text with the words where their timings say; songs,
stems, MIDI notes and lyric timings inside the song."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import pytest

from runapi_mock.media import (
    FORMATS,
    STEMS_SEPARATE_VOCAL,
    STEMS_SPLIT,
    AudioSpec,
    SongSpec,
    aligned_words,
    audio_format,
    midi_notes,
    probe_audio,
    render_audio,
    render_song,
    render_speech,
    render_stem,
    render_stems,
    speech_duration,
    transcript,
    word_timings,
)
from runapi_mock.media.audio import encode, encode_looped
from runapi_mock.media.tones import melody
from tests.mockserver.media_helpers import rms, samples

# What FFmpeg's demuxer calls each muxer's files when it reads them back.
_DEMUXED = {"adts": "aac", "ipod": "mov"}
_CODECS = {"libmp3lame": "mp3float", "libopus": "opus"}
# AAC files carry the encoder's priming samples and a padded last frame (ADTS has no header to trim them by);
# every other format is exact.
_SLACK = {"adts": 2048, "ipod": 2048}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_gives_a_file_of_that_format_as_long_as_asked(name: str) -> None:
    entry = audio_format(name)
    info = probe_audio(render_audio(AudioSpec("task-a1", 2.5, name)), name)
    assert info.format == _DEMUXED.get(entry.muxer, entry.muxer)
    assert info.codec == _CODECS.get(entry.codec, entry.codec)
    assert (info.sample_rate, info.channels) == (entry.sample_rate, 1)
    assert info.duration_seconds == pytest.approx(2.5, abs=(_SLACK.get(entry.muxer, 1) + 1) / entry.sample_rate)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_is_audible(name: str) -> None:
    assert rms(samples(render_audio(AudioSpec("task-a1", 1.0, name)), name)) > 2000


def test_a_header_tells_each_container_apart() -> None:
    magic = {"mp3": b"ID3", "wav": b"RIFF", "ogg": b"OggS", "flac": b"fLaC", "aac": b"\xff\xf1", "m4a": b"ftyp"}
    for name, start in magic.items():
        data = render_audio(AudioSpec("task-a1", 1.0, name))
        assert start in data[:12], name


def test_the_asked_rate_and_channels_apply_unless_the_name_fixes_them() -> None:
    info = probe_audio(render_audio(AudioSpec("task-a1", 1.0, "wav", sample_rate=16000, channels=2)))
    assert (info.sample_rate, info.channels) == (16000, 2)
    assert probe_audio(render_audio(AudioSpec("task-a1", 1.0, "mp3", sample_rate=32000))).sample_rate == 32000
    assert probe_audio(render_audio(AudioSpec("task-a1", 1.0, "mp3_22050_32", sample_rate=44100))).sample_rate \
        == 22050
    with pytest.raises(ValueError, match="unsupported audio format"):
        render_audio(AudioSpec("task-a1", 1.0, "wma"))
    with pytest.raises(ValueError, match="duration"):
        render_audio(AudioSpec("task-a1", 0, "mp3"))


@pytest.mark.parametrize("name", ["mp3", "opus_48000_64", "aac", "wav", "flac", "m4a"])
def test_the_same_spec_gives_the_same_bytes_and_another_seed_another_tune(name: str) -> None:
    spec = AudioSpec("task-a1", 1.5, name)
    assert render_audio(spec) == render_audio(spec)
    assert render_audio(replace(spec, seed="task-a2")) != render_audio(spec)


def test_speech_takes_about_as_long_as_reading_aloud() -> None:
    assert speech_duration(" ".join(["word"] * 150)) == pytest.approx(60.0)
    assert speech_duration(" ".join(["word"] * 150), speed=2.0) == pytest.approx(30.0)
    assert speech_duration("Hi") == 1.0  # the floor
    assert speech_duration("今天天气很好我们去公园") > speech_duration("今天")
    with pytest.raises(ValueError):
        speech_duration("hello", speed=0)


def test_speech_voices_its_words_where_the_timings_say() -> None:
    text = "the quick brown fox jumps over the lazy dog near the riverbank"
    data = render_speech(text, "wav")
    pcm = samples(data)
    rate = probe_audio(data).sample_rate
    assert len(pcm) / rate == pytest.approx(speech_duration(text), abs=1 / rate)
    words = word_timings(text)
    assert [w.word for w in words] == text.split()
    assert all(0 <= w.start < w.end <= speech_duration(text) for w in words)
    assert all(a.end < b.start for a, b in pairwise(words))
    for word, following in pairwise(words):
        middle = (word.start + word.end) / 2
        assert rms(pcm[int((middle - 0.02) * rate):int((middle + 0.02) * rate)]) > 2000
        gap = (word.end + following.start) / 2
        assert rms(pcm[int((gap - 0.005) * rate):int((gap + 0.005) * rate)]) == 0


def test_another_voice_sounds_different_and_a_foreign_file_gets_a_transcript_that_fits() -> None:
    assert render_speech("hello there", "mp3", seed="voice-a") != render_speech("hello there", "mp3", seed="voice-b")
    words = transcript("upload-1", 12.0)
    assert words and all(0 <= w.start < w.end <= 12.0 for w in words)
    assert transcript("upload-1", 12.0) == words != transcript("upload-2", 12.0)


def test_a_song_is_as_long_as_asked_audible_and_follows_its_seed() -> None:
    spec = SongSpec("task-s1", 20.0)
    data = render_song(spec)
    info = probe_audio(data)
    assert (info.format, info.duration_seconds) == ("mp3", pytest.approx(20.0, abs=0.001))
    assert rms(samples(data)) > 2000
    assert render_song(spec) == data != render_song(replace(spec, seed="task-s2"))


def test_every_stem_is_as_long_as_the_song_and_plays_its_own_part() -> None:
    spec = SongSpec("task-s1", 12.0, format="wav")
    stems = render_stems(spec, STEMS_SPLIT)
    assert set(stems) == set(STEMS_SPLIT)
    for data in stems.values():
        assert probe_audio(data).duration_seconds == pytest.approx(12.0, abs=0.001)
        assert rms(samples(data)) > 500
    assert len({stems["vocal"], stems["drums"], stems["bass"], stems["guitar"]}) == 4
    assert set(render_stems(spec)) == set(STEMS_SEPARATE_VOCAL)
    assert render_stem(spec, "Lead Vocal") == stems["vocal"]
    silent = render_stem(replace(spec, instrumental=True), "vocal")  # nothing to separate from an instrumental
    assert rms(samples(silent)) == 0


def test_midi_notes_and_lyric_timings_stay_inside_the_song() -> None:
    notes = midi_notes("task-s1", 30.0)
    assert set(notes) == {"vocals", "chords", "bass", "drums"}
    every = [n for ns in notes.values() for n in ns]
    assert every and all(0 <= n.start_time < n.end_time <= 30.0 and 1 <= n.velocity <= 127 for n in every)
    assert midi_notes("task-s1", 30.0) == notes != midi_notes("task-s2", 30.0)
    assert "vocals" not in midi_notes("task-s1", 30.0, instrumental=True)
    lyrics = "[Verse]\ncity lights are calling me home tonight\n\n[Chorus]\noh city lights"
    words = aligned_words(lyrics, 30.0, "task-s1")
    sung = ["city", "lights", "are", "calling", "me", "home", "tonight", "oh", "city", "lights"]
    assert [w.word for w in words] == sung
    assert all(0 <= w.start < w.end <= 30.0 for w in words)
    # Each word on a vocal note (a note shared by several words is split between them), in order.
    assert all(any(n.start_time <= w.start < w.end <= n.end_time for n in notes["vocals"]) for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)
    crowded = aligned_words(" ".join(["la"] * 500), 10.0, "task-s1")  # more words than notes
    assert len(crowded) == 500 and all(0 <= w.start < w.end <= 10.0 for w in crowded)
    assert aligned_words("", 30.0, "task-s1") == []  # an instrumental sings nothing


def test_a_long_mp3_song_repeats_encoded_frames_and_still_plays_the_whole_tune() -> None:
    period = melody("task-s1", 576 * 40, 22050, 9000)  # a whole number of MPEG-2 frames
    total = 5 * len(period) + 3000
    looped, full = encode_looped(period, total, 22050, "mp3"), encode((period * 6)[:total], 22050, "mp3")
    assert looped != full  # the looped path was taken
    assert probe_audio(looped).duration_seconds == pytest.approx(total / 22050, abs=0.1)
    heard, meant = samples(looped), samples(full)
    # Without the encoder's delay in its header, the looped file starts a little later: find by how much,
    # then every stretch of it, first period to last, matches the fully encoded file.
    window = meant[5000:5256]
    lag = min(range(1500), key=lambda d: sum(abs(a - b) for a, b in zip(heard[5000 + d:5256 + d], window,
                                                                          strict=True)))
    for start in range(5000, total - 2000, len(period) // 2):
        stretch = meant[start:start + 1000]
        error = rms([a - b for a, b in zip(heard[start + lag:start + lag + 1000], stretch, strict=True)])
        assert error < 0.1 * rms(stretch), start


def test_a_three_minute_song_is_three_minutes() -> None:
    info = probe_audio(render_song(SongSpec("task-s1", 180.0)))
    assert (info.format, info.sample_rate) == ("mp3", 22050)
    assert info.duration_seconds == pytest.approx(180.0, abs=0.1)


def test_every_named_voice_sounds_unlike_no_voice() -> None:
    # A voice shifts the pitch; a shift of 0 for 1 voice id in 7 once made two TTS answers equal (test_sdk_sync).
    from runapi_mock.media.speech import render_speech

    plain = render_speech("two words", "wav")
    assert all(render_speech("two words", "wav", seed=f"voice_{n}") != plain for n in range(40))
