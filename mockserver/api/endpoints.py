"""The API's endpoints: thin handlers that read the request, validate it, call the engine and answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from runapi_contracts import Violation, load_catalog
from runapi_contracts.openapi import runapi_openapi
from runapi_contracts.validate import check_request

from .. import errors
from ..background.state import StateError
from ..engine import accounts
from ..engine.lifecycle import Progression
from ..engine.model import JsonObject, Task
from ..media import images, stills
from ..version import VERSION
from . import file_serving
from .admission import Admission, admit, engine_of, image_origin, origin, settings_of, validation_failed
from .parsing import context
from .responses import JSON, task_headers

Resolver = Callable[[Any], "tuple[str, str]"]


def task_response(request: Request, task: Task, body: dict[str, Any] | None = None) -> Response:
    """A status read's answer: the task's body (or `body`), its id header and, while it runs, Retry-After."""
    retry = settings_of(request).poll_retry_after
    headers = task_headers(task.id, None if task.terminal else retry)
    return JSON(body if body is not None else task.to_body(origin=image_origin(request)), headers=headers)


async def _create(request: Request, resolve: Resolver) -> Response:
    admitted = await admit(request, body="json", task_controls=True, flaky_by_body=True)
    family, action = resolve(admitted.body)
    normalized, violations = check_request(family, action, admitted.body)
    if violations:
        raise validation_failed(request, violations)
    task, replayed = await store_task(admitted, family, action, normalized)
    return JSON({**task.summary(), "task_replayed": replayed}, headers=task_headers(task.id))


async def store_task(admitted: Admission, family: str, action: str, normalized: JsonObject, *,
                     progression: Progression | None = None) -> tuple[Task, bool]:
    """Create the task of an admitted, validated request (or replay it), once it is on disk with --state;
    `progression` overrides the request's (a plain synchronous action ends at its first read)."""
    task, replayed, pending = admitted.engine.create_pending(
        admitted.namespace, admitted.key, family, action, normalized, origin=admitted.origin,
        requested_model=admitted.model, scenario=admitted.scenario,
        progression=progression or admitted.progression,
        idempotency_key=admitted.idempotency_key, client_request_id=admitted.client_request_id,
        callback_mode=admitted.callback_mode,
    )
    if pending is not None:  # --state: the 2xx leaves once the task is on disk, with the creates of its batch
        try:
            await pending.wait_async()
        except StateError as exc:  # its rows were refused (the others of its batch were written): no 2xx
            if not replayed:
                try:
                    await run_in_threadpool(admitted.engine.discard, admitted.namespace, task.id)
                except StateError:
                    pass  # forgotten in memory all the same; the file never held it
            raise errors.ServerError(f"the task could not be stored: {exc}", code="state_write_failed") from None
    admitted.context.task_id = task.id
    return task, replayed


async def create_task(request: Request, family: str, action: str) -> Response:
    """POST /api/v1/{family}/{action}: the SDKs' create route (one per catalog action, see routes.py)."""
    return await _create(request, lambda body: (family, action))


def _docs_resolver(request: Request, action: str) -> Resolver:
    def resolve(body: Any) -> tuple[str, str]:
        catalog = load_catalog()
        if not isinstance(body, dict):
            raise validation_failed(request, [Violation("", "type", "request body must be a JSON object")])
        model = body.get("model")
        found = catalog.resolve(action, model) if isinstance(model, str) else None
        if found is None:
            raise validation_failed(request, [_docs_model_violation(action, "model" in body, model)])
        return found[0].family, action
    return resolve


def _docs_model_violation(action: str, sent: bool, model: Any = None) -> Violation:
    """A docs route's `model` that names no family: missing (required), or not one this action serves (the
    choices sorted, and where that model is served, if anywhere)."""
    if not sent:
        return Violation("model", "required", "model is required", "/model")
    catalog = load_catalog()
    choices = {m.name for m in catalog.models() if m.action == action}
    choices |= {a for a, alias in catalog.model_aliases.items() if alias.action == action}
    elsewhere = catalog.served_elsewhere(action, model) if isinstance(model, str) else ""
    return Violation("model", "enum", f"model must be one of: {', '.join(sorted(choices))}{elsewhere}", "/model")


async def create_docs_task(request: Request, action: str) -> Response:
    """POST /v1/{action}: the public docs' route; the family comes from `model`."""
    return await _create(request, _docs_resolver(request, action))


