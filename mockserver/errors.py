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

`CODES` is the one table of error codes: code -> HTTP status -> default message. Every raise names a code of it
(`ErrorCode`, checked by mypy), and the status an error answers with is its code's. `FAILURES` is the table of
the codes a failed task reports (its `error_code`), with their default messages.

`respond()` is the one place an error becomes a response: app.py registers it for MockErrors, the router's
404/405 (Starlette HTTPExceptions) and anything unexpected (a 500, its traceback logged).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any, Literal, get_args

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .api.responses import JSON, TASK_ID_HEADER
from .api.routing import route_path

logger = logging.getLogger("runapi_mock")


ErrorCode = Literal[
    "bad_request", "invalid_json", "invalid_header", "invalid_parameter", "invalid_namespace", "invalid_multipart",
    "invalid_progression", "invalid_callback_mode", "invalid_rule", "invalid_account", "invalid_balance",
    "invalid_seconds", "invalid_status", "invalid_render_cache_bytes", "unknown_scenario",
    "unauthorized", "insufficient_credits", "forbidden", "host_not_allowed", "cross_origin_refused", "not_found",
    "voice_not_found", "cli_listen_required", "method_not_allowed",
    "request_conflict", "invalid_transition", "delivery_blocked", "upload_already_received",
    "upload_already_confirmed", "upload_not_received", "upload_not_pending", "upload_part_unknown",
    "upload_size_mismatch", "upload_checksum_mismatch",
    "file_expired", "callback_api_key_unusable", "payload_too_large", "unsupported_media_type",
    "range_not_satisfiable", "validation_failed", "resource_not_found",
    "upload_integrity_error",
    "rate_limited", "too_many_tasks", "too_many_active_tasks", "too_many_namespaces",
    "too_many_listeners", "internal_error", "state_write_failed", "service_unavailable",
    "service_temporarily_unavailable", "insufficient_storage",
]
CODES: Mapping[ErrorCode, tuple[int, str]] = {
    "bad_request": (400, "Bad request"),
    "invalid_json": (400, "Malformed JSON"),
    "invalid_header": (400, "A header is malformed"),
    "invalid_parameter": (400, "A query parameter is malformed"),
    "invalid_namespace": (400, "The namespace name is malformed"),
    "invalid_multipart": (400, "Malformed multipart body"),
    "invalid_progression": (400, "Unknown progression"),
    "invalid_callback_mode": (400, "Unknown callback mode"),
    "invalid_rule": (400, "The rule is malformed"),
    "invalid_account": (400, "The account is malformed"),
    "invalid_balance": (400, "The balance is malformed"),
    "invalid_seconds": (400, "seconds must be a number"),
    "invalid_status": (400, "Unknown status"),
    "invalid_render_cache_bytes": (400, "render_cache_bytes must be a whole number of bytes >= 0"),
    "unknown_scenario": (400, "Unknown scenario"),
    "unauthorized": (401, "Unauthorized"),
    "insufficient_credits": (402, "Insufficient credits"),
    "forbidden": (403, "Forbidden"),
    "host_not_allowed": (403, "This Host is not one the mock answers on"),
    "cross_origin_refused": (403, "A cross-origin admin write is refused"),
    "cli_listen_required": (403, "Listener access revoked"),  # the code RunAPI's CLI tests answer 401/403 with
    "not_found": (404, "Not found"),
    "voice_not_found": (404, "No such voice in this account"),
    "method_not_allowed": (405, "Method not allowed"),
    "request_conflict": (409, "Conflict"),
    "invalid_transition": (409, "The task cannot go to that status"),
    "delivery_blocked": (409, "This delivery is blocked"),
    "upload_already_received": (409, "These bytes were uploaded already"),
    "upload_already_confirmed": (409, "This signed_id was confirmed already"),
    "upload_not_received": (409, "Nothing was uploaded for this signed_id yet"),
    "upload_not_pending": (409, "This upload takes no more parts"),
    "upload_part_unknown": (409, "part_ids names a part this upload does not have"),
    "upload_size_mismatch": (409, "The parts do not add up to the upload's bytes"),
    "upload_checksum_mismatch": (409, "The parts do not match the upload's md5"),
    "file_expired": (410, "File expired"),
    "callback_api_key_unusable": (410, "Callback API key is no longer usable"),
    "payload_too_large": (413, "Payload too large"),
    "unsupported_media_type": (415, "Content-Type must be application/json"),
    "range_not_satisfiable": (416, "Range not satisfiable"),
    "validation_failed": (422, "Validation failed"),
    "resource_not_found": (422, "The request names a voice or persona this account does not have"),
    "upload_integrity_error": (422, "Upload refused"),
    "rate_limited": (429, "Too many requests"),
    "too_many_tasks": (429, "The namespace holds the most tasks it keeps"),
    "too_many_active_tasks": (429, "Too many active tasks"),
    "too_many_namespaces": (429, "The mock holds the most namespaces it keeps"),
    "too_many_listeners": (429, "The key has the most open listener sessions RunAPI allows"),
    "internal_error": (500, "Internal server error"),
    "state_write_failed": (500, "The task could not be stored"),
    "service_unavailable": (503, "Service unavailable"),
    "service_temporarily_unavailable": (455, "Service temporarily unavailable"),
    "insufficient_storage": (507, "Insufficient storage"),
}
assert set(CODES) == set(get_args(ErrorCode)), "every code has one row"

