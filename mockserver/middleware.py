"""ASGI middleware: request ids, echoed client ids, task-id headers and the journal.

Errors are rendered here, by errors.respond (app.py builds the stack without Starlette's ExceptionMiddleware),
so every error response gets its request id and journal entry like any other.
"""

from __future__ import annotations

import itertools
import time
import uuid

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runapi_contracts.vocabulary import NAMESPACE_HEADER

from .access_log import Line, Listener, logged
from .errors import BadRequest, respond
from .journal import Entry, kept_body
from .parsing import MAX_HEADER_VALUE, Context, request_headers
from .routing import route_path

NAMESPACE_PREFIX = "/ns/"
_NAMESPACE_HEADER = NAMESPACE_HEADER.lower().encode()

# Request ids keep the UUID4 shape: a random prefix per process, then a counter (uuid4() per request cost more
# than the rest of the bookkeeping together). Unique within a process, and across processes by the prefix.
_REQUEST_ID_PREFIX = str(uuid.uuid4())[:24]
_request_numbers = itertools.count()


def next_request_id() -> str:
    return f"{_REQUEST_ID_PREFIX}{next(_request_numbers) & 0xFFFF_FFFF_FFFF:012x}"


def _with_namespace_prefix(scope: Scope) -> Scope:
    """Serve /ns/<name>/... as ... in namespace <name>, for clients that cannot send X-Mock-Namespace.

    The prefix becomes the root_path, so URLs the mock builds (image URLs) keep it.
    """
    path: str = scope["path"]
    if scope.get("root_path") or not path.startswith(NAMESPACE_PREFIX):
        return scope
    name = path[len(NAMESPACE_PREFIX):].partition("/")[0]
    if not name:
        return scope
    headers = [(k, v) for k, v in scope["headers"] if k != _NAMESPACE_HEADER]
    headers.append((_NAMESPACE_HEADER, name.encode("latin-1", "replace")))
    return {**scope, "headers": headers, "root_path": NAMESPACE_PREFIX + name}


def _valid_client_id(value: str) -> bool:
    return 0 < len(value) <= MAX_HEADER_VALUE and all(" " <= ch <= "~" for ch in value)


class _Started:
    """What the response began with, for the journal: status and the headers as sent."""

    __slots__ = ("headers", "status")

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []


class RequestContextMiddleware:
    """Wraps every HTTP request: adds X-Request-Id and friends, journals API requests."""

    def __init__(self, app: ASGIApp, listeners: list[Listener] | None = None) -> None:
        self.app = app
        self.listeners = listeners if listeners is not None else []  # told of each request (serve's log)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wall = time.monotonic()
        scope = _with_namespace_prefix(scope)
        path, prefix = scope["path"], scope.get("root_path", "")  # as sent; routing moves the root_path on
        ctx = Context(request_id=next_request_id(), wall=wall, headers=request_headers(scope))
        scope["runapi.context"] = ctx
        client_id = ctx.headers.get("x-client-request-id")
        echoed = client_id.encode() if client_id is not None and _valid_client_id(client_id) else None
        started = _Started()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", ctx.request_id.encode()))
                if echoed is not None:
                    headers.append((b"x-client-request-id", echoed))
                if ctx.task_id and not any(name.lower() == b"x-runapi-task-id" for name, _ in headers):
                    headers.append((b"x-runapi-task-id", ctx.task_id.encode()))
                message["headers"] = headers
                started.status = message["status"]
                started.headers = headers
            await send(message)

        try:
            if client_id is not None and echoed is None:  # not echoed, and the request goes no further
                message = f"X-Client-Request-Id must be 1-{MAX_HEADER_VALUE} printable ASCII characters"
                response = await respond(Request(scope), BadRequest(message, code="invalid_header"))
                await response(scope, receive, send_with_headers)
            else:
                await self._answer(scope, receive, send_with_headers, started)
        finally:
            entry = self._journal(scope, ctx, started)
            if self.listeners and logged(scope["method"], path[len(prefix):]):
                self._tell(scope, path, ctx, started, entry)
            # uvicorn keeps a keep-alive connection's last scope (and a closed one's until a full GC pass):
            # the context must not pin its namespace, body and tasks there, e.g. after a reset.
            del scope["runapi.context"]

    async def _answer(self, scope: Scope, receive: Receive, send: Send, started: _Started) -> None:
        """The app's answer; any exception it raises is answered by errors.respond, as Starlette's
        ExceptionMiddleware would with respond as every handler (app.py builds the stack without one)."""
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            if started.status is not None:
                raise RuntimeError("Caught handled exception, but response already started.") from exc
            response = await respond(Request(scope, receive, send), exc)
            await response(scope, receive, send)
            exc.__traceback__ = None  # reused exception instances would accumulate tracebacks

    def _tell(self, scope: Scope, path: str, ctx: Context, started: _Started, entry: Entry | None) -> None:
        ns = ctx.namespace.name if ctx.namespace is not None else ctx.headers.get("x-mock-namespace")
        task_id = entry.task_id if entry is not None else ctx.task_id or scope.get("path_params", {}).get("task_id")
        line = Line(at=time.time(), method=scope["method"], path=path,
                    status=started.status if started.status is not None else 500,
                    latency_ms=entry.duration_ms if entry is not None
                    else round((time.monotonic() - ctx.wall) * 1000, 3),
                    task_id=task_id, scenario=ctx.scenario, namespace=ns)
        for listener in self.listeners:
            listener(line)

    @staticmethod
    def _journal(scope: Scope, ctx: Context, started: _Started) -> Entry | None:
        """Journal an API request (one that named its namespace); None for the others."""
        ns = ctx.namespace
        if ns is None:
            return None
        sent_task_id = retry_after = None
        for name, value in started.headers:  # the last of repeated headers, as a dict of them would keep
            if name == b"x-runapi-task-id":
                sent_task_id = value.decode("latin-1")
            elif name == b"retry-after":
                retry_after = value.decode("latin-1")
        body, body_size = kept_body(ctx.body, ctx.raw_body, ns.settings.journal_body_bytes)
        entry = Entry(
            seq=0, at=ns.clock.now(), wall=ctx.wall, method=scope["method"], path=route_path(scope),
            status=started.status if started.status is not None else 500, key=ctx.key,
            task_id=ctx.task_id or sent_task_id, scenario=ctx.scenario, model=ctx.model,
            idempotency_key=ctx.headers.get("idempotency-key"),
            client_request_id=ctx.headers.get("x-client-request-id"),
            request_body=body, request_body_size=body_size, retry_after=retry_after, error_code=ctx.error_code,
            duration_ms=round((time.monotonic() - ctx.wall) * 1000, 3),
            violations=ctx.violations or [],
        )
        ns.journal.append(entry)
        return entry
