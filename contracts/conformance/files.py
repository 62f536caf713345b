"""Server conformance of the files API: base64 uploads, the direct upload (prepare → PUT → confirm), refused bytes
and bodies, and (on the mock) an edit of a deleted upload; `run_route_checks` adds their rows to a run's Report,
once per run.

Uploads cost no credits, even live, and every file drawn is a few hundred bytes at most. The bytes and the
downloads go to the URLs the server answered, without the API key (storage does not take it). An answer of the
storage a direct upload goes to is judged by its status only; the error envelope is RunAPI's, so it is required
when the upload URL is on the API's own origin (as the mock's is).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Mapping
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

import httpx
from PIL import Image

from ..catalog import load_catalog
from ..upload_strategies import (
    FILES,
    JAVA_SMOKE,
    PREPARE,
    PUT,
    InvalidUpload,
    PrepareRequest,
    UploadRequest,
    invalid_upload_requests,
    prepare_requests,
    upload_requests,
)
from .exchange import body as _body
from .exchange import conform as _conform
from .exchange import expect_error as _expect_error
from .exchange import expect_request_id as _expect_request_id
from .exchange import for_examples as _for_examples
from .exchange import send as _send
from .report import ConformanceFailure, Report
from .target import Target

__all__ = [
    "EDIT_ACTION",
    "ROUTE_CHECKS",
    "check_deleted_source_fails",
    "check_direct_upload",
    "check_invalid_upload",
    "check_mismatched_put",
    "check_upload",
    "run_route_checks",
]

CONFIRM = "POST /api/v1/files/confirm"
EDIT_ACTION = ("gpt_image_2", "edit_image")  # the simplest edit: a prompt and a list of source URLs
_EDIT_PATH = f"/api/v1/{EDIT_ACTION[0]}/{EDIT_ACTION[1]}"
ROUTE_CHECKS = {
    "upload_conforms": FILES,             # base64 (the Java smoke test's, and drawn): 2xx upload; URL gives the bytes
    "direct_upload_conforms": PREPARE,    # prepare → PUT (no key, the answered headers) → confirm: the same
    "upload_mismatch_rejected": PUT,      # bytes whose MD5 or size differ: 4xx; confirm of them then 4xx
    "invalid_upload_rejected": FILES,     # bodies breaking a rule (files and prepare): 4xx with the error envelope
    "deleted_source_fails": f"POST {_EDIT_PATH}",  # mock only: an edit of a deleted upload ends failed
}


class _BytesRequester(Protocol):
    """What a raw PUT or GET needs of the target's client (httpx.Client, a TestClient, an AsyncClientAdapter)."""

    def request(self, method: str, url: str, *, content: bytes | None = ...,
                headers: Mapping[str, str] | None = ...) -> httpx.Response: ...


def _raw(target: Target, check: str, operation: str, method: str, url: str, *, content: bytes | None = None,
         headers: Mapping[str, str] | None = None) -> httpx.Response:
    """A request outside the API (storage, a download): no key, no namespace, only the `headers` given."""
    client = cast(_BytesRequester, target.client)
    try:
        return client.request(method, url, content=content, headers=dict(headers or {}))
    except httpx.HTTPError as exc:
        raise ConformanceFailure(check, operation, f"{method} {url} failed: {type(exc).__name__}: {exc}") from None


def _answer(target: Target, check: str, operation: str, body: Any, schema: str) -> dict[str, Any]:
    """POST `body` to the operation's path: 2xx, a body conforming to `schema`, X-Request-Id. Returns the body."""
    path = operation.split(" ", 1)[1]
    response = _send(target, check, "POST", path, operation, body, schema=schema)
    if not response.is_success:
        raise ConformanceFailure(check, operation, f"expected 2xx, got {response.status_code}: "
                                 f"{response.text[:200]!r}", request=_brief(body))
    answer = _body(check, operation, _brief(body), response)
    _conform(check, operation, _brief(body), schema, answer)
    _expect_request_id(check, operation, _brief(body), response)
    return dict(answer)


def _brief(body: Any) -> Any:
    """A body for a failure message: base64 data shown by its length."""
    source = body.get("source") if isinstance(body, dict) else None
    if isinstance(source, dict) and isinstance(source.get("data"), str):
        return {**body, "source": {**source, "data": f"<{len(source['data'])} characters>"}}
    return body


