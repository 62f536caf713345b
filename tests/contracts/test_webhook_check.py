from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from runapi_contracts import cli
from runapi_contracts.receiver import CallbackReceiver
from runapi_contracts.signing import SignatureError, generate_secret, sign, verify
from runapi_contracts.webhook_check import (
    CASES,
    HandlerUnreachable,
    assert_webhook_secure,
    callback_body,
    check_webhook,
    send_callback,
)

SECRET = generate_secret()
FORGERIES = {case.name for case in CASES if case.expect == "reject"}


# --- Webhook handlers as a user would write them, one correct and several with classic bugs ---

@dataclass
class Journal:
    """What each handler actually processed, so tests can tell 'acknowledged' from 'processed twice'."""

    processed: list[str] = field(default_factory=list)
    seen_ids: set[str] = field(default_factory=set)


Check = Callable[[Request, bytes], None]


def handler(check: Check, journal: Journal, *, dedupe: bool = True, replay_status: int = 200) -> Route:
    async def endpoint(request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            check(request, raw)
        except SignatureError as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        callback_id = request.headers.get("x-callback-id", "")
        if dedupe and callback_id in journal.seen_ids:
            return JSONResponse({"duplicate": True}, status_code=replay_status)
        journal.seen_ids.add(callback_id)
        journal.processed.append(json.loads(raw)["id"])
        return JSONResponse({"ok": True})

    return Route("/", endpoint, methods=["POST"])


def correct(request: Request, raw: bytes) -> None:
    verify(SECRET, request.headers, raw)


def ignores_signature(request: Request, raw: bytes) -> None:
    pass


def ignores_timestamp(request: Request, raw: bytes) -> None:
    verify(SECRET, request.headers, raw, tolerance=10**9)


def reserialised(request: Request, raw: bytes) -> None:
    verify(SECRET, request.headers, json.dumps(json.loads(raw)).encode())


def undecoded_secret(request: Request, raw: bytes) -> None:
    h = request.headers
    message = f"{h.get('x-callback-id')}.{h.get('x-callback-timestamp')}.".encode() + raw
    expected = base64.b64encode(hmac.new(SECRET.encode(), message, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected.encode(), h.get("x-callback-signature", "").encode()):
        raise SignatureError("mismatch")


class ThreadedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn's successor to install_signal_handlers; signals belong to pytest's main thread.
        yield


@dataclass
class Handlers:
    base_url: str
    journals: dict[str, Journal]

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}/"


HANDLERS: dict[str, tuple[Check, dict[str, object]]] = {
    "correct": (correct, {}),
    "rejects-replays": (correct, {"replay_status": 409}),
    "ignores-signature": (ignores_signature, {}),
    "ignores-timestamp": (ignores_timestamp, {}),
    "reserialised": (reserialised, {}),
    "undecoded-secret": (undecoded_secret, {}),
}


@pytest.fixture(scope="module")
def handlers() -> Iterator[Handlers]:
    journals = {name: Journal() for name in HANDLERS}
    routes = [
        Mount(f"/{name}", routes=[handler(check, journals[name], **options)])  # type: ignore[arg-type]
        for name, (check, options) in HANDLERS.items()
    ]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = ThreadedServer(uvicorn.Config(Starlette(routes=routes), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.01)
    assert server.started, "uvicorn did not start"
    yield Handlers(f"http://127.0.0.1:{sock.getsockname()[1]}", journals)
    server.should_exit = True
    thread.join(5)
    sock.close()


def failing(url: str) -> set[str]:
    return {result.case.name for result in check_webhook(url, SECRET).failures()}


# --- check_webhook against real handlers ---

def test_correct_handler_passes_and_processes_the_valid_callback_once(handlers: Handlers) -> None:
    journal = handlers.journals["correct"]
    journal.processed.clear()
    report = check_webhook(handlers.url("correct"), SECRET)
    assert report.passed, report.table()
    assert report.failures() == []
    assert [r.accepted for r in report.results] == [c.expect != "reject" for c in CASES]
    assert len(journal.processed) == 1  # the replay was acknowledged, not processed again


def test_assert_webhook_secure_returns_the_report_for_a_correct_handler(handlers: Handlers) -> None:
    report = assert_webhook_secure(handlers.url("correct"), SECRET)
    assert {r.status_code for r in report.results if r.case.expect == "reject"} == {401}


def test_handler_ignoring_the_signature_fails_every_forgery(handlers: Handlers) -> None:
    assert failing(handlers.url("ignores-signature")) == FORGERIES


def test_handler_ignoring_the_timestamp_fails_stale_and_future(handlers: Handlers) -> None:
    assert failing(handlers.url("ignores-timestamp")) == {"stale_timestamp", "future_timestamp"}


def test_handler_verifying_reserialised_json_rejects_the_valid_callback(handlers: Handlers) -> None:
    assert failing(handlers.url("reserialised")) == {"valid"}


def test_handler_keyed_with_the_undecoded_secret_fails(handlers: Handlers) -> None:
    assert failing(handlers.url("undecoded-secret")) == {"valid", "undecoded_secret"}


def test_rejected_replay_is_reported_but_not_a_failure(handlers: Handlers) -> None:
    report = check_webhook(handlers.url("rejects-replays"), SECRET)
    replay = next(r for r in report.results if r.case.name == "replay")
    assert (replay.status_code, replay.accepted, replay.ok) == (409, False, True)
    assert report.passed
    assert "note: retry not acknowledged" in report.table()


def test_assert_webhook_secure_raises_with_the_table(handlers: Handlers) -> None:
    with pytest.raises(AssertionError, match="failed: stale_timestamp, future_timestamp") as info:
        assert_webhook_secure(handlers.url("ignores-timestamp"), SECRET)
    assert "stale_timestamp      reject" in str(info.value)


def test_unreachable_handler_raises_instead_of_passing_the_forgeries() -> None:
    # It used to report every forgery "rejected" (no answer ... ok) and fail only the valid case.
    with CallbackReceiver() as receiver:
        url = receiver.url  # a loopback port nothing listens on once the receiver stops
    with pytest.raises(HandlerUnreachable, match=f"^cannot reach {url}: ConnectError: "):
        check_webhook(url, SECRET)
    with pytest.raises(HandlerUnreachable):
        assert_webhook_secure(url, SECRET)


def _read_request(connection: socket.socket) -> None:
    """Read one whole HTTP request, so the close below never races the client's send."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536) or b"\r\n\r\n"
    head, _, body = data.partition(b"\r\n\r\n")
    lengths = [int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
    length = lengths[0] if lengths else 0
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            return
        body += chunk


@pytest.mark.parametrize("close", ["fin", "reset"])
def test_a_handler_that_hangs_up_without_answering_accepted_nothing(close: str) -> None:
    # Connected, then no HTTP answer: that is not "unreachable", and no forgery got a 2xx. A clean close reaches
    # httpx as RemoteProtocolError, a reset as ReadError: the check reports both as one outcome.
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def hang_up() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                connection, _ = listener.accept()
                connection.settimeout(10)
                _read_request(connection)
                if close == "reset":  # SO_LINGER 0: close() sends RST, not FIN
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                connection.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        report = check_webhook(f"http://127.0.0.1:{listener.getsockname()[1]}/hook", SECRET)
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    [failure] = report.failures()
    assert failure.case.name == "valid" and failure.status_code is None
    assert {r.error for r in report.results} == {"connection closed without a response"}
    assert "no answer (connection closed without a response)" in report.table()


def test_cases_are_sent_as_specified() -> None:
    now = 1_767_225_600.0
    with CallbackReceiver() as receiver:
        check_webhook(receiver.url, SECRET, now=lambda: now)
        calls = dict(zip((c.name for c in CASES), receiver.calls, strict=True))
    valid, replay = calls["valid"], calls["replay"]
    verify(SECRET, valid.headers, valid.body, now=now)
    verify(SECRET, replay.headers, replay.body, now=now)
    assert replay.headers["x-callback-id"] == valid.headers["x-callback-id"]
    ids = [c.headers.get("x-callback-id") for c in calls.values()]
    assert ids.count(None) == 1  # missing_id
    assert len(set(ids) - {None}) == len(CASES) - 2  # all fresh except the replay
    payload = json.loads(valid.body)
    assert valid.body == json.dumps(payload, separators=(",", ":")).encode()
    assert payload["status"] == "completed" and payload["usage"] == {"cost": 0.05, "generated_images": 1}
    assert calls["stale_timestamp"].headers["x-callback-timestamp"] == str(int(now) - 360)
    assert calls["future_timestamp"].headers["x-callback-timestamp"] == str(int(now) + 360)
    assert "x-callback-signature" not in calls["missing_signature"].headers
    reserialised = calls["reserialised_body"]
    assert json.dumps(json.loads(reserialised.body), indent=2).encode() == reserialised.body
    compact = json.dumps(json.loads(reserialised.body), separators=(",", ":")).encode()
    verify(SECRET, reserialised.headers, compact, now=now)  # signed over the compact original
    tampered = calls["tampered_body"]
    with pytest.raises(SignatureError):
        verify(SECRET, tampered.headers, tampered.body, now=now)


def test_send_callback_delivers_a_signed_failed_payload() -> None:
    with CallbackReceiver() as receiver:
        response = send_callback(receiver.url, SECRET, status="failed", task_id="task-1")
        [call] = receiver.calls
    assert response.status_code == 200
    verify(SECRET, call.headers, call.body)
    assert json.loads(call.body) == {"id": "task-1", "status": "failed", "error": "Content policy violation"}


def test_callback_body_is_compact_and_fresh() -> None:
    first, second = callback_body(), callback_body()
    assert b" " not in first
    assert json.loads(first)["images"] == [{"url": "http://127.0.0.1/files/x.png"}]
    assert json.loads(first)["id"] != json.loads(second)["id"]


# --- CLI subcommands ---

def run_cli(argv: list[str]) -> int:
    return cli.main(argv)


VECTORS = json.loads((Path(__file__).parents[2] / "fixtures" / "signing-vectors.json").read_text())
TS = VECTORS["timestamp"]
VECTOR_ARGS = ["--secret", VECTORS["secret"], "--id", VECTORS["callback_id"], "--timestamp", str(TS)]
BODY, SIGNATURE = VECTORS["vectors"][0]["body"], VECTORS["vectors"][0]["signature"]


def test_cli_sign_prints_the_vector_signature(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["sign", *VECTOR_ARGS, "--body", BODY]) == 0
    assert capsys.readouterr().out == SIGNATURE + "\n"


def test_cli_sign_reads_a_body_file_and_secret_from_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body_file = tmp_path / "body.json"
    body_file.write_bytes(BODY.encode())
    monkeypatch.setenv("RUNAPI_CALLBACK_SECRET", VECTORS["secret"])
    assert run_cli(["sign", *VECTOR_ARGS[2:], "--body-file", str(body_file)]) == 0
    assert capsys.readouterr().out.strip() == SIGNATURE


def test_cli_verify_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(BODY.encode())))
    now = str(TS + 10)
    assert run_cli(["verify", *VECTOR_ARGS, "--signature", SIGNATURE, "--now", now]) == 0
    assert capsys.readouterr().out == "ok\n"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (["--signature", VECTORS["vectors"][2]["signature"]], "does not match"),
        (["--signature", SIGNATURE, "--now", str(TS + 301)], "301s old"),
        (["--signature", SIGNATURE, "--tolerance", "5", "--now", str(TS - 6)], "6s ahead"),
        (["--signature", "%%"], "non-base64"),
    ],
)
def test_cli_verify_prints_the_reason(
    extra: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["verify", *VECTOR_ARGS, "--body", BODY, *extra]
    if "--now" not in extra:
        argv += ["--now", str(TS)]
    assert run_cli(argv) == 1
    out = capsys.readouterr().out
    assert out.startswith("invalid: ") and reason in out


def test_cli_without_secret_fails_cleanly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RUNAPI_CALLBACK_SECRET", raising=False)
    assert run_cli(["sign", *VECTOR_ARGS[2:], "--body", BODY]) == 1
    assert "RUNAPI_CALLBACK_SECRET" in capsys.readouterr().err


def test_cli_send_callback_prints_the_status(capsys: pytest.CaptureFixture[str]) -> None:
    with CallbackReceiver() as receiver:
        receiver.respond_with(statuses=[202, 500])
        assert run_cli(["send-callback", receiver.url, "--secret", SECRET, "--status", "failed"]) == 0
        assert run_cli(["send-callback", receiver.url, "--secret", SECRET]) == 1
        statuses = [json.loads(call.body)["status"] for call in receiver.calls]
    assert capsys.readouterr().out == "202\n500\n"
    assert statuses == ["failed", "completed"]


def test_cli_send_callback_reports_connection_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with CallbackReceiver() as receiver:
        url = receiver.url
    assert run_cli(["send-callback", url, "--secret", SECRET]) == 1
    assert capsys.readouterr().err.startswith("runapi-mock: error:")


def test_cli_check_webhook_exit_codes(handlers: Handlers, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["check-webhook", handlers.url("correct"), "--secret", SECRET]) == 0
    assert capsys.readouterr().out.startswith("case")
    assert run_cli(["check-webhook", handlers.url("ignores-signature"), "--secret", SECRET]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_cli_check_webhook_says_cannot_reach_a_handler_that_is_down(capsys: pytest.CaptureFixture[str]) -> None:
    with CallbackReceiver() as receiver:
        url = receiver.url  # a loopback port nothing listens on once the receiver stops
    assert run_cli(["check-webhook", url, "--secret", SECRET]) == cli.UNREACHABLE == 3
    captured = capsys.readouterr()
    assert captured.out == ""  # no table: no case says anything about a handler that got nothing
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"runapi-mock: error: cannot reach {url}: ConnectError")


def test_cli_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run_cli(["sign", *VECTOR_ARGS, "--body", BODY, "--body-file", "x"])
    assert caught.value.code == 2
    assert "--body and --body-file are mutually exclusive" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        run_cli(["verify", *VECTOR_ARGS, "--body", BODY])
    assert caught.value.code == 2
    assert "Missing option '--signature'" in capsys.readouterr().err


def test_cli_generate_secret(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["generate-secret"]) == 0
    assert len(base64.b64decode(capsys.readouterr().out.strip(), validate=True)) == 32


def test_cli_sign_matches_library(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["sign", "--secret", SECRET, "--id", "x", "--timestamp", "1", "--body", "{}"]) == 0
    assert capsys.readouterr().out.strip() == sign(SECRET, "x", 1, b"{}")

