"""The bench's sections: each measures one thing (create throughput and latency of every server, startup,
lifecycle, callbacks, memory, the profiles, media renders) and returns plain data for the report;
`Bench.section` keeps one failure from losing the others."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import media_bench
import prism
import throughput
import wiremock
import wrk
from drivers import BODY, CREATE_PATH, drive_create, loadgen
from saturation import median
from servers import BENCH, OUT, Server, fastest_reference_server, free_port, http, mock_server, running
from throughput import Target

WIREMOCK_WARMUP_S = 10.0  # the JVM's JIT: WireMock's rate still climbs through its first ~6 s of load here


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

    def throughput(self) -> dict[str, Any]:
        """The bare reference, the mock, the mock with --state, WireMock and Prism in one interleaved run."""
        duration = max(1, round(self.args.duration))
        loads = {"32": wrk.Load(*wrk.LOAD, duration), "1": wrk.Load(*wrk.LATENCY, duration)}
        others: dict[str, Any] = {"wiremock": self._wiremock_setup(), "prism": self._prism_setup()}
        with tempfile.TemporaryDirectory() as folder:
            targets = [Target("reference", fastest_reference_server()), Target("mock", mock_server(), reset=True),
                       Target("state", mock_server("mock-state", "--state", str(Path(folder) / "state.sqlite")),
                              reset=True)]
            wire = others["wiremock"]
            if "jar" in wire:
                root = Path(folder) / "wiremock"
                wiremock.write_root(root)
                warmup = max(1, round(min(WIREMOCK_WARMUP_S, 4 * self.args.duration)))
                wire["warmup_s"] = warmup
                targets.append(Target("wiremock", wiremock.wiremock_server(wire.pop("java"), wire.pop("jar"), root),
                                      warmup_s=warmup, one_loop=False))
            pr = others["prism"]
            if "node" in pr:
                with running(mock_server()) as mock:
                    _, document = http("GET", mock.port, "/openapi.json")
                targets.append(Target("prism", prism.prism_server(pr["node"], document)))
            data = throughput.interleaved(self.tool, targets, loads, self.args.runs, self.log)
        data["others"] = others
        return data

    def _wiremock_setup(self) -> dict[str, Any]:
        """WireMock's java and jar (installed with npm on a full run), or why it is skipped."""
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
        return {"version": wiremock.WIREMOCK_VERSION, "java_version": wiremock.java_version(java), "java": java,
                "jar": jar}

    def _prism_setup(self) -> dict[str, Any]:
        """Prism's node (prism-cli installed with npm on a full run), or why it is skipped."""
        if self.args.no_prism:
            return {"skipped": "--no-prism"}
        node, npm = prism.tools()
        if not node or not npm:
            return {"skipped": "node/npm not found on PATH"}
        if not prism.installed():
            if self.args.quick:
                return {"skipped": "--quick does not install Prism (run a full `make bench` once)"}
            why = prism.install(npm)
            if why:
                return {"skipped": why}
        return {"version": prism.PRISM_VERSION, "node": node, "node_version": prism.node_version(node)}

    def memory_ceiling(self) -> dict[str, Any]:
        creates = 200_000 if self.args.quick else 1_000_000
        cap = 20_000 if self.args.quick else 100_000
        done = subprocess.run([sys.executable, str(BENCH / "memory_ceiling.py"), "--creates", str(creates),
                               "--cap", str(cap), "--every", str(creates // 10)],
                              capture_output=True, text=True, check=True, timeout=900)
        return dict(json.loads(done.stdout))

    # startup --------------------------------------------------------------------------------------------

    def startup(self) -> dict[str, Any]:
        """Spawn to first /healthz 200, alternating. Both start from compiled bytecode, as an installed package
        (pip compiles site-packages) or any second start does: an editable install's sources are compiled at
        first import, and never cached where PYTHONDONTWRITEBYTECODE is set, so compile them first."""
        compileall = [sys.executable, "-m", "compileall", "-q", str(BENCH.parent / "mockserver"),
                      str(BENCH.parent / "contracts"), str(BENCH)]
        subprocess.run(compileall, check=False, capture_output=True, timeout=300)
        times: dict[str, list[float]] = {"mock": [], "reference": []}
        for _ in range(self.args.startup_runs):
            for name, make in (("mock", mock_server), ("reference", fastest_reference_server)):
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

    # media (issues 22 and 23) ---------------------------------------------------------------------------

    def media_downloads(self) -> dict[str, Any]:
        """First and second downloads of a 1080p and a 4k clip, a 3-minute song and a minute of speech, beside
        their codec floors and the reference serving the same bytes (bench/media_bench.py)."""
        return media_bench.render_downloads(media_bench.ITEMS, 2 if self.args.quick else 5, self.log)

    def media_renders(self) -> dict[str, Any]:
        """wrk's create p99 with no render running and while 8 first downloads of 1080p clips render."""
        return media_bench.creates_while_rendering(self.tool, self.args.runs, max(1, round(self.args.duration)),
                                                   self.log)

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
        report.unlink(missing_ok=True)
        server = Server("mock-profiled", [sys.executable, str(BENCH / "profiling.py"), "--port", str(port),
                                          "--out", str(report)], port)
        with running(server):
            drive_create(self.tool, server, wrk.Load(*wrk.LOAD, 1))  # warm-up, before the profiler starts
            assert server.proc is not None
            server.proc.send_signal(signal.SIGUSR1)  # profiling.py starts its profiler
            load = drive_create(self.tool, server, wrk.Load(*wrk.LOAD, round(self.args.profile_seconds)))
        for _ in range(100):
            if report.exists() and report.stat().st_size:
                break
            time.sleep(0.1)
        return {"load": load, "report": report.read_text() if report.exists() else "(no profile written)"}
