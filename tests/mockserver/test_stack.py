"""The mock serves on the fastest installed stack (uvloop + httptools), and falls back cleanly without them."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import httpx
import pytest

from runapi_mock import Settings, server
from runapi_mock.server import Stack, fastest_stack, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
CREATE = "/api/v1/flux_kontext/text_to_image"
BODY = {"model": "flux-kontext-pro", "prompt": "a red bicycle"}
AUTH = {"Authorization": "Bearer test-key"}


def _served_on(running: server.RunningServer) -> tuple[str, str]:
    """The loop's and the parser's modules, as uvicorn really serves (not as asked)."""
    listener = running.server.servers[0]  # made by the loop's create_server: uvloop's own class on uvloop
    protocol = running.server.config.http_protocol_class
    return type(listener).__module__.split(".")[0], protocol.__module__.rsplit(".", 1)[-1]


def test_the_default_stack_is_uvloop_and_httptools() -> None:
    pytest.importorskip("httptools")
    loop = "uvloop" if sys.platform != "win32" else "asyncio"
    assert fastest_stack() == Stack(loop=loop, http="httptools")
    with serve_in_thread(Settings(port=0, progression="immediate")) as running:  # type: ignore[arg-type]
        assert running.stack == fastest_stack()
        assert _served_on(running) == (loop, "httptools_impl")
        assert httpx.post(running.base_url + CREATE, json=BODY, headers=AUTH).status_code == 200


def test_without_uvloop_and_httptools_the_mock_serves_on_asyncio_and_h11(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if not installed: importing raises ImportError
    monkeypatch.setitem(sys.modules, "httptools", None)
    assert fastest_stack() == Stack(loop="asyncio", http="h11")
    with serve_in_thread(Settings(port=0, progression="immediate")) as running:  # type: ignore[arg-type]
        assert _served_on(running) == ("asyncio", "h11_impl")
        response = httpx.post(running.base_url + CREATE, json=BODY, headers=AUTH)
        assert response.status_code == 200 and response.json()["status"] == "pending"


def _banner(*blocked: str) -> list[str]:
    """The first three banner lines of `runapi-mock serve` with `blocked` modules made unimportable."""
    code = ("import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in blocked)
            + "from runapi_mock.cli import main\nsys.exit(main(['serve', '--port', '0']))\n")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        base_url = lines[0].split()[3]
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=10) as response:
            assert response.status == 200
    finally:
        process.terminate()
        process.wait(timeout=15)
        for pipe in (process.stdout, process.stderr):  # an open pipe warns when collected (-W error)
            if pipe is not None:
                pipe.close()
    return lines


def test_the_banner_names_the_loop_and_parser() -> None:
    pytest.importorskip("uvloop")
    pytest.importorskip("httptools")
    assert _banner()[2] == "server: uvicorn on uvloop (event loop) + httptools (HTTP parser)\n"


def test_the_banner_says_when_the_mock_serves_on_the_slower_fallbacks() -> None:
    line = _banner("uvloop", "httptools")[2]
    assert line.startswith("server: uvicorn on asyncio (event loop) + h11 (HTTP parser)"), line
    assert "install uvicorn[standard]" in line
