"""Server conformance passes on the mock (in-process, on a port, via the CLI) and fails on broken servers."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runapi_contracts import load_catalog
from runapi_contracts.conformance import (
    CHECKS,
    ROUTE_CHECKS,
    AsyncClientAdapter,
    ConformanceFailure,
    LifecycleMachine,
    Target,
    run_server_conformance,
)
from runapi_contracts.strategies import create_requests
from runapi_contracts.vocabulary import TERMINAL
from runapi_mock import Settings, create_app
from runapi_mock.engine.lifecycle import Progression
from runapi_mock.serving.cli import main

BASE_URL = "http://127.0.0.1:8787"
ONE_ACTION = [("flux_kontext", "text_to_image")]
Rewrite = Callable[[Scope, int, Any], "tuple[int, Any]"]

# the actions that make a task to poll (the synchronous ones answer their result: tests/e2e/test_sdk_sync.py)
TASK_ACTIONS = sum("sync" not in a.output_spec for a in load_catalog().actions.values())


class RewriteJSON:
    """A tiny ASGI middleware rewriting the mock's JSON answers: a deliberately broken server."""

    def __init__(self, app: ASGIApp, rewrite: Rewrite) -> None:
        self.app, self.rewrite = app, rewrite

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def buffered(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            raw = b"".join(chunks)
            if raw:  # a 304 has no body to rewrite
                status, body = self.rewrite(scope, start["status"], json.loads(raw))
                raw = json.dumps(body).encode()
            else:
                status = start["status"]
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(raw)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": raw})

        await self.app(scope, receive, buffered)


def _broken_client(rewrite: Rewrite) -> TestClient:
    return TestClient(RewriteJSON(create_app(Settings()), rewrite), base_url=BASE_URL)


def _is_status_read(scope: Scope) -> bool:
    return scope["method"] == "GET" and scope["path"].count("/") == 5


def regress_second_completed_read() -> Rewrite:
    """Broken server (a): the second read of a completed task says processing again."""
    completed_reads: dict[str, int] = {}

    def rewrite(scope: Scope, status: int, body: Any) -> tuple[int, Any]:
        if _is_status_read(scope) and status == 200 and body.get("status") == "completed":
            completed_reads[body["id"]] = completed_reads.get(body["id"], 0) + 1
            if completed_reads[body["id"]] == 2:
                return status, {"id": body["id"], "status": "processing"}
        return status, body

    return rewrite


def accept_invalid(scope: Scope, status: int, body: Any) -> tuple[int, Any]:
    """Broken server (b): an invalid create is answered 200 with a made-up task."""
    if scope["method"] == "POST" and status == 422:
        return 200, {"id": str(uuid.uuid4()), "status": "pending"}
    return status, body


def drop_images(scope: Scope, status: int, body: Any) -> tuple[int, Any]:
    """Broken server (c): completed status bodies lack `images`."""
    if _is_status_read(scope) and status == 200 and body.get("status") == "completed":
        return status, {k: v for k, v in body.items() if k != "images"}
    return status, body


# --- passing targets ------------------------------------------------------------------------------


def test_suite_passes_against_the_mock_in_process(make_client: Callable[..., TestClient]) -> None:
    target = Target.from_client(make_client())
    assert target.has_admin and target.can_verify_callbacks

    report = run_server_conformance(target, examples=3, seed=1)

    assert report.passed, report.table()
    assert {r.check for r in report.results} == set(CHECKS) | set(ROUTE_CHECKS)
    assert all(r.outcome == "passed" for r in report.results), report.table()
    assert report.result("create_accepted", "POST /api/v1/flux_2/text_to_image").passed == 3
    assert report.result("quote_conforms").passed == 3
    assert report.result("upload_conforms").passed == 4  # the Java smoke upload and 3 drawn
    # every catalog family/action, and the pricing, models, account and files routes once
    assert len(report.results) == TASK_ACTIONS * len(CHECKS) + len(ROUTE_CHECKS)


def test_cli_passes_against_the_mock_on_a_port(make_server: Callable[..., Any],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    server = make_server()

    code = main(["conformance", "--target", server.base_url, "--examples", "2", "--seed", "3"])

    out = capsys.readouterr().out
    assert code == 0, out
    expected = TASK_ACTIONS * len(CHECKS) + len(ROUTE_CHECKS)
    assert f"target {server.base_url}: {expected} passed, 0 failed, 0 skipped" in out
    assert "callback_verified" in out


def test_cli_reports_an_unreachable_target_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as closed:  # bound, never listening: connecting is refused, and no one else takes it
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        code = main(["conformance", "--target", url, "--examples", "1"])
    out, err = capsys.readouterr()
    assert code == 3 and out == ""
    assert err.startswith(f"runapi-mock: error: cannot reach {url}: ConnectError:") and err.count("\n") == 1


def test_suite_passes_through_an_async_client_adapter() -> None:
    app = create_app(Settings())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
    with AsyncClientAdapter(client) as adapter:
        target = Target(BASE_URL, client=adapter)
        report = run_server_conformance(target, examples=2, actions=ONE_ACTION, callbacks=False, seed=2)
    assert report.passed, report.table()
    assert report.result("callback_verified").outcome == "skipped"
    with pytest.raises(RuntimeError, match="closed"):
        adapter.request("GET", f"{BASE_URL}/healthz")


def test_unknown_remote_skips_callbacks_without_a_secret(make_client: Callable[..., TestClient]) -> None:
    client = make_client(api_keys=("k1",), progression=Progression.parse("polls:2"))
    target = Target.from_client(client, api_key="k1", has_admin=False)

    report = run_server_conformance(target, examples=2, actions=ONE_ACTION, wait=5, interval=0.01)

    assert "X-Mock-Namespace" not in target.headers()
    assert report.result("terminal_sticky").passed == 2  # polled pending → processing → completed
    skipped = report.result("callback_verified").skipped
    assert skipped == "no callback secret (pass one, or use a mock with /_mock/)"
    assert report.result("bad_key_401").outcome == "passed"  # with keys configured, a bogus one is rejected


# --- broken targets -------------------------------------------------------------------------------


def test_completed_task_going_back_to_processing_fails_terminal_sticky() -> None:
    with _broken_client(regress_second_completed_read()) as client:
        report = run_server_conformance(Target.from_client(client), examples=2, actions=ONE_ACTION, seed=4,
                                        routes=False)

    assert not report.passed
    assert report.outcomes("terminal_sticky") == {"failed"}
    failure = report.result("terminal_sticky").failure or ""
    assert "GET /api/v1/flux_kontext/text_to_image/{id}" in failure and "at /status" in failure
    assert "says processing" in failure
    assert report.result("create_accepted").outcome == "passed"
    assert report.result("status_conforms").outcome == "passed"


def test_invalid_request_answered_200_fails_invalid_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    with _broken_client(accept_invalid) as client:
        report = run_server_conformance(Target.from_client(client), examples=2, actions=ONE_ACTION, seed=5,
                                        routes=False)

    assert [r.check for r in report.failures] == ["invalid_rejected"], report.table()
    assert "expected 4xx for a request breaking" in (report.failures[0].failure or "")
    assert "got 200" in (report.failures[0].failure or "")
    assert "FAILED" in report.table()
    with pytest.raises(ConformanceFailure, match="invalid_rejected"):
        report.raise_for_failures()


def test_completed_body_without_images_fails_status_conforms() -> None:
    with _broken_client(drop_images) as client:
        report = run_server_conformance(Target.from_client(client), examples=2, actions=ONE_ACTION, seed=6,
                                        routes=False)

    failure = report.result("status_conforms").failure or ""
    assert "at /images" in failure and "body violates task" in failure, report.table()
    assert report.result("create_accepted").outcome == "passed"
    assert report.result("callback_verified").outcome == "failed"  # it reads the status to see the end


def overquote(scope: Scope, status: int, body: Any) -> tuple[int, Any]:
    """Broken server (d): every quote is a cent more than the create then takes."""
    if scope["path"] == "/api/v1/price_quotes" and status == 200:
        body["price_quote"]["reservation_amount_cents"] += 1
    return status, body


def test_a_quote_the_create_does_not_match_fails_quote_conforms() -> None:
    with _broken_client(overquote) as client:
        report = run_server_conformance(Target.from_client(client), examples=2, actions=ONE_ACTION, seed=7)

    assert [r.check for r in report.failures] == ["quote_conforms"], report.table()
    assert "the create took" in (report.failures[0].failure or "")
    assert report.result("schedules_conform").outcome == "passed"  # its 304 passed through untouched


# --- the state machine ----------------------------------------------------------------------------


def _machine_for(client: TestClient, runs: list[LifecycleMachine], *,
                 every_callback: bool = False) -> type[LifecycleMachine]:
    class Machine(LifecycleMachine):
        def make_target(self) -> Target:
            runs.append(self)
            return Target.from_client(client)

        def teardown(self) -> None:
            # every_callback: the callback of every task seen to end is received and checked before the example
            # ends, whether or not the search happened to pick the receive_callback rule for it.
            while every_callback and self.receiver is not None and any(self._awaiting()):
                self.receive_callback()
            super().teardown()

    return Machine


def test_lifecycle_machine_runs_against_the_mock(make_client: Callable[..., TestClient]) -> None:
    runs: list[LifecycleMachine] = []
    # A frozen clock: `auto` tasks move only when the machine advances it, so which statuses its polls read never
    # depends on how fast the machine runs. Whether the derandomized search itself picks receive_callback was seen
    # to vary between full runs (not alone), so every ended task's callback is also checked at each example's end.
    machine = _machine_for(make_client(frozen_clock=True), runs, every_callback=True)
    # The derandomized search was tuned on the five seed actions; drawn from all forty, its fixed sequence
    # never awaited a callback. The lifecycle is the same for every action (the server suite covers them all).
    machine.requests = classmethod(lambda cls: st.one_of(  # type: ignore[method-assign,assignment]
        [create_requests(family) for family in ("flux_kontext", "flux_2", "gpt_image_2")]))
    # Every task asks for a callback: with callbacks drawn either way, whether the fixed sequence ever awaited one
    # hung on the catalog and the strategies (it stopped doing so twice this session, with no code at fault).
    machine.callbacks = classmethod(lambda cls: st.just(True))  # type: ignore[method-assign,assignment]
    case = machine.TestCase
    case.settings = settings(max_examples=15, stateful_step_count=20, deadline=None, database=None,
                             derandomize=True)

    case("runTest").runTest()

    statuses = {s for run in runs for task in run.tracked for s in task.statuses}
    assert len(runs) >= 15 and "completed" in statuses
    assert any(run.verified for run in runs)  # at least one callback received and verified
    ended = {task.id for run in runs for task in run.tracked if task.statuses and task.statuses[-1] in TERMINAL}
    assert ended == {task_id for run in runs for task_id in run.verified}  # each ended task's, none missed


def test_lifecycle_machine_fails_when_a_completed_task_regresses() -> None:
    runs: list[LifecycleMachine] = []
    with _broken_client(regress_second_completed_read()) as client:
        case = _machine_for(client, runs).TestCase
        # Derandomized: a random 30-run search sometimes never read a completed task twice (a flaky test).
        case.settings = settings(max_examples=30, stateful_step_count=10, deadline=None, database=None,
                                 phases=(Phase.generate,), derandomize=True)
        with pytest.raises(ConformanceFailure, match="terminal_sticky: GET .* at /status"):
            case("runTest").runTest()


def test_exported_members() -> None:
    from runapi_contracts import conformance

    assert conformance.__all__ == sorted(conformance.__all__, key=lambda n: (not n.isupper(), n))
    assert all(hasattr(conformance, name) for name in conformance.__all__)
    assert "runapi_mock" not in {m.split(".")[0] for m in vars(conformance) if isinstance(m, str)}