def _expect_upload(target: Target, check: str, operation: str, upload: Mapping[str, Any], data: bytes,
                   name: str | None, mime_type: str | None) -> None:
    """The upload answer says what was sent (size, name, known type) and its URL serves those bytes as its type."""
    wanted = {"size_bytes": len(data), "file_name": name, "mime_type": mime_type}
    for member, value in wanted.items():
        if value is not None and upload[member] != value:
            raise ConformanceFailure(check, operation, f"{member} is {upload[member]!r}, expected {value!r}",
                                     pointer=f"/{member}")
    download = _raw(target, check, operation, "GET", upload["url"])
    if download.status_code != 200:
        raise ConformanceFailure(check, operation, f"GET of the answered url got {download.status_code}",
                                 pointer="/url")
    if download.content != data:
        raise ConformanceFailure(check, operation, f"the answered url serves {len(download.content)} bytes that "
                                 f"are not the {len(data)} uploaded", pointer="/url")
    served = download.headers.get("content-type", "").split(";")[0].strip().lower()
    if served != upload["mime_type"].lower():
        raise ConformanceFailure(check, operation, f"the answered url serves Content-Type {served!r}, the upload "
                                 f"says mime_type {upload['mime_type']!r}", pointer="/mime_type")


# --- the checks -----------------------------------------------------------------------------------


def check_upload(target: Target, request: UploadRequest) -> dict[str, Any]:
    """A base64 upload is answered 2xx with an `upload` naming its size (and its name and type when known),
    whose URL downloads the same bytes with the answered `mime_type`. Returns the upload."""
    upload = _answer(target, "upload_conforms", FILES, request.body, "upload")
    _expect_upload(target, "upload_conforms", FILES, upload, request.data, request.file_name, request.mime_type)
    return upload


def _prepare(target: Target, check: str, body: Mapping[str, Any]) -> dict[str, Any]:
    answer = _answer(target, check, PREPARE, dict(body), "upload_prepare")
    if any(name.lower() == "authorization" for name in answer["headers"]):
        raise ConformanceFailure(check, PREPARE, "the headers to PUT with carry an Authorization",
                                 pointer="/headers")
    return answer


def check_direct_upload(target: Target, request: PrepareRequest) -> dict[str, Any]:
    """prepare → PUT the bytes to `upload_url` (no key, exactly the answered headers) → confirm: each step 2xx,
    confirm answers an `upload` of those bytes whose URL serves them. Returns the upload."""
    check = "direct_upload_conforms"
    prepared = _prepare(target, check, request.body)
    put = _raw(target, check, PUT, "PUT", prepared["upload_url"], content=request.data,
               headers=prepared["headers"])
    if not put.is_success:
        raise ConformanceFailure(check, PUT, f"PUT of the declared bytes got {put.status_code}: {put.text[:200]!r}",
                                 request=request.body)
    upload = _answer(target, check, CONFIRM, {"signed_id": prepared["signed_id"]}, "upload")
    _expect_upload(target, check, CONFIRM, upload, request.data, request.body["filename"], request.mime_type)
    return upload


def _same_origin(target: Target, url: str) -> bool:
    return urlsplit(url).netloc.lower() == urlsplit(target.base_url).netloc.lower()


def check_mismatched_put(target: Target, request: InvalidUpload) -> int:
    """Bytes whose MD5 or size differ from the prepared ones are refused with a 4xx (the error envelope when the
    API's own origin answers), and confirming them then gets a 4xx with the envelope. Returns the PUT's status."""
    check = "upload_mismatch_rejected"
    assert request.operation == PUT and request.data is not None
    prepared = _prepare(target, check, request.body)
    url = prepared["upload_url"]
    put = _raw(target, check, PUT, "PUT", url, content=request.data, headers=prepared["headers"])
    why = f"for bytes whose {request.field} differs from the prepared one"
    if _same_origin(target, url):
        _expect_error(check, PUT, request.body, put, range(400, 500), why)
    elif not 400 <= put.status_code < 500:
        raise ConformanceFailure(check, PUT, f"expected 4xx {why}, got {put.status_code}", request=request.body)
    confirm = _send(target, check, "POST", CONFIRM.split(" ", 1)[1], CONFIRM, {"signed_id": prepared["signed_id"]})
    _expect_error(check, CONFIRM, request.body, confirm, range(400, 500), "confirming refused bytes")
    return put.status_code


def check_invalid_upload(target: Target, request: InvalidUpload) -> int:
    """A files or prepare body breaking one rule gets a 4xx with the error envelope; returns the status."""
    response = _send(target, "invalid_upload_rejected", "POST", request.path, request.operation, request.body)
    _expect_error("invalid_upload_rejected", request.operation, _brief(request.body), response, range(400, 500),
                  f"for a body breaking {request.rule} on {request.field or 'the body'!r}")
    return response.status_code


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (20, 120, 220)).save(buffer, format="PNG")
    return buffer.getvalue()


