"""Load drivers: wrk for plain create load when it is installed, else bench/loadgen.py (always for the chained
scenarios wrk cannot drive); each a separate process, so the server's CPU time is its own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from typing import Any

from servers import BENCH, KEY, OUT, ROOT, Server

CREATE_PATH = "/api/v1/flux_kontext/text_to_image"
BODY = {"model": "flux-kontext-pro", "prompt": "a red bicycle leaning on a wall"}


def loadgen(url: str, *args: str, timeout: float = 900) -> dict[str, Any]:
    cmd = [sys.executable, str(BENCH / "loadgen.py"), "--url", url, "--key", KEY, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"loadgen failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"wrk latency {text!r}")
    return float(match.group(1)) * _WRK_UNITS[match.group(2)]


def wrk_create(url: str, connections: int, duration: float, body: dict[str, Any]) -> dict[str, Any]:
    payload = json.dumps(body, separators=(",", ":")).replace("\\", "\\\\").replace("'", "\\'")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, dir=OUT) as script:
        script.write(f"wrk.method = \"POST\"\nwrk.body = '{payload}'\n"
                     "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
                     f"wrk.headers[\"Authorization\"] = \"Bearer {KEY}\"\n")
    try:
        done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
                               "--timeout", "10s", "-s", script.name, url + CREATE_PATH],
                              capture_output=True, text=True, timeout=duration + 60)
    finally:
        os.unlink(script.name)
    out = done.stdout
    if done.returncode != 0 or "Requests/sec" not in out:
        raise RuntimeError(f"wrk failed: {out}{done.stderr}")
    requests = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    dist = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"rate": rate, "requests": requests, "errors": errors, "bad": errors,
            "p50_ms": _wrk_ms(dist["50"]), "p99_ms": _wrk_ms(dist["99"]), "tool": "wrk"}


def drive_create(tool: str, server: Server, connections: int, duration: float) -> dict[str, Any]:
    if tool == "wrk":
        return wrk_create(server.url, connections, duration, BODY)
    result = loadgen(server.url, "--scenario", "create", "-c", str(connections), "-d", str(duration),
                     "--body", json.dumps(BODY))
    result["tool"] = "loadgen.py"
    return result
