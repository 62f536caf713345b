"""Load drivers, each a separate process so the server's CPU time is its own: wrk (bench/wrk.py) for every
create throughput and latency figure; bench/loadgen.py only for what wrk cannot do (the chained lifecycle and
callback scenarios, and filling the mock with an exact number of tasks for the memory figures)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import wrk
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


def drive_create(tool: str, server: Server, load: wrk.Load) -> dict[str, Any]:
    """One create run at `load`: wrk when installed; else loadgen.py (figures kept, ratios refused)."""
    if tool == "wrk":
        OUT.mkdir(exist_ok=True)
        return wrk.run(server.url + CREATE_PATH, load, BODY, KEY, scratch=str(OUT))
    result = loadgen(server.url, "--scenario", "create", "-c", str(load.connections), "-d", str(load.duration_s),
                     "--body", json.dumps(BODY))
    result.update(tool="loadgen.py", threads=1, connections=load.connections, wrk_cpu_share=None)
    result["errors"] = result.get("errors", 0) + result.get("bad", 0)
    return result
