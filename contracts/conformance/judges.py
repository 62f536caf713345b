"""Judging a client from the mock's journal: each check is a function of the runs, never of what the client
says about itself. `ClientRun` is one adapter call with its journal entries and task views.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

from ..validate import validate_request
from ..vocabulary import PATHS, TERMINAL, InvalidProgression, JournalEntry, Progression
from .matrix import CHECKS, ClientScenario

__all__ = ["ClientCheckResult", "ClientReport", "ClientRun", "Options", "judge"]

CLIENT_ERRORS = frozenset({400, 401, 402, 404, 409, 422})
RETRY_AFTER_STATUSES = frozenset({429, 503})
REJECTIONS = frozenset({400, 401, 404, 405, 413, 415, 422})  # the mock's answers to a malformed request
_API_ROUTE = re.compile(r"^/api/v1/(?P<family>[a-z0-9_]+)/(?P<action>[a-z0-9_]+)$")
_MAX_LINES = 12
Entry = JournalEntry


@dataclass(frozen=True)
class Options:
    min_poll_interval: float
    slack: float
    frozen_clock: bool = False  # each run's namespace clock was frozen and moved only by the client's sleep


@dataclass(frozen=True)
class ClientRun:
    """One adapter call: its scenario, what it returned or raised, and its namespace's journal and tasks."""

    scenario: ClientScenario
    label: str
    namespace: str
    family: str
    action: str
    request: Mapping[str, Any]
    outcome: Literal["returned", "raised", "hung"]
    value: Any
    elapsed: float
    entries: tuple[Entry, ...]  # oldest first
    tasks: Mapping[str, Mapping[str, Any]]  # admin task views by id
    released: bool = False  # the harness failed its task to end a call that outlived its timeout hint

    def line(self, entry: Entry) -> str:
        start = self.entries[0]["wall"] if self.entries else entry["wall"]
        text = (f"  #{entry['seq']} +{entry['wall'] - start:.3f}s {entry['method']} {entry['path']} "
                f"-> {entry['status']}")
        if entry.get("retry_after"):
            text += f" Retry-After: {entry['retry_after']}"
        if entry.get("idempotency_key"):
            text += f" Idempotency-Key: {entry['idempotency_key']}"
        if entry.get("scenario"):
            text += f" [{entry['scenario']}]"
        if entry.get("violations"):
            text += " violations: " + "; ".join(v.get("message", "") for v in entry["violations"])
        return text

    def describe(self) -> str:
        what = {"returned": f"returned {_short(self.value)}", "raised": f"raised {_short(self.value)}",
                "hung": "was still running when abandoned"}[self.outcome]
        return f"[{self.label}] {self.scenario.description} The adapter {what} after {self.elapsed:.2f} s."

    def task_reads(self) -> dict[str, list[Entry]]:
        """Status reads (GETs of a task's own path) per task id, oldest first."""
        reads: dict[str, list[Entry]] = {}
        for entry in self.entries:
            task_id = entry.get("task_id")
            if entry["method"] == "GET" and task_id and entry["path"].endswith("/" + task_id):
                reads.setdefault(task_id, []).append(entry)
        return reads

    def terminal_read(self, task_id: str) -> int | None:
        """The number (from 1) of the status read that first saw a terminal status; None: never or unknown."""
        task = self.tasks.get(task_id, {})
        outcome = task.get("outcome")
        if outcome not in TERMINAL or self.released:
            return None
        try:
            progression = Progression.parse(str(task.get("progression", "")))
        except InvalidProgression:
            return None
        return progression.reads_to_step(len(PATHS[outcome]) - 1)  # None: reads do not move the task

    def retry_of(self, entry: Entry) -> Entry | None:
        """The next request with the same method and path, if any."""
        return next((e for e in self.entries if e["seq"] > entry["seq"] and e["method"] == entry["method"]
                     and e["path"] == entry["path"]), None)


def _short(value: Any) -> str:
    text = f"{type(value).__name__}: {value}" if isinstance(value, BaseException) else repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def _gap(before: Entry, after: Entry, opts: Options) -> float:
    """Seconds from the answer to `before` to the arrival of `after`.

    On wall time a gap is never shorter than the client's own wait (the answer's end is stamped before it is
    written), so a short gap proves a short wait; a busy machine only lengthens gaps, and can hide a client
    that waits too little, never accuse one that waits enough. On a frozen clock that only the client's
    `ClientContext.sleep` moves, the gap is exactly what the client waited: no machine in it at all.
    """
    if opts.frozen_clock:
        return float(after["at"]) - float(before["at"])
    return float(after["wall"]) - float(before["wall"]) - float(before.get("duration_ms") or 0) / 1000


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None  # absent, or an HTTP-date: the mock sends delta-seconds
    return seconds if seconds > 0 else None


@dataclass(frozen=True)
class ClientCheckResult:
    """A check's verdict; `explanation` says what the client did, with journal lines, when it failed."""

    name: str
    passed: bool
    summary: str
    explanation: str = ""

    def __str__(self) -> str:
        head = f"{self.name}: {'pass' if self.passed else 'FAIL'} - {self.summary}"
        return head + ("\n" + self.explanation if self.explanation else "")


class _Findings:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, run: ClientRun, what: str, entries: Iterable[Entry] = ()) -> None:
        lines = [run.line(e) for e in entries]
        if len(lines) > _MAX_LINES:
            lines = lines[:_MAX_LINES] + [f"  ... {len(lines) - _MAX_LINES} more"]
        self.items.append("\n".join([f"[{run.label}] {what}", *lines]))

    def result(self, name: str, ok: str, failed: str) -> ClientCheckResult:
        if not self.items:
            return ClientCheckResult(name, True, ok)
        return ClientCheckResult(name, False, f"{len(self.items)} {failed}", "\n".join(self.items))


def _requests_valid(runs: Sequence[ClientRun], opts: Options) -> ClientCheckResult:
    found, count = _Findings(), 0
    for run in runs:
        if run.scenario.invalid:
            continue
        if not run.entries:
            found.add(run, f"no request reached the mock at the namespace base URL. {run.describe()}")
        for entry in run.entries:
            count += 1
            problems = [v.get("message", "") for v in entry.get("violations") or []]
            route = _API_ROUTE.match(entry["path"])
            body = entry.get("request_body")
            if entry["method"] == "POST" and route and not problems:
                problems = ([v.message for v in validate_request(route["family"], route["action"], body)]
                            if isinstance(body, dict) else [f"the body is not a JSON object: {_short(body)}"])
            if problems:
                found.add(run, f"{entry['method']} {entry['path']} sent an invalid body: "
                               f"{'; '.join(problems)}", [entry])
            elif entry["status"] in REJECTIONS and not entry.get("scenario"):
                found.add(run, f"the mock rejected {entry['method']} {entry['path']} with {entry['status']} "
                               "although no scenario asked for it", [entry])
    return found.result("requests_valid", f"{count} requests, all well-formed and contract-valid",
                        "requests were missing or invalid")


def _honours_retry_after(runs: Sequence[ClientRun], opts: Options) -> ClientCheckResult:
    found, judged = _Findings(), 0
    for run in runs:
        for entry in run.entries:
            wait = _seconds(entry.get("retry_after"))
            retry = run.retry_of(entry) if entry["status"] in RETRY_AFTER_STATUSES and wait else None
            if retry is None or wait is None:
                continue
            judged += 1
            gap = _gap(entry, retry, opts)
            if gap < wait - opts.slack:
                found.add(run, f"{entry['method']} {entry['path']} got {entry['status']} with Retry-After "
                               f"{wait:g} s and was sent again {gap:.3f} s later", [entry, retry])
    ok = (f"{judged} retries after 429/503 waited for Retry-After" if judged
          else "not exercised: the client never retried a 429/503")
    return found.result("honours_retry_after", ok, "retries came before Retry-After")


def _no_retry_on_client_errors(runs: Sequence[ClientRun], opts: Options) -> ClientCheckResult:
    found, seen = _Findings(), 0
    for run in runs:
        for entry in run.entries:
            if entry["status"] not in CLIENT_ERRORS:
                continue
            seen += 1
            if run.retry_of(entry) is not None:
                again = [e for e in run.entries if e["seq"] >= entry["seq"] and e["method"] == entry["method"]
                         and e["path"] == entry["path"]]
                found.add(run, f"{entry['method']} {entry['path']} got {entry['status']} and was sent again "
                               f"({len(again) - 1} more time(s))", again)
    return found.result("no_retry_on_client_errors", f"none of {seen} 4xx answers was retried",
                        "4xx answers were retried")


def _stops_at_terminal(runs: Sequence[ClientRun], opts: Options) -> ClientCheckResult:
    found, judged = _Findings(), 0
    for run in runs:
        for task_id, reads in run.task_reads().items():
            terminal = run.terminal_read(task_id)
            if terminal is None:
                continue
            judged += 1
            answered = [e for e in reads if e["status"] == 200]
            if len(answered) > terminal:
                last = answered[terminal - 1]
                after = [e for e in reads if e["seq"] > last["seq"]]
                status = run.tasks[task_id].get("status")
                found.add(run, f"task {task_id} was {status} at status read {terminal}, yet the client "
                               f"read it {len(after)} more time(s)", [last, *after])
    return found.result("stops_at_terminal", f"polling stopped at the terminal status for {judged} tasks",
                        "tasks were polled past their terminal status")


