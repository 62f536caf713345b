"""Audio chains through the official SDKs, unmodified: what one task makes is what the next one reads.

Speech read back as text; a song extended, split into stems and timed word by word; a voice made from a
recording, used by id, and an unknown id refused. Every file is downloaded and measured with PyAV.
"""

from __future__ import annotations

import pytest
from runapi.core import RequestOptions, ValidationError
from runapi.elevenlabs import ElevenlabsClient
from runapi.elevenlabs.types import TEXT_TO_SOUND_OUTPUT_FORMATS
from runapi.suno import SunoClient

from runapi_mock.media import FORMATS, probe_audio
from runapi_mock.serving.server import RunningServer
from tests.e2e import sdk_support

TEXT = "The quick brown fox jumps over the lazy dog near the quiet river bank"
LYRICS = "Sun on the water light on the hill we sing along until the night is still"


def _client(cls: type, server: RunningServer) -> object:
    return sdk_support.client(cls, server.base_url)


def _seconds(url: str) -> float:
    return probe_audio(sdk_support.download(url).content).duration_seconds


def test_speech_to_text_of_the_mocks_speech_is_the_text_spoken(server: RunningServer, opts: RequestOptions) -> None:
    client = _client(ElevenlabsClient, server)
    spoken = client.text_to_speech.run(options=opts, model="text-to-speech-turbo-v2.5", text=TEXT)  # type: ignore[attr-defined]
    url = spoken.audios[0].url
    heard = client.speech_to_text.run(options=opts, model="speech-to-text", source_audio_url=url)  # type: ignore[attr-defined]
    assert heard.text.split() == TEXT.split()
    seconds = _seconds(url)
    words = heard.to_dict()["words"]
    assert [w["text"] for w in words] == TEXT.split()
    assert all(0 <= w["start"] < w["end"] <= seconds + 0.05 for w in words), (words, seconds)


def test_speech_to_text_of_other_audio_is_a_transcript_timed_inside_it(server: RunningServer,
                                                                       opts: RequestOptions) -> None:
    client = _client(ElevenlabsClient, server)
    sound = client.text_to_sound.run(options=opts, model="sound-effect-v2", text="rain",  # type: ignore[attr-defined]
                                     duration_seconds=4)
    heard = client.speech_to_text.run(options=opts, model="speech-to-text",  # type: ignore[attr-defined]
                                      source_audio_url=sound.audios[0].url)
    words = heard.to_dict()["words"]
    assert heard.text and len(words) == len(heard.text.split())
    assert all(0 <= w["start"] < w["end"] <= 4.0 for w in words)


def test_a_song_extended_then_split_into_stems(  # timed by its lyrics: test_song_chain.py
        server: RunningServer, opts: RequestOptions) -> None:
    suno = _client(SunoClient, server)
    song = suno.text_to_music.run(options=opts, model="suno-v5.5", vocal_mode="exact_lyrics",  # type: ignore[attr-defined]
                                  lyrics=LYRICS, style="folk", title="River", duration_seconds=12)
    first = song.audios[0]
    assert first.duration == 12 and first.lyrics == LYRICS and first.title == "River"
    assert abs(_seconds(first.audio_url) - 12) <= 1.2

    extended = suno.extend_music.run(options=opts, model="suno-v5.5", parameter_mode="source",  # type: ignore[attr-defined]
                                     task_id=song.id, audio_id=first.id, continue_at=8)
    longer = extended.audios[0]
    assert longer.duration == 8 + 30  # cut at continue_at, then the 30 s an extension adds
    assert abs(_seconds(longer.audio_url) - longer.duration) <= 0.1 * longer.duration
    assert extended.to_dict()["original_task_id"] == song.id

    stems = suno.separate_audio_stems.run(options=opts, task_id=extended.id, audio_id=longer.id,  # type: ignore[attr-defined]
                                          type="separate_vocal")
    separated = stems.separated_audios.to_dict()
    assert sorted(separated) == ["instrumental_url", "vocal_url"]
    for url in separated.values():
        assert abs(_seconds(url) - longer.duration) <= 0.1 * longer.duration



def test_an_unknown_song_reference_fails_the_task_naming_the_field(server: RunningServer,
                                                                   opts: RequestOptions) -> None:
    suno = _client(SunoClient, server)
    song = suno.text_to_music.run(options=opts, model="suno-v5.5", vocal_mode="instrumental",  # type: ignore[attr-defined]
                                  style="ambient", title="Drift", duration_seconds=10)
    task = suno.convert_audio.create(options=opts, task_id=song.id, audio_id="not-a-song")  # type: ignore[attr-defined]
    done = suno.convert_audio.get(task.id, options=opts)  # type: ignore[attr-defined]
    assert done.status == "failed"
    assert "audio_id" in done.error and "not-a-song" in done.error


def test_a_voice_made_from_a_recording_is_kept_and_used_by_id(server: RunningServer, opts: RequestOptions) -> None:
    suno = _client(SunoClient, server)
    phrase = suno.voice_to_validation_phrase.run(options=opts, voice_url="https://example.com/me.mp3",  # type: ignore[attr-defined]
                                                 vocal_start_seconds=0, vocal_end_seconds=12, language="fr")
    assert phrase.validation_phrase
    made = suno.generate_voice.run(options=opts, task_id=phrase.id, voice_name="Me",  # type: ignore[attr-defined]
                                   verify_url="https://example.com/me-reading.mp3")
    read = suno.voices.get(made.voice_id, options=opts)  # type: ignore[attr-defined]
    assert (read.voice.id, read.voice.name, read.status) == (made.voice_id, "Me", "available")

    sung = suno.text_to_music.run(options=opts, model="suno-v5.5", vocal_mode="auto_lyrics",  # type: ignore[attr-defined]
                                  prompt="a song in my voice", persona_id=made.voice_id, persona_type="voice")
    assert sung.status == "completed" and sung.audios

    with pytest.raises(ValidationError) as refused:
        suno.text_to_music.create(options=opts, model="suno-v5.5", vocal_mode="auto_lyrics",  # type: ignore[attr-defined]
                                  prompt="a song", persona_id="voice_unknown", persona_type="voice")
    assert "persona_id" in str(refused.value)


@pytest.mark.parametrize("fmt", TEXT_TO_SOUND_OUTPUT_FORMATS)
def test_every_output_format_the_sdk_names_makes_a_file_of_that_format(server: RunningServer, opts: RequestOptions,
                                                                      fmt: str) -> None:
    client = _client(ElevenlabsClient, server)
    sound = client.text_to_sound.run(options=opts, model="sound-effect-v2", text="a bell",  # type: ignore[attr-defined]
                                     duration_seconds=1.5, output_format=fmt)
    response = sdk_support.download(sound.audios[0].url)
    expected = FORMATS[fmt]
    assert response.headers["content-type"] == expected.content_type
    heard = probe_audio(response.content, fmt)
    assert heard.format == expected.muxer
    assert heard.codec.startswith(expected.codec.removeprefix("lib").removesuffix("lame"))  # mp3float, opus
    assert heard.sample_rate == expected.sample_rate
    assert abs(heard.duration_seconds - 1.5) <= 0.15
