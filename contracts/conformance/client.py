"""Client conformance: run a user's client through scenarios on the mock and judge it from the journal.

The client is reached through an adapter (`ClientAdapter`): a callable
`generate(base_url, api_key, request, *, family, action[, context])` that returns a result or raises. Each
run gets its own mock namespace through a namespace-scoped base URL (`<base_url>/ns/<namespace>`), so the
client needs no mock-specific header. Verdicts come from the server's journal (`GET /_mock/journal`), never
from what the client says about itself. This module talks to the mock over HTTP only.
"""

from __future__ import annotations

import inspect
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Iterable, Literal, Mapping, Protocol, Sequence

import httpx
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from ..strategies import CreateRequest, create_requests
from ..validate import validate_request

__all__ = [
    "CHECKS",
    "SCENARIOS",
    "Check",
    "CheckResult",
    "ClientAdapter",
    "ClientConformanceError",
    "ClientContext",
    "ClientReport",
    "ClientRun",
    "ClientScenario",
    "assert_client_conforms",
    "run_client_conformance",
]

CLIENT_ERRORS = frozenset({400, 401, 402, 404, 409, 422})
RETRY_AFTER_STATUSES = frozenset({429, 503})
REJECTIONS = frozenset({400, 401, 404, 405, 413, 415, 422})  # the mock's answers to a malformed request
TERMINAL = frozenset({"completed", "failed"})
_API_ROUTE = re.compile(r"^/api/v1/(?P<family>[a-z0-9_]+)/(?P<action>[a-z0-9_]+)$")
_MAX_LINES = 12
Entry = Mapping[str, Any]  # one journal entry, as `GET /_mock/journal` returns it


class ClientConformanceError(AssertionError):
    """A client failed conformance checks (or the admin API failed); the message holds the journal lines."""


@dataclass(frozen=True)
class Check:
    """A named check and what it requires of the client."""

    name: str
    description: str


CHECKS: tuple[Check, ...] = (
    Check("requests_valid", "Every request reached the mock and was accepted as well-formed, and every "
          "create body is valid by the contract (journal violations, request_body re-validated). The "
          "deliberately invalid scenario is exempt."),
    Check("honours_retry_after", "After a 429 or 503 with Retry-After, the next attempt of the same request "
          "came at least Retry-After seconds after the response (server wall clock)."),
    Check("no_retry_on_client_errors", "A request answered 400, 401, 402, 404, 409 or 422 was not sent "
          "again."),
    Check("stops_at_terminal", "No status read of a task after the one that returned completed or failed."),
    Check("polls_not_too_fast", "After a status read that returned pending or processing, the next read of "
          "that task came at least min_poll_interval seconds later, or the read's Retry-After if smaller."),
    Check("idempotent_retries", "A create POST sent more than once carried one non-empty Idempotency-Key "
          "on every attempt."),
    Check("surfaces_failures", "A failed or content-policy task, a 401, 402 or 422 and a stuck task (the "
          "client's own timeout) made the adapter raise; every call ended within its timeout hint; a "
          "returned result was a task the client had read as completed."),
    Check("returns_results", "The success scenario and every generated valid request returned a result."),
)


@dataclass(frozen=True)
class ClientScenario:
    """A row of the matrix: the admin rule that shapes the run, and what the adapter should do."""

    name: str
    description: str
    expect: Literal["result", "error", "either"]
    rule: Mapping[str, Any] | None = None
    invalid: bool = False
    stuck: bool = False
    retry_after_header: bool = False


def _rule(scenario: str, method: str, count: int | None = 1) -> dict[str, Any]:
    return {"scenario": scenario, "method": method, "count": count}


