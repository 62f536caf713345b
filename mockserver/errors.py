"""Errors the mock answers with: one root, one class per HTTP status, each with a stable `code`.

MockError
 ├── BadRequest (400)            ├── PayloadTooLarge (413)
 ├── Unauthorized (401)          ├── UnsupportedMediaType (415)
 ├── InsufficientCredits (402)   ├── ValidationFailed (422, per-field `errors`)
 ├── Forbidden (403)             ├── RateLimited (429, Retry-After)
 ├── NotFound (404)              ├── ServerError (500)
 ├── MethodNotAllowed (405)      ├── ServiceUnavailable (503, Retry-After)
 ├── Conflict (409)              ├── InsufficientStorage (507)
 └── Gone (410)                  └── TemporarilyUnavailable (455)

`respond()` is the one place an error becomes a response: app.py registers it for MockErrors, the router's
404/405 (Starlette HTTPExceptions) and anything unexpected (a 500, its traceback logged).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .responses import JSON
from .routing import route_path

logger = logging.getLogger("runapi_mock")


class MockError(Exception):
    """An error the API answers with the envelope {"error": {"code", "message"}}."""

    status = 500
    code = "internal_error"
    message = "Internal server error"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
        retry_after: float | None = None,
        task_id: str | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.errors = dict(errors) if errors else None
        self.retry_after = retry_after
        self.task_id = task_id
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": {"code": self.code, "message": self.message}}
        if self.errors is not None:
            body["errors"] = self.errors
        return body

    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(max(0, math.ceil(self.retry_after)))
        if self.task_id:
            headers["X-RunAPI-Task-Id"] = self.task_id
        return headers


class BadRequest(MockError):
    """The request cannot be read: malformed JSON, a bad header, an unknown scenario name."""

    status, code, message = 400, "bad_request", "Bad request"


class Unauthorized(MockError):
    """Missing, blank or unknown API key."""

    status, code, message = 401, "unauthorized", "Unauthorized"


class InsufficientCredits(MockError):
    """The task's price exceeds the account's available balance."""

    status, code, message = 402, "insufficient_credits", "Insufficient credits"


class Forbidden(MockError):
    """A request the mock will not serve whoever asks: a foreign Host, a cross-site admin write (hosts.py)."""

    status, code, message = 403, "forbidden", "Forbidden"


class NotFound(MockError):
    """Unknown route, unknown task, or a task of another API key."""

    status, code, message = 404, "not_found", "Not found"


class MethodNotAllowed(MockError):
    """The route exists but not for this method."""

    status, code, message = 405, "method_not_allowed", "Method not allowed"


class Conflict(MockError):
    """An Idempotency-Key reused with a different body, or a status change that would go backwards."""

    status, code, message = 409, "request_conflict", "Conflict"


class Gone(MockError):
    """A generated file past its expiry."""

    status, code, message = 410, "file_expired", "File expired"


class PayloadTooLarge(MockError):
    """The body is over the size limit."""

    status, code, message = 413, "payload_too_large", "Payload too large"


class UnsupportedMediaType(MockError):
    """The body is not JSON."""

    status, code, message = 415, "unsupported_media_type", "Content-Type must be application/json"


class ValidationFailed(MockError):
    """The body breaks the contract; `errors` holds the messages per field."""

    status, code, message = 422, "validation_failed", "Validation failed"


class RateLimited(MockError):
    """Too many requests, or too many active tasks, for this key."""

    status, code, message = 429, "rate_limited", "Too many requests"


class ServerError(MockError):
    """An injected (or, never on purpose, a real) internal error."""

    status, code, message = 500, "internal_error", "Internal server error"


class InsufficientStorage(MockError):
    """The uploads the mock holds together are at their bound (--max-upload-total-bytes): RFC 4918's 507, the
    server cannot store the representation. Not a 413: the file may be small, the store is what is full."""

    status, code, message = 507, "insufficient_storage", "Insufficient storage"


class ServiceUnavailable(MockError):
    """The service is temporarily unavailable; retry after Retry-After."""

    status, code, message = 503, "service_unavailable", "Service unavailable"


class TemporarilyUnavailable(MockError):
    """RunAPI's non-standard 455: transient, retry with backoff (no SDK maps it)."""

    status, code, message = 455, "service_temporarily_unavailable", "Service temporarily unavailable"


_HTTP_ERRORS: dict[int, type[MockError]] = {400: BadRequest, 404: NotFound, 405: MethodNotAllowed,
                                            413: PayloadTooLarge}


def _http_error(request: Request, exc: HTTPException) -> MockError:
    """Starlette's own errors (the router's 404 and 405 above all) in the API's terms."""
    path = route_path(request.scope)
    if exc.status_code == 404:
        hint = " (paths take no trailing slash)" if len(path) > 1 and path.endswith("/") else ""
        return NotFound(f"No such route: {request.method} {path}{hint}")
    if exc.status_code == 405:
        return MethodNotAllowed(f"{request.method} is not allowed on {path}")
    return _HTTP_ERRORS.get(exc.status_code, BadRequest)(str(exc.detail))


async def respond(request: Request, exc: Exception) -> Response:
    """The error envelope for `exc`, with its headers; the code goes to the request's journal entry."""
    status, headers = 500, {}
    if isinstance(exc, MockError):
        error, status = exc, exc.status
    elif isinstance(exc, HTTPException):
        error, status, headers = _http_error(request, exc), exc.status_code, dict(exc.headers or {})
    else:  # a bug: answer with the envelope, log the traceback, keep serving
        logger.error("unhandled error on %s %s", request.method, request.scope.get("path"), exc_info=exc)
        error = ServerError()
    ctx = request.scope.get("runapi.context")
    if ctx is not None:
        ctx.error_code = error.code
    return JSON(error.body(), status_code=status, headers={**error.headers(), **headers})
