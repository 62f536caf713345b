"""The console request log of `runapi-mock serve`: its text and JSON lines, what gets a line, colour only on a
terminal, a console nobody reads, and --quiet / --log-format through the CLI and its variables."""

from __future__ import annotations

import datetime
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runapi_contracts.receiver import CallbackReceiver
from runapi_mock import Settings
from runapi_mock.access_log import AccessLog, Line, as_json, attach, logged, text
from runapi_mock.app import create_app
from runapi_mock.server import RunningServer, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": "Bearer test-key"}
CREATE = "/api/v1/flux_kontext/text_to_image"
BODY = {"model": "flux-kontext-pro", "prompt": "a red bicycle"}
AT = 1_796_126_461.25  # a wall-clock instant: 2026-12-01 12:01:01.250 UTC
LINE = Line(at=AT, method="POST", path=CREATE, status=200, latency_ms=3.14159, task_id="t-1", scenario="failed",
            namespace="team-a")


def clock(at: float) -> str:
    return datetime.datetime.fromtimestamp(at).strftime("%H:%M:%S.%f")[:-3]


# -- the lines -------------------------------------------------------------------------------------------------


def test_a_text_line_names_time_method_path_status_latency_task_scenario_namespace() -> None:
    assert text(LINE) == f"{clock(AT)} POST {CREATE} 200 3.1 ms task=t-1 scenario=failed ns=team-a"
    bare = Line(at=AT, method="GET", path="/nope", status=404, latency_ms=0.5)
    assert text(bare) == f"{clock(AT)} GET /nope 404 0.5 ms"


def test_a_callback_attempt_is_a_line_of_the_same_shape() -> None:
    refused = Line(at=AT, method="POST", path="http://127.0.0.1:9/hook", status=None, latency_ms=1.0,
                   task_id="t-1", namespace="default", kind="callback", attempt=2, error="ConnectError: refused")
    assert text(refused) == (f'{clock(AT)} callback POST http://127.0.0.1:9/hook - 1.0 ms task=t-1 ns=default '
                             'attempt=2 error="ConnectError: refused"')


def test_a_json_line_is_one_object_with_every_field() -> None:
    line = as_json(LINE)
    assert "\n" not in line
    assert json.loads(line) == {
        "time": "2026-12-01T12:01:01.250Z", "kind": "request", "method": "POST", "path": CREATE, "status": 200,
        "latency_ms": 3.14159, "task_id": "t-1", "scenario": "failed", "namespace": "team-a", "attempt": None,
        "error": None}


def test_colour_marks_the_status_class_and_only_when_asked() -> None:
    assert "\x1b[" not in text(LINE)
    assert "\x1b[32m200\x1b[0m" in text(LINE, colour=True)
    failed = Line(at=AT, method="POST", path=CREATE, status=503, latency_ms=1.0)
    assert "\x1b[31m503\x1b[0m" in text(failed, colour=True)
    assert "\x1b[33m404\x1b[0m" in text(Line(AT, "GET", "/x", 404, 1.0), colour=True)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_is_on_for_a_terminal_only_and_off_under_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert AccessLog(_Terminal()).colour is True
    assert AccessLog(io.StringIO()).colour is False  # a pipe or a file
    monkeypatch.setenv("NO_COLOR", "1")
    assert AccessLog(_Terminal()).colour is False


@pytest.mark.parametrize(("method", "path", "expected"), [
    ("POST", CREATE, True), ("GET", "/api/v1/flux_kontext/text_to_image/t-1", True), ("GET", "/nope", True),
    ("GET", "/files/default/t-1/0.png", True), ("POST", "/_mock/clock/advance", True), ("POST", "/_mock/reset", True),
    ("GET", "/_mock/tasks", False), ("GET", "/_mock", False), ("GET", "/_mock/ui/events", False),
    ("HEAD", "/_mock/ui/", False), ("GET", "/_mockery", True),
])
def test_reads_of_the_control_surface_get_no_line(method: str, path: str, expected: bool) -> None:
    assert logged(method, path) is expected


