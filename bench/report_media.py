"""RESULTS.md's media section (issues 22 and 23), from the media_downloads and media_renders sections' data."""

from __future__ import annotations

from typing import Any

import media_rules

TITLE = "## Media: first downloads, and creates while videos render (issues 22 and 23)"


def _load(pair: Any) -> str:
    try:
        return f"{pair[0][0]:.2f} → {pair[1][0]:.2f}"
    except (TypeError, IndexError):
        return "—"


def _s(value: Any, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def download_rows(data: dict[str, Any]) -> list[str]:
    lines = ["| file | first download (s) | runs (s) | second download (s) | codec floor (s) | first / floor | "
             "reference app, same bytes (s) | second / reference | size (KiB) | load avg (1 min) |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for item in data.values():
        if not isinstance(item, dict) or "first" not in item:
            continue
        first, second = item["first"]["median_s"], item["second"]["median_s"]
        floor, static = item["floor"]["median_s"], item["static"]["median_s"]
        if item["problems"]:
            shown = f"refused: not the file asked for ({item['problems'][0]})"
            lines.append(f"| {item['label']} | {shown} | | | {_s(floor)} | — | {_s(static, 4)} | — | "
                         f"{item['bytes'] / 1024:,.0f} | {_load(item.get('loadavg'))} |")
            continue
        lines.append(f"| {item['label']} | {_s(first)} | {', '.join(f'{t:.3f}' for t in item['first']['runs_s'])} "
                     f"| {_s(second, 4)} | {_s(floor)} | {_x(media_rules.over(first, floor))} | {_s(static, 4)} | "
                     f"{_x(media_rules.over(second, static))} | {item['bytes'] / 1024:,.0f} | "
                     f"{_load(item.get('loadavg'))} |")
    return lines


def targets(downloads: dict[str, Any], renders: dict[str, Any]) -> list[str]:
    clip = downloads.get("video_1080p", {}) if isinstance(downloads, dict) else {}
    ready = clip.get("first", {}).get("median_s") if not clip.get("problems") else None
    ratio = renders.get("ratio")
    met_ready = "—" if ready is None else "**met**" if ready <= media_rules.READY_TARGET_S else "**missed**"
    met_p99 = "—" if ratio is None else "**met**" if ratio <= media_rules.P99_TARGET else "**missed**"
    p99 = (f"{ratio:.2f} ({_s(renders.get('p99_rendering_ms'), 2)} / {_s(renders.get('p99_idle_ms'), 2)} ms)"
           if ratio is not None else f"refused: {renders.get('why', renders.get('error', 'not measured'))}")
    return ["| figure | value | target | result |", "| --- | ---: | --- | --- |",
            f"| 1080p 10 s clip ready: first download, median (s) | {_s(ready)} | "
            f"≤ {media_rules.READY_TARGET_S} s | {met_ready} |",
            f"| create p99, 32 conn, while {media_rules.RENDERS} videos render / with none | {p99} | "
            f"≤ {media_rules.P99_TARGET} | {met_p99} |"]


def render_runs(renders: dict[str, Any]) -> list[str]:
    idle, busy, load = renders.get("idle", []), renders.get("rendering", []), renders.get("load", {})
    if not idle:
        return [f"Creates while rendering: not measured ({renders.get('error', 'see the log')})."]
    lines = [f"wrk `-t{load.get('threads')} -c{load.get('connections')} -d{load.get('duration_s')}s` (the throughput "
             "section's body and settings) against one mock, alternating a run with no render and a run while "
             f"{media_rules.RENDERS} downloaders each fetch distinct 1080p 10 s clips one after another, the first "
             "sent before wrk starts and the last arriving after it stops (media_rules.renders_held); the mock's "
             "tasks of wrk's namespace are reset before each run. The mock encodes videos in niced worker "
             "processes (mockserver/media/render_workers.py), so under this load its clips arrive late, not its "
             "creates: the last columns say how many clips came back within the run and how long one took.", "",
             "| run | creates/s idle / rendering | p99 idle / rendering (ms) | mock's CPU share idle / rendering | "
             "clips downloaded (all / within the run) | clip download, median (s) | load avg (1 min) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for number, (a, b) in enumerate(zip(idle, busy, strict=False), 1):
        lines.append(f"| {number} | {a['rate']:,.0f} / {b['rate']:,.0f} | {a['p99_ms']:.2f} / {b['p99_ms']:.2f} | "
                     f"{_s(a.get('cpu_share'), 2)} / {_s(b.get('cpu_share'), 2)} | {b.get('downloads')} / "
                     f"{b.get('downloads_within_run')} | {_s(b.get('download_median_s'), 2)} | "
                     f"{a['loadavg'][0]:.2f} / {b['loadavg'][0]:.2f} |")
    lines += ["", f"Renders held: {renders.get('why')}." if renders.get("ratio") is not None
              else f"No ratio: {renders.get('why')}."]
    return lines


def media_lines(results: dict[str, Any]) -> list[str]:
    downloads = results.get("media_downloads")
    renders = results.get("media_renders")
    if downloads is None and renders is None:
        return []
    downloads, renders = downloads or {}, renders or {}
    lines = [TITLE, "", *targets(downloads, renders), "", "### First downloads", ""]
    if "error" in downloads or not downloads:
        lines.append(f"Not measured: {downloads.get('error', 'see the log')}")
    else:
        count = next(iter(downloads.values())).get("count")
        lines += [f"Each file: {count} distinct tasks created through the API on a mock with immediate progression "
                  "(each task its own seed, so each first download renders: a cold cache), after warm-up downloads "
                  "(a server's first renders start its render processes and import PyAV); the first GET timed from "
                  "the request to the last byte, then the same URL again (the render cache). Every timed file is "
                  "read back with PyAV and must be the codec, size and duration asked. Beside it, in the same run: "
                  "the codec floor (bench/media_floor.py, its own process: libx264 or LAME with the mock's settings "
                  "encoding as many solid-colour frames, or seconds of a sine, at the file's size, rate and bit "
                  "rate) and the bare reference app (uvloop + httptools) serving the same bytes with Starlette's "
                  "StaticFiles. Medians; a render over its floor is the mock's own drawing and composing (under 1: "
                  "the mock encodes less than every sample, as a long song repeats its encoded frames).", "",
                  *download_rows(downloads)]
    lines += ["", "### Creates while videos render", "", *render_runs(renders)]
    return lines