SCENARIOS: tuple[ClientScenario, ...] = (
    ClientScenario("success", "The task completes.", "result"),
    ClientScenario("failed", "The task ends failed.", "error", _rule("failed", "POST")),
    ClientScenario("content_policy", "The task fails on content policy.", "error",
                   _rule("content_policy", "POST")),
    ClientScenario("unauthorized", "401 on every create.", "error", _rule("unauthorized", "POST", None)),
    ClientScenario("insufficient_credits", "402 on every create.", "error",
                   _rule("insufficient_credits", "POST", None)),
    ClientScenario("invalid_request", "422: the request lacks its prompt.", "error", invalid=True),
    ClientScenario("rate_limited", "429 with Retry-After on the first status read.", "either",
                   _rule("rate_limited", "GET"), retry_after_header=True),
    ClientScenario("unavailable", "503 with Retry-After on the first status read.", "either",
                   _rule("unavailable", "GET"), retry_after_header=True),
    ClientScenario("flaky", "503 with Retry-After on the first two creates, then success.", "either",
                   _rule("flaky", "POST", 3), retry_after_header=True),
    ClientScenario("stuck", "The task never leaves processing; the client's own timeout must end it.",
                   "error", _rule("stuck", "POST"), stuck=True),
)


@dataclass(frozen=True)
class ClientContext:
    """What the harness tells the adapter about one call.

    Args:
        timeout: seconds the client should wait for the task before giving up (short for `stuck`).
        headers: mock control headers (`X-Mock-Retry-After`) the adapter may forward; if it does not, the
            mock's defaults apply (Retry-After 2 s on 429/503, 1 s on flaky).
    """

    scenario: str
    timeout: float
    headers: Mapping[str, str] = field(default_factory=dict)


class Generate(Protocol):
    """The adapter's entry point: return the client's result, or raise what the client raised."""

    def __call__(self, base_url: str, api_key: str, request: dict[str, Any], *, family: str,
                 action: str) -> Any: ...


@dataclass(frozen=True)
class ClientAdapter:
    """A client under test.

    Args:
        generate: a `Generate`; it also gets `context=ClientContext(...)` if it takes `context` or `**kwargs`.
        operations: the (family, action) pairs the client supports; the matrix uses the first.
        request: the matrix's request body (default: the simplest valid body of the first operation).
    """

    generate: Callable[..., Any]
    operations: tuple[tuple[str, str], ...] = (("flux_2", "text_to_image"),)
    name: str = "client"
    request: Mapping[str, Any] | None = None

    @classmethod
    def from_calls(cls, create: Callable[..., Any], get: Callable[..., Any], *, poll_interval: float = 0.5,
                   **kwargs: Any) -> ClientAdapter:
        """An adapter from separate calls, polled by the kit.

        `create(base_url, api_key, request, *, family, action)` returns a task id or a body with `id`;
        `get(base_url, api_key, task_id, *, family, action)` returns a status body. The kit's own loop then
        does the polling, so `stops_at_terminal` and `polls_not_too_fast` judge the kit, not the client.
        """
        def generate(base_url: str, api_key: str, request: dict[str, Any], *, family: str, action: str,
                     context: ClientContext) -> Any:
            created = create(base_url, api_key, request, family=family, action=action)
            task_id = created.get("id") if isinstance(created, Mapping) else created
            deadline = time.monotonic() + context.timeout
            while True:
                body = get(base_url, api_key, task_id, family=family, action=action)
                status = body.get("status") if isinstance(body, Mapping) else None
                if status == "completed":
                    return body
                if status == "failed":
                    raise RuntimeError(f"task {task_id} failed: {body.get('error')}")
                if time.monotonic() + poll_interval > deadline:
                    raise TimeoutError(f"task {task_id} still {status} after {context.timeout:g} s")
                time.sleep(poll_interval)

        return cls(generate=generate, **kwargs)

    def call(self, base_url: str, api_key: str, request: dict[str, Any], family: str, action: str,
             context: ClientContext) -> Any:
        kwargs: dict[str, Any] = {"family": family, "action": action}
        if _accepts_context(self.generate):
            kwargs["context"] = context
        return self.generate(base_url, api_key, request, **kwargs)