def _polls_not_too_fast(runs: Sequence[ClientRun], opts: Options) -> ClientCheckResult:
    found, gaps = _Findings(), []
    for run in runs:
        for task_id, reads in run.task_reads().items():
            terminal, number, fast = run.terminal_read(task_id), 0, []
            for before, after in pairwise(reads):
                if before["status"] != 200:
                    continue  # a retry after an error answer is honours_retry_after's business
                number += 1
                if terminal is not None and number >= terminal:
                    continue  # reads past terminal are stops_at_terminal's business
                hint = _seconds(before.get("retry_after"))
                required = min(opts.min_poll_interval, hint) if hint else opts.min_poll_interval
                gap = _gap(before, after, opts)
                gaps.append(gap)
                if gap < required - opts.slack:
                    fast.append((gap, required, before, after))
            if fast:
                gap, required = min(fast, key=lambda item: item[0])[:2]
                found.add(run, f"task {task_id}: {len(fast)} status reads came sooner than {required:g} s "
                               f"after the previous (fastest {gap:.3f} s)",
                          [e for f in fast[:6] for e in f[2:]])
    ok = (f"{len(gaps)} poll intervals, the shortest {min(gaps):.3f} s" if gaps
          else "not exercised: no task was read twice")
    return found.result("polls_not_too_fast", ok, "tasks were polled too fast")


def _idempotent_retries(runs: Sequence[ClientRun], opts: Options) -> ClientCheckResult:
    found, retried = _Findings(), 0
    for run in runs:
        posts: dict[str, list[Entry]] = {}
        for entry in run.entries:
            if entry["method"] == "POST":
                posts.setdefault(entry["path"], []).append(entry)
        for path, attempts in posts.items():
            if len(attempts) < 2:
                continue
            retried += 1
            keys = {e.get("idempotency_key") or "" for e in attempts}
            if len(keys) != 1 or not next(iter(keys)).strip():
                shown = ", ".join(repr(e.get("idempotency_key")) for e in attempts)
                found.add(run, f"POST {path} was sent {len(attempts)} times with Idempotency-Key {shown}",
                          attempts)
    ok = (f"{retried} retried creates reused one Idempotency-Key" if retried
          else "not exercised: the client never sent a create twice")
    return found.result("idempotent_retries", ok, "create retries without one stable Idempotency-Key")


def _surfaces_failures(runs: Sequence[ClientRun], opts: Options) -> ClientCheckResult:
    found, judged = _Findings(), 0
    for run in runs:
        judged += run.scenario.expect == "error"
        if run.outcome == "hung" or run.released:
            found.add(run, f"the call outlived its timeout hint; {run.describe()} (the harness failed the "
                           "task to release it)", run.entries[-4:])
        elif run.scenario.expect == "error" and run.outcome != "raised":
            found.add(run, f"expected an error, but {run.describe()}", run.entries[-4:])
        elif run.outcome == "returned":
            for task_id, reads in run.task_reads().items():
                task, terminal = run.tasks.get(task_id, {}), run.terminal_read(task_id)
                seen = len([e for e in reads if e["status"] == 200])
                if task.get("status") != "completed" or (terminal is not None and seen < terminal):
                    found.add(run, f"returned a result, but task {task_id} is {task.get('status')} and the "
                                   f"client read it {seen} time(s): {run.describe()}", reads[-4:])
    return found.result("surfaces_failures", f"all {judged} failure scenarios raised",
                        "failures were returned as results or not ended")


def _returns_results(runs: Sequence[ClientRun], opts: Options) -> ClientCheckResult:
    found = _Findings()
    expected = [run for run in runs if run.scenario.expect == "result"]
    for run in expected:
        if run.outcome != "returned":
            found.add(run, run.describe(), run.entries[-4:])
    return found.result("returns_results", f"all {len(expected)} successful runs returned a result",
                        "successful runs did not return a result")


_JUDGES: dict[str, Callable[[Sequence[ClientRun], Options], ClientCheckResult]] = {
    "requests_valid": _requests_valid,
    "honours_retry_after": _honours_retry_after,
    "no_retry_on_client_errors": _no_retry_on_client_errors,
    "stops_at_terminal": _stops_at_terminal,
    "polls_not_too_fast": _polls_not_too_fast,
    "idempotent_retries": _idempotent_retries,
    "surfaces_failures": _surfaces_failures,
    "returns_results": _returns_results,
}


@dataclass(frozen=True)
class ClientReport:
    """The verdicts of one conformance run, in `CHECKS` order, and the runs they were judged from."""

    client: str
    checks: tuple[ClientCheckResult, ...]
    runs: tuple[ClientRun, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(check.name for check in self.checks if not check.passed)

    def __getitem__(self, name: str) -> ClientCheckResult:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def table(self) -> str:
        width = max(len(check.name) for check in self.checks)
        rows = [f"{'check'.ljust(width)}  result  summary"]
        rows += [f"{c.name.ljust(width)}  {'pass' if c.passed else 'FAIL':<6}  {c.summary}"
                 for c in self.checks]
        return "\n".join(rows)

    def __str__(self) -> str:
        details = [str(check) for check in self.checks if not check.passed]
        return "\n\n".join([f"runapi-mock: client conformance of {self.client}", self.table(), *details])


def judge(runs: Sequence[ClientRun], opts: Options) -> tuple[ClientCheckResult, ...]:
    """Every check's verdict on the runs, in `CHECKS` order."""
    return tuple(_JUDGES[check.name](runs, opts) for check in CHECKS)
