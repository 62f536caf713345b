"""Client conformance (contracts/conformance/client.py): the official Python SDKs, a well-behaved httpx
client, and deliberately bad clients, each of which must fail the check it breaks.

Every test serves its own mock on a loopback port (`make_server`) with a 50 ms poll Retry-After, so clients
that honour it poll quickly. The mock rounds Retry-After up to whole seconds, so the 429/503/flaky scenarios
cost a client that honours them about 4 s; bad clients that break something else skip those scenarios.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from runapi.core import PollingOptions, RequestOptions, http_client, polling
from runapi.flux_2 import Flux2Client
from runapi.flux_kontext import FluxKontextClient
from runapi.gpt_image_2 import GptImage2Client

from runapi_contracts.conformance.client import (
    CHECKS,
    SCENARIOS,
    ClientAdapter,
    ClientConformanceError,
    ClientContext,
    ClientReport,
    assert_client_conforms,
    run_client_conformance,
)
from runapi_mock.engine.lifecycle import Progression
from runapi_mock.serving.server import RunningServer

KEY = "conformance-key"
ALL_CHECKS = {check.name for check in CHECKS}
TIMING_SCENARIOS = {"rate_limited", "unavailable", "flaky"}
QUICK = [s.name for s in SCENARIOS if s.name not in TIMING_SCENARIOS]


@pytest.fixture
def mock(make_server: Callable[..., RunningServer]) -> RunningServer:
    return make_server(poll_retry_after=0.05, progression=Progression.parse("immediate"))


# -- the official SDKs ---------------------------------------------------------------------------------------


class SdkTime:
    """Stands in for the `time` module of runapi.core's http_client and polling: `sleep` is the running call's
    `context.sleep` (an advance of its frozen mock clock) and `monotonic` counts what it slept, so the SDK's
    deadlines (max_wait, its last wait cut to what is left) run on the same time as its waits; everything
    else is the real module. The SDK's waits, its Retry-After on 429 and its own backoff on 503, are then
    judged exactly as it chose them."""

    def __init__(self) -> None:
        self.calls = threading.local()  # the harness runs each adapter call on a thread of its own

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def start(self, sleep: Callable[[float], None]) -> None:
        """This thread's call waits with `sleep`; time.sleep (a run on wall time) leaves the SDK on real time."""
        self.calls.sleep, self.calls.slept = (None, 0.0) if sleep is time.sleep else (sleep, 0.0)

    def sleep(self, seconds: float) -> None:
        virtual = getattr(self.calls, "sleep", None)
        if virtual is None:
            time.sleep(seconds)
            return
        virtual(seconds)
        self.calls.slept += seconds

    def monotonic(self) -> float:
        return time.monotonic() + getattr(self.calls, "slept", 0.0)


SDK_TIME = SdkTime()


@pytest.fixture
def sdk_on_mock_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_client, "time", SDK_TIME)
    monkeypatch.setattr(polling, "time", SDK_TIME)


def sdk_adapter(client_class: type, operations: tuple[tuple[str, str], ...], *,
                idempotency_key: bool = False) -> ClientAdapter:
    """Wrap `client.<action>` of an official SDK.

    `run()` in runapi 0.10.1 takes no PollingOptions (it always waits up to 900 s), so the adapter does what
    run() does, `create()` then the SDK's own `runapi.core.polling.poll_until_complete`, with the harness's
    timeout as `max_wait`. The mock control headers go through the SDK's `RequestOptions(headers=...)`.
    """
    def generate(base_url: str, api_key: str, request: dict[str, Any], *, family: str, action: str,
                 context: ClientContext) -> Any:
        SDK_TIME.start(context.sleep)
        client = client_class(api_key=api_key, base_url=base_url, retry_base_delay=0.01, retry_max_delay=0.05)
        resource = getattr(client, action)
        headers = dict(context.headers)
        if idempotency_key:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        options = RequestOptions(headers=headers)
        task = resource.create(options=options, **request)
        return polling.poll_until_complete(lambda: resource.get(task.id, options=options),
                                           PollingOptions(poll_interval=2, max_wait=context.timeout))

    name = client_class.__name__ + (" + Idempotency-Key" if idempotency_key else "")
    return ClientAdapter(generate, operations=operations, name=name)