async def _read(request: Request, family: str | None = None, action: str | None = None) -> Task:
    task_id = request.path_params["task_id"]
    admitted = await admit(request, task_id=task_id)
    return engine_of(request).read(admitted.namespace, admitted.key, task_id, family=family, action=action)


async def get_task(request: Request, family: str, action: str | None) -> Response:
    """GET /api/v1/{family}/{action}/{task_id}: the SDKs' status route (no action: status_routes.py)."""
    return task_response(request, await _read(request, family, action))


async def get_docs_task(request: Request, action: str | None = None) -> Response:
    """GET /v1/tasks/{task_id} and /v1/{action}/{task_id}: the docs' status routes."""
    return task_response(request, await _read(request, action=action))


async def me(request: Request) -> Response:
    admitted = await admit(request, apply_scenario=False)
    account = engine_of(request).account(admitted.namespace, admitted.key)
    return JSON(accounts.user(settings_of(request), admitted.key, account))


async def balance(request: Request) -> Response:
    admitted = await admit(request, apply_scenario=False)
    return JSON(engine_of(request).balance(admitted.namespace, admitted.key))


async def file(request: Request) -> Response:
    """GET /files/{namespace}/{task_id}/{name}: a completed task's image, as a CDN would serve it."""
    engine, settings = engine_of(request), settings_of(request)
    ns = engine.find_namespace(request.path_params["namespace"])
    task = engine.find(ns, request.path_params["task_id"]) if ns else None
    name = request.path_params["name"]
    still = stills.index_of(name)  # a video file's last frame, `{index}.last.png` beside it
    if ns is None or task is None or task.status != "completed" or (name not in {
        url.rsplit("/", 1)[1] for url in task.image_urls()
    } and not (still is not None and task.kind == "video" and still < task.image_count())):
        raise errors.NotFound("No such file")
    context(request).namespace, context(request).task_id = ns, task.id
    if task.finished_at is not None and engine.now(ns) - task.finished_at > settings.file_ttl_seconds:
        raise errors.Gone("This file has expired; generated files are kept "
                          f"{settings.file_ttl_seconds:g} seconds")
    if still is not None:
        return await file_serving.last_frame(request, engine, ns, task, still)
    if task.kind != "image":  # video, audio: rendered in a worker thread, cached, ranged
        index = int(name.partition(".")[0])
        if "poster" in request.query_params:  # the dashboard's thumbnail: the first frame, as PNG
            return await file_serving.poster(request, engine, ns, task, index)
        return await file_serving.serve(request, engine, ns, task, index)
    width, height = task.image_size()
    cache: images.ImageCache = request.app.state.image_cache
    key = f"{task.id}/{name}"
    label = task.caption(int(name.partition(".")[0]))
    source = task.source.data if task.source is not None else None
    data = await run_in_threadpool(cache.get_or_render, key, key, width, height, task.image_format, label, source)
    return Response(data, media_type=images.content_type(task.image_format),
                    headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})


# A path segment of a URL (RFC 3986 pchar, percent escapes included).
_SEGMENT = r"[A-Za-z0-9._~%!$&'()*+,;=:@-]+"


def own_file_urls(origin: str, source_hosts: tuple[str, ...] = ()) -> str:
    """The pattern of the `url` sources this mock takes: its own uploads and generated files at `origin`'s
    scheme, host and port (behind any /ns/<name>), read from the engine, and any URL on an --allow-source-host
    entry (`host`: any port; `host:port`). Any other host is refused unfetched, as files_api.read_url does."""
    parts = urlsplit(origin)
    own = (f"{re.escape(f'{parts.scheme}://{parts.netloc}')}(?:/ns/{_SEGMENT})?/(?:uploads|files)"
           f"/{_SEGMENT}/{_SEGMENT}/{_SEGMENT}")
    allowed = [re.escape(entry.lower()) + ("" if ":" in entry else r"(?::[0-9]{1,5})?") for entry in source_hosts]
    if not allowed:
        return f"^{own}$"
    return f"^(?:{own}|https?://(?:{'|'.join(allowed)})(?:[/?#].*)?)$"


@lru_cache(maxsize=64)
def _openapi_for(origin: str, source_hosts: tuple[str, ...]) -> dict[str, Any]:
    return runapi_openapi(server_url=origin, url_sources=own_file_urls(origin, source_hosts))


async def openapi(request: Request) -> Response:
    return JSON(_openapi_for(origin(request), settings_of(request).allow_source_hosts))


async def healthz(request: Request) -> Response:
    return JSON({"status": "ok", "version": VERSION})
