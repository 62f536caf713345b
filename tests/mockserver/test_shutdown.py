"""Graceful shutdown of `runapi-mock serve`: SIGTERM stops accepting, finishes in-flight requests, reports owed
callbacks.

The in-flight request is real: its headers and half its body are on the socket when SIGTERM lands (the server has
answered "100 Continue", so it is reading that request), and the rest is sent only after the server has stopped
accepting new connections.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CREATE = "/api/v1/flux_kontext/text_to_image"
AUTH = {"Authorization": "Bearer shutdown-key"}
OWED_URL = "http://127.0.0.1:9/never-answers"


def serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("RUNAPI_CALLBACK_SECRET", None)
    process = subprocess.Popen([sys.executable, "-m", "runapi_mock", "serve", "--port", "0", *args], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    banner = process.stdout.readline()
    assert banner.startswith("runapi-mock serving on http://127.0.0.1:"), banner + process.stderr.read()
    return process, banner.split()[3]


def owe_a_callback(base_url: str) -> str:
    """A completed task whose callback waits 600 clock-seconds (delay mode): a delivery still owed at shutdown."""
    with httpx.Client(base_url=base_url, headers=AUTH, timeout=10, trust_env=False) as client:
        created = client.post(CREATE, json={"model": "flux-kontext-pro", "prompt": "owed",
                                            "callback_url": OWED_URL},
                              headers={"X-Mock-Callback-Mode": "delay:600", "X-Mock-Progression": "manual"})
        assert created.status_code == 200, created.text
        task_id = created.json()["id"]
        forced = client.post(f"/_mock/tasks/{task_id}/status", json={"status": "completed"})
        assert forced.status_code == 200, forced.text
        (owed,) = client.get("/_mock/callbacks").json()["deliveries"]
    assert owed["state"] == "pending"
    return str(owed["id"])


def refuses_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def read_response(sock: socket.socket) -> tuple[int, dict[str, object]]:
    data = b""
    while True:  # to EOF: after answering, the server closes the connection it kept open for this request
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


@pytest.mark.parametrize("with_state", [False, True], ids=["in-memory", "with-state"])
def test_sigterm_finishes_in_flight_requests_and_reports_owed_callbacks(tmp_path: Path, with_state: bool) -> None:
    state_args = ["--state", str(tmp_path / "state.sqlite")] if with_state else []
    process, base_url = serve(*state_args)
    try:
        owed_id = owe_a_callback(base_url)
        host, port = urlsplit(base_url).hostname or "", urlsplit(base_url).port or 0
        body = json.dumps({"model": "flux-kontext-pro", "prompt": "sent across a shutdown"}).encode()
        with socket.create_connection((host, port), timeout=10) as in_flight:
            in_flight.sendall(
                f"POST {CREATE} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: {AUTH['Authorization']}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
                .encode()
            )
            # "100 Continue" is sent once the app asks for the body: the request is now in flight.
            assert in_flight.recv(64).startswith(b"HTTP/1.1 100 Continue")
            in_flight.sendall(body[: len(body) // 2])
            process.send_signal(signal.SIGTERM)
            wait_for(lambda: refuses_connections(host, port), 10, "the listener to close")
            in_flight.sendall(body[len(body) // 2:])
            status, answer = read_response(in_flight)
        assert status == 200 and answer["status"] == "pending", answer
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "stopped with 1 callback deliveries pending" in stderr, stderr
    assert owed_id in stderr and OWED_URL in stderr
    if with_state:
        assert "kept in" in stderr and "resume at the next start" in stderr
        restarted, base_url = serve(*state_args)
        try:
            with httpx.Client(base_url=base_url, headers=AUTH, timeout=10, trust_env=False) as client:
                tasks = {t["id"] for t in client.get("/_mock/tasks").json()["tasks"]}
                deliveries = client.get("/_mock/callbacks").json()["deliveries"]
        finally:
            restarted.terminate()
            restarted.communicate(timeout=15)
        assert answer["id"] in tasks  # the request answered during shutdown was kept
        assert [(d["id"], d["state"]) for d in deliveries] == [(owed_id, "pending")]
    else:
        assert "not kept (no --state)" in stderr