SDKS = {
    "flux_kontext": sdk_adapter(FluxKontextClient, (("flux_kontext", "text_to_image"),)),
    "flux_2": sdk_adapter(Flux2Client, (("flux_2", "text_to_image"), ("flux_2", "remix_image"))),
    "gpt_image_2": sdk_adapter(GptImage2Client,
                               (("gpt_image_2", "text_to_image"), ("gpt_image_2", "edit_image"))),
}


@pytest.mark.parametrize("sdk", sorted(SDKS))
@pytest.mark.usefixtures("sdk_on_mock_clock")
def test_official_sdk_verdicts(mock: RunningServer, sdk: str) -> None:
    # On wall time a busy machine could stretch the SDK's 0.01-0.05 s backoff past the 1 s Retry-After and
    # hide the verdict; on the frozen clock each gap is the wait the SDK chose.
    report = run_client_conformance(SDKS[sdk], base_url=mock.base_url, api_key=KEY, examples=3,
                                    frozen_clock=True)

    # runapi 0.10.1 retries a 503 after its own backoff (retry_base_delay), ignoring Retry-After: the SDK
    # honours Retry-After on 429 only (reference §5.3, `HttpClient._retry_delay`). The 429 retry waits 1 s.
    assert report.failed == ("honours_retry_after",), str(report)
    explanation = report["honours_retry_after"].explanation
    assert "[unavailable] GET /api/v1/" in explanation and "got 503 with Retry-After 1 s" in explanation
    assert "-> 503 Retry-After: 1 [unavailable]" in explanation  # the journal lines are shown
    assert "[rate_limited]" not in explanation
    # Without an Idempotency-Key the SDK never retries a create POST, so a flaky create surfaces as an error.
    flaky = next(run for run in report.runs if run.label == "flaky")
    assert flaky.outcome == "raised" and type(flaky.value).__name__ == "ServiceUnavailableError"
    assert report["idempotent_retries"].summary.startswith("not exercised")
    # It polls at the server's 50 ms Retry-After (its 2 s default applies only without one), stops at the
    # terminal status, and reports stuck tasks with its own TaskTimeoutError.
    assert report["polls_not_too_fast"].passed and report["stops_at_terminal"].passed
    stuck = next(run for run in report.runs if run.label == "stuck")
    assert type(stuck.value).__name__ == "TaskTimeoutError"
    examples = [run for run in report.runs if run.label.startswith("example")]
    assert len(examples) == 3 and all(run.outcome == "returned" for run in examples)


@pytest.mark.usefixtures("sdk_on_mock_clock")
def test_sdk_with_idempotency_key_retries_creates_with_one_key(mock: RunningServer) -> None:
    adapter = sdk_adapter(Flux2Client, (("flux_2", "text_to_image"),), idempotency_key=True)
    report = run_client_conformance(adapter, base_url=mock.base_url, api_key=KEY, examples=0,
                                    scenarios=["success", "flaky"], frozen_clock=True)

    assert report["idempotent_retries"].passed, str(report)
    assert report["idempotent_retries"].summary == "1 retried creates reused one Idempotency-Key"
    flaky = next(run for run in report.runs if run.label == "flaky")
    assert flaky.outcome == "returned"
    assert [e["status"] for e in flaky.entries if e["method"] == "POST"] == [503, 503, 200]
    # ...but, as for GETs, it retries the 503s after its backoff rather than after Retry-After (§5.3).
    assert report.failed == ("honours_retry_after",)
    assert report["honours_retry_after"].summary == "2 retries came before Retry-After"


# -- a small hand-written httpx client, good by default, with switches that break one thing each -------------


class ToyError(Exception):
    """What the toy client raises for an error answer, a failed task or its own timeout."""