FailureCode = Literal["generation_failed", "content_policy_violation"]
FAILURES: Mapping[FailureCode, str] = {
    "generation_failed": "Image generation failed",
    "content_policy_violation": "Content policy violation",
}
DEFAULT_FAILURE: tuple[str, str] = (FAILURES["generation_failed"], "generation_failed")  # (message, code)


class MockError(Exception):
    """An error the API answers with the envelope {"error": {"code", "message"}}."""

    status = 500
    code: ErrorCode = "internal_error"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: ErrorCode | None = None,
        errors: Mapping[str, list[str]] | None = None,
        retry_after: float | None = None,
        task_id: str | None = None,
    ) -> None:
        self.code = code or self.code
        self.status, default = CODES[self.code]
        self.message = message or default
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
            headers[TASK_ID_HEADER] = self.task_id
        return headers


class BadRequest(MockError):
    """The request cannot be read: malformed JSON, a bad header, an unknown scenario name."""

    status, code = 400, "bad_request"


class Unauthorized(MockError):
    """Missing, blank or unknown API key."""

    status, code = 401, "unauthorized"


class InsufficientCredits(MockError):
    """The task's price exceeds the account's available balance."""

    status, code = 402, "insufficient_credits"


class Forbidden(MockError):
    """A request the mock will not serve whoever asks: a foreign Host, a cross-site admin write (hosts.py)."""

    status, code = 403, "forbidden"


class NotFound(MockError):
    """Unknown route, unknown task, or a task of another API key."""

    status, code = 404, "not_found"


class MethodNotAllowed(MockError):
    """The route exists but not for this method."""

    status, code = 405, "method_not_allowed"


class Conflict(MockError):
    """An Idempotency-Key reused with a different body, or a status change that would go backwards."""

    status, code = 409, "request_conflict"


class Gone(MockError):
    """A generated file past its expiry."""

    status, code = 410, "file_expired"


class PayloadTooLarge(MockError):
    """The body is over the size limit."""

    status, code = 413, "payload_too_large"


class UnsupportedMediaType(MockError):
    """The body is not JSON."""

    status, code = 415, "unsupported_media_type"


class ValidationFailed(MockError):
    """The body breaks the contract; `errors` holds the messages per field."""

    status, code = 422, "validation_failed"


class RateLimited(MockError):
    """Too many requests, or too many active tasks, for this key."""

    status, code = 429, "rate_limited"


class ServerError(MockError):
    """An injected (or, never on purpose, a real) internal error."""

    status, code = 500, "internal_error"


class InsufficientStorage(MockError):
    """The uploads the mock holds together are at their bound (--max-upload-total-bytes): RFC 4918's 507, the
    server cannot store the representation. Not a 413: the file may be small, the store is what is full."""

    status, code = 507, "insufficient_storage"


class ServiceUnavailable(MockError):
    """The service is temporarily unavailable; retry after Retry-After."""

    status, code = 503, "service_unavailable"


class TemporarilyUnavailable(MockError):
    """RunAPI's non-standard 455: transient, retry with backoff (no SDK maps it)."""

    status, code = 455, "service_temporarily_unavailable"


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
