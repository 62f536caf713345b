"""Resident memory over a million creates: does retention plus the per-namespace cap hold a ceiling?

    python bench/memory_ceiling.py [--creates 1000000] [--cap 100000] [--every 100000]

Drives the task engine in-process (no HTTP: a million creates over a socket would take ten minutes here), the
way the server does: validated bodies, `auto` progression on a namespace clock advanced one second per thousand
creates, so tasks finish and the oldest finished ones are forgotten when the cap is reached. Prints one JSON
object: RSS (MiB) sampled every --every creates, tasks held, and creates refused.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runapi_contracts.validate import check_request
from runapi_mock.engine.tasks import TaskEngine
from runapi_mock.errors import MockError
from runapi_mock.settings import Settings

BODY = {"model": "flux-kontext-pro", "prompt": "a red bicycle leaning on a wall"}


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(creates: int, cap: int, every: int) -> dict[str, object]:
    settings = Settings(max_tasks_per_namespace=cap, balance_cents=10 ** 12, frozen_clock=True)
    engine = TaskEngine(settings)
    ns = engine.namespace("bench")
    samples = [{"creates": 0, "rss_mib": round(rss_mib(), 1), "tasks": 0}]
    refused = 0
    started = time.perf_counter()
    for index in range(1, creates + 1):
        body, violations = check_request("flux_kontext", "text_to_image", dict(BODY))
        assert not violations, violations
        try:
            engine.create(ns, "bench-key", "flux_kontext", "text_to_image", body, origin="http://127.0.0.1:8787")
        except MockError:
            refused += 1
        if index % 1000 == 0:
            ns.clock.advance(1.0)  # auto timings are 2 s + 10 s: tasks finish a dozen thousand creates later
            engine.tick()
        if index % every == 0:
            samples.append({"creates": index, "rss_mib": round(rss_mib(), 1), "tasks": len(ns.tasks)})
    account = ns.ledger.snapshot()["bench-key"]
    return {"creates": creates, "cap": cap, "refused": refused, "seconds": round(time.perf_counter() - started, 1),
            "samples": samples, "reserved_microcents": account["reserved_microcents"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=1_000_000)
    parser.add_argument("--cap", type=int, default=Settings().max_tasks_per_namespace)
    parser.add_argument("--every", type=int, default=100_000)
    args = parser.parse_args()
    print(json.dumps(run(args.creates, args.cap, args.every)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
