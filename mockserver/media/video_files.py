"""The video renderer of the `video` kind (see renderers.py): a task's MP4/MOV from its shaped output.

Everything the clip shows comes from the task: its output (size, length, rate, sound: contracts'
media_output.py reads them from the output spec) and the sources the mock kept at create (sources.py).
Which source plays which part is the output spec's data: `source` (a video there is the base of an extend,
an edit, an upscale or a lip sync), `first_frame` (an image field, or list of fields; default: the primary
source when it is an image), `last_frame`, and `audio_from` (its audio becomes the track, and sets the
length). A source that is another task's file is rendered again through `RenderJob.file`. An extend from a
point (`window_start`: Grok's start_seconds) shows the source up to it, then the extension.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runapi_contracts.media_output import window_start

from ..engine.model import SourceMedia, Task
from . import render_workers
from .renderers import RenderJob
from .video import VideoSpec, caption, poster

__all__ = ["last_frame_of", "poster_of", "render", "spec_of"]


def _fields(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _bytes(job: RenderJob, media: SourceMedia | None) -> bytes | None:
    if media is None:
        return None
    if media.data is not None:
        return media.data
    return job.file(media.task_id, media.index) if media.task_id is not None else None


def _first(task: Task, names: list[str], kind: str) -> SourceMedia | None:
    return next((m for name in names if (m := task.source_media(name)) is not None and m.kind == kind), None)


def spec_of(job: RenderJob) -> VideoSpec:
    """The VideoSpec of file `job.index` of a video task."""
    task, index = job.task, job.index
    output = task.output()
    model = task.catalog_model()
    spec: Mapping[str, Any] = model.output_spec if model is not None else {}
    primary = str(spec.get("source"))
    frames = _fields(spec.get("first_frame")) or [primary]
    first = _first(task, frames, "image")
    last = _first(task, _fields(spec.get("last_frame")), "image")
    base = _first(task, [primary], "video")
    sound = _first(task, _fields(spec.get("audio_from")), "audio")
    label = caption(task.requested_model or task.model, output.width, output.height, output.duration_seconds or 5,
                    task.id, task.body.get("prompt"), output.has_audio, index, output.count)
    cut = window_start(spec, task.body) if base is not None else None
    used = [m.label + (f" to {cut:g} s" if m is base and cut is not None else "")
            for m in (base, first, sound) if m is not None]
    if used:
        label = (*label, "from " + ", ".join(used))
    audio = _bytes(job, sound)
    return VideoSpec(
        seed=f"{task.id}/{index}", width=output.width, height=output.height,
        duration_seconds=output.duration_seconds, fps=output.fps or 2, label=label,
        with_audio=output.has_audio, first_frame=_bytes(job, first), last_frame=_bytes(job, last),
        audio=audio, source_video=_bytes(job, base), source_until=cut,
        container="mov" if output.format == "mov" else "mp4",
    )


def render(job: RenderJob) -> bytes:
    """The task's file `job.index`, H.264 (and AAC when it has sound), encoded in a worker process."""
    return render_workers.render_video(spec_of(job))


def poster_of(job: RenderJob) -> bytes:
    """The first frame of the task's file `job.index` as PNG, drawn without encoding (the dashboard's)."""
    return poster(spec_of(job))


def last_frame_of(job: RenderJob) -> bytes:
    """The last frame of the task's file `job.index` as PNG (stills.py), drawn as the encoder gets it."""
    return poster(spec_of(job), -1)