def _edit(target: Target, check: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create the edit on the mock, ended at once (`X-Mock-Progression: immediate`), and read it: its status body."""
    operation, read = ROUTE_CHECKS[check], f"GET {_EDIT_PATH}/{{id}}"
    target.guard_create(*EDIT_ACTION, body["model"], body)
    created = _send(target, check, "POST", _EDIT_PATH, operation, body, schema="create_response",
                    progression="immediate")
    if not created.is_success:
        raise ConformanceFailure(check, operation, f"expected 2xx for the edit, got {created.status_code}: "
                                 f"{created.text[:200]!r}", request=body)
    answer = _body(check, operation, body, created)
    _conform(check, operation, body, "create_response", answer)
    response = _send(target, check, "GET", f"{_EDIT_PATH}/{answer['id']}", read, schema="task")
    task = _body(check, read, body, response)
    if response.status_code != 200:
        raise ConformanceFailure(check, read, f"expected 200, got {response.status_code}: {response.text[:200]!r}",
                                 request=body)
    _conform(check, read, body, "task", task)
    return dict(task)


def check_deleted_source_fails(target: Target) -> None:
    """On the mock: an edit of a fresh upload completes; once the upload is deleted (admin API), the same edit
    ends `failed`, its error naming the URL."""
    check = "deleted_source_fails"
    png = _png()
    upload = check_upload(target, UploadRequest(
        {"source": {"type": "base64", "data": base64.b64encode(png).decode("ascii")}, "file_name": "source.png"},
        png, "image/png"))
    model = next(iter(load_catalog().actions[EDIT_ACTION].models))
    body = {"model": model, "prompt": "make the sky orange", "source_image_urls": [upload["url"]]}
    status = _edit(target, check, body)["status"]
    if status != "completed":
        raise ConformanceFailure(check, ROUTE_CHECKS[check], f"an edit of a live upload ended {status}, not "
                                 "completed", request=body)
    ids = [u["id"] for u in target.mock_admin.uploads() if u["url"] == upload["url"]]
    if not ids:
        raise ConformanceFailure(check, ROUTE_CHECKS[check], f"the admin API lists no upload at {upload['url']}")
    target.mock_admin.delete_upload(ids[0])
    task = _edit(target, check, body)
    error = str(task.get("error") or "")
    if task["status"] != "failed" or upload["url"] not in error:
        raise ConformanceFailure(check, ROUTE_CHECKS[check], f"an edit of a deleted upload ended {task['status']} "
                                 f"(error {error[:200]!r}), expected failed naming its URL", request=body)


# --- the runner -----------------------------------------------------------------------------------


def run_route_checks(target: Target, report: Report, examples: int, seed: int | None) -> None:
    """Every files check once per run, recorded in `report`: uploads (the Java smoke one first), direct uploads,
    mismatched bytes and invalid bodies with `examples` drawn requests each; the deleted source on the mock."""
    drawn: list[tuple[str, Any, Callable[[Target, Any], Any]]] = [
        ("upload_conforms", upload_requests(), check_upload),
        ("direct_upload_conforms", prepare_requests(), check_direct_upload),
        ("upload_mismatch_rejected", invalid_upload_requests((PUT,)), check_mismatched_put),
        ("invalid_upload_rejected", invalid_upload_requests((FILES, PREPARE)), check_invalid_upload),
    ]
    rows = {check: report._get(check, operation) for check, operation in ROUTE_CHECKS.items()}

    def record(check: str, action: Callable[[], None]) -> None:
        try:
            action()
        except ConformanceFailure as failure:
            rows[check].failure = str(failure)

    def counted(check: str, action: Callable[[Target, Any], Any]) -> Callable[[Any], None]:
        def run(request: Any) -> None:
            action(target, request)
            rows[check].passed += 1
        return run

    record("upload_conforms", lambda: counted("upload_conforms", check_upload)(JAVA_SMOKE))
    for check, strategy, action in drawn:
        if not rows[check].failure:
            record(check, lambda: _for_examples(strategy, examples, seed, counted(check, action)))  # noqa: B023
    if not target.has_admin:
        rows["deleted_source_fails"].skipped = "needs the mock's admin API to delete an upload"
    else:
        record("deleted_source_fails", lambda: counted("deleted_source_fails",
                                                       lambda t, _: check_deleted_source_fails(t))(None))
