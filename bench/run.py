"""`make bench`: the mock against a bare Starlette reference (and Prism, when npm can install it), on loopback.

    python bench/run.py            # full run (~6-9 minutes on 2 cores), writes bench/RESULTS.md
    python bench/run.py --quick    # smoke run (~1 minute), writes bench/out/RESULTS.quick.md

Servers are separate processes on free 127.0.0.1 ports; load comes from wrk when installed, else from
bench/loadgen.py (also a separate process). Each throughput/latency/CPU figure is the median of --runs runs.
Raw numbers go to bench/out/ (gitignored). Only loopback is ever targeted.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any, Callable, Iterator

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
NODE_DIR = BENCH / ".node"
PRISM_VERSION = "5.14.2"
HOST = "127.0.0.1"
CREATE_PATH = "/api/v1/flux_kontext/text_to_image"
BODY = {"model": "flux-kontext-pro", "prompt": "a red bicycle leaning on a wall"}
KEY = "bench-key"
CONNECTIONS = (1, 32, 128)
BIG_BALANCE = 10 ** 12  # cents: 100k tasks must never hit 402

sys.path.insert(0, str(ROOT))


# -- processes -----------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def http(method: str, port: int, path: str, body: Any = None, timeout: float = 30.0) -> tuple[int, Any]:
    conn = HTTPConnection(HOST, port, timeout=timeout)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {KEY}"}
        if payload is not None:
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
    return Server(name, base + ["serve", "--host", HOST, "--port", str(port), "--progression", "immediate",
                                "--balance", str(BIG_BALANCE), *extra], port)


def reference_server() -> Server:
    port = free_port()
    return Server("reference", [sys.executable, str(BENCH / "reference_app.py"), "--port", str(port)], port)


# -- load ----------------------------------------------------------------------------------------------

def loadgen(url: str, *args: str, timeout: float = 900) -> dict[str, Any]:
    cmd = [sys.executable, str(BENCH / "loadgen.py"), "--url", url, "--key", KEY, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"loadgen failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"wrk latency {text!r}")
    return float(match.group(1)) * _WRK_UNITS[match.group(2)]


def wrk_create(url: str, connections: int, duration: float, body: dict[str, Any]) -> dict[str, Any]:
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, dir=OUT)
    payload = json.dumps(body, separators=(",", ":")).replace("\\", "\\\\").replace("'", "\\'")
    script.write(f"wrk.method = \"POST\"\nwrk.body = '{payload}'\n"
                 "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
                 f"wrk.headers[\"Authorization\"] = \"Bearer {KEY}\"\n")
    script.close()
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


# -- measurements --------------------------------------------------------------------------------------

def median(values: list[float]) -> float | None:
    clean = [v for v in values if v is not None]
    return statistics.median(clean) if clean else None


@dataclass
class Bench:
    args: argparse.Namespace
    tool: str
    results: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def log(self, message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)

    def section(self, name: str, fn: Callable[[], Any]) -> None:
        started = time.perf_counter()
        self.log(f"{name} ...")
        try:
            self.results[name] = fn()
        except Exception as exc:  # one broken section must not lose the others
            self.results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            self.log(f"{name} FAILED: {exc}")
        self.log(f"{name} done in {time.perf_counter() - started:.1f}s")

    # throughput, latency and CPU per 1000 creates -------------------------------------------------------

    def _create_runs(self, server: Server, connections: int, reset: bool) -> dict[str, Any]:
        if reset:
            status, _ = http("POST", server.port, "/_mock/reset?all=1")
            assert status == 200, status
        before = server.cpu_seconds()
        result = drive_create(self.tool, server, connections, self.args.duration)
        used = server.cpu_seconds() - before
        result["cpu_s"] = used
        result["cpu_per_1000_s"] = used / result["requests"] * 1000 if result["requests"] else None
        return result

    @staticmethod
    def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "rate": median([r["rate"] for r in runs]), "p50_ms": median([r["p50_ms"] for r in runs]),
            "p99_ms": median([r["p99_ms"] for r in runs]),
            "cpu_per_1000_s": median([r["cpu_per_1000_s"] for r in runs]),
            "errors": sum(r["errors"] for r in runs) + sum(r.get("bad", 0) for r in runs if r["tool"] != "wrk"),
            "runs": runs,
        }

    def throughput(self, server: Server, reset: bool, connections_list: tuple[int, ...] = CONNECTIONS
                   ) -> dict[str, Any]:
        with running(server):
            drive_create(self.tool, server, 32, 1.0)  # warm-up, discarded
            return {str(c): self._summary([self._create_runs(server, c, reset) for _ in range(self.args.runs)])
                    for c in connections_list}

    def throughput_pair(self) -> dict[str, Any]:
        """Mock and reference alternate run by run, so a machine that speeds up or slows down moves both."""
        mock, reference = mock_server(), reference_server()
        tables: dict[str, dict[str, Any]] = {"mock": {}, "reference": {}}
        with running(mock), running(reference):
            for server in (mock, reference):
                drive_create(self.tool, server, 32, 1.0)  # warm-up, discarded
            for connections in CONNECTIONS:
                runs: dict[str, list[dict[str, Any]]] = {"mock": [], "reference": []}
                for _ in range(self.args.runs):
                    runs["mock"].append(self._create_runs(mock, connections, reset=True))
                    runs["reference"].append(self._create_runs(reference, connections, reset=False))
                for name in tables:
                    tables[name][str(connections)] = self._summary(runs[name])
        self.results["throughput_mock"], self.results["throughput_reference"] = tables["mock"], tables["reference"]
        return {"interleaved": True}

    def throughput_state(self) -> dict[str, Any]:
        """What --state costs: every create commits to SQLite before it is answered."""
        with tempfile.TemporaryDirectory() as folder:
            server = mock_server("mock-state", "--state", str(Path(folder) / "state.sqlite"))
            return self.throughput(server, reset=True, connections_list=(32,))

    def memory_ceiling(self) -> dict[str, Any]:
        creates = 200_000 if self.args.quick else 1_000_000
        cap = 20_000 if self.args.quick else 100_000
        done = subprocess.run([sys.executable, str(BENCH / "memory_ceiling.py"), "--creates", str(creates),
                               "--cap", str(cap), "--every", str(creates // 10)],
                              capture_output=True, text=True, check=True, timeout=900)
        return dict(json.loads(done.stdout))

    # startup --------------------------------------------------------------------------------------------

    def startup(self) -> dict[str, Any]:
        times: dict[str, list[float]] = {"mock": [], "reference": []}
        for _ in range(self.args.startup_runs):
            for name, make in (("mock", mock_server), ("reference", reference_server)):
                server = make()
                with running(server):
                    times[name].append(server.startup_s or 0.0)
        return {name: {"median_s": median(values), "runs": values} for name, values in times.items()}

    # lifecycle ------------------------------------------------------------------------------------------

    def lifecycle(self) -> dict[str, Any]:
        with running(mock_server()) as server:
            loadgen(server.url, "--scenario", "lifecycle", "-c", "8", "-d", "1")  # warm-up
            runs = []
            for _ in range(self.args.runs):
                http("POST", server.port, "/_mock/reset?all=1")
                runs.append(loadgen(server.url, "--scenario", "lifecycle", "-c", "8",
                                    "-d", str(self.args.duration)))
        return {"rate": median([r["rate"] for r in runs]), "p99_ms": median([r["p99_ms"] for r in runs]),
                "bad": sum(r["bad"] + r["errors"] for r in runs), "runs": runs}

    # memory ---------------------------------------------------------------------------------------------

    def memory(self) -> dict[str, Any]:
        small, big = self.args.tasks_small, self.args.tasks_big
        out: dict[str, Any] = {"tasks_small": small, "tasks_big": big}
        with running(mock_server()) as server:
            out["rss_idle_mib"] = server.rss_mib()
            fill = loadgen(server.url, "--scenario", "create", "-c", "32", "--total", str(small),
                           "--body", json.dumps(BODY))
            out["rss_small_mib"], out["fill_small"] = server.rss_mib(), fill
            fill = loadgen(server.url, "--scenario", "create", "-c", "32", "--total", str(big - small),
                           "--body", json.dumps(BODY))
            out["rss_big_mib"], out["fill_big"] = server.rss_mib(), fill
            status, tasks = http("GET", server.port, "/_mock/tasks?limit=1")
            out["tasks_held"] = tasks.get("total") if isinstance(tasks, dict) else None
            status, body = http("POST", server.port, CREATE_PATH, BODY)
            out["create_past_cap_status"] = status
            out["create_past_cap_code"] = body.get("error", {}).get("code") if isinstance(body, dict) else None
        entries = self.args.journal_entries
        extra = entries // 2
        out["journal_entries"] = entries
        with running(mock_server("mock-journal", "--journal-size", str(entries))) as server:
            out["journal_rss_idle_mib"] = server.rss_mib()
            fill = loadgen(server.url, "--scenario", "get", "--path", "/api/v1/me", "-c", "32",
                           "--total", str(entries))
            out["journal_rss_full_mib"], out["journal_fill"] = server.rss_mib(), fill
            loadgen(server.url, "--scenario", "get", "--path", "/api/v1/me", "-c", "32", "--total", str(extra))
            out["journal_rss_after_more_mib"] = server.rss_mib()
            out["journal_extra_entries"] = extra
            status, journal = http("GET", server.port, "/_mock/journal?limit=1")
            out["journal_size"] = journal.get("size") if isinstance(journal, dict) else None
        return out

    # callbacks ------------------------------------------------------------------------------------------

    def callbacks(self) -> dict[str, Any]:
        from runapi_contracts.receiver import CallbackReceiver

        count = self.args.callbacks
        runs = []
        with CallbackReceiver() as receiver, running(mock_server()) as server:
            for _ in range(self.args.runs):
                http("POST", server.port, "/_mock/reset?all=1")
                receiver.clear()
                started = time.perf_counter()
                load = loadgen(server.url, "--scenario", "callback", "-c", "16", "--total", str(count),
                               "--callback-url", receiver.url)
                try:
                    calls = receiver.wait_for(count, timeout=120)
                except AssertionError:
                    calls = receiver.calls
                finished = max((c.received_at for c in calls), default=time.time())
                elapsed = time.perf_counter() - started - (time.time() - finished)
                time.sleep(0.2)
                status, listing = http("GET", server.port, "/_mock/callbacks?limit=10000")
                states: dict[str, int] = {}
                for delivery in listing["deliveries"]:
                    states[delivery["state"]] = states.get(delivery["state"], 0) + 1
                ids = {c.headers.get("x-callback-id") for c in calls}
                runs.append({"tasks": count, "completed": load["units"], "received": len(calls),
                             "distinct_ids": len(ids), "states": states, "elapsed_s": round(elapsed, 3),
                             "rate": count / elapsed if elapsed > 0 else None,
                             "lost": count - states.get("delivered", 0)})
        return {"rate": median([r["rate"] for r in runs]), "lost": sum(r["lost"] for r in runs),
                "runs": runs}

    # prism ----------------------------------------------------------------------------------------------

    def prism(self) -> dict[str, Any]:
        if self.args.no_prism:
            return {"skipped": "--no-prism"}
        node = shutil.which("node")
        npm = shutil.which("npm")
        if not node or not npm:
            return {"skipped": "node/npm not found on PATH"}
        cli = NODE_DIR / "node_modules" / "@stoplight" / "prism-cli" / "dist" / "index.js"
        pkg = NODE_DIR / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
        installed = pkg.exists() and json.loads(pkg.read_text()).get("version") == PRISM_VERSION
        if not installed:
            if self.args.quick:
                return {"skipped": "--quick does not install Prism (run a full `make bench` once)"}
            NODE_DIR.mkdir(exist_ok=True)
            done = subprocess.run([npm, "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund",
                                   "--loglevel=error", f"@stoplight/prism-cli@{PRISM_VERSION}"],
                                  capture_output=True, text=True, timeout=600)
            if done.returncode != 0 or not cli.exists():
                return {"skipped": f"npm install @stoplight/prism-cli@{PRISM_VERSION} failed: "
                                   f"{(done.stderr or done.stdout).strip()[-300:]}"}
        with running(mock_server()) as mock:
            status, document = http("GET", mock.port, "/openapi.json")
        spec = OUT / "openapi.json"
        spec.write_text(json.dumps(document, indent=1))
        port = free_port()
        server = Server("prism", [node, str(cli), "mock", "-h", HOST, "-p", str(port), str(spec)], port,
                        health=CREATE_PATH + "/00000000-0000-4000-8000-000000000000")
        table = self.throughput(server, reset=False)
        return {"version": PRISM_VERSION, "node": subprocess.run([node, "--version"], capture_output=True,
                                                                 text=True).stdout.strip(),
                "startup_s": server.startup_s, "table": table}

    # profile --------------------------------------------------------------------------------------------

    def profile(self) -> dict[str, Any]:
        port = free_port()
        report = OUT / "profile.txt"
        server = Server("mock-profiled", [sys.executable, str(Path(__file__).resolve()), "--profile-child",
                                          str(port), "--profile-out", str(report)], port)
        with running(server):
            load = loadgen(server.url, "--scenario", "create", "-c", "32", "-d", str(self.args.profile_seconds),
                           "--body", json.dumps(BODY))
        for _ in range(100):
            if report.exists() and report.stat().st_size:
                break
            time.sleep(0.1)
        return {"load": load, "report": report.read_text() if report.exists() else "(no profile written)"}


# -- profiling child -----------------------------------------------------------------------------------

def profile_child(port: int, out: Path) -> int:
    """Serve the mock exactly as `runapi-mock serve` does, under pyinstrument (or cProfile), until SIGINT."""
    from runapi_mock.cli import settings_from_args
    from runapi_mock.server import serve_forever

    args = ["--host", HOST, "--port", str(port), "--progression", "immediate", "--balance", str(BIG_BALANCE)]
    settings = settings_from_args(args).replace(callback_secret="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    try:
        from pyinstrument import Profiler
    except ImportError:
        Profiler = None  # noqa: N806
    if Profiler is not None:
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        try:
            serve_forever(settings, lambda url: None)
        except KeyboardInterrupt:
            pass
        session = profiler.stop()
        out.write_text(render_pyinstrument(session))
    else:
        import cProfile
        import io
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        try:
            serve_forever(settings, lambda url: None)
        except KeyboardInterrupt:
            pass
        prof.disable()
        buf = io.StringIO()
        buf.write("profiler: cProfile (pyinstrument not installed)\n\n## by own time\n")
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(25)
        buf.write("\n## by cumulative time\n")
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(40)
        out.write_text(buf.getvalue())
    return 0


IDLE = ("select", "poll", "epoll", "_run_once", "run_forever", "sleep")


def render_pyinstrument(session: Any) -> str:
    """Own and inclusive time per function, as % of the busy (non-idle) samples."""
    root = session.root_frame()
    own: dict[str, float] = {}
    incl: dict[str, float] = {}

    def name(frame: Any) -> str:
        path = (frame.file_path_short or "?").replace(str(ROOT) + "/", "")
        path = re.sub(r".*site-packages/", "", path)
        return f"{frame.function} ({path}:{frame.line_no})"

    idle = 0.0

    def walk(frame: Any, stack: frozenset[str], parent: str) -> None:
        nonlocal idle
        synthetic = frame.function in ("[self]", "[await]") or frame.is_synthetic
        key = parent if synthetic and parent else name(frame)
        if frame.function.endswith(("select", "poll")):
            idle += frame.time  # the event loop waiting for sockets: not work
            return
        own[key] = own.get(key, 0.0) + frame.total_self_time
        if key not in stack and not synthetic:
            incl[key] = incl.get(key, 0.0) + frame.time
        for child in frame.children:
            walk(child, stack | {key}, key)

    walk(root, frozenset(), "")
    busy = max(1e-9, root.time - idle)
    lines = [f"profiler: pyinstrument, {root.time:.2f}s sampled, {busy:.2f}s busy (select/poll waits excluded)",
             "", "## Own time (top 20, % of busy time)"]
    for key, value in sorted(own.items(), key=lambda kv: -kv[1])[:20]:
        lines.append(f"{100 * value / busy:5.1f}%  {key}")
    lines += ["", "## Inclusive time of the project's own functions (top 25, % of busy time)"]
    mine = [(k, v) for k, v in incl.items() if "(mockserver/" in k or "(contracts/" in k]
    for key, value in sorted(mine, key=lambda kv: -kv[1])[:25]:
        lines.append(f"{100 * value / busy:5.1f}%  {key}")
    lines += ["", "## Inclusive time of library functions on the request path (top 25)"]
    libs = [(k, v) for k, v in incl.items() if any(f"({lib}/" in k for lib in
                                                   ("starlette", "uvicorn", "jsonschema", "h11", "json",
                                                    "referencing", "uuid", "httpx"))]
    for key, value in sorted(libs, key=lambda kv: -kv[1])[:25]:
        lines.append(f"{100 * value / busy:5.1f}%  {key}")
    return "\n".join(lines) + "\n"


# -- the report ----------------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    from importlib import metadata

    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for dist in ("runapi-mock", "starlette", "uvicorn", "h11", "httptools", "uvloop", "jsonschema", "httpx",
                 "pyinstrument"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    wrk = shutil.which("wrk")
    wrk_version = ""
    if wrk:
        done = subprocess.run([wrk, "--version"], capture_output=True, text=True)
        wrk_version = (done.stdout or done.stderr).splitlines()[0] if (done.stdout or done.stderr) else "wrk"
    return {"cores": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "implementation": platform.python_implementation(), "kernel": platform.release(),
            "packages": versions, "wrk": wrk_version or "not installed",
            "loadavg_start": os.getloadavg()}


def fmt(value: Any, digits: int = 0, suffix: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{suffix}"
    return f"{value}{suffix}"


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("**met**" if ok else "**missed**")


def report(bench: Bench, started: float) -> str:
    r, a = bench.results, bench.args
    m = r["machine"]
    mock, ref = r.get("throughput_mock", {}), r.get("throughput_reference", {})
    prism = r.get("prism", {})
    ptable = prism.get("table", {}) if isinstance(prism, dict) else {}
    lines = [
        "# runapi-mock benchmark",
        "",
        f"Generated by `python bench/run.py{' --quick' if a.quick else ''}` on "
        f"{dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} in {time.time() - started:.0f} s.",
        "",
        "## Machine",
        "",
        f"- {m['cores']} cores, {m['cpu']}, Linux {m['kernel']}",
        f"- {m['implementation']} {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items()),
        f"- load generator: {bench.tool} ({m['wrk']}); wrk runs 1 thread; loadgen.py is bench/loadgen.py",
        f"- load average at start {', '.join(f'{x:.2f}' for x in m['loadavg_start'])}, at end "
        f"{', '.join(f'{x:.2f}' for x in r.get('loadavg_end', (0, 0, 0)))} (other jobs on the machine add noise)",
        f"- servers, load generator and this script share the {m['cores']} cores; every server is one uvicorn "
        "process (asyncio loop, h11) on 127.0.0.1",
        "",
        f"## Results (each figure the median of {a.runs} runs of {a.duration:g} s unless noted; mock and "
        "reference create runs alternate, run by run)",
        "",
        "| measure | mock | reference | ratio mock/ref | Prism " + PRISM_VERSION + " | target | result |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    targets: dict[str, bool | None] = {}
    for conns in CONNECTIONS:
        mk, rf, pr = mock.get(str(conns), {}), ref.get(str(conns), {}), ptable.get(str(conns), {})
        ratio = mk.get("rate") / rf["rate"] if mk.get("rate") and rf.get("rate") else None
        target, ok = "", None
        if conns == 32:
            target, ok = "mock ≥ 60% of reference", (ratio >= 0.60 if ratio is not None else None)
            targets["throughput"] = ok
        lines.append(f"| create throughput, {conns} conn (req/s) | {fmt(mk.get('rate'))} | {fmt(rf.get('rate'))} "
                     f"| {fmt(ratio and ratio * 100, 0, '%')} | {fmt(pr.get('rate'))} | {target} | {verdict(ok)} |")
    for conns in CONNECTIONS:
        mk, rf, pr = mock.get(str(conns), {}), ref.get(str(conns), {}), ptable.get(str(conns), {})
        target, ok = "", None
        if conns == 32:
            target = "mock p99 < 10 ms"
            ok = mk["p99_ms"] < 10 if mk.get("p99_ms") is not None else None
            targets["p99"] = ok
        lines.append(f"| create latency p50 / p99, {conns} conn (ms) | {fmt(mk.get('p50_ms'), 2)} / "
                     f"{fmt(mk.get('p99_ms'), 2)} | {fmt(rf.get('p50_ms'), 2)} / {fmt(rf.get('p99_ms'), 2)} | "
                     f"| {fmt(pr.get('p50_ms'), 2)} / {fmt(pr.get('p99_ms'), 2)} | {target} | {verdict(ok)} |")
    mk32, rf32, pr32 = mock.get("32", {}), ref.get("32", {}), ptable.get("32", {})
    cpu_ratio = (mk32["cpu_per_1000_s"] / rf32["cpu_per_1000_s"]
                 if mk32.get("cpu_per_1000_s") and rf32.get("cpu_per_1000_s") else None)
    targets["cpu"] = cpu_ratio <= 1.7 if cpu_ratio is not None else None
    lines.append(f"| server CPU per 1000 creates, 32 conn (s) | {fmt(mk32.get('cpu_per_1000_s'), 3)} | "
                 f"{fmt(rf32.get('cpu_per_1000_s'), 3)} | {fmt(cpu_ratio, 2, 'x')} | "
                 f"{fmt(pr32.get('cpu_per_1000_s'), 3)} | mock ≤ 1.7x reference | {verdict(targets['cpu'])} |")
    errors = sum(t.get("errors", 0) for table in (mock, ref) for t in table.values() if isinstance(t, dict))
    st = r.get("startup", {})
    smock = st.get("mock", {}).get("median_s") if isinstance(st, dict) else None
    sref = st.get("reference", {}).get("median_s") if isinstance(st, dict) else None
    targets["startup"] = smock < 1.0 if smock is not None else None
    lines.append(f"| startup to first /healthz 200 (s, median of {a.startup_runs} spawns) | {fmt(smock, 3)} | "
                 f"{fmt(sref, 3)} | | {fmt(prism.get('startup_s') if isinstance(prism, dict) else None, 3)} "
                 f"(1 spawn) | mock < 1 s | {verdict(targets['startup'])} |")
    lc = r.get("lifecycle", {})
    lines.append(f"| full lifecycle per second (create, poll to completed, fetch the image; 8 conn) | "
                 f"{fmt(lc.get('rate'))} | | | | | {'ok' if lc.get('bad') == 0 else fmt(lc.get('bad')) + ' bad'} |")
    cb = r.get("callbacks", {})
    lost = cb.get("lost")
    lines.append(f"| callbacks delivered per second ({a.callbacks} tasks with callback_url, 16 conn; receiver "
                 f"= CallbackReceiver) | {fmt(cb.get('rate'))} | | | | nothing lost | "
                 f"{verdict(lost == 0 if lost is not None else None)} ({fmt(lost)} lost) |")
    mem = r.get("memory", {})
    if "rss_big_mib" in mem:
        per_task = (mem["rss_big_mib"] - mem["rss_small_mib"]) * 1024 * 1024 / (mem["tasks_big"] - mem["tasks_small"])
        journal_growth = mem["journal_rss_after_more_mib"] - mem["journal_rss_full_mib"]
        journal_per = (mem["journal_rss_full_mib"] - mem["journal_rss_idle_mib"]) * 1024 * 1024 / mem["journal_entries"]
        bounded = (journal_growth <= 0.05 * mem["journal_rss_full_mib"] and mem["journal_size"] == mem["journal_entries"]
                   and mem.get("tasks_held") == mem["tasks_big"] and mem.get("create_past_cap_status") == 429) \
            if mem["tasks_big"] >= 100_000 else (journal_growth <= 0.05 * mem["journal_rss_full_mib"])
        ceiling = r.get("memory_ceiling", {})
        samples = ceiling.get("samples", [])
        if samples:
            at_cap = next((s for s in samples if s["tasks"] >= ceiling["cap"]), samples[-1])
            after = [s["rss_mib"] for s in samples if s["creates"] >= at_cap["creates"]]
            flat = max(after) <= 1.10 * at_cap["rss_mib"] and ceiling["refused"] == 0
            bounded = bool(bounded and flat)
        targets["memory"] = bounded
        lines += [
            f"| RSS idle / after {mem['tasks_small']:,} / {mem['tasks_big']:,} tasks (MiB; 1 run) | "
            f"{mem['rss_idle_mib']:.0f} / {mem['rss_small_mib']:.0f} / {mem['rss_big_mib']:.0f} "
            f"(≈{per_task / 1024:.1f} KiB per task) | | | | | |",
            f"| RSS after {mem['journal_entries']:,} journal entries, then +{mem['journal_extra_entries']:,} more "
            f"(MiB; --journal-size {mem['journal_entries']}) | {mem['journal_rss_full_mib']:.0f} → "
            f"{mem['journal_rss_after_more_mib']:.0f} (≈{journal_per:.0f} B per entry) | | | | memory bounded | "
            f"{verdict(bounded)} |",
        ]
        if samples:
            shown = samples[1::2]
            points = ", ".join(f"{sample['creates'] // 1000}k" for sample in shown)
            values = " / ".join(f"{sample['rss_mib']:.0f}" for sample in shown)
            lines.append(
                f"| RSS over {ceiling['creates']:,} creates (engine in-process, cap {ceiling['cap']:,} tasks, tasks "
                f"finishing on the clock; MiB at {points}) | {values} (max {max(after):.0f} after the cap was "
                f"reached at {at_cap['rss_mib']:.0f}; {ceiling['refused']} refused) | | | | memory bounded | "
                f"{verdict(flat)} |")
    else:
        targets["memory"] = None
        lines.append(f"| memory | {mem.get('error', '—')} | | | | memory bounded | — |")
    stt = r.get("throughput_state", {}).get("32", {})
    if stt.get("rate"):
        ratio_state = stt["rate"] / rf32["rate"] if rf32.get("rate") else None
        lines.insert(lines.index(next(l for l in lines if l.startswith("| server CPU per 1000"))) + 1,
                     f"| create throughput with --state (SQLite, commit per create), 32 conn (req/s; p99 ms) | "
                     f"{fmt(stt['rate'])}; {fmt(stt.get('p99_ms'), 2)} | {fmt(rf32.get('rate'))} | "
                     f"{fmt(ratio_state and ratio_state * 100, 0, '%')} | | (no target: opt-in) | — |")
    lines += ["", f"Errors or non-2xx answers during the create runs: {errors}."]
    if isinstance(prism, dict) and prism.get("skipped"):
        lines.append(f"Prism: skipped — {prism['skipped']}.")
    elif isinstance(prism, dict) and prism.get("error"):
        lines.append(f"Prism: failed — {prism['error']}.")
    elif ptable:
        perr = sum(t.get("errors", 0) for t in ptable.values())
        lines.append(f"Prism {PRISM_VERSION} (node {prism.get('node')}) mocks the mock's own /openapi.json "
                     f"(saved to bench/out/openapi.json); static examples, request validation on; "
                     f"{perr} non-2xx/errors in its runs.")
    met = [k for k, v in targets.items() if v]
    missed = [k for k, v in targets.items() if v is False]
    lines += ["", f"Targets met: {', '.join(met) or 'none'}. Missed: {', '.join(missed) or 'none'}."]

    lines += ["", "## Before and after the profile fixes (32 connections)", "",
              "Before: the full run of 2026-11-21 22:13 UTC at commit 92fd4d6 (same machine, same harness, runs not "
              "interleaved). After: this run.", "",
              "| figure | before | after | target |", "| --- | ---: | ---: | --- |"]
    ratio32 = mk32["rate"] / rf32["rate"] if mk32.get("rate") and rf32.get("rate") else None
    after = {"throughput": ratio32 and ratio32 * 100, "p99": mk32.get("p99_ms"), "cpu": cpu_ratio}
    for key, label, unit, digits, target in BEFORE_AFTER:
        lines.append(f"| {label} | {fmt(BEFORE[key], digits, unit)} | {fmt(after[key], digits, unit)} | {target} |")
    lines += ["", "## Memory details", ""]
    if "rss_big_mib" in mem:
        fs, fb = mem["fill_small"], mem["fill_big"]
        lines += [
            f"- Filling {mem['tasks_small']:,} tasks ran at {fs['rate']:,.0f} creates/s; the next "
            f"{mem['tasks_big'] - mem['tasks_small']:,} at {fb['rate']:,.0f} creates/s (32 conn, loadgen.py). "
            "Tasks created and never read stay `pending` under immediate progression and keep a credit "
            "reservation.",
            f"- Tasks held after the fill: {mem.get('tasks_held')}; one more create then answered "
            f"{mem.get('create_past_cap_status')} `{mem.get('create_past_cap_code')}` "
            "(max_tasks_per_namespace = 100,000: the per-namespace cap holds; across namespaces the bound is "
            "100,000 x max_namespaces 1,000).",
            f"- Journal: {mem['journal_size']:,} entries held at capacity {mem['journal_entries']:,} "
            f"(GET /api/v1/me requests); RSS idle {mem['journal_rss_idle_mib']:.0f} MiB, full "
            f"{mem['journal_rss_full_mib']:.0f} MiB, after {mem['journal_extra_entries']:,} more requests "
            f"{mem['journal_rss_after_more_mib']:.0f} MiB: the ring buffer stops growing at its size.",
        ]
    prof = r.get("profile", {})
    lines += ["", "## Profile of the create path", ""]
    if "report" in prof:
        load = prof["load"]
        lines += [f"The mock served under the profiler while loadgen.py sent creates for {a.profile_seconds:g} s "
                  f"at 32 connections ({load['units']:,} creates at {load['rate']:,.0f}/s under the profiler; the "
                  "namespace is not reset meanwhile, so pending tasks accumulate as in a long test run).",
                  "", "```", prof["report"].rstrip(), "```", ""]
        lines += PROFILE_READING
    else:
        lines.append(f"Profile failed: {prof.get('error')}")
    lines += ["", "## How to reproduce", "",
              "```sh",
              "make install            # the venv with runapi-mock and its dependencies",
              "apt-get install -y wrk  # optional; without it bench/loadgen.py generates the load",
              ".venv/bin/pip install pyinstrument  # optional; without it the profile uses cProfile",
              "make bench              # = .venv/bin/python bench/run.py  (full run, writes this file)",
              ".venv/bin/python bench/run.py --quick   # smoke run, writes bench/out/RESULTS.quick.md",
              "```", "",
              "Options: `--runs N` (runs per figure), `--duration S` (seconds per run), `--loadgen wrk|python`, "
              "`--no-prism`, `--journal-size N` (journal entries for the memory figure), `--tasks N` (tasks for "
              "the big memory figure). Prism is installed with npm into bench/.node (gitignored) on the first "
              "full run and reused afterwards. Raw numbers: bench/out/results.json; server logs: bench/out/*.log.",
              ""]
    return "\n".join(lines)


BEFORE = {"throughput": 41.0, "p99": 29.12, "cpu": 2.66}  # bench/RESULTS.md of 2026-11-21 22:13 UTC, commit 92fd4d6
BEFORE_AFTER = (("throughput", "create throughput, mock / reference", "%", 0, "≥ 60%"),
                ("p99", "create latency p99, mock (ms)", "", 2, "< 10 ms"),
                ("cpu", "server CPU per 1000 creates, mock / reference", "x", 2, "≤ 1.7x"))
PROFILE_READING = ["What the profile shows and what to change: see bench/README.md (\"Reading the profile\")."]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (median); default 3, quick 1")
    parser.add_argument("--duration", type=float, default=None, help="seconds per run; default 5, quick 1")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--no-prism", action="store_true")
    parser.add_argument("--journal-size", type=int, default=None, help="journal entries for the memory figure")
    parser.add_argument("--tasks", type=int, default=None, help="tasks for the big memory figure (100000)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--profile-child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.profile_child is not None:
        return profile_child(args.profile_child, args.profile_out)

    args.runs = args.runs or (1 if args.quick else 3)
    args.duration = args.duration or (1.0 if args.quick else 5.0)
    args.startup_runs = 2 if args.quick else 5
    args.tasks_big = args.tasks or (5_000 if args.quick else 100_000)
    args.tasks_small = min(10_000, args.tasks_big // 5) if args.quick else 10_000
    args.journal_entries = args.journal_size or (5_000 if args.quick else 100_000)
    args.callbacks = 200 if args.quick else 2_000
    args.profile_seconds = 2.0 if args.quick else 8.0
    out = args.out or (OUT / "RESULTS.quick.md" if args.quick else BENCH / "RESULTS.md")
    wrk = shutil.which("wrk")
    if args.loadgen == "wrk" and not wrk:
        parser.error("--loadgen wrk: wrk is not installed")
    tool = "wrk" if wrk and args.loadgen != "python" else "python"
    OUT.mkdir(exist_ok=True)
    started = time.time()
    bench = Bench(args, tool)
    bench.results["machine"] = machine()
    bench.section("throughput", bench.throughput_pair)
    bench.section("startup", bench.startup)
    bench.section("lifecycle", bench.lifecycle)
    bench.section("callbacks", bench.callbacks)
    bench.section("throughput_state", bench.throughput_state)
    bench.section("memory", bench.memory)
    bench.section("memory_ceiling", bench.memory_ceiling)
    bench.section("prism", bench.prism)
    bench.section("profile", bench.profile)
    bench.results["loadavg_end"] = os.getloadavg()
    (OUT / ("results.quick.json" if args.quick else "results.json")).write_text(
        json.dumps(bench.results, indent=1, default=str))
    out.write_text(report(bench, started))
    bench.log(f"wrote {out} in {time.time() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
