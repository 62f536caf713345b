"""wrk, the load generator of every throughput and latency figure: its command, the Lua script that POSTs the
bench's create body, its output parsed, and its own CPU time (so a run can show wrk was not the bottleneck).

wrk (C, epoll, keep-alive) is used instead of bench/loadgen.py because a Python generator on the same two cores
caps the bare reference near its own speed and squeezes every ratio toward 1 (issue 24).
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Any

# (threads, connections) of the two loads: throughput under load, and latency one request at a time.
LOAD = (2, 32)
LATENCY = (1, 1)
_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


@dataclass(frozen=True)
class Load:
    threads: int
    connections: int
    duration_s: int

    def args(self) -> list[str]:
        return [f"-t{self.threads}", f"-c{self.connections}", f"-d{self.duration_s}s"]


def lua_string(text: str) -> str:
    """`text` as a double-quoted Lua string literal (backslash, quote and control bytes escaped)."""
    out = []
    for char in text:
        if char in '\\"':
            out.append("\\" + char)
        elif ord(char) < 32 or ord(char) == 127:
            out.append(f"\\{ord(char):03d}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def lua_script(body: dict[str, Any], key: str) -> str:
    """The wrk script: every request a POST of `body` as compact JSON (the bytes loadgen.py sends)."""
    payload = json.dumps(body, separators=(",", ":"))
    return (f"wrk.method = \"POST\"\nwrk.body = {lua_string(payload)}\n"
            "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
            f"wrk.headers[\"Authorization\"] = {lua_string('Bearer ' + key)}\n")


def latency_ms(text: str) -> float:
    """A wrk duration (`812.00us`, `4.21ms`, `1.02s`, `1.50m`) in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"not a wrk latency: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse(output: str) -> dict[str, Any]:
    """wrk's `--latency` report: requests, rate, p50/p75/p90/p99 (ms), errors (socket errors + non-2xx/3xx)."""
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not done or not rate:
        raise ValueError(f"no wrk summary in: {output[-500:]!r}")
    dist = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.M))
    if "50" not in dist or "99" not in dist:
        raise ValueError("no latency distribution (was wrk run with --latency?)")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return {"requests": int(done.group(1)), "elapsed_s": latency_ms(done.group(2) + done.group(3)) / 1e3,
            "rate": float(rate.group(1)), "errors": errors,
            **{f"p{q}_ms": latency_ms(v) for q, v in dist.items()}}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(url: str, load: Load, body: dict[str, Any], key: str, scratch: str | None = None) -> dict[str, Any]:
    """One wrk run against `url` (the full create URL); its parsed report plus wrk's CPU share per thread."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, dir=scratch) as script:
        script.write(lua_script(body, key))
    cpu_before, started = _children_cpu(), time.perf_counter()
    try:
        done = subprocess.run(["wrk", *load.args(), "--latency", "--timeout", "10s", "-s", script.name, url],
                              capture_output=True, text=True, timeout=load.duration_s + 60)
    finally:
        os.unlink(script.name)
    wall, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    result = parse(done.stdout)
    result.update(tool="wrk", threads=load.threads, connections=load.connections,
                  wrk_cpu_share=cpu / (wall * load.threads) if wall > 0 else None)
    return result


def version() -> str | None:
    """`wrk --version`'s first line, or None when wrk is not on PATH."""
    exe = shutil.which("wrk")
    if not exe:
        return None
    done = subprocess.run([exe, "--version"], capture_output=True, text=True)
    lines = (done.stdout or done.stderr).splitlines()
    return lines[0].split(" Copyright")[0].strip() if lines else "wrk"
