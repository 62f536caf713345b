"""Which renderer makes a task's files: one per kind of output (kinds.py holds the kinds and their formats).

Images keep their own renderer and cache (images.py); video (video_files.py) and the kinds other modules add
(audio) render through `render`, in a worker thread, and the file route keeps the bytes in a RenderCache.

The file of another task (a source video of an extend, the audio of a lip sync) is reached through
`RenderJob.file`, which renders it through the same cache: renders are deterministic, so nothing else
needs storing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .kinds import Kind, content_type, extension, kind, register, renderer_path

if TYPE_CHECKING:
    from ..engine.model import Task

__all__ = ["Kind", "RenderJob", "content_type", "extension", "kind", "register", "render"]

FileOf = Callable[[str, int], "bytes | None"]  # (task id, file index) -> that task's file, or None


@dataclass(frozen=True)
class RenderJob:
    """What a renderer gets: the task, which of its files, and how to read another task's file."""

    task: Task
    index: int
    file: FileOf = field(default=lambda task_id, index: None)


_LOADED: dict[str, Callable[[RenderJob], bytes]] = {}  # by renderer path: a kind registered again reloads


def render(kind_name: str, job: RenderJob) -> bytes:
    """File `job.index` of `job.task`, by its kind's renderer (blocking: call it from a worker thread)."""
    path = renderer_path(kind_name)
    if path is None:
        raise LookupError(f"{kind_name} outputs have no renderer here")
    renderer = _LOADED.get(path)
    if renderer is None:
        module, _, name = path.partition(":")
        renderer = _LOADED[path] = getattr(importlib.import_module(module), name)
    return renderer(job)
