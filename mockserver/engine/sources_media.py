"""Video and audio sources on the mock's own files, and task-id sources: what sources.py keeps of them.

An upload is probed with PyAV (its size, length and sound) and its bytes kept on the task, bounded, so the
output derived from it renders after the upload is gone. A task's file, or a task named by id
(`source_task_id`), is kept as a reference: its facts come from its output spec, and its bytes are
rendered again when needed (renders are deterministic). A source that cannot be used raises Unusable
saying why; sources.py turns that into the task's failure naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .model import Namespace, SourceMedia, Task

__all__ = ["KEPT_BYTES", "Unusable", "completed_task", "read_media", "song_ref", "task_ref"]

KEPT_BYTES = 64 * 1024 * 1024  # the largest upload a task keeps a copy of (larger ones: facts only)

Refresh = Callable[[Namespace, Task], None]
Picture = Callable[[Task, int], "tuple[int, int, bytes]"]  # (width, height, bounded bytes) of a task's image


class Unusable(Exception):
    """A source on the mock that cannot be used (the message says why)."""


def read_media(field: str, kind: str, file: tuple[str, str, str, str], namespaces: Mapping[str, Namespace],
               refresh: Refresh, ttl: float, picture: Picture) -> SourceMedia:
    """What a task keeps of the video or audio file at an own-file path (an upload, or a task's file)."""
    where, namespace, owner, name = file
    ns = namespaces.get(namespace)
    if where == "uploads":
        return _upload(field, kind, ns, owner)
    task = completed_task(ns, owner, refresh, ttl)
    names = [url.rsplit("/", 1)[1] for url in task.image_urls()]
    if name not in names:
        raise Unusable(f"task {owner} has no file {name} (its files: {', '.join(names)})")
    return _of_task(field, kind, task, names.index(name), picture)


def task_ref(field: str, media: str, task_id: str, ns: Namespace | None, key: str | None, refresh: Refresh,
             ttl: float, picture: Picture) -> SourceMedia:
    """What a task keeps of the earlier task a `task:<kind>` field names (its first file)."""
    task = completed_task(ns, task_id, refresh, ttl)
    if key is not None and task.key != key:
        raise Unusable(f"no task {task_id}")  # another account's task is not this one's to name
    return _of_task(field, media.partition(":")[2] or task.kind, task, 0, picture)


def song_ref(field: str, task_field: str, body: Mapping[str, Any], ns: Namespace | None, key: str | None,
             refresh: Refresh, ttl: float) -> SourceMedia:
    """What a task keeps of the song an `audio_id` field names among the songs of the task `task_field` names
    (a `song:<task field>` source): its length and its words, and the task and index that play it."""
    from .songs import songs  # the music module's facts, loaded with the first song reference

    task_id = body.get(task_field)
    if not isinstance(task_id, str):
        raise Unusable(f"{task_field} must name the task that made the song")
    task = completed_task(ns, task_id, refresh, ttl)
    if key is not None and task.key != key:
        raise Unusable(f"no task {task_id}")
    listed = songs(task)
    if not listed:
        raise Unusable(f"task {task_id} ({task.family}/{task.action}) made no songs")
    wanted = body.get(field)
    song = next((s for s in listed if s.id == wanted), None)
    if song is None:
        raise Unusable(f"task {task_id} has no song {wanted} (its songs: {', '.join(s.id for s in listed)})")
    return SourceMedia(field, "audio", duration_seconds=song.duration, has_audio=True, task_id=task.id,
                       index=song.index, label=f"task {task.id[:8]} song {song.index + 1}", text=song.lyrics,
                       tune=song.seed)


def completed_task(ns: Namespace | None, task_id: str, refresh: Refresh, ttl: float, *, files: str = "files") -> Task:
    """The namespace's task `task_id`, brought up to date, if it completed and its files are still kept; else
    Unusable, saying why (`files`: what the message calls them, "images" for an image source)."""
    task = ns.tasks.get(task_id) if ns is not None else None
    if ns is None or task is None:
        raise Unusable(f"no task {task_id}")
    refresh(ns, task)
    if task.status != "completed":
        raise Unusable(f"task {task_id} is {task.status}, not completed: it has no {files}")
    if task.finished_at is not None and ns.clock.now() - task.finished_at > ttl:
        raise Unusable(f"the {files} of task {task_id} expired (generated files are kept {ttl:g} s)")
    return task


def _of_task(field: str, kind: str, task: Task, index: int, picture: Picture) -> SourceMedia:
    if task.kind != kind:
        raise Unusable(f"task {task.id} made {task.kind}, not {kind}")
    if kind == "data":  # a task whose result is data (a validation phrase): named, it has no file
        return SourceMedia(field, kind, task_id=task.id, label=f"task {task.id[:8]}")
    output = task.output()
    if index >= output.count:
        raise Unusable(f"task {task.id} has no file {index}")
    label = f"task {task.id[:8]} {kind} {index + 1}"
    if kind == "image":  # drawn by `picture` (sources.task_picture: sources.py owns images)
        width, height, data = picture(task, index)
        return SourceMedia(field, kind, width, height, data=data, label=label)
    text = tune = None
    if kind == "audio":
        from .songs import file_tune, words_of  # what the mock's audio file says and plays (a song's tune)

        text, tune = words_of(task, index), file_tune(task, index)
    return SourceMedia(field, kind, output.width or None, output.height or None, output.duration_seconds,
                       output.has_audio, task_id=task.id, index=index, label=label, text=text, tune=tune)


def _upload(field: str, kind: str, ns: Namespace | None, upload_id: str) -> SourceMedia:
    upload = ns.uploads.get(upload_id) if ns is not None else None
    if ns is None or upload is None:
        raise Unusable(f"no upload {upload_id} (never uploaded, or deleted)")
    now = ns.clock.now()
    if upload.expired(now):
        raise Unusable(f"upload {upload_id} expired {now - upload.expires_at:g} s ago")
    if not upload.mime_type.lower().startswith(f"{kind}/"):
        raise Unusable(f"upload {upload_id} is {upload.mime_type}, not {'a' if kind != 'audio' else ''} {kind}")
    from ..media import probe, probe_audio  # PyAV: loaded at the first media source, not at start
    facts: tuple[int | None, int | None, float, bool]
    try:
        if kind == "video":
            info = probe(upload.data)
            facts = (info.width, info.height, info.duration_seconds, info.has_audio)
        else:
            audio = probe_audio(upload.data)
            facts = (None, None, audio.duration_seconds, True)
    except Exception as exc:  # any file PyAV cannot read is not a usable source
        raise Unusable(f"upload {upload_id} is not a {kind} file PyAV can read ({type(exc).__name__})") from None
    data = upload.data if len(upload.data) <= KEPT_BYTES else None
    width, height, duration, has_audio = facts
    return SourceMedia(field, kind, width, height, duration, has_audio, data=data, label=f"upload {upload.file_name}")
