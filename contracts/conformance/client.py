"""Client conformance: run a user's client through scenarios on the mock and judge it from the journal.

The client is reached through an adapter (`ClientAdapter`): a callable
`generate(base_url, api_key, request, *, family, action[, context])` that returns a result or raises. Each
run gets its own mock namespace through a namespace-scoped base URL (`<base_url>/ns/<namespace>`), so the
client needs no mock-specific header. Verdicts come from the server's journal (`GET /_mock/journal`), never
from what the client says about itself. This module talks to the mock over HTTP only, through `MockAdmin`.

The parts: the matrix of checks and scenarios (`matrix.py`), the adapter (`adapter.py`), the judges and the
report (`judges.py`), and the harness here.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from typing import Any, Literal

import httpx
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from ..admin import MockAdmin, MockAdminError
from ..strategies import CreateRequest, create_requests
from ..vocabulary import RETRY_AFTER_HEADER, TERMINAL, JournalEntry
from .adapter import ClientAdapter, ClientContext, Generate
from .judges import ClientCheckResult, ClientReport, ClientRun, Options, judge
from .matrix import CHECKS, SCENARIOS, Check, ClientScenario

__all__ = [
    "CHECKS",
    "SCENARIOS",
    "Check",
    "ClientAdapter",
    "ClientCheckResult",
    "ClientConformanceError",
    "ClientContext",
    "ClientReport",
    "ClientRun",
    "ClientScenario",
    "Generate",
    "assert_client_conforms",
    "run_client_conformance",
]

RELEASED = "runapi-mock: released by the conformance kit"


class ClientConformanceError(AssertionError):
    """A client failed conformance checks (or the admin API failed); the message holds the journal lines."""


class _Mock:
    """The harness's moves on the mock, per namespace, through the admin client."""

    def __init__(self, admin: MockAdmin) -> None:
        self.admin = admin

    def prepare(self, namespace: str, progression: str, rule: Mapping[str, Any] | None, frozen: bool) -> None:
        admin = self.admin.for_namespace(namespace)
        admin.reset()
        admin.set_progression(progression)
        if frozen:
            admin.freeze()
        if rule is not None:
            admin.call("POST", "/rules", json=dict(rule))

    def sleeper(self, namespace: str) -> Callable[[float], None]:
        """A client's wait on the namespace's frozen clock: the clock moves by exactly what it waited."""
        admin = self.admin.for_namespace(namespace)

        def sleep(seconds: float) -> None:
            admin.advance(max(0.0, seconds))

        return sleep

    def release(self, namespace: str) -> None:
        """Fail every unfinished task, so a client that ignores its timeout hint can return."""
        admin = self.admin.for_namespace(namespace)
        for task in admin.tasks(10_000):
            if task["status"] not in TERMINAL:
                admin.force(task["id"], "failed", error=RELEASED)

    def collect(self, namespace: str) -> tuple[tuple[JournalEntry, ...], dict[str, Mapping[str, Any]]]:
        admin = self.admin.for_namespace(namespace)
        entries, tasks = admin.journal(10_000), admin.tasks(10_000)
        return tuple(reversed(entries)), {task["id"]: task for task in tasks}


def _call(adapter: ClientAdapter, url: str, api_key: str, request: dict[str, Any], family: str,
          action: str, context: ClientContext, grace: float,
          release: Callable[[], None]) -> tuple[Literal["returned", "raised", "hung"], Any, float, bool]:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = adapter.call(url, api_key, request, family, action, context)
        except BaseException as exc:
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
    frozen_clock: bool = False,
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
        frozen_clock: freeze each run's namespace clock and judge waits on it; `ClientContext.sleep` then
            advances that clock. For a client that takes its sleep function from the adapter: its waits are
            judged exactly, however fast or busy the machine. On wall time (the default) a gap shorter than
            asked is proof, but a busy machine can stretch a client's gaps and hide one that waits too little.
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
    base_url = base_url.rstrip("/")
    try:
        with httpx.Client(timeout=30) as http:
            mock = _Mock(MockAdmin(http, base_url))

            def run_one(scenario: ClientScenario, label: str, family: str, action: str,
                        body: dict[str, Any]) -> None:
                namespace = f"cc-{token}-{label}"
                mock.prepare(namespace, progression, scenario.rule, frozen_clock)
                headers = {RETRY_AFTER_HEADER: f"{retry_after:g}"} if scenario.retry_after_header else {}
                context = ClientContext(label, stuck_timeout if scenario.stuck else timeout, headers,
                                        mock.sleeper(namespace) if frozen_clock else time.sleep)
                outcome, value, elapsed, released = _call(
                    adapter, f"{base_url}/ns/{namespace}", api_key, dict(body), family, action, context,
                    grace, lambda: mock.release(namespace))
                entries, tasks = mock.collect(namespace)
                runs.append(ClientRun(scenario, label, namespace, family, action, body, outcome, value, elapsed,
                                      entries, tasks, released))
                if outcome != "hung":  # a hung client would recreate the namespace on its next request
                    mock.admin.for_namespace(namespace).reset()

            for scenario in chosen:
                body = {k: v for k, v in request.items() if k != "prompt"} if scenario.invalid else request
                run_one(scenario, scenario.name, family, action, body)
            if examples:
                example = ClientScenario("example", "A generated valid request; the task completes.", "result")
                numbers = itertools.count(1)

                @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
                          suppress_health_check=list(HealthCheck))
                @given(st.one_of([create_requests(f, a) for f, a in adapter.operations]))
                def run_examples(generated: CreateRequest) -> None:
                    run_one(example, f"example{next(numbers)}", generated.family, generated.action,
                            generated.body)

                run_examples()
    except MockAdminError as exc:  # the mock, not the client, failed: say so in the kit's own error
        raise ClientConformanceError(str(exc)) from exc
    verdicts = judge(runs, Options(min_poll_interval, slack, frozen_clock))
    return ClientReport(adapter.name, verdicts, tuple(runs))


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