def test_a_console_nobody_reads_never_blocks_and_the_drop_is_reported() -> None:
    out = io.StringIO()
    log = AccessLog(out, capacity=2)
    for number in range(5):  # the writer has not started: the queue fills, and add() still returns at once
        log.add(Line(at=AT, method="GET", path=f"/n{number}", status=200, latency_ms=1.0))
    log.start()
    log.stop()
    written = out.getvalue().splitlines()
    assert written[0] == "runapi-mock: 3 log lines dropped (the console was not read fast enough)"
    assert [line.split()[2] for line in written[1:]] == ["/n0", "/n1"]


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="text, json"):
        AccessLog(io.StringIO(), "yaml")


# -- a served mock with its log attached (the wiring serve uses) ------------------------------------------------


@pytest.fixture
def logged_server() -> Iterator[tuple[RunningServer, AccessLog, io.StringIO]]:
    app = create_app(Settings(port=0, frozen_clock=True))
    out = io.StringIO()
    log = attach(app, out, "json")
    log.start()
    running = serve_in_thread(app=app)
    try:
        yield running, log, out
    finally:
        running.stop()
        log.stop()


def lines(log: AccessLog, out: io.StringIO) -> list[dict[str, Any]]:
    log.stop()  # writes everything queued: what is not in `out` now was never logged
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_request_gets_one_line_and_admin_reads_none(
        logged_server: tuple[RunningServer, AccessLog, io.StringIO]) -> None:
    server, log, out = logged_server
    with httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10, trust_env=False) as client:
        task_id = client.post(CREATE, json=BODY, headers={"X-Mock-Namespace": "team-a"}).json()["id"]
        assert client.post(CREATE, json=BODY, headers={"X-Mock-Scenario": "insufficient_credits"}).status_code == 402
        client.get("/_mock/tasks")
        client.get("/ns/team-a/_mock/journal")
        client.post("/_mock/clock/advance", json={"seconds": 1})
        client.post(f"/ns/team-a/_mock/tasks/{task_id}/step", json={})
        client.get("/nope")
    got = lines(log, out)
    assert [(line["method"], line["path"], line["status"]) for line in got] == [
        ("POST", CREATE, 200), ("POST", CREATE, 402), ("POST", "/_mock/clock/advance", 200),
        ("POST", f"/ns/team-a/_mock/tasks/{task_id}/step", 200), ("GET", "/nope", 404)]
    created, refused, stepped = got[0], got[1], got[3]
    assert (stepped["task_id"], stepped["namespace"]) == (task_id, "team-a")  # an admin action names its task
    assert (created["task_id"], created["namespace"], created["scenario"]) == (task_id, "team-a", None)
    assert (refused["scenario"], refused["namespace"]) == ("insufficient_credits", "default")
    assert all(line["kind"] == "request" and line["latency_ms"] >= 0 for line in got)


def test_callback_attempts_are_logged_the_same_way(
        logged_server: tuple[RunningServer, AccessLog, io.StringIO]) -> None:
    server, log, out = logged_server
    with CallbackReceiver() as receiver, \
            httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10, trust_env=False) as client:
        receiver.respond_with(500)  # retried on the clock, which is frozen: one attempt
        url = receiver.url
        task_id = client.post(CREATE, json={**BODY, "callback_url": url}).json()["id"]
        client.post(f"/_mock/tasks/{task_id}/status", json={"status": "completed"})
        receiver.wait_for(1, timeout=10)
        wait_for_answer(client)
    (attempt,) = [line for line in lines(log, out) if line["kind"] == "callback"]
    assert (attempt["method"], attempt["path"], attempt["status"]) == ("POST", url, 500)
    assert (attempt["task_id"], attempt["namespace"], attempt["attempt"]) == (task_id, "default", 1)
    assert attempt["latency_ms"] is not None