@dataclass
class ToyClient:
    """POST then poll `GET .../{id}`; retries 429/5xx `max_retries` times with one Idempotency-Key.

    Every wait goes through `context.sleep`: `time.sleep`, or on a `frozen_clock=True` run an advance of the
    run's mock clock, so the judge sees exactly the waits the client chose, not how busy the machine was.
    """

    honour_retry_after: bool = True
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    poll_interval: float | None = None  # None: the poll's Retry-After, else 0.3 s
    extra_polls: int = 0
    fresh_key_per_attempt: bool = False
    raise_on_failed: bool = True
    raise_on_completed: bool = False
    ignore_timeout: bool = False
    extra_fields: dict[str, Any] = field(default_factory=dict)
    max_retries: int = 2

    def send(self, http: httpx.Client, sleep: Callable[[float], None], method: str, url: str,
             body: Any = None) -> httpx.Response:
        key = str(uuid.uuid4())
        for attempt in range(self.max_retries + 1):
            headers = {"Idempotency-Key": str(uuid.uuid4()) if self.fresh_key_per_attempt else key}
            response = http.request(method, url, json=body, headers=headers if method == "POST" else {})
            if response.status_code < 400:
                return response
            if response.status_code not in self.retry_statuses or attempt == self.max_retries:
                raise ToyError(f"{method} {url}: {response.status_code} {response.text}")
            wait = float(response.headers.get("retry-after", "0")) if self.honour_retry_after else 0.0
            sleep(max(wait, 0.01))
        raise AssertionError("unreachable")

    def generate(self, base_url: str, api_key: str, request: dict[str, Any], *, family: str, action: str,
                 context: ClientContext) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {api_key}", **context.headers}
        with httpx.Client(base_url=base_url, headers=headers, timeout=10) as http:
            route = f"/api/v1/{family}/{action}"
            task_id = self.send(http, context.sleep, "POST", route, {**request, **self.extra_fields}).json()["id"]
            deadline = time.monotonic() + context.timeout
            while True:
                response = self.send(http, context.sleep, "GET", f"{route}/{task_id}")
                task = response.json()
                if task["status"] in ("completed", "failed"):
                    for _ in range(self.extra_polls):
                        self.send(http, context.sleep, "GET", f"{route}/{task_id}")
                    if task["status"] == "failed" and self.raise_on_failed:
                        raise ToyError(f"task {task_id} failed: {task.get('error')}")
                    if self.raise_on_completed:
                        raise ToyError(f"could not read task {task_id}")
                    return task
                if time.monotonic() > deadline and not self.ignore_timeout:
                    raise ToyError(f"task {task_id} still {task['status']} after {context.timeout} s")
                hint = float(response.headers.get("retry-after", "0.3"))
                context.sleep(hint if self.poll_interval is None else self.poll_interval)

    def adapter(self, name: str) -> ClientAdapter:
        operations = (("flux_2", "text_to_image"), ("gpt_image_2", "edit_image"))
        return ClientAdapter(self.generate, operations=operations, name=name)


def test_well_behaved_client_passes_every_check(mock: RunningServer) -> None:
    report = assert_client_conforms(ToyClient().adapter("toy"), base_url=mock.base_url, api_key=KEY,
                                    examples=3)

    assert report.passed and report.failed == ()
    assert [check.name for check in report.checks] == [check.name for check in CHECKS]
    summaries = {check.name: check.summary for check in report.checks}
    assert summaries["honours_retry_after"] == "4 retries after 429/503 waited for Retry-After"
    assert summaries["idempotent_retries"] == "1 retried creates reused one Idempotency-Key"
    assert summaries["surfaces_failures"] == "all 6 failure scenarios raised"
    assert summaries["returns_results"] == "all 4 successful runs returned a result"
    assert len(report.runs) == len(SCENARIOS) + 3
    table = report.table()
    assert table.splitlines()[0].split() == ["check", "result", "summary"]
    assert all(f"{name}" in table for name in ALL_CHECKS) and "FAIL" not in table


