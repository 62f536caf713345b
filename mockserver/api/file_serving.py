"""Serving a task's files of any kind: rendered off the event loop, cached within a bound, byte ranges.

Images keep their renderer and cache (images.py). Every other kind renders through renderers.py in a worker
thread (Starlette's threadpool), so creates and status reads are answered while a video encodes, and the
bytes are kept in one RenderCache per app (`render_cache_bytes`, changeable at /_mock/config), evicted least
recently used past the bound; concurrent downloads of a file still rendering share that one render.
Browsers' <video> and <audio> ask for byte ranges: one `Range: bytes=a-b` is answered 206 with the slice
(416 when it starts past the end); anything else gets the whole file, as RFC 9110 allows. A video file's last
frame (`{index}.last.png`, stills.py) is drawn in a worker thread too, and kept in the same cache.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .. import errors
from ..engine.model import Namespace, Task
from ..media import RenderCache, renderers, stills
from ..media.renderers import RenderJob

if TYPE_CHECKING:
    from ..engine.tasks import TaskEngine

__all__ = ["RangeNotSatisfiable", "byte_range", "file_response", "last_frame", "poster", "render_file", "serve"]

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_HEADERS = {"Cache-Control": "private, max-age=3600", "Accept-Ranges": "bytes", "X-Content-Type-Options": "nosniff"}


def _job(cache: RenderCache, engine: TaskEngine, ns: Namespace, task: Task, index: int) -> RenderJob:
    def file_of(task_id: str, at: int) -> bytes | None:
        other = engine.find(ns, task_id)
        if other is None or other.kind == "image":
            return None
        return render_file(cache, engine, ns, other, at)

    return RenderJob(task, index, file_of)


def render_file(cache: RenderCache, engine: TaskEngine, ns: Namespace, task: Task, index: int) -> bytes:
    """File `index` of a completed task, from the cache or rendered now (blocking: run it in a thread). A
    source that is another task's file (an extend's video) is rendered the same way, through the cache."""
    job = _job(cache, engine, ns, task, index)
    return cache.get_or_render(f"{ns.name}/{task.id}/{index}", lambda: renderers.render(task.kind, job))


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single `bytes=` range within `size`; None for the whole file. Raises
    RangeNotSatisfiable for a range that starts past the end."""
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None or (not match[1] and not match[2]):
        return None  # no range, several ranges, or another unit: the whole file
    if not match[1]:  # the last N bytes
        length = int(match[2])
        return (max(0, size - length), size - 1) if length and size else None
    start = int(match[1])
    if start >= size:
        raise RangeNotSatisfiable(f"Range starts at {start}, past the end of the {size}-byte file",
                                  size=size)
    end = min(int(match[2]), size - 1) if match[2] else size - 1
    return (start, end) if end >= start else None


class RangeNotSatisfiable(errors.MockError):
    """A byte range that starts past the end of the file."""

    status, code = 416, "range_not_satisfiable"

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message)
        self.size = size

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "Content-Range": f"bytes */{self.size}"}


def file_response(request: Request, data: bytes, media_type: str) -> Response:
    """The file, or the byte range the request asks for (206)."""
    span = byte_range(request.headers.get("range"), len(data))
    if span is None:
        return Response(data, media_type=media_type, headers=_HEADERS)
    start, end = span
    headers = {**_HEADERS, "Content-Range": f"bytes {start}-{end}/{len(data)}"}
    return Response(data[start:end + 1], status_code=206, media_type=media_type, headers=headers)


async def serve(request: Request, engine: TaskEngine, ns: Namespace, task: Task, index: int) -> Response:
    """GET of a non-image task's file: rendered in a worker thread, cached, ranged."""
    cache: RenderCache = request.app.state.render_cache
    data = await run_in_threadpool(render_file, cache, engine, ns, task, index)
    return file_response(request, data, renderers.content_type(task.kind, task.image_format))


async def poster(request: Request, engine: TaskEngine, ns: Namespace, task: Task, index: int) -> Response:
    """The first frame of a video task's file as PNG (the dashboard's thumbnail), drawn without encoding."""
    if task.kind != "video":
        raise errors.NotFound("Only videos have posters")
    from ..media.video_files import poster_of

    job = _job(request.app.state.render_cache, engine, ns, task, index)
    data = await run_in_threadpool(poster_of, job)
    return Response(data, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})


async def last_frame(request: Request, engine: TaskEngine, ns: Namespace, task: Task, index: int) -> Response:
    """The last frame of a video task's file as PNG (Seedance's `last_frame_image_url`), cached like the file."""
    from ..media.video_files import last_frame_of

    cache: RenderCache = request.app.state.render_cache
    job = _job(cache, engine, ns, task, index)
    key = f"{ns.name}/{task.id}/{stills.name_of(index)}"
    data = await run_in_threadpool(cache.get_or_render, key, lambda: last_frame_of(job))
    return file_response(request, data, "image/png")