def wait_for_answer(client: httpx.Client, timeout: float = 10.0) -> None:
    """Until the admin API shows the attempt's answer: the receiver answered, the dispatcher records it next."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (delivery,) = client.get("/_mock/callbacks").json()["deliveries"]
        if any(a["status_code"] is not None for a in delivery["attempts"]):
            return
        time.sleep(0.02)
    raise AssertionError("the attempt's answer was never recorded")


# -- through the CLI: the banner first, --log-format's variable, --quiet -----------------------------------------


def serve(*args: str, **env: str) -> tuple[subprocess.Popen[str], str]:
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    for name in ("RUNAPI_MOCK_LOG_FORMAT", "RUNAPI_MOCK_QUIET", "RUNAPI_CALLBACK_SECRET"):
        if name not in env:
            environ.pop(name, None)
    process = subprocess.Popen([sys.executable, "-m", "runapi_mock", "serve", "--port", "0", *args], cwd=ROOT,
                               env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    banner = process.stdout.readline()
    assert banner.startswith("runapi-mock serving on http://127.0.0.1:"), banner + process.stderr.read()
    return process, banner.split()[3]


def requests_then_stop(process: subprocess.Popen[str], base_url: str) -> list[str]:
    """Send a create and a 404, stop the server (it writes what it logged), and return stdout after the banner."""
    try:
        assert httpx.post(f"{base_url}{CREATE}", json=BODY, headers=AUTH, timeout=10).status_code == 200
        assert httpx.get(f"{base_url}/nope", timeout=10).status_code == 404
        process.terminate()
        process.wait(timeout=20)
        assert process.stdout is not None and process.stderr is not None
        # Not communicate(): it reads the pipes' descriptors, past what readline() already buffered.
        out, err = process.stdout.read(), process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    for pipe in (process.stdout, process.stderr):  # an open pipe warns when collected (-W error)
        if pipe is not None:
            pipe.close()
    assert process.returncode == 0, err
    return out.splitlines()


def test_serve_logs_json_lines_after_the_banner_by_its_variable() -> None:
    process, base_url = serve(RUNAPI_MOCK_LOG_FORMAT="json")
    out = requests_then_stop(process, base_url)
    banner_end = next(i for i, line in enumerate(out) if line.startswith("    -d '"))  # the banner's curl ends it
    logged_lines = [json.loads(line) for line in out[banner_end + 1:]]
    assert [(line["method"], line["path"], line["status"]) for line in logged_lines] == [
        ("POST", CREATE, 200), ("GET", "/nope", 404)]
    assert not any(line.startswith("{") for line in out[:banner_end])


def test_serve_logs_text_without_colour_to_a_pipe() -> None:
    process, base_url = serve()
    out = requests_then_stop(process, base_url)
    (line,) = [line for line in out if f" POST {CREATE} 200 " in line]
    assert " ns=default" in line and " task=" in line and "\x1b[" not in line


@pytest.mark.parametrize(("args", "env"), [(["--quiet"], {}), ([], {"RUNAPI_MOCK_QUIET": "1"})],
                         ids=["flag", "variable"])
def test_quiet_serves_without_a_request_log(args: list[str], env: dict[str, str]) -> None:
    process, base_url = serve(*args, **env)
    out = requests_then_stop(process, base_url)
    assert out[-1].startswith("    -d '"), out  # the banner, and nothing after it


def test_the_banner_prints_before_any_request_line(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from starlette.testclient import TestClient

    from runapi_mock import cli, server

    def serve_forever(settings: Settings, on_ready: Any, *, app: Any, **options: Any) -> None:
        # a request before the banner is out
        assert TestClient(app, base_url="http://localhost").get("/nope").status_code == 404
        on_ready("http://127.0.0.1:8787")

    monkeypatch.setattr(server, "serve_forever", serve_forever)
    assert cli.main(["serve", "--port", "0"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("runapi-mock serving on")
    banner_end = next(i for i, line in enumerate(out) if line.startswith("    -d '"))
    assert [i for i, line in enumerate(out) if " GET /nope 404 " in line] == [banner_end + 1]