BAD_CLIENTS = [
    pytest.param(ToyClient(honour_retry_after=False), list(TIMING_SCENARIOS), {"honours_retry_after"},
                 "got 503 with Retry-After 1 s and was sent again", id="ignores-retry-after"),
    pytest.param(ToyClient(retry_statuses=frozenset({402, 429, 503})), QUICK, {"no_retry_on_client_errors"},
                 "POST /api/v1/flux_2/text_to_image got 402 and was sent again (2 more time(s))",
                 id="retries-402"),
    pytest.param(ToyClient(poll_interval=0.0), QUICK, {"polls_not_too_fast"},
                 "status reads came sooner than 0.05 s after the previous", id="hot-loop"),
    pytest.param(ToyClient(extra_polls=1), QUICK, {"stops_at_terminal"},
                 "was completed at status read 2, yet the client read it 1 more time(s)",
                 id="polls-past-terminal"),
    pytest.param(ToyClient(fresh_key_per_attempt=True), ["success", "flaky"], {"idempotent_retries"},
                 "POST /api/v1/flux_2/text_to_image was sent 3 times with Idempotency-Key",
                 id="fresh-key-per-retry"),
    pytest.param(ToyClient(raise_on_failed=False), QUICK, {"surfaces_failures"},
                 "[failed] expected an error, but [failed] The task ends failed. The adapter returned",
                 id="returns-failed-task"),
    pytest.param(ToyClient(ignore_timeout=True), ["success", "stuck"], {"surfaces_failures"},
                 "(the harness failed the task to release it)", id="never-gives-up-on-stuck"),
    pytest.param(ToyClient(raise_on_completed=True), QUICK, {"returns_results"},
                 "[success] The task completes. The adapter raised ToyError: could not read task",
                 id="raises-on-success"),
    # The mock answers an invalid create with 422, so nothing completes: returns_results fails along with it.
    pytest.param(ToyClient(extra_fields={"seed": 7}), QUICK, {"requests_valid", "returns_results"},
                 "POST /api/v1/flux_2/text_to_image sent an invalid body", id="invalid-body"),
]


@pytest.mark.parametrize(("client", "scenarios", "failing", "evidence"), BAD_CLIENTS)
def test_bad_client_fails_exactly_its_check(mock: RunningServer, client: ToyClient, scenarios: list[str],
                                            failing: set[str], evidence: str) -> None:
    # On the frozen clock the gaps are the client's own waits: a hot loop's are 0 s however busy the machine
    # (on wall time a loaded machine stretched them past 0.05 s and the hot loop passed: the old flake).
    # The default grace (5 s past the timeout hint before the kit releases a call): with 0.5 s, a client that
    # honours its 1 s stuck timeout but whose last poll a busy machine slowed past 0.5 s was judged a hang.
    report = run_client_conformance(client.adapter("bad toy"), base_url=mock.base_url, api_key=KEY,
                                    examples=0, scenarios=scenarios, frozen_clock=True)

    assert set(report.failed) == failing, str(report)
    assert not report.passed
    explanation = "\n".join(report[name].explanation for name in failing)
    assert evidence in explanation, explanation
    assert "  #" in explanation  # journal lines: "#<seq> +<t>s METHOD path -> status"


def test_every_check_is_shown_able_to_fail() -> None:
    shown = set().union(*(param.values[2] for param in BAD_CLIENTS))
    assert shown == ALL_CHECKS


# -- the API around the harness ------------------------------------------------------------------------------


def test_assert_client_conforms_raises_with_the_report_and_honours_ignore(mock: RunningServer) -> None:
    adapter = ToyClient(extra_polls=1).adapter("sloppy")
    with pytest.raises(ClientConformanceError) as caught:
        assert_client_conforms(adapter, base_url=mock.base_url, api_key=KEY, examples=0,
                               scenarios=["success"])
    message = str(caught.value)
    assert message.startswith("runapi-mock: client conformance of sloppy")
    assert "stops_at_terminal: FAIL" in message and "GET /api/v1/flux_2/text_to_image/" in message

    report = assert_client_conforms(adapter, base_url=mock.base_url, api_key=KEY, examples=0,
                                    scenarios=["success"], ignore=["stops_at_terminal"])
    assert report.failed == ("stops_at_terminal",)
    with pytest.raises(ValueError, match="unknown checks"):
        assert_client_conforms(adapter, base_url=mock.base_url, ignore=["no_such_check"])


