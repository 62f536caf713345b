"""The 15 synchronous actions and the SDK-only routes that serve them, through their official SDKs, unmodified.

runapi-core calls the 8 hybrid ones through its hybrid path: each is run twice, once answered final
(progression `immediate`) and once by a 202 + Location + task result (`polls:1`: the first poll of the task
result finds it running, the second ended); a recording transport shows which path each took. The 7 plain
ones must be answered final whatever the progression. A failed one raises the SDK's error on both paths.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from runapi.core import (
    ClientOptions,
    HttpClient,
    NotFoundError,
    RequestOptions,
    ServerError,
    ValidationError,
)
from runapi.fish_audio import FishAudioClient
from runapi.gemini_omni import GeminiOmniClient
from runapi.midjourney import MidjourneyClient
from runapi.openai_transcription import OpenaiTranscriptionClient
from runapi.openai_tts import OpenaiTtsClient
from runapi.suno import SunoClient

from runapi_mock.serving.server import RunningServer
from tests.e2e import sdk_support

IMMEDIATE = {"X-Mock-Progression": "immediate"}
SLOW = {"X-Mock-Progression": "polls:1"}
TEXT = "the quick brown fox jumps over the lazy dog"


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    yield from sdk_support.serve(poll_retry_after=0.01)


class Recorder(httpx.HTTPTransport):
    """The real transport, noting (method, path, status) of every exchange."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.seen.append((request.method, request.url.path, response.status_code))
        return response


def client(cls: Any, server: RunningServer, key: str | None = None) -> tuple[Any, Recorder]:
    key = key or f"sync-{uuid.uuid4().hex}"
    recorder = Recorder()
    options = ClientOptions(api_key=key, base_url=server.base_url, max_retries=0)
    made = cls(api_key=key, base_url=server.base_url, http_client=HttpClient(options, transport=recorder))
    return sdk_support.closed_after_test(made), recorder


def took_202(recorder: Recorder) -> bool:
    statuses = [status for method, path, status in recorder.seen if method == "POST"]
    polled = [path for method, path, _ in recorder.seen if method == "GET" and "/api/v1/tasks/" in path]
    return statuses == [202] and len(polled) == 2


HYBRID: dict[str, tuple[Any, Callable[[Any, RequestOptions], Any], Callable[[Any], None]]] = {
    "fish-audio/text-to-speech": (FishAudioClient, lambda c, o: c.text_to_speech.run(
        model="s1", text=TEXT, output_format="wav", sample_rate_hz=16000, options=o),
        lambda r: (r.audios[0].format == "wav" and r.audios[0].mime_type == "audio/wav"
                   and r.audios[0].size_bytes > 0) or pytest.fail(repr(r))),
    "fish-audio/create-voice": (FishAudioClient, lambda c, o: c.create_voice.run(
        name="Narrator", source_audio_url="https://example.com/me.wav", options=o),
        lambda r: (r.voice.voice_id and r.voice.state == "trained") or pytest.fail(repr(r))),
    "openai-tts/text-to-speech": (OpenaiTtsClient, lambda c, o: c.text_to_speech.run(
        model="tts-1", text=TEXT, options=o),
        lambda r: (r.audios[0].format == "mp3" and r.audios[0].url.endswith(".mp3")) or pytest.fail(repr(r))),
    "gemini-omni/create-character": (GeminiOmniClient, lambda c, o: c.create_character.run(
        descriptions="a tall knight in silver armour", reference_image_url="https://example.com/knight.png",
        character_name="Sir Test", options=o),
        lambda r: (r.character.name == "Sir Test" and r.character.images[0].url.endswith("knight.png"))
        or pytest.fail(repr(r))),
    "midjourney/get-seed": (MidjourneyClient, lambda c, o: c.get_seed.run(image_id="img-1", options=o),
                            lambda r: (isinstance(r.seed, int) and 0 <= r.seed < 2**32) or pytest.fail(repr(r))),
    "midjourney/image-to-prompt": (MidjourneyClient, lambda c, o: c.image_to_prompt.run(
        source_image_url="https://example.com/red_bicycle.png", options=o),
        lambda r: (len(r.prompts) == 4 and "red bicycle" in r.prompts[0]) or pytest.fail(repr(r))),
    "midjourney/shorten-prompt": (MidjourneyClient, lambda c, o: c.shorten_prompt.run(
        prompt="a very detailed painting of a lighthouse on a cliff at sunset", options=o),
        lambda r: (len(r.prompts) == 5 and "lighthouse" in r.prompts[0]) or pytest.fail(repr(r))),
    "suno/personas (SDK-only)": (SunoClient, lambda c, o: c.personas.run(
        source_task_id="t", source_audio_id="a", name="Ava", description="airy alto", options=o),
        lambda r: (r.persona.id and r.persona.name == "Ava") or pytest.fail(repr(r))),
}


@pytest.mark.parametrize("name", sorted(HYBRID))
@pytest.mark.parametrize("path", ["immediate", "202"])
def test_a_hybrid_action_completes_both_ways(server: RunningServer, name: str, path: str) -> None:
    cls, call, check = HYBRID[name]
    sdk, recorder = client(cls, server)
    result = call(sdk, RequestOptions(headers=IMMEDIATE if path == "immediate" else SLOW))
    check(result)
    assert took_202(recorder) is (path == "202"), recorder.seen


def test_the_transcription_route_takes_both_paths(server: RunningServer, tmp_path: Path) -> None:
    wav = tmp_path / "note.wav"
    wav.write_bytes(b"RIFF0000WAVEnot really audio")
    sdk, recorder = client(OpenaiTranscriptionClient, server)
    text = sdk.speech_to_text.run(file=str(wav), response_format="text", options=RequestOptions(headers=SLOW))
    assert isinstance(text, str) and text.split(), text
    assert took_202(recorder), recorder.seen
    answer = sdk.speech_to_text.run(file=str(wav), options=RequestOptions(headers=IMMEDIATE))
    assert answer["text"] == text.strip()


def a_song(sdk: Any) -> tuple[str, str]:
    """(task_id, audio_id) of a song the client's key made: what get_timestamped_lyrics names."""
    song = sdk.text_to_music.run(model="suno-v5.5", vocal_mode="exact_lyrics", lyrics=TEXT, style="folk",
                                 title="Fox", duration_seconds=10, options=RequestOptions(headers=IMMEDIATE))
    return song.id, song.audios[0].id


PLAIN: dict[str, tuple[Any, Callable[[Any, RequestOptions], Any], Callable[[Any], bool]]] = {
    "fish-audio/list-voices": (FishAudioClient, lambda c, o: c.list_voices.run(page_number=1, page_size=5,
                                                                                options=o),
                               lambda r: r.total == 0 and r.voices == [] and r.page_size == 5),
    "gemini-omni/create-audio": (GeminiOmniClient, lambda c, o: c.create_audio.run(
        audio_id="achernar", name="Calm narrator", options=o), lambda r: bool(r.id and r.audio.id)),
    "suno/check-voice": (SunoClient, lambda c, o: c.check_voice.run(task_id="no-such-task", options=o),
                         lambda r: r.is_available is False),
    "suno/boost-style": (SunoClient, lambda c, o: c.boost_style.run(description="dreamy synth pop", options=o),
                         lambda r: r.style.startswith("dreamy synth pop")),
    "suno/generate-persona": (SunoClient, lambda c, o: c.generate_persona.run(
        task_id="t", audio_id="a", name="Ava", description="airy alto", options=o),
        lambda r: r.persona.name == "Ava" and r.persona.description == "airy alto"),
    "suno/get-timestamped-lyrics": (SunoClient, lambda c, o: c.get_timestamped_lyrics.run(
        **dict(zip(("task_id", "audio_id"), a_song(c), strict=True)), options=o),
        lambda r: [w.word for w in r.aligned_words] == TEXT.split()
        and all(0 <= w.start_time < w.end_time <= 10 for w in r.aligned_words)),
    "suno/style_expansions (SDK-only)": (SunoClient, lambda c, o: c.style_expansions.run(
        description="lofi beats", options=o), lambda r: r.style.startswith("lofi beats")),
    "suno/timestamped_lyrics (SDK-only)": (SunoClient, lambda c, o: c.timestamped_lyrics.run(
        **dict(zip(("source_task_id", "source_audio_id"), a_song(c), strict=True)), options=o),
        lambda r: [w.word for w in r.aligned_words] == TEXT.split()),
}


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_a_plain_action_answers_final_whatever_the_progression(server: RunningServer, name: str) -> None:
    cls, call, check = PLAIN[name]
    sdk, recorder = client(cls, server)
    result = call(sdk, RequestOptions(headers=SLOW))
    assert check(result), result
    assert [status for method, path, status in recorder.seen if "text_to_music" not in path] == [200], recorder.seen


@pytest.mark.parametrize("path", ["immediate", "202"])
@pytest.mark.parametrize(("scenario", "error"), [("content_policy", ValidationError), ("failed", ServerError)])
def test_a_failed_hybrid_action_raises_the_sdk_s_error(server: RunningServer, path: str, scenario: str,
                                                      error: type[Exception]) -> None:
    sdk, recorder = client(MidjourneyClient, server)
    headers = {**(IMMEDIATE if path == "immediate" else SLOW), "X-Mock-Scenario": scenario}
    with pytest.raises(error):
        sdk.shorten_prompt.run(prompt="a cat", options=RequestOptions(headers=headers))
    assert took_202(recorder) is (path == "202"), recorder.seen


def test_a_failed_plain_action_raises_the_sdk_s_error(server: RunningServer) -> None:
    sdk, _ = client(SunoClient, server)
    with pytest.raises(ServerError):
        sdk.boost_style.run(description="x", options=RequestOptions(headers={"X-Mock-Scenario": "failed"}))


@pytest.mark.parametrize("fmt", ["json", "verbose_json", "text", "srt", "vtt"])
def test_speech_comes_back_as_the_words_spoken(server: RunningServer, tmp_path: Path, fmt: str) -> None:
    key = f"sync-{uuid.uuid4().hex}"
    tts, _ = client(OpenaiTtsClient, server, key)
    spoken = tts.text_to_speech.run(model="tts-1", text=TEXT, options=RequestOptions(headers=IMMEDIATE))
    audio = httpx.get(spoken.audios[0].url)
    assert audio.status_code == 200 and len(audio.content) == spoken.audios[0].size_bytes
    file = tmp_path / "speech.mp3"
    file.write_bytes(audio.content)
    stt, _ = client(OpenaiTranscriptionClient, server, key)
    heard = stt.speech_to_text.run(file=str(file), response_format=fmt, timestamp_granularities=["word"],
                                   options=RequestOptions(headers=SLOW))
    if fmt in ("json", "verbose_json"):
        assert heard["text"] == TEXT
    if fmt == "verbose_json":
        assert [w["word"] for w in heard["words"]] == TEXT.split()
        assert all(0 <= w["start"] < w["end"] <= heard["duration"] for w in heard["words"])
    if fmt in ("text", "srt", "vtt"):
        lines = [line for line in heard.splitlines() if line and "-->" not in line and not line.isdigit()
                 and line != "WEBVTT"]
        assert " ".join(lines) == TEXT, heard


