"""Admission: the one step every API handler starts with. It reads what the request is, or raises its refusal.

`admit(request, ...)` resolves the namespace, checks the API key and the per-minute limit, parses the mock's
control headers (progression, callback mode, Idempotency-Key), reads and parses the body (JSON or multipart,
bounded), fills in the request's journal context and applies the scenario (header first, then admin rules;
an error scenario is raised here). What it returns is a frozen `Admission`; the handler then validates
against the contracts, makes one engine call and answers. The order of the checks is the order of the
refusals a client sees: 400 namespace, 401 key, 429 limit, 400 headers, 413/415/400 body, scenario.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, TypeVar

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import Message

from runapi_contracts import Violation, errors_by_field
from runapi_contracts.vocabulary import (
    CALLBACK_MODE_HEADER,
    NAMESPACE_HEADER,
    PROGRESSION_HEADER,
    RETRY_AFTER_HEADER,
    SCENARIO_HEADER,
    InvalidProgression,
)

from .. import errors
from ..engine import scenarios
from ..engine.delivery import CallbackMode, InvalidCallbackMode
from ..engine.lifecycle import Progression
from ..engine.model import JsonObject, JsonValue, Namespace
from ..engine.tasks import TaskEngine, request_fingerprint
from ..settings import Settings
from . import routing
from .parsing import MAX_HEADER_VALUE, Context, context, read_body, read_json

BodyKind = Literal["none", "json", "form"]
T = TypeVar("T")
# ASGI header names are lower case.
_NAMESPACE_HEADER, _SCENARIO = NAMESPACE_HEADER.lower(), SCENARIO_HEADER.lower()
_PROGRESSION = PROGRESSION_HEADER.lower()
_RETRY_AFTER, _CALLBACK_MODE = RETRY_AFTER_HEADER.lower(), CALLBACK_MODE_HEADER.lower()
_MAX_FORM_FILES, _MAX_FORM_FIELDS = 4, 16


@dataclass(frozen=True, slots=True)
class Admission:
    """What an admitted request is: whose, in which namespace, under which scenario, with which body.

    `key` is "" only where a key is optional (the price routes without Authorization). `model` is the model the
    request names: a create's `model`, or the model of the key's task a read names. `body` is the parsed JSON
    value, `form_data` the multipart form (None when the route reads none); `raw` the bytes they came from.
    """

    engine: TaskEngine
    namespace: Namespace
    key: str
    origin: str  # scheme://host[:port][/ns/<name>] the client reached us at: the base of URLs a create keeps
    context: Context  # the request's journal facts (model, task id, scenario), which admission filled in
    model: str | None = None
    scenario: scenarios.Scenario | None = None
    progression: Progression | None = None
    callback_mode: CallbackMode | None = None
    idempotency_key: str | None = None
    client_request_id: str | None = None
    body: JsonValue = None
    form_data: FormData | None = None
    raw: bytes = b""

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
    cli_key: bool = False,
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
    cli_key: RunAPI's CLI routes: the key comes as `X-API-Key` (an `Authorization: Bearer` one is taken too).
    """
    state = request.app.state
    engine, settings = state.engine, state.settings
    ctx: Context = request.scope["runapi.context"]  # parsing.context(), inline: admission reads it first
    headers = ctx.headers
    ns = ctx.namespace = engine.namespace(headers.get(_NAMESPACE_HEADER))
    key = ""
    if not key_optional or "authorization" in headers:
        key = ctx.key = api_key(headers, settings, x_api_key=cli_key)
        engine.hit_rate_limit(ns, key)
    progression = callback_mode = idempotency_key = client_request_id = None
    if task_controls:
        progression = progression_header(headers)
        callback_mode = callback_mode_header(headers)
        idempotency_key = printable_header(headers, "idempotency-key")
        client_request_id = headers.get("x-client-request-id")
    raw, parsed, form = b"", None, None
    if body == "json":
        raw, parsed = await read_json(request, limit if limit is not None else settings.max_body_bytes)
        ctx.body = journal_body(parsed) if journal_body is not None and isinstance(parsed, dict) else parsed
    elif body == "form":
        raw = await read_body(request, limit if limit is not None else settings.max_body_bytes)
        form = ctx.form = await _form(request, headers, raw)  # closed by the middleware, however the request ends
        ctx.body = {name: (f"<file {value.filename!r}>" if isinstance(value, UploadFile) else value)
                    for name, value in form.multi_items()}
    if task_controls and isinstance(parsed, dict):
        sent = parsed.get("model")
        ctx.model = sent if isinstance(sent, str) else None
    if task_id is not None and key:
        known = engine.find(ns, task_id)
        if known is not None and known.key == key:
            ctx.task_id, ctx.model = task_id, known.model
    scenario = None
    if apply_scenario:
        scenario = _scenario(request, ctx, engine, ns, key, raw if flaky_by_body else b"")
    return Admission(engine, ns, key, origin(request), ctx, ctx.model, scenario, progression, callback_mode,
                     idempotency_key, client_request_id, parsed, form, raw)


