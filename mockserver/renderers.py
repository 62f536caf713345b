"""Which renderer makes a task's files: one per kind of output (the catalog's output spec `kind`).

A kind registers its file formats (extension and content type per format) and one function that renders
file `index` of a completed task. The engine and the file route never name a kind: they ask here. Images
keep their own renderer and cache (images.py); video (video_files.py) and the kinds other modules add
(audio) render through `render`, in a worker thread, and the file route keeps the bytes in a RenderCache.
A `data` kind makes no file: its result is JSON members only.

The file of another task (a source video of an extend, the audio of a lip sync) is reached through
`RenderJob.file`, which renders it through the same cache: renders are deterministic, so nothing else
needs storing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Task

__all__ = ["Kind", "RenderJob", "content_type", "extension", "file_facts", "generate", "kind", "register",
           "render"]

FileOf = Callable[[str, int], "bytes | None"]  # (task id, file index) -> that task's file, or None


class FormatTable(Mapping[str, tuple[str, str]]):
    """A kind's formats read from a renderer's own table (``module:NAME``, rows with ``extension`` and
    ``content_type``) at first use, so the server starts without importing the codecs that module needs."""

    def __init__(self, path: str) -> None:
        self.path = path

    @cached_property
    def _table(self) -> dict[str, tuple[str, str]]:
        module, _, name = self.path.partition(":")
        rows = getattr(importlib.import_module(module), name)
        return {key: (row.extension, row.content_type) for key, row in rows.items()}

    def __getitem__(self, key: str) -> tuple[str, str]:
        return self._table[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)


@dataclass(frozen=True)
class Kind:
    """One kind of output: its formats (extension, content type) and its renderer, named by module path
    (``module:function``) and imported at the first render, so the server starts without loading codecs."""

    name: str
    formats: Mapping[str, tuple[str, str]]  # format -> (extension, content type)
    default_format: str
    renderer: str | None = None  # None: no files (data), or rendered elsewhere (images)
    facts: str | None = None  # ``module:function(task, urls)``: more facts per file for result items (songs)


@dataclass(frozen=True)
class RenderJob:
    """What a renderer gets: the task, which of its files, and how to read another task's file."""

    task: Task
    index: int
    file: FileOf = field(default=lambda task_id, index: None)


_KINDS: dict[str, Kind] = {}
_LOADED: dict[str, Callable[[RenderJob], bytes]] = {}


def register(kind: Kind) -> None:
    """Add (or replace) a kind of output. The audio kinds register themselves the same way."""
    _KINDS[kind.name] = kind
    _LOADED.pop(kind.name, None)


def kind(name: str) -> Kind:
    """The registered kind (an unknown one is served as an image: the catalog's default)."""
    return _KINDS.get(name) or _KINDS["image"]


def extension(kind_name: str, fmt: str) -> str:
    entry = kind(kind_name)
    return entry.formats.get(fmt.lower(), entry.formats[entry.default_format])[0]


def content_type(kind_name: str, fmt: str) -> str:
    entry = kind(kind_name)
    return entry.formats.get(fmt.lower(), entry.formats[entry.default_format])[1]


def render(kind_name: str, job: RenderJob) -> bytes:
    """File `job.index` of `job.task`, by its kind's renderer (blocking: call it from a worker thread)."""
    renderer = _LOADED.get(kind_name)
    if renderer is None:
        path = kind(kind_name).renderer
        if path is None:
            raise LookupError(f"{kind_name} outputs have no renderer here")
        module, _, name = path.partition(":")
        renderer = _LOADED[kind_name] = getattr(importlib.import_module(module), name)
    return renderer(job)


def file_facts(kind_name: str, task: Task, urls: Sequence[str]) -> list[dict[str, Any]]:
    """The kind's own facts of each file (a song's id, title, lyrics...), [] when it has none."""
    path = kind(kind_name).facts
    if path is None:
        return []
    module, _, name = path.partition(":")
    found: list[dict[str, Any]] = getattr(importlib.import_module(module), name)(task, urls)
    return found


GENERATORS = "runapi_mock.audio_data:generate"  # the data members' generators, loaded at first use


def generate(layout: Sequence[Mapping[str, Any]], task: Task, urls: Sequence[str]) -> dict[str, Any]:
    """The generated members a result layout names (``from: data:<name>``), by generator name."""
    module, _, name = GENERATORS.partition(":")
    found: dict[str, Any] = getattr(importlib.import_module(module), name)(layout, task, urls)
    return found


register(Kind("image", {"png": ("png", "image/png"), "jpeg": ("jpg", "image/jpeg"), "jpg": ("jpg", "image/jpeg"),
                        "webp": ("webp", "image/webp")}, "png"))
register(Kind("video", {"mp4": ("mp4", "video/mp4"), "mov": ("mov", "video/quicktime")}, "mp4",
              "runapi_mock.video_files:render"))
register(Kind("data", {"json": ("json", "application/json")}, "json"))
register(Kind("audio", FormatTable("runapi_mock.media.audio:FORMATS"), "mp3", "runapi_mock.audio_files:render",
              "runapi_mock.audio_files:file_facts"))
