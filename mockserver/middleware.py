"""ASGI middleware: request ids, echoed client ids, task-id headers, the journal, and no 500 without an envelope."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette._utils import get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import BadRequest, MockError, ServerError
from .journal import Entry
from .parsing import MAX_HEADER_VALUE, Context
from .responses import JSON

logger = logging.getLogger("runapi_mock")
NAMESPACE_PREFIX = "/ns/"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


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
    headers = [(k, v) for k, v in scope["headers"] if k != b"x-mock-namespace"]
    headers.append((b"x-mock-namespace", name.encode("latin-1", "replace")))
    return {**scope, "headers": headers, "root_path": NAMESPACE_PREFIX + name}


def _valid_client_id(value: str) -> bool:
    return 0 < len(value) <= MAX_HEADER_VALUE and all(" " <= ch <= "~" for ch in value)


class RequestContextMiddleware:
    """Wraps every HTTP request: adds X-Request-Id and friends, journals API requests, catches crashes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx = Context(request_id=str(uuid.uuid4()), wall=time.monotonic())
        scope = _with_namespace_prefix(scope)
        scope["runapi.context"] = ctx
        client_id = _header(scope, b"x-client-request-id")
        started: dict[str, Any] = {}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.append((b"x-request-id", ctx.request_id.encode()))
                if client_id is not None and _valid_client_id(client_id):
                    headers.append((b"x-client-request-id", client_id.encode()))
                if ctx.task_id and b"x-runapi-task-id" not in names:
                    headers.append((b"x-runapi-task-id", ctx.task_id.encode()))
                message["headers"] = headers
                started["status"] = message["status"]
                started["headers"] = headers
            await send(message)

        try:
            if client_id is not None and not _valid_client_id(client_id):
                raise BadRequest(f"X-Client-Request-Id must be 1-{MAX_HEADER_VALUE} printable ASCII characters",
                                 code="invalid_header")
            await self.app(scope, receive, send_with_headers)
        except MockError as exc:
            ctx.error_code = exc.code
            await self._render(exc, scope, receive, send_with_headers, started)
        except Exception:  # a bug: answer with the envelope, log the traceback, keep serving
            logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            ctx.error_code = ServerError.code
            await self._render(ServerError(), scope, receive, send_with_headers, started)
        finally:
            self._journal(scope, ctx, started)

    @staticmethod
    async def _render(exc: MockError, scope: Scope, receive: Receive, send: Send, started: dict[str, Any]) -> None:
        if "status" in started:
            return  # the response already began; nothing sane can be sent now
        response = JSON(exc.body(), status_code=exc.status, headers=exc.headers())
        await response(scope, receive, send)

    @staticmethod
    def _journal(scope: Scope, ctx: Context, started: dict[str, Any]) -> None:
        ns = ctx.namespace
        if ns is None:
            return
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in started.get("headers", [])}
        entry = Entry(
            seq=0, at=ns.clock.now(), wall=ctx.wall, method=scope["method"], path=get_route_path(scope),
            status=started.get("status", 500), key=ctx.key, task_id=ctx.task_id or headers.get("x-runapi-task-id"),
            scenario=ctx.scenario, model=ctx.model,
            idempotency_key=_header(scope, b"idempotency-key"),
            client_request_id=_header(scope, b"x-client-request-id"),
            request_body=ctx.body, retry_after=headers.get("retry-after"), error_code=ctx.error_code,
            duration_ms=round((time.monotonic() - ctx.wall) * 1000, 3),
            violations=ctx.violations or [],
        )
        ns.journal.append(entry)
