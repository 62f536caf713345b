"""Every member runapi-suno's and runapi-producer's result types declare is in what the mock returns.

The SDKs' models declare their fields (`BaseModel._fields`, nested models included); a declared member the
mock leaves out reads as None in the client. Walked over a chain of song actions through the SDKs,
unmodified. Left out on purpose: `error` (a completed task has none), `usage` (checked elsewhere), and
`generation_stage` (Suno's staged-callback step: no source says its values), and the stems one split does
not make.
"""

from __future__ import annotations

import uuid
from typing import Any

from runapi.core import RequestOptions
from runapi.core.models import BaseModel
from runapi.producer import ProducerClient
from runapi.suno import SunoClient

from runapi_mock.serving.server import RunningServer
from tests.e2e import sdk_support

NOT_FILLED = {"error", "usage", "generation_stage"}


def missing(cls: type[BaseModel], value: Any, path: str = "") -> list[str]:
    """The members `cls` declares (recursively, every item of a list) that `value` lacks or leaves null."""
    out: list[str] = []
    for name, field in cls._fields.items():
        where = f"{path}.{name}" if path else name
        if name in NOT_FILLED:
            continue
        if not isinstance(value, dict) or value.get(name) is None:
            out.append(where)
            continue
        declared = field.item_type if field.type is list else field.type
        target = declared() if callable(declared) and not isinstance(declared, type) else declared
        if isinstance(target, type) and issubclass(target, BaseModel):
            items = value[name] if isinstance(value[name], list) else [value[name]]
            for i, item in enumerate(items):
                out += missing(target, item, f"{where}[{i}]" if field.type is list else where)
    return out


def check(resource: Any, result: Any) -> None:
    cls = type(resource).COMPLETED_RESPONSE_CLASS or type(resource).RESPONSE_CLASS
    assert missing(cls, result.to_dict()) == [], (type(resource).__name__, result.to_dict())


def test_suno_song_results_have_every_declared_member(server: RunningServer) -> None:
    suno: Any = sdk_support.client(SunoClient, server.base_url)
    opts = RequestOptions(headers={"X-Mock-Namespace": f"fields-{uuid.uuid4().hex[:12]}"})
    song = suno.text_to_music.run(options=opts, model="suno-v5.5", vocal_mode="exact_lyrics", lyrics="la la la",
                                  style="folk", title="River", duration_seconds=10)
    check(suno.text_to_music, song)
    assert song.audio_url == song.audios[0].audio_url
    first = song.audios[0]
    calls = {
        suno.extend_music: dict(model="suno-v5.5", parameter_mode="source", task_id=song.id, audio_id=first.id),
        suno.generate_artwork: dict(task_id=song.id),
        suno.generate_midi: dict(task_id=song.id),
        suno.convert_audio: dict(task_id=song.id, audio_id=first.id),
        suno.visualize_music: dict(task_id=song.id, audio_id=first.id),
        suno.replace_section: dict(model="suno-v5.5", task_id=song.id, audio_id=first.id, lyrics="a bridge",
                                   full_lyrics="la la a bridge", tags="folk", title="River", infill_start_time=2,
                                   infill_end_time=4),
    }
    for resource, body in calls.items():
        check(resource, resource.run(options=opts, **body))
    timed = suno.get_timestamped_lyrics.run(options=opts, task_id=song.id, audio_id=first.id)
    check(suno.get_timestamped_lyrics, timed)


def test_producer_song_results_have_every_declared_member(server: RunningServer) -> None:
    producer: Any = sdk_support.client(ProducerClient, server.base_url)
    song = producer.text_to_music.run(model="fuzz-2.0", vocal_mode="exact_lyrics", lyrics="la la la",
                                      prompt="a calm piano piece", title="Calm")
    check(producer.text_to_music, song)
