"""`make bench`: the mock against a bare Starlette reference (and Prism and WireMock, when npm can install them).

    python bench/run.py            # full run (~6-9 minutes on 2 cores), writes bench/RESULTS.md
    python bench/run.py --quick    # smoke run (~1 minute), writes bench/out/RESULTS.quick.md
    python bench/run.py --only media   # some sections alone (~1-2 minutes), writes bench/out/RESULTS.only.md

Servers are separate processes on free 127.0.0.1 ports; every create throughput and latency figure comes from wrk
(`make bench` installs it; without it bench/loadgen.py stands in and no ratio is reported), the chained scenarios
from bench/loadgen.py. Each throughput/latency/CPU figure is the median of --runs runs.
Raw numbers go to bench/out/ (gitignored). Only loopback is ever targeted.

The parts: servers.py (processes), drivers.py (load), sections.py (what is measured), report.py (RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from report import cpu_clock, machine, previous_figures, report
from sections import Bench
from servers import BENCH, OUT, ROOT

sys.path.insert(0, str(ROOT))


SECTIONS = ("throughput", "startup", "lifecycle", "callbacks", "memory", "memory_ceiling", "media_downloads",
            "media_renders", "profile", "state_profile")  # run in this order
GROUPS = {"media": ("media_downloads", "media_renders"), **{name: (name,) for name in SECTIONS}}


def chosen(only: str | None) -> list[str]:
    """The sections to run, in SECTIONS' order: all of them, or those `--only` names (a group names several)."""
    if not only:
        return list(SECTIONS)
    names = {part.strip() for part in only.split(",") if part.strip()}
    unknown = sorted(names - set(GROUPS))
    if unknown or not names:
        raise ValueError(f"--only: unknown section(s) {', '.join(unknown) or '(none given)'}; choose from "
                         f"{', '.join(GROUPS)}")
    wanted = {section for name in names for section in GROUPS[name]}
    return [name for name in SECTIONS if name in wanted]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (median); default 3, quick 1")
    parser.add_argument("--duration", type=float, default=None, help="seconds per run; default 5, quick 1")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--no-prism", action="store_true")
    parser.add_argument("--no-wiremock", action="store_true")
    parser.add_argument("--journal-size", type=int, default=None, help="journal entries for the memory figure")
    parser.add_argument("--tasks", type=int, default=None, help="tasks for the big memory figure (100000)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--only", default=None, metavar="SECTIONS",
                        help=f"comma-separated sections to run alone ({', '.join(GROUPS)}); writes "
                             "bench/out/RESULTS.only.md, never bench/RESULTS.md")
    parser.add_argument("--report-from", type=Path, default=None, metavar="JSON",
                        help="measure nothing: rewrite the report from a run's bench/out/results.json")
    args = parser.parse_args(argv)
    try:
        sections = chosen(args.only)
    except ValueError as exc:
        parser.error(str(exc))

    args.runs = args.runs or (1 if args.quick else 3)
    args.duration = args.duration or (1.0 if args.quick else 5.0)
    args.startup_runs = 2 if args.quick else 5
    args.tasks_big = args.tasks or (5_000 if args.quick else 100_000)
    args.tasks_small = min(10_000, args.tasks_big // 5) if args.quick else 10_000
    args.journal_entries = args.journal_size or (5_000 if args.quick else 100_000)
    args.callbacks = 200 if args.quick else 2_000
    args.profile_seconds = 2.0 if args.quick else 8.0
    out = args.out or (OUT / "RESULTS.quick.md" if args.quick else OUT / "RESULTS.only.md" if args.only
                       else BENCH / "RESULTS.md")
    wrk = shutil.which("wrk")
    if not wrk:
        print("bench: wrk is not installed (apt-get install wrk): bench/loadgen.py generates the create load and "
              "the report gives no ratio to the reference", file=sys.stderr)
    if args.loadgen == "wrk" and not wrk:
        parser.error("--loadgen wrk: wrk is not installed")
    tool = "wrk" if wrk and args.loadgen != "python" else "python"
    OUT.mkdir(exist_ok=True)
    if args.report_from:
        saved = json.loads(args.report_from.read_text())
        bench = Bench(args, saved.get("tool", tool), results=saved)
        out.write_text(report(bench, time.time() - saved.get("elapsed_s", 0), saved.get("before")))
        bench.log(f"wrote {out} from {args.report_from}")
        return 0
    before = previous_figures(BENCH / "RESULTS.md")  # read now: a full run replaces it
    started = time.time()
    bench = Bench(args, tool)
    bench.results.update(tool=tool, before=before)
    bench.results["machine"] = machine()
    for name in sections:
        bench.section(name, getattr(bench, name))
    bench.results["sections"] = sections
    bench.results["loadavg_end"] = os.getloadavg()
    bench.results["cpu_end"] = cpu_clock()
    bench.results["elapsed_s"] = round(time.time() - started)
    (OUT / ("results.quick.json" if args.quick else "results.only.json" if args.only else "results.json")).write_text(
        json.dumps(bench.results, indent=1, default=str))
    out.write_text(report(bench, started, before))
    bench.log(f"wrote {out} in {time.time() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