def test_plain_callable_without_context_and_from_calls_adapters(mock: RunningServer) -> None:
    toy = ToyClient()

    def generate(base_url: str, api_key: str, request: dict[str, Any], *, family: str, action: str) -> Any:
        return toy.generate(base_url, api_key, request, family=family, action=action,
                            context=ClientContext("any", timeout=1.0))

    report = run_client_conformance(generate, base_url=mock.base_url, api_key=KEY, examples=1,
                                    scenarios=["success", "failed", "stuck"])
    assert report.client == "generate" and report.passed, str(report)

    def create(base_url: str, api_key: str, request: dict[str, Any], *, family: str, action: str) -> str:
        response = httpx.post(f"{base_url}/api/v1/{family}/{action}", json=request,
                              headers={"Authorization": f"Bearer {api_key}"})
        response.raise_for_status()
        return str(response.json()["id"])

    def get(base_url: str, api_key: str, task_id: str, *, family: str, action: str) -> Any:
        response = httpx.get(f"{base_url}/api/v1/{family}/{action}/{task_id}",
                             headers={"Authorization": f"Bearer {api_key}"})
        response.raise_for_status()
        return response.json()

    adapter = ClientAdapter.from_calls(create, get, poll_interval=0.3, name="calls")
    report = run_client_conformance(adapter, base_url=mock.base_url, api_key=KEY, examples=0,
                                    scenarios=["success", "content_policy", "insufficient_credits", "stuck"])
    assert report.passed, str(report)
    # The kit's loop waits 0.3 s between polls; a loaded machine only makes the gaps longer, never shorter.
    shortest = re.search(r"poll intervals, the shortest ([0-9.]+) s", report["polls_not_too_fast"].summary)
    assert shortest is not None and float(shortest.group(1)) >= 0.3, report["polls_not_too_fast"].summary
    content_policy = next(run for run in report.runs if run.label == "content_policy")
    assert content_policy.outcome == "raised" and "Content policy violation" in str(content_policy.value)


def test_polls_not_too_fast_threshold_is_a_parameter(make_server: Callable[..., RunningServer]) -> None:
    # Without a poll Retry-After the floor is min_poll_interval itself: 0.3 s polls pass 0.25 and fail 0.5.
    # The frozen clock makes each gap exactly 0.3 s (on wall time a loaded machine could stretch one past 0.5).
    server = make_server(progression=Progression.parse("polls:2"))
    adapter = ToyClient(poll_interval=0.3).adapter("steady")
    relaxed = run_client_conformance(adapter, base_url=server.base_url, api_key=KEY, examples=0,
                                     scenarios=["success"], progression="polls:2", frozen_clock=True)
    strict = run_client_conformance(adapter, base_url=server.base_url, api_key=KEY, examples=0,
                                    scenarios=["success"], progression="polls:2", min_poll_interval=0.5,
                                    frozen_clock=True)
    assert relaxed["polls_not_too_fast"].passed and relaxed["stops_at_terminal"].passed
    assert relaxed["polls_not_too_fast"].summary.startswith("3 poll intervals")
    assert strict.failed == ("polls_not_too_fast",)
    assert "sooner than 0.5 s after the previous" in strict["polls_not_too_fast"].explanation


def test_arguments_are_checked_eagerly(mock: RunningServer) -> None:
    adapter = ToyClient().adapter("toy")
    with pytest.raises(ValueError, match="unknown scenarios"):
        run_client_conformance(adapter, base_url=mock.base_url, scenarios=["nope"])
    with pytest.raises(ValueError, match="must be"):
        run_client_conformance(adapter, base_url=mock.base_url, min_poll_interval=-1)


def test_report_lookup_and_text(mock: RunningServer) -> None:
    adapter = ToyClient(extra_polls=2).adapter("toy")
    report: ClientReport = run_client_conformance(adapter, base_url=mock.base_url, api_key=KEY, examples=0,
                                                  scenarios=["success"])
    assert report["stops_at_terminal"].passed is False
    with pytest.raises(KeyError):
        report["no_such_check"]
    text = str(report)
    assert "stops_at_terminal: FAIL - 1 tasks were polled past their terminal status" in text
    assert "yet the client read it 2 more time(s)" in text
