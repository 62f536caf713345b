"""The bench's own logic, without running wrk or a server: wrk's report parsed, the create body sent as the bench
means it, and the saturation rule refusing a ratio it cannot stand behind (issue 24: a bench that cannot be
fooled). No speed is asserted here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import saturation
import wrk
from drivers import BODY

LOADED = """Running 1s test @ http://127.0.0.1:57385/api/v1/flux_kontext/text_to_image
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.43ms    3.30ms  42.74ms   73.05%
    Req/Sec     3.01k     1.06k    6.23k    85.00%
  Latency Distribution
     50%    5.12ms
     75%    7.44ms
     90%    9.20ms
     99%   15.38ms
  6011 requests in 1.01s, 1.97MB read
Requests/sec:   5970.59
Transfer/sec:      1.96MB
"""

REFUSED = """Running 1s test @ http://127.0.0.1:57385/nothere
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.33ms    1.95ms   9.30ms   83.80%
    Req/Sec     3.10k   431.54     3.61k    80.00%
  Latency Distribution
     50%  112.00us
     75%    2.11ms
     90%    4.29ms
     99%    1.02s
  3105 requests in 1.01s, 451.80KB read
  Socket errors: connect 0, read 2, write 0, timeout 5
  Non-2xx or 3xx responses: 3105
Requests/sec:   3083.54
Transfer/sec:    448.68KB
"""


def test_wrk_report_is_read_with_its_units() -> None:
    run = wrk.parse(LOADED)
    assert (run["requests"], run["rate"], run["errors"]) == (6011, 5970.59, 0)
    assert run["elapsed_s"] == pytest.approx(1.01)
    assert (run["p50_ms"], run["p99_ms"]) == (5.12, 15.38)


def test_wrk_errors_count_non_2xx_and_socket_errors_and_seconds_are_read_as_such() -> None:
    run = wrk.parse(REFUSED)
    assert run["errors"] == 3105 + 2 + 5
    assert run["p50_ms"] == pytest.approx(0.112)
    assert run["p99_ms"] == pytest.approx(1020.0)


def test_a_wrk_report_without_its_summary_or_distribution_is_an_error_not_a_zero() -> None:
    with pytest.raises(ValueError):
        wrk.parse("unable to connect to 127.0.0.1:1 Connection refused\n")
    with pytest.raises(ValueError):
        wrk.parse(LOADED.replace("     99%   15.38ms\n", ""))


def test_the_lua_script_posts_the_bench_body_byte_for_byte() -> None:
    script = wrk.lua_script(BODY, "bench-key")
    literal = script.split("wrk.body = ", 1)[1].split("\n", 1)[0]
    # The literal read back as Lua reads it (the escapes lua_string writes are \\, \" and \ddd).
    text = literal[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    assert text == json.dumps(BODY, separators=(",", ":"))
    assert 'wrk.method = "POST"' in script and '"Bearer bench-key"' in script


def test_lua_strings_escape_quotes_backslashes_and_control_bytes() -> None:
    assert wrk.lua_string('say "hi"\\\n') == '"say \\"hi\\"\\\\\\010"'


def test_no_ratio_without_wrk() -> None:
    verdict = saturation.judge([0.99, 0.98, 0.99], [0.95, 0.96, 0.97], "python")
    assert not verdict.saturated and "wrk is not installed" in verdict.why
    assert saturation.ratio(4000.0, 8000.0, verdict) is None


def test_no_ratio_when_the_reference_was_not_saturated_in_a_run() -> None:
    verdict = saturation.judge([0.99, 0.62, 0.98], [0.95, 0.60, 0.97], "wrk")
    assert not verdict.saturated and "not saturated" in verdict.why and "62%" in verdict.why
    assert saturation.ratio(4000.0, 8000.0, verdict) is None


def test_no_ratio_when_the_reference_was_busy_but_other_jobs_took_its_core() -> None:
    verdict = saturation.judge([0.99, 0.97, 0.99], [0.23, 0.14, 0.21], "wrk")
    assert not verdict.saturated and "0.14 of a core" in verdict.why
    assert saturation.ratio(1656.0, 2364.0, verdict) is None


def test_no_ratio_when_runnable_or_cpu_time_could_not_be_read() -> None:
    assert not saturation.judge([0.99, None], [0.95, 0.95], "wrk").saturated
    assert not saturation.judge([0.99], [None], "wrk").saturated
    assert not saturation.judge([], [], "wrk").saturated


def test_a_saturated_reference_under_wrk_gives_the_ratio() -> None:
    verdict = saturation.judge([0.97, 0.99, 0.95], [0.93, 0.95, 0.90], "wrk")
    assert verdict.saturated
    assert saturation.ratio(4000.0, 8000.0, verdict) == 0.5


def test_runnable_time_of_a_process_is_read_from_proc() -> None:
    import os

    assert saturation.schedstat_ns(os.getpid()) > 0


def _run(load_start: float, load_end: float, busy_s: float, own_s: float) -> dict[str, object]:
    """A run's results as the loaded-machine rule reads them: 100 s of wall on 2 cores."""
    start = {"busy_s": 1000.0, "own_s": 10.0, "wall_s": 50.0}
    end = {"busy_s": 1000.0 + busy_s, "own_s": 10.0 + own_s, "wall_s": 150.0}
    return {"machine": {"cores": 2, "loadavg_start": (load_start, 0, 0), "cpu_start": start},
            "loadavg_end": (load_end, 0, 0), "cpu_end": end}


def test_the_loaded_machine_rule_counts_other_jobs_not_the_benchs_own_load() -> None:
    import report

    # The bench kept both cores busy itself (its servers and wrk): the 1-minute load at the end is its own.
    quiet = _run(load_start=0.4, load_end=1.9, busy_s=150.0, own_s=148.0)
    assert report.others_share(quiet) == pytest.approx(0.02)
    assert not report.loaded(quiet)
    # Another job took half a core through the run, though the load average was low when it began.
    crowded = _run(load_start=0.4, load_end=1.9, busy_s=198.0, own_s=148.0)
    assert report.others_share(crowded) == pytest.approx(0.5)
    assert report.loaded(crowded)
    # Crowded before it started.
    assert report.loaded(_run(load_start=1.5, load_end=1.9, busy_s=150.0, own_s=148.0))
    # A run without the CPU clock (an older results.json) is judged on the load before it alone.
    older = _run(load_start=0.4, load_end=1.9, busy_s=150.0, own_s=148.0)
    del older["cpu_end"]
    assert report.others_share(older) is None and not report.loaded(older)


def test_the_cpu_clock_reads_this_machine() -> None:
    import report

    first = report.cpu_clock()
    sum(i * i for i in range(200_000))  # some CPU of this process's own
    second = report.cpu_clock()
    assert second["own_s"] >= first["own_s"] and second["busy_s"] >= first["busy_s"] > 0
