"""The bench's sections: each measures one thing (throughput, startup, lifecycle, callbacks, memory,
Prism, the profile) and returns plain data for the report; `Bench.section` keeps one failure from losing
the others."""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wiremock
from drivers import BODY, CREATE_PATH, drive_create, loadgen
from servers import (
    BENCH,
    HOST,
    OUT,
    Server,
    fastest_reference_server,
    free_port,
    http,
    mock_server,
    reference_server,
    running,
)

NODE_DIR = BENCH / ".node"
PRISM_VERSION = "5.14.2"
CONNECTIONS = (1, 32, 128)
WIREMOCK_WARMUP_S = 10.0  # the JVM's JIT: WireMock's rate still climbs through its first ~6 s of load here


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

    def throughput(self, server: Server, reset: bool, connections_list: tuple[int, ...] = CONNECTIONS,
                   warmup_s: float = 1.0) -> dict[str, Any]:
        with running(server):
            drive_create(self.tool, server, 32, warmup_s)  # warm-up, discarded
            return {str(c): self._summary([self._create_runs(server, c, reset) for _ in range(self.args.runs)])
                    for c in connections_list}

    def throughput_pair(self) -> dict[str, Any]:
        """The mock, the bare reference on the mock's stack, the bare reference on the fastest stack (uvloop +
        httptools) and, at 32 connections, the mock with --state: they alternate run by run, so a machine that
        speeds up or slows down moves them all."""
        with tempfile.TemporaryDirectory() as folder:
            servers = {"mock": mock_server(), "reference": reference_server(),
                       "reference_fastest": fastest_reference_server(),
                       "state": mock_server("mock-state", "--state", str(Path(folder) / "state.sqlite"))}
            tables: dict[str, dict[str, Any]] = {name: {} for name in servers}
            with contextlib.ExitStack() as stack:
                for server in servers.values():
                    stack.enter_context(running(server))
                    drive_create(self.tool, server, 32, 1.0)  # warm-up, discarded
                for connections in CONNECTIONS:
                    names = [name for name in servers if name != "state" or connections == 32]
                    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
                    for _ in range(self.args.runs):
                        for name in names:
                            reset = name in ("mock", "state")
                            runs[name].append(self._create_runs(servers[name], connections, reset=reset))
                    for name in names:
                        tables[name][str(connections)] = self._summary(runs[name])
        self.results["throughput_mock"], self.results["throughput_reference"] = tables["mock"], tables["reference"]
        self.results["throughput_reference_fastest"] = tables["reference_fastest"]
        self.results["throughput_state_interleaved"] = tables["state"]
        return {"interleaved": True}

    def throughput_state(self) -> dict[str, Any]:
        """What --state costs on its own (group commit: the creates of a batch share one SQLite commit)."""
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
                _, listing = http("GET", server.port, "/_mock/callbacks?limit=10000")
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
            _, document = http("GET", mock.port, "/openapi.json")
        spec = OUT / "openapi.json"
        spec.write_text(json.dumps(document, indent=1))
        port = free_port()
        server = Server("prism", [node, str(cli), "mock", "-h", HOST, "-p", str(port), str(spec)], port,
                        health=CREATE_PATH + "/00000000-0000-4000-8000-000000000000")
        table = self.throughput(server, reset=False)
        return {"version": PRISM_VERSION, "node": subprocess.run([node, "--version"], capture_output=True,
                                                                 text=True).stdout.strip(),
                "startup_s": server.startup_s, "table": table}

    # wiremock -------------------------------------------------------------------------------------------

    def wiremock(self) -> dict[str, Any]:
        """WireMock (the npm package's bundled jar on the machine's java) answering the create route from a stub
        mapping, journal on as by default; the JVM gets a longer warm-up (its JIT needs several seconds)."""
        if self.args.no_wiremock:
            return {"skipped": "--no-wiremock"}
        java, npm = wiremock.tools()
        if not java:
            return {"skipped": "java not found on PATH"}
        jar = wiremock.installed_jar()
        if jar is None:
            if self.args.quick:
                return {"skipped": "--quick does not install WireMock (run a full `make bench` once)"}
            if not npm:
                return {"skipped": "npm not found on PATH"}
            jar, why = wiremock.install(npm)
            if jar is None:
                return {"skipped": why}
        with tempfile.TemporaryDirectory() as folder:
            wiremock.write_root(Path(folder))
            server = wiremock.wiremock_server(java, jar, Path(folder))
            warmup = min(WIREMOCK_WARMUP_S, 4 * self.args.duration)
            table = self.throughput(server, reset=False, warmup_s=warmup)
        return {"version": wiremock.WIREMOCK_VERSION, "java": wiremock.java_version(java),
                "startup_s": server.startup_s, "warmup_s": warmup, "table": table}

    # profile --------------------------------------------------------------------------------------------

    def state_profile(self) -> dict[str, Any]:
        """bench/state_profile.py: --state's cost per create, in-process, and its cProfile (the engine's thread)."""
        creates = 1000 if self.args.quick else 5000
        done = subprocess.run([sys.executable, str(BENCH / "state_profile.py"), "--creates", str(creates)],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            return {"error": done.stderr.strip()[-500:]}
        return {"report": done.stdout, "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}

    def profile(self) -> dict[str, Any]:
        port = free_port()
        report = OUT / "profile.txt"
        server = Server("mock-profiled", [sys.executable, str(BENCH / "profiling.py"), "--port", str(port),
                                          "--out", str(report)], port)
        with running(server):
            load = loadgen(server.url, "--scenario", "create", "-c", "32", "-d", str(self.args.profile_seconds),
                           "--body", json.dumps(BODY))
        for _ in range(100):
            if report.exists() and report.stat().st_size:
                break
            time.sleep(0.1)
        return {"load": load, "report": report.read_text() if report.exists() else "(no profile written)"}
