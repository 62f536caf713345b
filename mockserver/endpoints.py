"""The API's endpoints: thin handlers that read the request, validate it, call the engine and answer."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib import metadata
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from runapi_contracts import Violation, errors_by_field, load_catalog
from runapi_contracts.openapi import runapi_openapi
from runapi_contracts.validate import check_request
from runapi_contracts.vocabulary import NAMESPACE_HEADER

from . import accounts, errors, file_serving, images, routing, scenarios
from .engine import TaskEngine, request_fingerprint
from .model import Namespace, Task
from .parsing import (
    api_key,
    callback_mode_header,
    context,
    header,
    parse_json,
    printable_header,
    progression_header,
    read_body,
    retry_after_header,
    scenario_header,
)
from .responses import JSON
from .settings import Settings
from .state import StateError

Resolver = Callable[[Any], "tuple[str, str]"]


_VERSION = metadata.version("runapi-mock")
_NAMESPACE_HEADER = NAMESPACE_HEADER.lower()  # headers are read lower-cased


def route_path(request: Request) -> str:
    """The path as routed: without a /ns/<name> prefix."""
    return routing.route_path(request.scope)


def _engine(request: Request) -> tuple[TaskEngine, Settings]:
    return request.app.state.engine, request.app.state.settings


def image_origin(request: Request) -> str:
    """The base of the image URLs a read shows: the --public-url if set, else the reading request's origin;
    either with the request's /ns/<name> prefix. Never the creating request's: a restart on another port or a
    client on another Host name gets links it can follow."""
    public: str | None = request.app.state.settings.public_url
    if public is None:
        return _origin(request)
    prefix: str = request.scope.get("app_root_path", request.scope.get("root_path", ""))
    return public + prefix


def _origin(request: Request) -> str:
    """The scheme://host[:port][/ns/<name>] clients reached us at: the base of the URLs the mock builds."""
    scope = request.scope
    server = scope.get("server")
    return _origin_of(scope.get("scheme", "http"), tuple(server) if server is not None else None,
                      header(request, "host"), scope.get("app_root_path", scope.get("root_path", "")))


@lru_cache(maxsize=256)
def _origin_of(scheme: str, server: tuple[str, int] | None, host: str | None, root_path: str) -> str:
    # Everything Request.base_url reads, so the cached answer is the one it would give for this request.
    scope = {"type": "http", "scheme": scheme, "server": server, "root_path": root_path, "path": "/",
             "query_string": b"", "headers": [] if host is None else [(b"host", host.encode("latin-1"))]}
    return str(Request(scope).base_url).rstrip("/")


def _admit(request: Request, engine: TaskEngine, settings: Settings) -> tuple[Namespace, str]:
    """Namespace, API key and the per-minute limit: what every API request goes through first."""
    ctx = context(request)
    ns = ctx.namespace = engine.namespace(header(request, _NAMESPACE_HEADER))
    key = ctx.key = api_key(request, settings)
    engine.hit_rate_limit(ns, key)
    return ns, key


def _scenario(request: Request, engine: TaskEngine, ns: Namespace, key: str, model: str | None,
              raw: bytes) -> scenarios.Scenario | None:
    """The scenario for this request (header first, then admin rules); raises the error scenarios."""
    scenario = scenario_header(request)
    if scenario is None:
        name = engine.take_rule(ns, request.method, route_path(request), model, key)
        scenario = scenarios.lookup(name) if name else None
    if scenario is None:
        return None
    context(request).scenario = scenario.name
    if scenario.error is None:
        return scenario
    if scenario.flaky_attempts:
        fingerprint = request_fingerprint(key, request.method, route_path(request), raw)
        if not engine.flaky_attempt(ns, fingerprint, scenario.flaky_attempts):
            return None
    override = retry_after_header(request)
    retry_after = override if override is not None else scenario.retry_after
    raise scenario.error(scenario.message, retry_after=retry_after, task_id=context(request).task_id)


def _task_response(request: Request, task: Task, body: dict[str, Any] | None = None) -> Response:
    _, settings = _engine(request)
    headers = {"X-RunAPI-Task-Id": task.id}
    if not task.terminal and settings.poll_retry_after is not None:
        headers["Retry-After"] = f"{settings.poll_retry_after:g}"
    return JSON(body if body is not None else task.to_body(origin=image_origin(request)), headers=headers)


