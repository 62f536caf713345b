"""Reading a request: API key, mock control headers, size-limited JSON body. Every failure is a 4xx."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.requests import ClientDisconnect, Request
from starlette.types import Scope

from runapi_contracts.vocabulary import (
    CALLBACK_MODE_HEADER,
    PROGRESSION_HEADER,
    RETRY_AFTER_HEADER,
    SCENARIO_HEADER,
    InvalidProgression,
    Progression,
)

from . import errors, scenarios
from .delivery import CallbackMode, InvalidCallbackMode
from .settings import Settings

MAX_HEADER_VALUE = 512
T = TypeVar("T")
MAX_JSON_DEPTH = 64
# How much of an oversized body is read and dropped so that its 413 arrives; past it the server answers at
# once, and a client still sending may see the connection close (the bound keeps a runaway upload finite).
DRAIN_LIMIT = 64 * 1024 * 1024
# ASGI header names are lower case.
_SCENARIO, _PROGRESSION = SCENARIO_HEADER.lower(), PROGRESSION_HEADER.lower()
_RETRY_AFTER, _CALLBACK_MODE = RETRY_AFTER_HEADER.lower(), CALLBACK_MODE_HEADER.lower()


@dataclass(slots=True)
class Context:
    """Per-request facts the middleware journals and turns into headers; endpoints fill it in."""

    request_id: str
    wall: float
    headers: dict[str, str] = field(default_factory=dict)  # the request's, from request_headers()
    namespace: Any = None
    key: str | None = None
    task_id: str | None = None
    scenario: str | None = None
    model: str | None = None
    body: Any = None
    raw_body: bytes = b""  # the JSON body as read: the journal keeps its size, and its head when it is long
    violations: list[dict[str, str]] | None = None
    error_code: str | None = None


def context(request: Request) -> Context:
    found: Context = request.scope["runapi.context"]
    return found


def request_headers(scope: Scope) -> dict[str, str]:
    """The request's headers by name, read once per request (Starlette's Headers scans the list per lookup).

    The first of repeated headers wins, as with Starlette's `Headers.get`; ASGI names are lower case.
    """
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1")
        if key not in headers:
            headers[key] = value.decode("latin-1")
    return headers


def header(request: Request, name: str) -> str | None:
    """One request header (`name` in lower case), or None."""
    ctx: Context = request.scope["runapi.context"]  # read inline: this runs several times per create
    return ctx.headers.get(name)


def api_key(request: Request, settings: Settings) -> str:
    """The bearer key; otherwise a 401 that says what is wrong with the header (never echoing a key)."""
    sent = (header(request, "authorization") or "").strip()
    scheme, _, token = sent.partition(" ")
    token = token.strip()
    if sent and scheme.lower() != "bearer":
        if token and scheme.isalpha() and len(scheme) <= 20:  # a scheme's name, not a key sent without one
            raise errors.Unauthorized(f"Authorization must be 'Bearer <key>', not the {scheme!r} scheme")
        raise errors.Unauthorized("Authorization must be 'Bearer <key>': it has no scheme")
    if not token:
        raise errors.Unauthorized("Missing API key: send 'Authorization: Bearer <key>'")
    if len(token) > settings.max_api_key_length:  # every key is kept (ledger, journal): a bounded size each
        raise errors.Unauthorized(f"API key is longer than {settings.max_api_key_length} characters "
                                  "(--max-api-key-length)")
    if settings.api_keys and token not in settings.api_keys:
        raise errors.Unauthorized("Invalid API key")
    return token


def printable_header(request: Request, name: str) -> str | None:
    """A header that must be 1-512 printable ASCII characters when present (400 otherwise)."""
    value = header(request, name)
    if value is None:
        return None
    if not value or len(value) > MAX_HEADER_VALUE or not all(" " <= ch <= "~" for ch in value):
        raise errors.BadRequest(f"{name} must be 1-{MAX_HEADER_VALUE} printable ASCII characters",
                                code="invalid_header")
    return value


def scenario_header(request: Request) -> scenarios.Scenario | None:
    name = header(request, _SCENARIO)
    return scenarios.lookup(name) if name is not None else None


def _parsed_header(request: Request, name: str, parse: Callable[[str], T], code: str) -> T | None:
    value = header(request, name)
    if value is None:
        return None
    try:
        return parse(value)
    except (InvalidProgression, InvalidCallbackMode) as exc:
        raise errors.BadRequest(str(exc), code=code) from None


def progression_header(request: Request) -> Progression | None:
    return _parsed_header(request, _PROGRESSION, Progression.parse, "invalid_progression")


def callback_mode_header(request: Request) -> CallbackMode | None:
    return _parsed_header(request, _CALLBACK_MODE, CallbackMode.parse, "invalid_callback_mode")


def retry_after_header(request: Request) -> float | None:
    value = header(request, _RETRY_AFTER)
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


async def read_body(request: Request, limit: int) -> bytes:
    """The body, at most `limit` bytes (413 past it), read from ASGI `receive` as Request.stream() would.

    Reading the messages directly spares an async generator per request on the create path. A body over the
    limit is still read to its end (up to DRAIN_LIMIT bytes, then dropped) before the 413 goes out: a server
    that answers and closes while the client is still sending makes the client see a reset, not the 413.
    """
    length = header(request, "content-length")
    declared = int(length) if length is not None and length.isdigit() else None
    if declared is not None and declared > limit:
        if declared <= DRAIN_LIMIT and not _waits_for_continue(request):
            await _drain(request, 0)
        raise errors.PayloadTooLarge(f"Body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        more = message.get("more_body", False)
        if size > limit:
            if more:
                await _drain(request, size)
            raise errors.PayloadTooLarge(f"Body is larger than {limit} bytes")
        chunks.append(chunk)
        if not more:
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _waits_for_continue(request: Request) -> bool:
    """A client that sent `Expect: 100-continue` has not sent its body: answer at once, it sends none."""
    return (header(request, "expect") or "").lower() == "100-continue"


async def _drain(request: Request, size: int) -> None:
    """Read and drop the rest of the body, `size` bytes of it read already, until it ends or passes DRAIN_LIMIT."""
    while size <= DRAIN_LIMIT:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


_QUERY_INTEGER = re.compile(r"[0-9]{1,12}")


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """`?name=N`, a whole number from `low` to `high` written in ASCII digits (`default` when absent), else a 400.

    `str.isdigit()` passes '²' and Arabic-Indic digits, and `int()` refuses more than 4,300 digits: both
    were 500s. One strict parser for every list's `limit` and `offset`.
    """
    value = request.query_params.get(name)
    if value is None:
        return default
    if _QUERY_INTEGER.fullmatch(value) is None or not low <= int(value) <= high:
        raise errors.BadRequest(f"{name} must be an integer from {low} to {high}", code="invalid_parameter")
    return int(value)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(request: Request, raw: bytes) -> Any:
    content_type = header(request, "content-type")
    if content_type is not None:
        media = content_type.split(";", 1)[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise errors.UnsupportedMediaType(f"Content-Type must be application/json, got {media or 'nothing'}")
    if not raw.strip():
        raise errors.BadRequest("Body is empty: send a JSON object", code="invalid_json")
    request.scope["runapi.context"].raw_body = raw
    try:
        # What json.loads does with bytes, minus building a decoder per call.
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
        value = _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        raise errors.BadRequest(f"Malformed JSON: {exc}", code="invalid_json") from None
    refuse_unstorable(text, value)
    # Counting brackets is a cheap upper bound; only then walk the value to measure its real depth.
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        raise errors.BadRequest(f"JSON is nested more than {MAX_JSON_DEPTH} levels deep", code="invalid_json")
    return value


# A lone surrogate comes from an escape (\\ud800) or from its bytes decoded with surrogatepass; only then walk.
_MAY_HOLD_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


def refuse_unstorable(text: str, value: Any) -> None:
    """A 400 for a JSON value holding a string that is not Unicode text: a lone surrogate (`"a\\ud800b"`).

    JSON's grammar lets one through (RFC 8259 8.2 leaves it "unpredictable"), but it cannot be encoded as
    UTF-8: SQLite refuses it under --state, and so would any client reading it back. It is refused at the
    door, with `invalid_json` like any body that is not JSON text, before anything reaches the engine (a
    400, not a 422: the body is unreadable as text, not a field breaking the contract).
    """
    if _MAY_HOLD_SURROGATE.search(text) is None:
        return
    stack: list[tuple[Any, str]] = [(value, "$")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            for name, child in node.items():
                _utf8(name, f"a member name in {where}")
                stack.append((child, f"{where}.{name}"))
        elif isinstance(node, list):
            stack.extend((child, f"{where}[{index}]") for index, child in enumerate(node))
        elif isinstance(node, str):
            _utf8(node, where)


def _utf8(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise errors.BadRequest(
            f"Body is not valid Unicode text: a lone surrogate ({text[exc.start]!a}) in {where[:100]}; "
            "JSON strings must hold whole characters", code="invalid_json") from None


def _finite_float(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:32]} is out of range")
    return number


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest
