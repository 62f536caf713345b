"""The files API's conformance checks pass on the mock and fail, each naming what broke, on broken servers."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runapi_contracts.conformance import Report, Target
from runapi_contracts.conformance.files import ROUTE_CHECKS, run_route_checks
from runapi_mock import Settings, create_app

BASE_URL = "http://127.0.0.1:8787"


def _run(target: Target, examples: int = 2, seed: int = 11) -> Report:
    report = Report(target.base_url)
    run_route_checks(target, report, examples, seed)
    return report


def _failure(report: Report, check: str) -> str:
    result = report.result(check)
    assert result.outcome == "failed", report.table()
    return result.failure or ""


# --- passing targets ------------------------------------------------------------------------------


def test_every_files_check_passes_against_the_mock(make_client: Callable[..., TestClient]) -> None:
    report = _run(Target.from_client(make_client()), examples=3)

    assert [(r.check, r.operation) for r in report.results] == list(ROUTE_CHECKS.items())
    assert all(r.outcome == "passed" for r in report.results), report.table()
    assert report.result("upload_conforms").passed == 4  # the Java smoke upload, then 3 drawn
    assert report.result("invalid_upload_rejected").passed == 3
    assert report.result("deleted_source_fails").passed == 1


def test_without_the_admin_api_the_deleted_source_check_is_skipped(make_client: Callable[..., TestClient]) -> None:
    report = _run(Target.from_client(make_client(), has_admin=False))

    assert report.passed, report.table()
    assert report.result("deleted_source_fails").skipped == "needs the mock's admin API to delete an upload"
    assert report.outcomes("upload_conforms") == {"passed"}


# --- broken servers -------------------------------------------------------------------------------


def test_a_server_answering_every_request_with_the_wrong_shape_fails_each_check() -> None:
    """Broken server (a), an httpx MockTransport: 200 `{"ok": true}` to everything, admin API included."""
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True})))
    report = _run(Target(BASE_URL, client=client))

    assert "body violates upload: 'file_name' is a required property" in _failure(report, "upload_conforms")
    assert "body violates upload_prepare" in _failure(report, "direct_upload_conforms")
    assert "body violates upload_prepare" in _failure(report, "upload_mismatch_rejected")
    assert "expected 4xx for a body breaking" in _failure(report, "invalid_upload_rejected")
    assert report.result("deleted_source_fails").outcome == "skipped"  # GET /_mock/ lists no routes


class Wrap:
    """A tiny ASGI middleware changing some of the mock's answers: `change(scope, start)` returns the start
    message to send instead (or None to pass it on)."""

    def __init__(self, app: ASGIApp, change: Callable[[Scope, Message], Message | None]) -> None:
        self.app, self.change = app, change

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        replaced = False

        async def changed(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start":
                instead = self.change(scope, message)
                if instead is not None:
                    replaced = True
                    await send(instead)
                    await send({"type": "http.response.body", "body": b""})
                    return
            if not replaced:
                await send(message)

        await self.app(scope, receive, changed)


def _broken(change: Callable[[Scope, Message], Message | None]) -> Target:
    return Target.from_client(TestClient(Wrap(create_app(Settings()), change), base_url=BASE_URL))


def test_uploads_served_as_another_type_fail_the_upload_checks() -> None:
    """Broken server (b): every upload's URL serves its bytes as application/octet-stream."""
    def octet_stream(scope: Scope, start: Message) -> Message | None:
        if scope["path"].startswith("/uploads/"):
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-type"]
            start["headers"] = [*headers, (b"content-type", b"application/octet-stream")]
        return None

    report = _run(_broken(octet_stream))

    assert "serves Content-Type 'application/octet-stream', the upload says mime_type 'text/plain'" in \
        _failure(report, "upload_conforms")  # the Java smoke upload, first
    assert "serves Content-Type 'application/octet-stream'" in _failure(report, "direct_upload_conforms")
    assert report.outcomes("invalid_upload_rejected") == {"passed"}
    assert report.outcomes("upload_mismatch_rejected") == {"passed"}


def test_storage_taking_any_bytes_fails_upload_mismatch_rejected() -> None:
    """Broken server (c): a PUT of bytes that do not match what was prepared is answered 204 anyway."""
    def accept_any_put(scope: Scope, start: Message) -> Message | None:
        if scope["method"] == "PUT" and start["status"] == 422:
            return {"type": "http.response.start", "status": 204, "headers": []}
        return None

    report = _run(_broken(accept_any_put))

    failure = _failure(report, "upload_mismatch_rejected")
    assert "PUT {upload_url}" in failure and "expected 4xx for bytes whose" in failure and "got 204" in failure
    assert [r.check for r in report.failures] == ["upload_mismatch_rejected"], report.table()


def test_a_mock_that_never_reads_its_sources_fails_deleted_source_fails(monkeypatch: pytest.MonkeyPatch,
                                                                       make_client: Callable[..., TestClient]) -> None:
    """Broken server (d): source URLs on the mock's own uploads are not checked (sources.resolve disabled)."""
    monkeypatch.setattr("runapi_mock.engine.sources.resolve", lambda *args, **kwargs: None)

    report = _run(Target.from_client(make_client()), examples=1)

    assert "an edit of a deleted upload ended completed" in _failure(report, "deleted_source_fails")
    assert [r.check for r in report.failures] == ["deleted_source_fails"], report.table()


def test_an_invalid_upload_answered_200_fails_invalid_upload_rejected() -> None:
    """Broken server (e): a refused files or prepare body (422) is answered 200."""
    def accept(scope: Scope, start: Message) -> Message | None:
        if scope["path"] in ("/api/v1/files", "/api/v1/files/prepare") and start["status"] == 422:
            return {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]}
        return None

    report = _run(_broken(accept))

    assert "expected 4xx for a body breaking" in _failure(report, "invalid_upload_rejected")
    assert [r.check for r in report.failures] == ["invalid_upload_rejected"], report.table()
