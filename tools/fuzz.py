"""`make fuzz`: `st run --checks all` over every operation of the mock's `/openapi.json`, every phase.

The mock is served on a free loopback port in this process (immediate progression, one key, so `ignored_auth`
has a wrong key to be refused; a funded account); schemathesis runs beside it with tests/e2e/fuzz_hooks.py and
tests/e2e/schemathesis.toml (each says what it changes and why) and a fixed seed, from a scratch directory so
its crash cache never lands in the repository. Examples per operation: RUNAPI_FUZZ_EXAMPLES (default 50).
Extra arguments go to `st run` (e.g. `ARGS='--include-path /v1/files'`).
Prints what it ran and the CPU both sides used; the exit status is schemathesis's (0: no failure).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from runapi_mock.engine.lifecycle import Progression
from runapi_mock.serving.server import serve_in_thread
from runapi_mock.settings import Settings

KEY = "test-key"
SEED = 19
ROOT = Path(__file__).resolve().parent.parent
HOOKS = ROOT / "tests" / "e2e" / "fuzz_hooks.py"
CONFIG = ROOT / "tests" / "e2e" / "schemathesis.toml"  # what it sets, and why, is written there
# A funded account: thousands of creates would spend the default 5000 cents, and every later create would be a
# (right) 402 that positive_data_acceptance cannot tell from a refusal of valid data.
BALANCE_CENTS = 10**12


def main(extra: list[str]) -> int:
    examples = int(os.environ.get("RUNAPI_FUZZ_EXAMPLES") or 50)
    running = serve_in_thread(Settings(port=0, progression=Progression.parse("immediate"), api_keys=(KEY,),
                                       balance_cents=BALANCE_CENTS, quiet=True))
    command = [str(Path(sys.executable).with_name("st")), "--config-file", str(CONFIG), "run",
               f"{running.base_url}/openapi.json",
               "--checks", "all", "--header", f"Authorization: Bearer {KEY}", "--max-examples", str(examples),
               "--seed", str(SEED), "--workers", "2", *extra]
    print("make fuzz:", " ".join(command[1:]), flush=True)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="runapi-fuzz-") as scratch:
            status = subprocess.run(command, cwd=scratch, env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
                                    check=False).returncode
    finally:
        running.stop()
    wall = time.monotonic() - started
    server, schemathesis = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"make fuzz: {wall:.0f} s wall; CPU user+sys: schemathesis {schemathesis.ru_utime:.0f}+"
          f"{schemathesis.ru_stime:.0f} s, the mock {server.ru_utime:.0f}+{server.ru_stime:.0f} s; "
          f"exit status {status}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
