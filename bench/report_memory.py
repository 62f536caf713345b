"""RESULTS.md's memory rows and details, from the memory and memory_ceiling sections' data."""

from __future__ import annotations

from typing import Any


def memory_rows(mem: dict[str, Any], ceiling: dict[str, Any]) -> tuple[list[str], bool | None]:
    """Table rows (measure | mock | target | result) and whether memory stayed bounded (None: not measured)."""
    if "rss_big_mib" not in mem:
        return [f"| memory | {mem.get('error', '—')} | memory bounded | — |"], None
    per_task = (mem["rss_big_mib"] - mem["rss_small_mib"]) * 1024 * 1024 / (mem["tasks_big"] - mem["tasks_small"])
    journal_growth = mem["journal_rss_after_more_mib"] - mem["journal_rss_full_mib"]
    journal_per = (mem["journal_rss_full_mib"] - mem["journal_rss_idle_mib"]) * 1024 * 1024 / mem["journal_entries"]
    journal_flat = journal_growth <= 0.05 * mem["journal_rss_full_mib"]
    bounded = (journal_flat and mem["journal_size"] == mem["journal_entries"]
               and mem.get("tasks_held") == mem["tasks_big"] and mem.get("create_past_cap_status") == 429) \
        if mem["tasks_big"] >= 100_000 else journal_flat
    rows = [
        f"| RSS idle / after {mem['tasks_small']:,} / {mem['tasks_big']:,} tasks (MiB; 1 run) | "
        f"{mem['rss_idle_mib']:.0f} / {mem['rss_small_mib']:.0f} / {mem['rss_big_mib']:.0f} "
        f"(≈{per_task / 1024:.1f} KiB per task) | | |",
        f"| RSS after {mem['journal_entries']:,} journal entries, then +{mem['journal_extra_entries']:,} more "
        f"(MiB; --journal-size {mem['journal_entries']}) | {mem['journal_rss_full_mib']:.0f} → "
        f"{mem['journal_rss_after_more_mib']:.0f} (≈{journal_per:.0f} B per entry) | memory bounded | "
        f"{'**met**' if bounded else '**missed**'} |",
    ]
    samples = ceiling.get("samples", [])
    if samples:
        at_cap = next((s for s in samples if s["tasks"] >= ceiling["cap"]), samples[-1])
        after = [s["rss_mib"] for s in samples if s["creates"] >= at_cap["creates"]]
        flat = max(after) <= 1.10 * at_cap["rss_mib"] and ceiling["refused"] == 0
        bounded = bool(bounded and flat)
        shown = samples[1::2]
        points = ", ".join(f"{sample['creates'] // 1000}k" for sample in shown)
        values = " / ".join(f"{sample['rss_mib']:.0f}" for sample in shown)
        rows.append(
            f"| RSS over {ceiling['creates']:,} creates (engine in-process, cap {ceiling['cap']:,} tasks, tasks "
            f"finishing on the clock; MiB at {points}) | {values} (max {max(after):.0f} after the cap was "
            f"reached at {at_cap['rss_mib']:.0f}; {ceiling['refused']} refused) | memory bounded | "
            f"{'**met**' if flat else '**missed**'} |")
    return rows, bounded


def memory_details(mem: dict[str, Any]) -> list[str]:
    if "rss_big_mib" not in mem:
        return []
    return [
        "- Tasks are filled with bench/loadgen.py (wrk cannot send an exact count; no rate is reported from it). "
        "Tasks created and never read stay `pending` under immediate progression and keep a credit reservation.",
        f"- Tasks held after the fill: {mem.get('tasks_held')}; one more create then answered "
        f"{mem.get('create_past_cap_status')} `{mem.get('create_past_cap_code')}` "
        "(max_tasks_per_namespace = 100,000: the per-namespace cap holds; across namespaces the bound is "
        "100,000 x max_namespaces 1,000).",
        f"- Journal: {mem['journal_size']:,} entries held at capacity {mem['journal_entries']:,} "
        f"(GET /api/v1/me requests); RSS idle {mem['journal_rss_idle_mib']:.0f} MiB, full "
        f"{mem['journal_rss_full_mib']:.0f} MiB, after {mem['journal_extra_entries']:,} more requests "
        f"{mem['journal_rss_after_more_mib']:.0f} MiB: the ring buffer stops growing at its size.",
    ]
