"""GET /files/{namespace}/{task_id}/cover/{name}: a song's cover (its `image_url`), as a CDN would serve it.

Drawn by the image renderer (media/covers.py says what it shows) and kept in the app's image cache; a task
that made no songs, a song it did not make, or a task not completed is a 404, an expired one a 410, as for
the task's own files.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import errors
from ..engine.songs import songs, spec_of
from ..media import covers, images
from .admission import engine_of, settings_of
from .parsing import context

__all__ = ["routes"]

_HEADERS = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}


async def cover(request: Request) -> Response:
    engine, settings = engine_of(request), settings_of(request)
    ns = engine.find_namespace(request.path_params["namespace"])
    task = engine.find(ns, request.path_params["task_id"]) if ns else None
    found = covers.cover_of(spec_of(task)) if task is not None and task.status == "completed" else None
    listed = songs(task) if task is not None and found is not None else []
    name = request.path_params["name"]
    song = next((s for s in listed if found is not None and covers.file_name(s.index, found) == name), None)
    if ns is None or task is None or found is None or song is None:
        raise errors.NotFound("No such file")
    context(request).namespace, context(request).task_id = ns, task.id
    if task.finished_at is not None and engine.now(ns) - task.finished_at > settings.file_ttl_seconds:
        raise errors.Gone("This file has expired; generated files are kept "
                          f"{settings.file_ttl_seconds:g} seconds")
    cache: images.ImageCache = request.app.state.image_cache
    data = await run_in_threadpool(cache.get_or_render, f"{task.id}/{covers.COVER_DIR}/{name}", covers.seed(song),
                                   found.width, found.height, found.format, covers.caption(song, len(listed), found))
    return Response(data, media_type=images.content_type(found.format), headers=_HEADERS)


routes = [Route("/files/{namespace}/{task_id}/" + covers.COVER_DIR + "/{name}", cover, methods=["GET"])]
