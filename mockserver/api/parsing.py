"""Reading a request: its headers, its size-limited body and JSON. Every failure is a 4xx.

The API key and the mock's control headers are read by admission.py, the one step every API handler starts with.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.datastructures import FormData
from starlette.requests import ClientDisconnect, Request
from starlette.types import Scope

from .. import errors, fast_json
from ..engine.model import JsonObject, JsonValue

if TYPE_CHECKING:
    from ..engine.model import Namespace

__all__ = ["Context", "JsonObject", "JsonValue", "context", "header", "parse_json", "query_int", "read_body",
           "read_json", "refuse_unstorable", "request_headers"]

MAX_HEADER_VALUE = 512
MAX_JSON_DEPTH = 64
# How much of an oversized body is read and dropped so that its 413 arrives; past it the server answers at
# once, and a client still sending may see the connection close (the bound keeps a runaway upload finite).
DRAIN_LIMIT = 64 * 1024 * 1024


@dataclass(slots=True)
class Context:
    """Per-request facts the middleware journals and turns into headers; endpoints fill it in."""

    request_id: str
    wall: float
    headers: dict[str, str] = field(default_factory=dict)  # the request's, from request_headers()
    namespace: Namespace | None = None
    key: str | None = None
    task_id: str | None = None
    scenario: str | None = None
    model: str | None = None
    body: object = None  # what the journal keeps of the body (JSON, a form's summary)
    raw_body: bytes = b""  # the JSON body as read: the journal keeps its size, and its head when it is long
    violations: list[dict[str, str]] | None = None
    error_code: str | None = None
    form: FormData | None = None  # the parsed multipart body; the middleware closes its files when the request ends
    answered: float | None = None  # time.monotonic() as the answer's last part was handed to the server


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


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


async def read_json(request: Request, limit: int) -> tuple[bytes, JsonValue]:
    """The body (read_body) and the JSON value it holds (parse_json)."""
    raw = await read_body(request, limit)
    return raw, parse_json(request, raw)


def parse_json(request: Request, raw: bytes) -> JsonValue:
    content_type = header(request, "content-type")
    if content_type is not None:
        media = content_type.split(";", 1)[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise errors.UnsupportedMediaType(f"Content-Type must be application/json, got {media or 'nothing'}")
    if not raw.strip():
        raise errors.BadRequest("Body is empty: send a JSON object", code="invalid_json")
    request.scope["runapi.context"].raw_body = raw
    value: JsonValue = fast_json.loads(raw)  # the common body (UTF-8, no 19-digit number): orjson's, exactly
    if value is None:  # anything else (or null): the stdlib's value or error, with its messages
        try:
            # What json.loads does with bytes, minus building a decoder per call.
            text = raw.decode(json.detect_encoding(raw), "surrogatepass")
            value = _DECODER.decode(text)
        except (ValueError, RecursionError) as exc:
            raise errors.BadRequest(f"Malformed JSON: {exc}", code="invalid_json") from None
        refuse_unstorable(text, value)  # orjson refuses lone surrogates itself
    # Counting brackets is a cheap upper bound; only then walk the value to measure its real depth.
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        raise errors.BadRequest(f"JSON is nested more than {MAX_JSON_DEPTH} levels deep", code="invalid_json")
    return value


# A lone surrogate comes from an escape (\\ud800) or from its bytes decoded with surrogatepass; only then walk.
_MAY_HOLD_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


def refuse_unstorable(text: str, value: object) -> None:
    """A 400 for a JSON value holding a string that is not Unicode text: a lone surrogate (`"a\\ud800b"`).

    JSON's grammar lets one through (RFC 8259 8.2 leaves it "unpredictable"), but it cannot be encoded as
    UTF-8: SQLite refuses it under --state, and so would any client reading it back. It is refused at the
    door, with `invalid_json` like any body that is not JSON text, before anything reaches the engine (a
    400, not a 422: the body is unreadable as text, not a field breaking the contract).
    """
    if _MAY_HOLD_SURROGATE.search(text) is None:
        return
    stack: list[tuple[object, str]] = [(value, "$")]
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


def _depth(value: JsonValue) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest
