"""Admission: the one step every API handler starts with. It reads what the request is, or raises its refusal.

`admit(request, ...)` resolves the namespace, checks the API key and the per-minute limit, parses the mock's
control headers (progression, callback mode, Idempotency-Key), reads and parses the body (JSON or multipart,
bounded), fills in the request's journal context and applies the scenario (header first, then admin rules;
an error scenario is raised here). What it returns is a frozen `Admission`; the handler then validates
against the contracts, makes one engine call and answers. The order of the checks is the order of the
refusals a client sees: 400 namespace, 401 key, 429 limit, 400 headers, 413/415/400 body, scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import Message

from runapi_contracts import Violation, errors_by_field
from runapi_contracts.vocabulary import NAMESPACE_HEADER

from . import errors, routing, scenarios
from .delivery import CallbackMode
from .engine import TaskEngine, request_fingerprint
from .lifecycle import Progression
from .model import Namespace
from .parsing import (
    JsonObject,
    JsonValue,
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
from .settings import Settings

BodyKind = Literal["none", "json", "form"]
_NAMESPACE_HEADER = NAMESPACE_HEADER.lower()  # headers are read lower-cased
_MAX_FORM_FILES, _MAX_FORM_FIELDS = 4, 16


@dataclass(frozen=True, slots=True)
class Admission:
    """What an admitted request is: whose, in which namespace, under which scenario, with which body.

    `key` is None only where a key is optional (the price routes without Authorization). `body` is the parsed
    JSON value or the multipart form (None when the route reads none); `raw` the bytes it came from.
    """

    namespace: Namespace
    key: str | None
    scenario: scenarios.Scenario | None = None
    progression: Progression | None = None
    callback_mode: CallbackMode | None = None
    idempotency_key: str | None = None
    client_request_id: str | None = None
    body: JsonValue = None
    form_data: FormData | None = None
    raw: bytes = b""

    @property
    def owner(self) -> str:
        """The key, for routes where one is required (admit raised 401 otherwise)."""
        assert self.key is not None, "admitted with key_optional"
        return self.key

    @property
    def form(self) -> FormData:
        assert self.form_data is not None, "admitted without body='form'"
        return self.form_data

    @property
    def fields(self) -> dict[str, Any]:
        """The JSON object body, once the route checked its fields (uploads.check_fields)."""
        assert isinstance(self.body, dict), "a JSON object body was checked first"
        return self.body


def engine_of(request: Request) -> TaskEngine:
    """The app's engine: the one place every handler's state change goes through."""
    engine: TaskEngine = request.app.state.engine
    return engine


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def admit(
    request: Request,
    *,
    body: BodyKind = "none",
    limit: int | None = None,
    key_optional: bool = False,
    task_controls: bool = False,
    apply_scenario: bool = True,
    task_id: str | None = None,
    journal_body: Callable[[JsonObject], JsonObject] | None = None,
    flaky_by_body: bool = False,
) -> Admission:
    """Admit `request` or raise its refusal (a MockError the middleware renders).

    body: what the route reads (`limit` bytes at most, the --max-body-bytes by default).
    key_optional: a missing Authorization is no 401 (a sent one is still checked).
    task_controls: a create: its progression, callback mode and Idempotency-Key headers are read, and admin
        rules match the body's `model`.
    apply_scenario: False for the routes no scenario applies to (account, the OpenAI files reads).
    task_id: a status read: admin rules match the model of the key's task of that id.
    journal_body: what the journal keeps instead of a JSON object body (base64 data is not kept there).
    flaky_by_body: `flaky:N` counts attempts per body as well as per key and route.
    """
    engine, settings = engine_of(request), settings_of(request)
    ctx = context(request)
    ns = ctx.namespace = engine.namespace(header(request, _NAMESPACE_HEADER))
    key: str | None = None
    if not key_optional or header(request, "authorization") is not None:
        key = ctx.key = api_key(request, settings)
        engine.hit_rate_limit(ns, key)
    progression = callback_mode = idempotency_key = client_request_id = None
    if task_controls:
        progression = progression_header(request)
        callback_mode = callback_mode_header(request)
        idempotency_key = printable_header(request, "idempotency-key")
        client_request_id = header(request, "x-client-request-id")
    raw, parsed, form = b"", None, None
    if body == "json":
        raw = await read_body(request, limit if limit is not None else settings.max_body_bytes)
        parsed = parse_json(request, raw)
        ctx.body = journal_body(parsed) if journal_body is not None and isinstance(parsed, dict) else parsed
    elif body == "form":
        raw = await read_body(request, limit if limit is not None else settings.max_body_bytes)
        form = await _form(request, raw)
        ctx.body = {name: (f"<file {value.filename!r}>" if isinstance(value, UploadFile) else value)
                    for name, value in form.multi_items()}
    model: str | None = None
    if task_controls and isinstance(parsed, dict):
        sent = parsed.get("model")
        model = ctx.model = sent if isinstance(sent, str) else None
    if task_id is not None and key is not None:
        known = engine.find(ns, task_id)
        if known is not None and known.key == key:
            ctx.task_id, ctx.model = task_id, known.model
            model = known.model
    scenario = None
    if apply_scenario:
        scenario = _scenario(request, engine, ns, key or "", model, raw if flaky_by_body else b"")
    return Admission(ns, key, scenario, progression, callback_mode, idempotency_key, client_request_id,
                     parsed, form, raw)


def _scenario(request: Request, engine: TaskEngine, ns: Namespace, key: str, model: str | None,
              raw: bytes) -> scenarios.Scenario | None:
    """The scenario for this request (header first, then admin rules); raises the error scenarios."""
    scenario = scenario_header(request)
    if scenario is None:
        name = engine.take_rule(ns, request.method, routing.route_path(request.scope), model, key)
        scenario = scenarios.lookup(name) if name else None
    if scenario is None:
        return None
    context(request).scenario = scenario.name
    if scenario.error is None:
        return scenario
    if scenario.flaky_attempts:
        fingerprint = request_fingerprint(key, request.method, routing.route_path(request.scope), raw)
        if not engine.flaky_attempt(ns, fingerprint, scenario.flaky_attempts):
            return None
    override = retry_after_header(request)
    retry_after = override if override is not None else scenario.retry_after
    raise scenario.error(scenario.message, retry_after=retry_after, task_id=context(request).task_id)


async def _form(request: Request, raw: bytes) -> FormData:
    """The multipart body `raw` (read once, bounded), parsed by Starlette's parser."""
    media = (header(request, "content-type") or "").split(";")[0].strip().lower()
    if media != "multipart/form-data":
        raise errors.UnsupportedMediaType(f"Content-Type must be multipart/form-data, got {media or 'nothing'}")
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    try:
        return await Request(request.scope, replay).form(max_files=_MAX_FORM_FILES, max_fields=_MAX_FORM_FIELDS)
    except HTTPException as exc:
        raise errors.BadRequest(f"Malformed multipart body: {exc.detail}", code="invalid_multipart") from None


def validation_failed(request: Request, violations: list[Violation]) -> errors.ValidationFailed:
    """The 422 of every route that checks a body: the message names the first fields, `errors` holds them all."""
    context(request).violations = [{"field": v.field, "rule": v.rule, "message": v.message} for v in violations]
    summary = "; ".join(v.message for v in violations[:3]) + ("; ..." if len(violations) > 3 else "")
    return errors.ValidationFailed(f"Validation failed: {summary}", errors=errors_by_field(violations))


def origin(request: Request) -> str:
    """The scheme://host[:port][/ns/<name>] clients reached us at: the base of the URLs the mock builds."""
    scope = request.scope
    server = scope.get("server")
    return _origin_of(scope.get("scheme", "http"), tuple(server) if server is not None else None,
                      header(request, "host"), scope.get("app_root_path", scope.get("root_path", "")))


def image_origin(request: Request) -> str:
    """The base of the file URLs a read shows: the --public-url if set, else the reading request's origin;
    either with the request's /ns/<name> prefix. Never the creating request's: a restart on another port or a
    client on another Host name gets links it can follow."""
    public = settings_of(request).public_url
    if public is None:
        return origin(request)
    prefix: str = request.scope.get("app_root_path", request.scope.get("root_path", ""))
    return public + prefix


@lru_cache(maxsize=256)
def _origin_of(scheme: str, server: tuple[str, int] | None, host: str | None, root_path: str) -> str:
    # Everything Request.base_url reads, so the cached answer is the one it would give for this request.
    scope = {"type": "http", "scheme": scheme, "server": server, "root_path": root_path, "path": "/",
             "query_string": b"", "headers": [] if host is None else [(b"host", host.encode("latin-1"))]}
    return str(Request(scope).base_url).rstrip("/")
