"""A Suno song through the official SDK, unmodified: made, extended, split into stems, timed word by word.

Every step reads the song the previous one made (engine.songs): the extension is longer by what was asked,
every stem is as long as the extension, and get_timestamped_lyrics (synchronous) aligns that song's own
lyrics on its vocal notes, the ones its MIDI lists, inside its real length (measured with PyAV). A song the
key never made is refused naming the field.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from runapi.core import RequestOptions, ValidationError
from runapi.suno import SunoClient

from runapi_mock import Settings
from runapi_mock.engine.lifecycle import Progression
from runapi_mock.media import probe_audio
from runapi_mock.serving.server import RunningServer, serve_in_thread

KEY, OTHER_KEY = "test-key", "another-key"
LYRICS = "Sun on the water light on the hill we sing along until the night is still"
EXTEND_AFTER, EXTENSION = 8, 30  # continue_at, and the 30 s an extension adds (overlay/audio.json default_extend)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    running = serve_in_thread(Settings(port=0, progression=Progression.parse("immediate"), api_keys=(KEY, OTHER_KEY)))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def suno(server: RunningServer) -> SunoClient:
    return SunoClient(api_key=KEY, base_url=server.base_url, retry_base_delay=0.01, retry_max_delay=0.05)


@pytest.fixture
def opts() -> RequestOptions:
    return RequestOptions(headers={"X-Mock-Namespace": f"song-chain-{uuid.uuid4().hex[:12]}"})


def _seconds(url: str) -> float:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    return probe_audio(response.content).duration_seconds


def _sung(sheet: str) -> list[str]:
    """The words of a lyric sheet a singer sings (its section tags, "[Verse]", are not)."""
    return [w for line in sheet.splitlines() if not line.strip().startswith("[") for w in line.split()]


def _song(suno: SunoClient, opts: RequestOptions, **fields: object) -> object:
    return suno.text_to_music.run(options=opts, model="suno-v5.5", style="folk", title="River",  # type: ignore[attr-defined]
                                  duration_seconds=12, **fields)


def test_a_song_extended_split_into_stems_and_timed(suno: SunoClient, opts: RequestOptions) -> None:
    song = _song(suno, opts, vocal_mode="exact_lyrics", lyrics=LYRICS)
    first = song.audios[0]  # type: ignore[attr-defined]
    timed = suno.get_timestamped_lyrics.run(options=opts, task_id=song.id, audio_id=first.id)  # type: ignore[attr-defined]
    real = _seconds(first.audio_url)
    assert [w.word for w in timed.aligned_words] == LYRICS.split()
    assert all(0 <= w.start_time < w.end_time <= real for w in timed.aligned_words), (timed.aligned_words, real)

    extended = suno.extend_music.run(options=opts, model="suno-v5.5", parameter_mode="source",  # type: ignore[attr-defined]
                                     task_id=song.id, audio_id=first.id, continue_at=EXTEND_AFTER)
    longer = extended.audios[0]
    assert longer.duration == EXTEND_AFTER + EXTENSION
    seconds = _seconds(longer.audio_url)
    assert abs(seconds - longer.duration) <= 0.1 * longer.duration, seconds

    stems = suno.separate_audio_stems.run(options=opts, task_id=extended.id, audio_id=longer.id,  # type: ignore[attr-defined]
                                          type="separate_vocal").separated_audios.to_dict()
    assert sorted(stems) == ["instrumental_url", "vocal_url"]
    for url in stems.values():
        assert abs(_seconds(url) - seconds) <= 0.1 * seconds, url

    timed = suno.get_timestamped_lyrics.run(options=opts, task_id=extended.id, audio_id=longer.id)  # type: ignore[attr-defined]
    words = timed.aligned_words
    assert [w.word for w in words] == _sung(longer.lyrics) and len(words) > len(LYRICS.split())
    assert all(0 <= w.start_time < w.end_time <= seconds for w in words), (words[-1], seconds)
    assert max(w.end_time for w in words) > real  # timed over the extension, not the 12 s song it came from
    # On the song's own vocal notes: the ones its MIDI lists (the tune its audio and stems play).
    midi = suno.generate_midi.run(options=opts, task_id=extended.id)  # type: ignore[attr-defined]
    vocals = next(i for i in midi.instruments if i.name == "vocals").notes
    onsets = {round(n.start_time, 3) for n in vocals}
    assert {w.start_time for w in words} & onsets and all(
        any(n.start_time <= w.start_time < n.end_time for n in vocals) for w in words)


def test_every_step_of_a_chain_plays_the_first_song_s_tune(suno: SunoClient, opts: RequestOptions) -> None:
    # An extension of an extension still plays the tune the first song composed: its MIDI starts with the
    # first song's notes, and its lyrics are timed on those notes.
    song = _song(suno, opts, vocal_mode="exact_lyrics", lyrics=LYRICS)
    made = song
    for _ in range(2):
        made = suno.extend_music.run(options=opts, model="suno-v5.5", parameter_mode="source",  # type: ignore[attr-defined]
                                     task_id=made.id, audio_id=made.audios[0].id)  # type: ignore[attr-defined]
    assert made.audios[0].duration == 12 + 2 * EXTENSION  # type: ignore[attr-defined]

    def vocals(task_id: str) -> list[tuple[float, float, float]]:
        midi = suno.generate_midi.run(options=opts, task_id=task_id)  # type: ignore[attr-defined]
        notes = next(i for i in midi.instruments if i.name == "vocals").notes
        return [(n.pitch, n.start_time, n.end_time) for n in notes]

    first, last = vocals(song.id), vocals(made.id)  # type: ignore[attr-defined]
    assert last[:len(first) - 1] == first[:-1]  # (the first song's last note is cut at its end)
    timed = suno.get_timestamped_lyrics.run(options=opts, task_id=made.id, audio_id=made.audios[0].id)  # type: ignore[attr-defined]
    assert all(any(start <= w.start_time < end for _, start, end in last) for w in timed.aligned_words)


def test_the_sdk_only_route_times_the_same_song(suno: SunoClient, opts: RequestOptions) -> None:
    song = _song(suno, opts, vocal_mode="exact_lyrics", lyrics=LYRICS)
    first = song.audios[0]  # type: ignore[attr-defined]
    old = suno.get_timestamped_lyrics.run(options=opts, task_id=song.id, audio_id=first.id)  # type: ignore[attr-defined]
    new = suno.timestamped_lyrics.run(options=opts, source_task_id=song.id, source_audio_id=first.id)  # type: ignore[attr-defined]
    assert new.aligned_words and [w.to_dict() for w in new.aligned_words] == [w.to_dict() for w in old.aligned_words]


def test_an_instrumental_has_no_words_to_time(suno: SunoClient, opts: RequestOptions) -> None:
    song = _song(suno, opts, vocal_mode="instrumental")
    timed = suno.get_timestamped_lyrics.run(options=opts, task_id=song.id, audio_id=song.audios[0].id)  # type: ignore[attr-defined]
    assert timed.aligned_words == []


def test_a_song_the_key_never_made_is_refused_naming_the_field(server: RunningServer, suno: SunoClient,
                                                               opts: RequestOptions) -> None:
    song = _song(suno, opts, vocal_mode="exact_lyrics", lyrics=LYRICS)
    with pytest.raises(ValidationError, match="task_id"):
        suno.get_timestamped_lyrics.run(options=opts, task_id="no-such-task", audio_id=song.audios[0].id)  # type: ignore[attr-defined]
    with pytest.raises(ValidationError, match="audio_id.*not-a-song"):
        suno.get_timestamped_lyrics.run(options=opts, task_id=song.id, audio_id="not-a-song")  # type: ignore[attr-defined]
    other = SunoClient(api_key=OTHER_KEY, base_url=server.base_url)
    with pytest.raises(ValidationError, match="task_id"):  # another key's song is not this one's to name
        other.get_timestamped_lyrics.run(options=opts, task_id=song.id, audio_id=song.audios[0].id)  # type: ignore[attr-defined]
