"""Process management for the bench: servers on free loopback ports, started as a user starts them, and their
CPU time and memory read from /proc."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
HOST = "127.0.0.1"
KEY = "bench-key"
BIG_BALANCE = 10 ** 12  # cents: 100k tasks must never hit 402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def http(method: str, port: int, path: str, body: Any = None, timeout: float = 30.0,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    conn = HTTPConnection(HOST, port, timeout=timeout)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {KEY}", **(headers or {})}
        if payload is not None or method != "GET":  # the mock's admin writes must say JSON, bodiless ones too
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        data = response.read()
        try:
            return response.status, json.loads(data)
        except ValueError:
            return response.status, data
    finally:
        conn.close()


@dataclass
class Server:
    name: str
    cmd: list[str]
    port: int
    health: str = "/healthz"
    proc: subprocess.Popen[bytes] | None = None
    startup_s: float | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 60.0) -> Server:
        OUT.mkdir(exist_ok=True)
        self.log = OUT / f"{self.name}.log"
        started = time.perf_counter()
        # PYTHONPATH: the checkout's packages win over whatever the venv's editable install maps.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env,
                                         start_new_session=True)
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log}")
            try:
                status, body = http("GET", self.port, self.health, timeout=1.0)
            except OSError:
                status, body = 0, None
            if 200 <= status < 400:
                self.startup_s = time.perf_counter() - started
                return self
            if status >= 500:
                self.stop()
                raise RuntimeError(f"{self.name} answered {status} on {self.health}: {str(body)[:300]}")
            time.sleep(0.002)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer {self.health} within {timeout}s; see {self.log}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def rss_mib(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


def mock_server(name: str = "mock", *extra: str, port: int | None = None) -> Server:
    port = port or free_port()
    exe = Path(sys.executable).with_name("runapi-mock")
    base = [str(exe)] if exe.exists() else [sys.executable, "-m", "runapi_mock"]
    return Server(name, base + ["serve", "--quiet", "--host", HOST, "--port", str(port), "--progression", "immediate",
                                "--balance", str(BIG_BALANCE), *extra], port)


def reference_server(name: str = "reference", loop: str = "auto", http: str = "auto") -> Server:
    """The bare Starlette endpoint; `auto` picks what the mock picks (uvloop and httptools when installed)."""
    port = free_port()
    return Server(name, [sys.executable, str(BENCH / "reference_app.py"), "--port", str(port), "--loop", loop,
                         "--http", http], port)


def fastest_reference_server() -> Server:
    """The users' real alternative: bare Starlette on uvicorn with uvloop and httptools."""
    return reference_server("reference-fastest", loop="uvloop", http="httptools")