def _accepts_context(function: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "context" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


# -- runs -------------------------------------------------------------------------------------------------


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
        if task.get("outcome") == "stuck" or self.released:
            return None
        progression = str(task.get("progression", ""))
        if progression == "immediate":
            return 1
        if progression.startswith("polls:") and progression[6:].isdigit():
            return 2 * int(progression[6:])  # pending -> processing -> terminal, a step per N reads
        return None

    def retry_of(self, entry: Entry) -> Entry | None:
        """The next request with the same method and path, if any."""
        return next((e for e in self.entries if e["seq"] > entry["seq"] and e["method"] == entry["method"]
                     and e["path"] == entry["path"]), None)


def _short(value: Any) -> str:
    text = f"{type(value).__name__}: {value}" if isinstance(value, BaseException) else repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def _end(entry: Entry) -> float:
    return float(entry["wall"]) + float(entry.get("duration_ms") or 0) / 1000


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None  # absent, or an HTTP-date: the mock sends delta-seconds
    return seconds if seconds > 0 else None


# -- checks -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
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

    def result(self, name: str, ok: str, failed: str) -> CheckResult:
        if not self.items:
            return CheckResult(name, True, ok)
        return CheckResult(name, False, f"{len(self.items)} {failed}", "\n".join(self.items))


def _requests_valid(runs: Sequence[ClientRun], opts: _Options) -> CheckResult:
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


def _honours_retry_after(runs: Sequence[ClientRun], opts: _Options) -> CheckResult:
    found, judged = _Findings(), 0
    for run in runs:
        for entry in run.entries:
            wait = _seconds(entry.get("retry_after"))
            retry = run.retry_of(entry) if entry["status"] in RETRY_AFTER_STATUSES and wait else None
            if retry is None or wait is None:
                continue
            judged += 1
            gap = float(retry["wall"]) - _end(entry)
            if gap < wait - opts.slack:
                found.add(run, f"{entry['method']} {entry['path']} got {entry['status']} with Retry-After "
                               f"{wait:g} s and was sent again {gap:.3f} s later", [entry, retry])
    ok = (f"{judged} retries after 429/503 waited for Retry-After" if judged
          else "not exercised: the client never retried a 429/503")
    return found.result("honours_retry_after", ok, "retries came before Retry-After")


def _no_retry_on_client_errors(runs: Sequence[ClientRun], opts: _Options) -> CheckResult:
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


def _stops_at_terminal(runs: Sequence[ClientRun], opts: _Options) -> CheckResult:
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


def _polls_not_too_fast(runs: Sequence[ClientRun], opts: _Options) -> CheckResult:
    found, gaps = _Findings(), []
    for run in runs:
        for task_id, reads in run.task_reads().items():
            terminal, number, fast = run.terminal_read(task_id), 0, []
            for before, after in zip(reads, reads[1:], strict=False):
                if before["status"] != 200:
                    continue  # a retry after an error answer is honours_retry_after's business
                number += 1
                if terminal is not None and number >= terminal:
                    continue  # reads past terminal are stops_at_terminal's business
                hint = _seconds(before.get("retry_after"))
                required = min(opts.min_poll_interval, hint) if hint else opts.min_poll_interval
                gap = float(after["wall"]) - _end(before)
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


def _idempotent_retries(runs: Sequence[ClientRun], opts: _Options) -> CheckResult:
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


def _surfaces_failures(runs: Sequence[ClientRun], opts: _Options) -> CheckResult:
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


def _returns_results(runs: Sequence[ClientRun], opts: _Options) -> CheckResult:
    found = _Findings()
    expected = [run for run in runs if run.scenario.expect == "result"]
    for run in expected:
        if run.outcome != "returned":
            found.add(run, run.describe(), run.entries[-4:])
    return found.result("returns_results", f"all {len(expected)} successful runs returned a result",
                        "successful runs did not return a result")


_JUDGES: dict[str, Callable[[Sequence[ClientRun], _Options], CheckResult]] = {
    "requests_valid": _requests_valid,
    "honours_retry_after": _honours_retry_after,
    "no_retry_on_client_errors": _no_retry_on_client_errors,
    "stops_at_terminal": _stops_at_terminal,
    "polls_not_too_fast": _polls_not_too_fast,
    "idempotent_retries": _idempotent_retries,
    "surfaces_failures": _surfaces_failures,
    "returns_results": _returns_results,
}


# -- report -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientReport:
    """The verdicts of one conformance run, in `CHECKS` order, and the runs they were judged from."""

    client: str
    checks: tuple[CheckResult, ...]
    runs: tuple[ClientRun, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(check.name for check in self.checks if not check.passed)

    def __getitem__(self, name: str) -> CheckResult:
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


# -- the harness ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    min_poll_interval: float
    slack: float


class _Mock:
    """The mock's admin API, per namespace."""

    def __init__(self, base_url: str, http: httpx.Client) -> None:
        self.base_url, self.http = base_url.rstrip("/"), http

    def admin(self, method: str, path: str, namespace: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.base_url}/_mock{path}",
                                     headers={"X-Mock-Namespace": namespace}, **kwargs)
        if response.status_code >= 400:
            raise ClientConformanceError(f"runapi-mock: admin {method} /_mock{path} answered "
                                         f"{response.status_code}: {response.text[:300]}")
        return response.json()

    def prepare(self, namespace: str, progression: str, rule: Mapping[str, Any] | None) -> None:
        self.admin("POST", "/reset", namespace)
        self.admin("PUT", "/config", namespace, json={"progression": progression})
        if rule is not None:
            self.admin("POST", "/rules", namespace, json=dict(rule))

    def release(self, namespace: str) -> None:
        """Fail every unfinished task, so a client that ignores its timeout hint can return."""
        for task in self.admin("GET", "/tasks", namespace)["tasks"]:
            if task["status"] not in TERMINAL:
                self.admin("POST", f"/tasks/{task['id']}/status", namespace,
                           json={"status": "failed", "error": "runapi-mock: released by the conformance kit"})

    def collect(self, namespace: str) -> tuple[tuple[Entry, ...], dict[str, Mapping[str, Any]]]:
        journal = self.admin("GET", "/journal", namespace, params={"limit": 10_000})
        tasks = self.admin("GET", "/tasks", namespace, params={"limit": 10_000})["tasks"]
        return tuple(reversed(journal["entries"])), {task["id"]: task for task in tasks}


def _call(adapter: ClientAdapter, url: str, api_key: str, request: dict[str, Any], family: str,
          action: str, context: ClientContext, grace: float,
          release: Callable[[], None]) -> tuple[Literal["returned", "raised", "hung"], Any, float, bool]:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = adapter.call(url, api_key, request, family, action, context)
        except BaseException as exc:  # noqa: B036 - user code: whatever it raises is what it surfaced
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"runapi-conformance-{context.scenario}", daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(context.timeout + grace)
    released = thread.is_alive()
    if released:
        release()
        thread.join(grace)
    elapsed = time.monotonic() - started
    if thread.is_alive():
        return "hung", None, elapsed, released  # a daemon thread: abandoned, not killed
    if "error" in box:
        return "raised", box["error"], elapsed, released
    return "returned", box.get("result"), elapsed, released


def _simplest(family: str, action: str) -> dict[str, Any]:
    # Generation alone starts from the simplest example; shrinking would only cost time.
    found: CreateRequest = find(create_requests(family, action), lambda _: True,
                                settings=settings(database=None, phases=[Phase.generate], max_examples=10))
    return dict(found.body)


def run_client_conformance(
    adapter: ClientAdapter | Generate,
    *,
    base_url: str,
    api_key: str = "conformance-key",
    min_poll_interval: float = 0.25,
    examples: int = 3,
    scenarios: Collection[str] | None = None,
    retry_after: float = 1.0,
    timeout: float = 10.0,
    stuck_timeout: float = 1.0,
    grace: float = 5.0,
    slack: float = 0.02,
    progression: str = "polls:1",
) -> ClientReport:
    """Run `adapter` through the scenario matrix and `examples` generated valid requests, then judge it.

    Serve the mock with a small `poll_retry_after` (0.05): clients that honour a poll's Retry-After then
    poll quickly. The mock rounds Retry-After up to whole seconds, so the 429/503/flaky scenarios cost a
    client that honours them about 4 s.

    Args:
        base_url: the mock's base URL; it needs the admin API under `/_mock/`.
        min_poll_interval: the least time between status reads of an unfinished task; a smaller
            Retry-After on the earlier read lowers it for that read.
        scenarios: names from `SCENARIOS` to run (default: all).
        retry_after: seconds asked for (`X-Mock-Retry-After` in `ClientContext.headers`) on 429/503/flaky.
        timeout: the timeout hint of ordinary calls; stuck_timeout: the hint of the stuck scenario.
        grace: seconds past the hint before the kit fails the task to release the client, then again
            before it abandons a call that still has not returned.
        slack: tolerance of the timing checks, in seconds of the server's wall clock.
        progression: the progression of each run's namespace (`polls:N` or `immediate` are judged exactly).
    """
    if not isinstance(adapter, ClientAdapter):
        adapter = ClientAdapter(generate=adapter, name=getattr(adapter, "__name__", "client"))
    if min_poll_interval < 0 or examples < 0 or slack < 0 or timeout <= 0 or stuck_timeout <= 0:
        raise ValueError("min_poll_interval, examples and slack must be >= 0; timeouts must be > 0")
    unknown = set(scenarios or ()) - {s.name for s in SCENARIOS}
    if unknown:
        raise ValueError(f"unknown scenarios {sorted(unknown)}; known: {[s.name for s in SCENARIOS]}")
    chosen = [s for s in SCENARIOS if scenarios is None or s.name in scenarios]
    family, action = adapter.operations[0]
    request = dict(adapter.request) if adapter.request is not None else _simplest(family, action)
    token = uuid.uuid4().hex[:10]
    runs: list[ClientRun] = []
    with httpx.Client(timeout=30) as http:
        mock = _Mock(base_url, http)

        def run_one(scenario: ClientScenario, label: str, family: str, action: str,
                    body: dict[str, Any]) -> None:
            namespace = f"cc-{token}-{label}"
            mock.prepare(namespace, progression, scenario.rule)
            headers = {"X-Mock-Retry-After": f"{retry_after:g}"} if scenario.retry_after_header else {}
            context = ClientContext(label, stuck_timeout if scenario.stuck else timeout, headers)
            outcome, value, elapsed, released = _call(
                adapter, f"{mock.base_url}/ns/{namespace}", api_key, dict(body), family, action, context,
                grace, lambda: mock.release(namespace))
            entries, tasks = mock.collect(namespace)
            runs.append(ClientRun(scenario, label, namespace, family, action, body, outcome, value, elapsed,
                                  entries, tasks, released))
            if outcome != "hung":  # a hung client would recreate the namespace on its next request
                mock.admin("POST", "/reset", namespace)

        for scenario in chosen:
            body = {k: v for k, v in request.items() if k != "prompt"} if scenario.invalid else request
            run_one(scenario, scenario.name, family, action, body)
        if examples:
            example = ClientScenario("example", "A generated valid request; the task completes.", "result")
            numbers = iter(range(1, 1_000_000))

            @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(st.one_of([create_requests(f, a) for f, a in adapter.operations]))
            def run_examples(generated: CreateRequest) -> None:
                run_one(example, f"example{next(numbers)}", generated.family, generated.action,
                        generated.body)

            run_examples()
    opts = _Options(min_poll_interval, slack)
    return ClientReport(adapter.name, tuple(_JUDGES[c.name](runs, opts) for c in CHECKS), tuple(runs))


def assert_client_conforms(adapter: ClientAdapter | Generate, *, ignore: Collection[str] = (),
                           **kwargs: Any) -> ClientReport:
    """Run the checks (`run_client_conformance` arguments) and raise if any check not in `ignore` failed."""
    unknown = set(ignore) - {check.name for check in CHECKS}
    if unknown:
        raise ValueError(f"unknown checks {sorted(unknown)}; known: {[c.name for c in CHECKS]}")
    report = run_client_conformance(adapter, **kwargs)
    if any(name not in ignore for name in report.failed):
        raise ClientConformanceError(str(report))
    return report
