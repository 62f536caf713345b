"""The kinds of output a task makes (the catalog's output spec `kind`): each one's file formats (extension and
content type per format) and which renderer makes its files, named by module path so that nothing here
imports a codec or the engine. The engine asks here for a file's name and type; renderers.py renders.
A `data` kind makes no file: its result is JSON members only. Images keep their own renderer (images.py).
A kind's extra facts per file (a song's id, title, lyrics) and the generated members of data results
(transcripts, lyrics, MIDI) are named by module path too, so the engine's model reaches them without an
import (the task is passed as `Any`: this module never names the engine's types).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

__all__ = ["Kind", "content_type", "extension", "file_facts", "generate", "kind", "register", "renderer_path"]


class FormatTable(Mapping[str, tuple[str, str]]):
    """A kind's formats read from a renderer's own table (``module:NAME``, rows with ``extension`` and
    ``content_type``) at first use, so the server starts without importing the codecs that module needs."""

    def __init__(self, path: str) -> None:
        self.path = path

    @cached_property
    def table(self) -> dict[str, tuple[str, str]]:
        module, _, name = self.path.partition(":")
        rows = getattr(importlib.import_module(module), name)
        return {key: (row.extension, row.content_type) for key, row in rows.items()}

    def __getitem__(self, key: str) -> tuple[str, str]:
        return self.table[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)


@dataclass(frozen=True)
class Kind:
    """One kind of output: its formats (extension, content type) and its renderer, named by module path
    (``module:function``) and imported at the first render, so the server starts without loading codecs."""

    name: str
    formats: Mapping[str, tuple[str, str]]  # format -> (extension, content type)
    default_format: str
    renderer: str | None = None  # None: no files (data), or rendered elsewhere (images)
    facts: str | None = None  # ``module:function(task, urls)``: more facts per file for result items (songs)


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    """Add (or replace) a kind of output. The audio kinds register themselves the same way."""
    _KINDS[kind.name] = kind


def kind(name: str) -> Kind:
    """The registered kind (an unknown one is served as an image: the catalog's default)."""
    return _KINDS.get(name) or _KINDS["image"]


def renderer_path(name: str) -> str | None:
    """The ``module:function`` that renders files of kind `name`, if any."""
    return kind(name).renderer


def extension(kind_name: str, fmt: str) -> str:
    entry = kind(kind_name)
    return entry.formats.get(fmt.lower(), entry.formats[entry.default_format])[0]


def content_type(kind_name: str, fmt: str) -> str:
    entry = kind(kind_name)
    return entry.formats.get(fmt.lower(), entry.formats[entry.default_format])[1]


def file_facts(kind_name: str, task: Any, urls: Sequence[str]) -> list[dict[str, Any]]:
    """The kind's own facts of each file of `task` (a song's id, title, lyrics...), [] when it has none."""
    path = kind(kind_name).facts
    if path is None:
        return []
    module, _, name = path.partition(":")
    found: list[dict[str, Any]] = getattr(importlib.import_module(module), name)(task, urls)
    return found


GENERATORS = "runapi_mock.media.audio_data:generate"  # the data members' generators, loaded at first use


def generate(layout: Sequence[Mapping[str, Any]], task: Any, urls: Sequence[str]) -> dict[str, Any]:
    """The generated members a result layout names (``from: data:<name>``), by generator name."""
    module, _, name = GENERATORS.partition(":")
    found: dict[str, Any] = getattr(importlib.import_module(module), name)(layout, task, urls)
    return found


register(Kind("image", {"png": ("png", "image/png"), "jpeg": ("jpg", "image/jpeg"), "jpg": ("jpg", "image/jpeg"),
                        "webp": ("webp", "image/webp")}, "png"))
register(Kind("video", {"mp4": ("mp4", "video/mp4"), "mov": ("mov", "video/quicktime")}, "mp4",
              "runapi_mock.media.video_files:render", "runapi_mock.media.stills:file_facts"))
register(Kind("data", {"json": ("json", "application/json")}, "json"))
register(Kind("audio", FormatTable("runapi_mock.media.audio:FORMATS"), "mp3", "runapi_mock.media.audio_files:render",
              "runapi_mock.media.audio_files:file_facts"))