def _scenario(request: Request, ctx: Context, engine: TaskEngine, ns: Namespace, key: str,
              raw: bytes) -> scenarios.Scenario | None:
    """The scenario for this request (header first, then admin rules matching `ctx.model`); raises the error
    scenarios."""
    scenario = scenario_header(ctx.headers)
    path = routing.route_path(request.scope)
    if scenario is None:
        name = engine.take_rule(ns, request.method, path, ctx.model, key)
        scenario = scenarios.lookup(name) if name else None
    if scenario is None:
        return None
    ctx.scenario = scenario.name
    if scenario.error is None:
        return scenario
    if scenario.flaky_attempts:
        fingerprint = request_fingerprint(key, request.method, path, raw)
        if not engine.flaky_attempt(ns, fingerprint, scenario.flaky_attempts):
            return None
    override = retry_after_header(ctx.headers)
    retry_after = override if override is not None else scenario.retry_after
    raise scenario.error(scenario.message, retry_after=retry_after, task_id=ctx.task_id)


async def _form(request: Request, headers: Mapping[str, str], raw: bytes) -> FormData:
    """The multipart body `raw` (read once, bounded), parsed by Starlette's parser."""
    media = (headers.get("content-type") or "").split(";")[0].strip().lower()
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
    host = scope["runapi.context"].headers.get("host")  # parsing.header(), inline: every create reads it
    return _origin_of(scope.get("scheme", "http"), tuple(server) if server is not None else None, host,
                      scope.get("app_root_path", scope.get("root_path", "")))


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


# -- the API key and the mock's control headers ------------------------------------------------------------

def api_key(headers: Mapping[str, str], settings: Settings, *, x_api_key: bool = False) -> str:
    """The bearer key (or, `x_api_key`, the X-API-Key one RunAPI's CLI sends); otherwise a 401 that says what is
    wrong with the header (never echoing a key)."""
    if x_api_key and "x-api-key" in headers:
        token = headers["x-api-key"].strip()
        if not token:
            raise errors.Unauthorized("Missing API key: send 'X-API-Key: <key>'")
        key = _known_key(token, settings)
        # Both headers sent: both are checked, and must name one key (a bad one is never ignored for the other).
        if "authorization" in headers and api_key(headers, settings) != key:
            raise errors.Unauthorized("X-API-Key and Authorization name different keys: send one")
        return key
    if x_api_key and "authorization" not in headers:
        raise errors.Unauthorized("Missing API key: send 'X-API-Key: <key>'")
    sent = (headers.get("authorization") or "").strip()
    scheme, _, token = sent.partition(" ")
    token = token.strip()
    if sent and scheme.lower() != "bearer":
        if token and scheme.isalpha() and len(scheme) <= 20:  # a scheme's name, not a key sent without one
            raise errors.Unauthorized(f"Authorization must be 'Bearer <key>', not the {scheme!r} scheme")
        raise errors.Unauthorized("Authorization must be 'Bearer <key>': it has no scheme")
    if not token:
        raise errors.Unauthorized("Missing API key: send 'Authorization: Bearer <key>'")
    return _known_key(token, settings)


def _known_key(token: str, settings: Settings) -> str:
    if len(token) > settings.max_api_key_length:  # every key is kept (ledger, journal): a bounded size each
        raise errors.Unauthorized(f"API key is longer than {settings.max_api_key_length} characters "
                                  "(--max-api-key-length)")
    if settings.api_keys and token not in settings.api_keys:
        raise errors.Unauthorized("Invalid API key")
    return token


def printable_header(headers: Mapping[str, str], name: str) -> str | None:
    """A header that must be 1-512 printable ASCII characters when present (400 otherwise)."""
    value = headers.get(name)
    if value is None:
        return None
    if not value or len(value) > MAX_HEADER_VALUE or not all(" " <= ch <= "~" for ch in value):
        raise errors.BadRequest(f"{name} must be 1-{MAX_HEADER_VALUE} printable ASCII characters",
                                code="invalid_header")
    return value


def scenario_header(headers: Mapping[str, str]) -> scenarios.Scenario | None:
    name = headers.get(_SCENARIO)
    return scenarios.lookup(name) if name is not None else None


def _parsed_header(headers: Mapping[str, str], name: str, parse: Callable[[str], T],
                   code: errors.ErrorCode) -> T | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return parse(value)
    except (InvalidProgression, InvalidCallbackMode) as exc:
        raise errors.BadRequest(str(exc), code=code) from None


def progression_header(headers: Mapping[str, str]) -> Progression | None:
    return _parsed_header(headers, _PROGRESSION, Progression.parse, "invalid_progression")


def callback_mode_header(headers: Mapping[str, str]) -> CallbackMode | None:
    return _parsed_header(headers, _CALLBACK_MODE, CallbackMode.parse, "invalid_callback_mode")


def retry_after_header(headers: Mapping[str, str]) -> float | None:
    value = headers.get(_RETRY_AFTER)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86400:
        raise errors.BadRequest(f"{RETRY_AFTER_HEADER} must be a number of seconds from 0 to 86400",
                                code="invalid_header")
    return seconds
