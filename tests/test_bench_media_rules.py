"""The media section's rules (bench/media_rules.py), without a server: a timed file must be the one asked for,
the creates-while-rendering ratio needs renders in flight all through wrk's run, and `--only` picks sections.
No speed is asserted here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import media_rules
from media_rules import Download
from run import SECTIONS, chosen
from saturation import Verdict

CLIP = {"codec": "h264", "width": 1920, "height": 1080, "duration_seconds": 10}
WINDOW = (10.0, 15.0)  # wrk's run, perf_counter seconds


def _held(start: float = 9.8, end: float = 15.4, gap: float = 0.001, count: int = 8) -> list[list[Download]]:
    """`count` downloaders, each with three back-to-back downloads from `start` to `end`."""
    step = (end - start) / 3
    return [[Download(start + i * step + (gap if i else 0), start + (i + 1) * step, 200, 1000, 1000)
             for i in range(3)] for _ in range(count)]


def test_the_asked_file_passes_and_ten_percent_of_duration_is_allowed() -> None:
    assert media_rules.file_problem({**CLIP, "duration_seconds": 10.9}, CLIP) is None
    assert media_rules.file_problem({"codec": "mp3", "duration_seconds": 180.06}, {"codec": "mp3",
                                                                                  "duration_seconds": 180}) is None


@pytest.mark.parametrize(("found", "why"), [
    ({**CLIP, "codec": "hevc"}, "codec"),
    ({**CLIP, "width": 1280}, "width 1280"),
    ({**CLIP, "height": 720}, "height 720"),
    ({**CLIP, "duration_seconds": 5.0}, "plays 5.0 s"),
    ({"codec": "h264", "width": 1920, "height": 1080}, "plays None"),
])
def test_a_file_that_is_not_the_asked_one_is_refused_with_why(found: dict[str, object], why: str) -> None:
    problem = media_rules.file_problem(found, CLIP)
    assert problem is not None and why in problem


def test_a_short_or_failed_download_is_not_ok() -> None:
    assert Download(0, 1, 200, 1000, 1000).ok
    assert not Download(0, 1, 200, 999, 1000).ok  # the connection closed early
    assert not Download(0, 1, 404, 100, 100).ok
    assert not Download(0, 1, 200, 0, None).ok


def test_renders_held_through_the_run_when_every_downloader_spans_it() -> None:
    verdict = media_rules.renders_held(_held(), WINDOW)
    assert verdict.saturated, verdict.why


@pytest.mark.parametrize(("workers", "why"), [
    (_held(count=7), "7 downloaders"),
    (_held(start=10.2), "started 0.200 s after wrk"),
    (_held(end=14.5), "ran out of tasks 0.500 s before wrk stopped"),
    (_held(gap=0.3), "paused 0.300 s"),
    ([[Download(9.0, 16.0, 500, 10)]] * 8, "status 500"),
    ([[]] * 8, "downloaded nothing"),
])
def test_renders_not_held_through_the_run_are_refused(workers: list[list[Download]], why: str) -> None:
    verdict = media_rules.renders_held(workers, WINDOW)
    assert not verdict.saturated and why in verdict.why


def _runs(*p99: float, errors: int = 0) -> list[dict[str, float]]:
    return [{"p99_ms": value, "errors": errors} for value in p99]


HELD = Verdict(True, "8 first downloads in flight")


def test_the_p99_ratio_is_the_median_rendering_over_the_median_idle() -> None:
    figure = media_rules.p99_figure("wrk", _runs(10, 12, 11), _runs(13, 16, 14), [HELD] * 3)
    assert (figure.idle_ms, figure.rendering_ms, figure.ratio) == (11, 14, pytest.approx(14 / 11))
    assert figure.met is True
    assert media_rules.p99_figure("wrk", _runs(10), _runs(16), [HELD]).met is False  # 1.6x: over 1.5x


@pytest.mark.parametrize(("tool", "idle", "busy", "held", "why"), [
    ("python", _runs(10), _runs(12), [HELD], "wrk is not installed"),
    ("wrk", _runs(10), _runs(12), [Verdict(False, "downloader 3 ran out")], "downloader 3 ran out"),
    ("wrk", _runs(10), _runs(12, errors=4), [HELD], "failed creates"),
    ("wrk", _runs(10, 11), _runs(12), [HELD], "do not pair up"),
    ("wrk", [], [], [], "do not pair up"),
])
def test_no_p99_ratio_without_wrk_errors_free_runs_and_renders_held(
        tool: str, idle: list[dict[str, float]], busy: list[dict[str, float]], held: list[Verdict], why: str) -> None:
    figure = media_rules.p99_figure(tool, idle, busy, held)
    assert figure.ratio is None and figure.met is None and why in figure.why


def test_only_picks_sections_in_the_runs_order_and_refuses_unknown_names() -> None:
    assert chosen(None) == list(SECTIONS)
    assert chosen("media") == ["media_downloads", "media_renders"]
    assert chosen("media_renders, startup") == ["startup", "media_renders"]
    with pytest.raises(ValueError, match="unknown section"):
        chosen("media,speed")
    with pytest.raises(ValueError, match="none given"):
        chosen(" , ")