async def _create(request: Request, resolve: Resolver) -> Response:
    engine, settings = _engine(request)
    ctx = context(request)
    ns, key = _admit(request, engine, settings)
    progression = progression_header(request)
    callback_mode = callback_mode_header(request)
    idempotency_key = printable_header(request, "idempotency-key")
    raw = await read_body(request, settings.max_body_bytes)
    body = ctx.body = parse_json(request, raw)
    model = body.get("model") if isinstance(body, dict) else None
    ctx.model = model if isinstance(model, str) else None
    scenario = _scenario(request, engine, ns, key, ctx.model, raw)
    family, action = resolve(body)
    normalized, violations = check_request(family, action, body)
    if violations:
        raise _validation_failed(request, violations)
    task, replayed, pending = engine.create_pending(
        ns, key, family, action, normalized, origin=_origin(request), requested_model=ctx.model, scenario=scenario,
        progression=progression, idempotency_key=idempotency_key,
        client_request_id=header(request, "x-client-request-id"), callback_mode=callback_mode,
    )
    if pending is not None:  # --state: the 2xx leaves once the task is on disk, with the creates of its batch
        try:
            await pending.wait_async()
        except StateError as exc:  # its rows were refused (the others of its batch were written): no 2xx
            if not replayed:
                try:
                    await run_in_threadpool(engine.discard, ns, task.id)
                except StateError:
                    pass  # forgotten in memory all the same; the file never held it
            raise errors.ServerError(f"the task could not be stored: {exc}", code="state_write_failed") from None
    ctx.task_id = task.id
    body = {"id": task.id, "task_id": task.id, "status": task.status,
            "model": task.requested_model or task.model, "task_replayed": replayed}
    return JSON(body, headers={"X-RunAPI-Task-Id": task.id})


async def create_task(request: Request, family: str, action: str) -> Response:
    """POST /api/v1/{family}/{action}: the SDKs' create route (one per catalog action, see routes.py)."""
    return await _create(request, lambda body: (family, action))


def _validation_failed(request: Request, violations: list[Violation]) -> errors.ValidationFailed:
    """The 422 of every create route: the message names the first fields, `errors` holds them all."""
    context(request).violations = [{"field": v.field, "rule": v.rule, "message": v.message} for v in violations]
    summary = "; ".join(v.message for v in violations[:3]) + ("; ..." if len(violations) > 3 else "")
    return errors.ValidationFailed(f"Validation failed: {summary}", errors=errors_by_field(violations))


def _docs_resolver(request: Request, action: str) -> Resolver:
    def resolve(body: Any) -> tuple[str, str]:
        catalog = load_catalog()
        if not isinstance(body, dict):
            raise _validation_failed(request, [Violation("", "type", "request body must be a JSON object")])
        model = body.get("model")
        found = catalog.resolve(action, model) if isinstance(model, str) else None
        if found is None:
            raise _validation_failed(request, [_docs_model_violation(action, "model" in body, model)])
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


def _read(request: Request, family: str | None = None, action: str | None = None) -> Task:
    engine, settings = _engine(request)
    ns, key = _admit(request, engine, settings)
    task_id = request.path_params["task_id"]
    known = engine.find(ns, task_id)
    if known is not None and known.key == key:
        context(request).task_id = task_id
        context(request).model = known.model
    _scenario(request, engine, ns, key, known.model if known else None, b"")
    return engine.read(ns, key, task_id, family=family, action=action)


async def get_task(request: Request, family: str, action: str | None) -> Response:
    """GET /api/v1/{family}/{action}/{task_id}: the SDKs' status route (no action: status_routes.py)."""
    return _task_response(request, _read(request, family, action))


async def get_docs_task(request: Request, action: str | None = None) -> Response:
    """GET /v1/tasks/{task_id} and /v1/{action}/{task_id}: the docs' status routes."""
    return _task_response(request, _read(request, action=action))


async def get_task_result(request: Request) -> Response:
    """GET /api/v1/tasks/{task_id}: the task-result resource of the SDKs' hybrid flow."""
    task = _read(request)
    body: dict[str, Any] = {"id": task.id, "task_id": task.id, "status": task.status,
                            "model": task.requested_model or task.model}
    if task.status == "completed":
        body["response"] = {"status": 200, "content_type": "application/json", "headers": {},
                            "body": task.to_body(origin=image_origin(request))}
    elif task.status == "failed":  # as every status route says it: the message and its code
        body["error"], body["error_code"] = task.failure
    return _task_response(request, task, body)


async def me(request: Request) -> Response:
    engine, settings = _engine(request)
    ns, key = _admit(request, engine, settings)
    return JSON(accounts.user(settings, key, engine.account(ns, key)))


async def balance(request: Request) -> Response:
    engine, settings = _engine(request)
    ns, key = _admit(request, engine, settings)
    return JSON(engine.balance(ns, key))


async def file(request: Request) -> Response:
    """GET /files/{namespace}/{task_id}/{name}: a completed task's image, as a CDN would serve it."""
    engine, settings = _engine(request)
    ns = engine.find_namespace(request.path_params["namespace"])
    task = engine.find(ns, request.path_params["task_id"]) if ns else None
    name = request.path_params["name"]
    if ns is None or task is None or task.status != "completed" or name not in {
        url.rsplit("/", 1)[1] for url in task.image_urls()
    }:
        raise errors.NotFound("No such file")
    context(request).namespace, context(request).task_id = ns, task.id
    if task.finished_at is not None and engine.now(ns) - task.finished_at > settings.file_ttl_seconds:
        raise errors.Gone("This file has expired; generated files are kept "
                          f"{settings.file_ttl_seconds:g} seconds")
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


@lru_cache(maxsize=64)
def _openapi_for(origin: str) -> dict[str, Any]:
    return runapi_openapi(server_url=origin)


async def openapi(request: Request) -> Response:
    return JSON(_openapi_for(_origin(request)))


async def healthz(request: Request) -> Response:

    return JSON({"status": "ok", "version": _VERSION})