def test_a_fish_voice_is_the_account_s(server: RunningServer) -> None:
    key = f"sync-{uuid.uuid4().hex}"
    sdk, _ = client(FishAudioClient, server, key)
    made = sdk.create_voice.run(name="Narrator", source_audio_url="https://example.com/me.wav",
                                options=RequestOptions(headers=SLOW)).voice
    assert sdk.get_voice.run(made.voice_id).voice.voice_id == made.voice_id
    listed = sdk.list_voices.run(page_number=1, page_size=10)
    assert listed.total == 1 and listed.voices[0].voice_id == made.voice_id
    speech = sdk.text_to_speech.run(model="s1", text=TEXT, voice_id=made.voice_id,
                                    options=RequestOptions(headers=IMMEDIATE))
    plain = sdk.text_to_speech.run(model="s1", text=TEXT, options=RequestOptions(headers=IMMEDIATE))
    assert speech.audios[0].size_bytes == plain.audios[0].size_bytes  # same length, another pitch
    assert httpx.get(speech.audios[0].url).content != httpx.get(plain.audios[0].url).content
    with pytest.raises(ValidationError, match="voice_id"):
        sdk.text_to_speech.run(model="s1", text=TEXT, voice_id="voice_unknown",
                               options=RequestOptions(headers=IMMEDIATE))
    with pytest.raises(NotFoundError):
        sdk.get_voice.run("voice_unknown")
    other, _ = client(FishAudioClient, server)  # another key: not its voice
    with pytest.raises(NotFoundError):
        other.get_voice.run(made.voice_id)


def test_a_suno_persona_is_read_back(server: RunningServer) -> None:
    sdk, _ = client(SunoClient, server)
    made = sdk.personas.run(source_task_id="t", source_audio_id="a", name="Ava", description="airy alto",
                            options=RequestOptions(headers=IMMEDIATE)).persona
    read = sdk.personas.get(made.id)
    assert (read.persona.id, read.persona.name, read.status) == (made.id, "Ava", "available")


def test_outputs_follow_the_request(server: RunningServer) -> None:
    sdk, _ = client(MidjourneyClient, server)
    opts = RequestOptions(headers=IMMEDIATE)
    prompt = "an old wooden boat drifting slowly across a misty mountain lake"
    sent = prompt.split()
    for short in sdk.shorten_prompt.run(prompt=prompt, options=opts).prompts:
        words = short.replace(",", "").split()
        assert len(words) <= len(sent) and all(w in sent for w in words), short
    seed = sdk.get_seed.run(image_id="img-7", options=opts).seed
    assert sdk.get_seed.run(image_id="img-7", options=opts).seed == seed
    assert sdk.get_seed.run(image_id="img-8", options=opts).seed != seed


def test_a_synchronous_action_is_priced_like_a_create(server: RunningServer) -> None:
    sdk, _ = client(MidjourneyClient, server)
    before = sdk.account.balance()
    sdk.shorten_prompt.run(prompt="a cat", options=RequestOptions(headers=IMMEDIATE))
    after = sdk.account.balance()
    assert after.balance_cents == before.balance_cents - 1  # the assumed 1 cent of sync.json


def test_the_202_path_works_in_a_namespace(server: RunningServer) -> None:
    # httpx appends the relative Location to the base URL's path: it must not carry the /ns/<name> prefix.
    key = f"sync-{uuid.uuid4().hex}"
    recorder = Recorder()
    base = f"{server.base_url}/ns/sync-team"
    options = ClientOptions(api_key=key, base_url=base, max_retries=0)
    sdk = sdk_support.closed_after_test(MidjourneyClient(api_key=key, base_url=base,
                                                         http_client=HttpClient(options, transport=recorder)))
    result = sdk.shorten_prompt.run(prompt="a red fox in snow", options=RequestOptions(headers=SLOW))
    assert "fox" in result.prompts[0]
    assert [path for _, path, _ in recorder.seen][1].startswith("/ns/sync-team/api/v1/tasks/"), recorder.seen
    assert took_202(recorder), recorder.seen


def test_the_admin_api_lists_a_speech_task(server: RunningServer) -> None:
    # A speech task records no image format: the admin list (and the dashboard) show it like any task.
    key = f"sync-{uuid.uuid4().hex}"
    tts, _ = client(OpenaiTtsClient, server, key)
    tts.text_to_speech.run(model="tts-1", text=TEXT, options=RequestOptions(headers=IMMEDIATE))
    listed = httpx.get(f"{server.base_url}/_mock/tasks", params={"key": key})
    assert listed.status_code == 200 and listed.json()["tasks"][0]["status"] == "completed"
