"""The mock's control surface under /_mock/: reset, tasks, journal, scenario rules, clock, balance, config.

Every route acts on the namespace named by the X-Mock-Namespace header (or ?namespace=), "default" otherwise.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from runapi_contracts.vocabulary import (
    FORCEABLE_STATUSES,
    JOURNAL_FILTERS,
    MICROCENTS_PER_CENT,
    NAMESPACE_HEADER,
    InvalidProgression,
    Progression,
)

from . import accounts, errors, files_api
from .callbacks import Dispatcher
from .clock import ClockRangeError
from .delivery import CallbackMode, InvalidCallbackMode
from .endpoints import image_origin
from .engine import TaskEngine
from .model import Namespace, Task
from .parsing import context, query_int, refuse_unstorable
from .responses import JSON

MAX_ADMIN_BODY = 64 * 1024
_STATUS_HINT = 'send {"status": ' + " | ".join(json.dumps(s) for s in FORCEABLE_STATUSES) + "}"


def _engine(request: Request) -> TaskEngine:
    engine: TaskEngine = request.app.state.engine
    return engine


def _namespace(request: Request) -> Namespace:
    name = request.headers.get(NAMESPACE_HEADER) or request.query_params.get("namespace")
    return _engine(request).namespace(name)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_ADMIN_BODY:
        raise errors.PayloadTooLarge()
    if not raw.strip():
        return {}
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
        body = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise errors.BadRequest(f"Malformed JSON: {exc}", code="invalid_json") from None
    refuse_unstorable(text, body)  # names, emails and keys are kept with --state
    if not isinstance(body, dict):
        raise errors.BadRequest("Body must be a JSON object", code="invalid_json")
    return body


def _int_param(request: Request, name: str, default: int, high: int = 10_000) -> int:
    return query_int(request, name, default, 1, high)


def _offset(request: Request) -> int:
    """?offset=N: how many matches to skip, for paging (the dashboard's lists)."""
    return query_int(request, "offset", 0, 0, 10 ** 9)


def _changed(request: Request) -> None:
    _engine(request).tick()
    scheduler = getattr(request.app.state, "scheduler", None)
    if scheduler is not None:
        scheduler.wake()


def _dispatcher(request: Request) -> Dispatcher:
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


def _task_view(ns: Namespace, task: Task, origin: str) -> dict[str, Any]:
    return {
        **task.to_body(origin=origin), "namespace": ns.name, "family": task.family, "action": task.action,
        "key": task.key,
        "progression": str(task.progression), "outcome": task.outcome, "reads": task.reads,
        "created_at": task.created_at, "finished_at": task.finished_at, "request": task.body,
        "price_cents": task.price / MICROCENTS_PER_CENT,
        "history": [{"status": s, "at": at} for s, at in task.history],
        "response": task.to_body(),  # the body a client reading the task gets now
    }


async def index(request: Request) -> Response:
    return JSON({"namespace": _namespace(request).name,
                 "routes": sorted({f"{m} /_mock{r.path}" for r in routes for m in (r.methods or []) if m != "HEAD"})})


async def reset(request: Request) -> Response:
    engine = _engine(request)
    if request.query_params.get("all") in ("1", "true"):
        engine.reset()
        return JSON({"reset": "all"})
    name = _namespace(request).name
    engine.reset(name)
    return JSON({"reset": name})


async def list_tasks(request: Request) -> Response:
    ns, engine = _namespace(request), _engine(request)
    limit, offset = _int_param(request, "limit", 100), _offset(request)
    status, key = request.query_params.get("status"), request.query_params.get("key")
    # One past the page tells whether there is a next one.
    found, total = engine.list_tasks(ns, status=status, key=key, limit=limit + 1, offset=offset)
    origin = image_origin(request)
    return JSON({"tasks": [_task_view(ns, task, origin) for task in found[:limit]], "total": total,
                 "offset": offset, "more": len(found) > limit})


async def get_task(request: Request) -> Response:
    ns, engine = _namespace(request), _engine(request)
    view = _task_view(ns, engine.get(ns, request.path_params["task_id"]), image_origin(request))
    context(request).task_id = view["id"]
    return JSON(view)


async def force_status(request: Request) -> Response:
    ns, engine = _namespace(request), _engine(request)
    body = await _json_body(request)
    status = body.get("status")
    if not isinstance(status, str):
        raise errors.BadRequest(_STATUS_HINT, code="invalid_status")
    failure = (body["error"], str(body.get("error_code") or "generation_failed")) \
        if isinstance(body.get("error"), str) else None
    task = engine.force(ns, request.path_params["task_id"], status, failure=failure)
    _changed(request)
    return JSON(_task_view(ns, task, image_origin(request)))


async def step_task(request: Request) -> Response:
    ns, engine = _namespace(request), _engine(request)
    task = engine.step(ns, request.path_params["task_id"])
    _changed(request)
    return JSON(_task_view(ns, task, image_origin(request)))


async def journal(request: Request) -> Response:
    ns, engine = _namespace(request), _engine(request)
    filters = {name: request.query_params.get(name) for name in JOURNAL_FILTERS}
    limit, offset = _int_param(request, "limit", 100), _offset(request)
    entries, size = engine.journal(ns, limit=limit + 1, offset=offset, **filters)
    return JSON({"entries": [e.to_dict() for e in entries[:limit]], "size": size,
                 "capacity": request.app.state.settings.journal_size, "offset": offset,
                 "more": len(entries) > limit})


async def rules(request: Request) -> Response:
    ns, engine = _namespace(request), _engine(request)
    if request.method == "POST":
        return JSON(engine.add_rule(ns, await _json_body(request)), status_code=201)
    if request.method == "DELETE":
        engine.clear_rules(ns)
    return JSON({"rules": engine.rules(ns)})


async def delete_rule(request: Request) -> Response:
    ns, engine = _namespace(request), _engine(request)
    rule_id = request.path_params["rule_id"]
    if not engine.remove_rule(ns, rule_id):
        raise errors.NotFound(f"No rule {rule_id}")
    return JSON({"rules": engine.rules(ns)})


def _clock_view(reading: tuple[float, bool]) -> dict[str, Any]:
    now, frozen = reading
    return {"now": now, "frozen": frozen}


async def clock(request: Request) -> Response:
    return JSON(_clock_view(_engine(request).read_clock(_namespace(request))))


async def clock_action(request: Request) -> Response:
    ns, engine = _namespace(request), _engine(request)
    action = request.path_params["action"]
    if action == "advance":
        seconds = (await _json_body(request)).get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 10 ** 9:
            raise errors.BadRequest("send {\"seconds\": N} with 0 <= N <= 1e9", code="invalid_seconds")
        try:
            reading = engine.advance_clock(ns, float(seconds))
        except ClockRangeError as exc:
            raise errors.BadRequest(str(exc), code="invalid_seconds") from None
    elif action == "freeze":
        reading = engine.freeze_clock(ns)
    elif action == "unfreeze":
        reading = engine.unfreeze_clock(ns)
    else:
        raise errors.NotFound(f"No clock action {action!r}: use advance, freeze or unfreeze")
    return JSON(_clock_view(reading))


async def balance(request: Request) -> Response:
    ns, engine = _namespace(request), _engine(request)
    if request.method == "PUT":
        body = await _json_body(request)
        key, cents = body.get("key"), body.get("balance_cents")
        if (key is not None and (not isinstance(key, str) or not key)) or isinstance(cents, bool) \
                or not isinstance(cents, int) or not 0 <= cents <= 10 ** 12:
            raise errors.BadRequest("send {\"balance_cents\": N} for every key of the namespace, or with "
                                    "\"key\": \"<api key>\" for one", code="invalid_balance")
        if key is None:
            accounts = engine.set_every_balance(ns, cents)
            return JSON({"default_balance_cents": cents, "accounts": accounts})
        return JSON({"key": key, **engine.set_balance(ns, key, cents)})
    key = request.query_params.get("key")
    if key:
        return JSON({"key": key, **engine.balance(ns, key)})
    return JSON({"default_balance_cents": ns.ledger.starting // MICROCENTS_PER_CENT, "accounts": engine.accounts(ns)})


async def account(request: Request) -> Response:
    """GET/PUT /_mock/accounts/{key}: one key's user (name, email) and balance, as its own API calls see them."""
    ns, engine, key = _namespace(request), _engine(request), request.path_params["key"]
    if request.method == "PUT":
        profile, cents = accounts.parse_change(await _json_body(request))
        engine.set_profile(ns, key, profile)
        if cents is not None:
            engine.set_balance(ns, key, cents)
    settings = request.app.state.settings
    return JSON({"key": key, **accounts.user(settings, key, engine.account(ns, key)),
                 "balance": engine.balance(ns, key)})


async def config(request: Request) -> Response:
    ns, engine, settings = _namespace(request), _engine(request), request.app.state.settings
    if request.method == "PUT":
        body = await _json_body(request)
        changes: dict[str, Any] = {}
        if "progression" in body:
            value = body["progression"]
            if value is not None and not isinstance(value, str):
                raise errors.BadRequest("progression must be a string or null", code="invalid_progression")
            try:
                changes["progression"] = Progression.parse(value) if isinstance(value, str) else None
            except InvalidProgression as exc:
                raise errors.BadRequest(str(exc), code="invalid_progression") from None
        if "callback_mode" in body:
            value = body["callback_mode"]
            if value is not None and not isinstance(value, str):
                raise errors.BadRequest("callback_mode must be a string or null", code="invalid_callback_mode")
            try:
                changes["callback_mode"] = CallbackMode.parse(value) if value else None
            except InvalidCallbackMode as exc:
                raise errors.BadRequest(str(exc), code="invalid_callback_mode") from None
        if "render_cache_bytes" in body:  # server-wide, as the memory it bounds
            value = body["render_cache_bytes"]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise errors.BadRequest("render_cache_bytes must be a whole number of bytes >= 0",
                                        code="invalid_render_cache_bytes")
            request.app.state.render_cache.resize(value)
        engine.configure(ns, **changes)
    progression, callback_mode = engine.config(ns)
    cache = request.app.state.render_cache
    return JSON({
        "namespace": ns.name,
        "progression": str(progression or settings.progression),
        "server_progression": str(settings.progression),
        "speed": settings.speed, "balance_cents": settings.balance_cents, "api_keys": len(settings.api_keys),
        "rate_limit": settings.rate_limit, "max_concurrent": settings.max_concurrent,
        "poll_retry_after": settings.poll_retry_after, "journal_size": settings.journal_size,
        "retention_seconds": settings.retention_seconds, "file_ttl_seconds": settings.file_ttl_seconds,
        "render_cache_bytes": cache.max_bytes, "render_cache_used_bytes": cache.total_bytes,
        "max_upload_bytes": settings.max_upload_bytes, "max_upload_total_bytes": settings.max_upload_total_bytes,
        "max_namespaces": settings.max_namespaces, "max_tasks_per_namespace": settings.max_tasks_per_namespace,
        "max_body_bytes": settings.max_body_bytes, "journal_body_bytes": settings.journal_body_bytes,
        "max_api_key_length": settings.max_api_key_length,
        "callback_schedule": list(settings.callback_schedule),
        "callback_mode": callback_mode.__dict__ if callback_mode else None,
        "allow_callback_hosts": list(settings.allow_callback_hosts),
        "allowed_hosts": list(settings.allowed_hosts),
        "allow_source_hosts": list(settings.allow_source_hosts),
    })


async def callbacks(request: Request) -> Response:
    ns = _namespace(request)
    task_id, state = request.query_params.get("task_id"), request.query_params.get("state")
    limit, offset = _int_param(request, "limit", 100), _offset(request)
    every = _dispatcher(request).deliveries(ns.name)  # a copy, newest first, at most MAX_DELIVERIES
    found = [d for d in every if (task_id is None or d.task_id == task_id) and (state is None or d.state == state)]
    return JSON({"deliveries": [d.to_dict() for d in found[offset:offset + limit]], "total": len(every),
                 "matched": len(found), "offset": offset, "more": len(found) > offset + limit})


async def callback(request: Request) -> Response:
    ns = _namespace(request)
    delivery = _dispatcher(request).delivery(ns.name, request.path_params["delivery_id"])
    if delivery is None:
        raise errors.NotFound("No such delivery")
    return JSON(delivery.to_dict())


async def redeliver(request: Request) -> Response:
    ns = _namespace(request)
    try:
        delivery = _dispatcher(request).redeliver(ns.name, request.path_params["delivery_id"])
    except KeyError:
        raise errors.NotFound("No such delivery") from None
    except ValueError as exc:
        raise errors.Conflict(f"This delivery is blocked: {exc}", code="delivery_blocked") from None
    _changed(request)
    return JSON(delivery.to_dict(), status_code=202)


async def callback_secret(request: Request) -> Response:
    dispatcher = _dispatcher(request)
    if request.method == "POST":
        dispatcher.rotate_secret()
    return JSON({"secret": dispatcher.secret, "previous_secret": dispatcher.previous_secret})


async def namespaces(request: Request) -> Response:
    """The namespaces the mock holds now (looking does not create one), for the dashboard's picker."""
    deliveries = _dispatcher(request).delivery_counts()
    return JSON({"namespaces": [{"name": name, "tasks": tasks, "deliveries": deliveries.get(name, 0),
                                 "journal": journal}
                                for name, tasks, journal in _engine(request).namespaces()]})


async def mock_openapi(request: Request) -> Response:
    from .openapi import mock_openapi as build

    return JSON(build(str(request.base_url).rstrip("/")))


routes = [
    Route("/", index, methods=["GET"]),
    Route("/reset", reset, methods=["POST"]),
    Route("/namespaces", namespaces, methods=["GET"]),
    Route("/tasks", list_tasks, methods=["GET"]),
    Route("/tasks/{task_id}", get_task, methods=["GET"]),
    Route("/tasks/{task_id}/status", force_status, methods=["POST"]),
    Route("/tasks/{task_id}/step", step_task, methods=["POST"]),
    Route("/journal", journal, methods=["GET"]),
    Route("/rules", rules, methods=["GET", "POST", "DELETE"]),
    Route("/rules/{rule_id:int}", delete_rule, methods=["DELETE"]),
    Route("/clock", clock, methods=["GET"]),
    Route("/clock/{action}", clock_action, methods=["POST"]),
    Route("/balance", balance, methods=["GET", "PUT"]),
    Route("/accounts/{key}", account, methods=["GET", "PUT"]),
    Route("/config", config, methods=["GET", "PUT"]),
    Route("/callbacks", callbacks, methods=["GET"]),
    Route("/callbacks/{delivery_id}", callback, methods=["GET"]),
    Route("/callbacks/{delivery_id}/redeliver", redeliver, methods=["POST"]),
    Route("/callback-secret", callback_secret, methods=["GET"]),
    Route("/callback-secret/rotate", callback_secret, methods=["POST"]),
    Route("/openapi.json", mock_openapi, methods=["GET"]),
    Route("/uploads", files_api.admin_list, methods=["GET"]),
    Route("/uploads/{upload_id}", files_api.admin_delete, methods=["DELETE"]),
]
