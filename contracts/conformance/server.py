"""Server conformance: the provider-side checks, as plain functions, and a runner that collects a Report.

Each check raises `ConformanceFailure` (an AssertionError) naming the check, the operation, the request and
the JSON pointer of the failing field. `run_server_conformance` runs them for every catalog family/action,
valid and invalid requests drawn by Hypothesis, and never raises on a failing check: it records it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx

from ..admin import MockAdminError
from ..catalog import load_catalog
from ..receiver import CallbackReceiver
from ..signing import SignatureError, verify
from ..strategies import CreateRequest, InvalidRequest, create_requests, invalid_create_requests
from ..vocabulary import TERMINAL, moves_forward
from . import files, pricing
from .exchange import body as _body
from .exchange import conform as _conform
from .exchange import expect_error as _expect_error
from .exchange import expect_request_id as _expect_request_id
from .exchange import for_examples as _for_examples
from .exchange import send as _send
from .report import CheckResult, ConformanceFailure, Report
from .target import StopConformance, Target

__all__ = [
    "CHECKS",
    "ROUTE_CHECKS",
    "CheckResult",
    "ConformanceFailure",
    "Report",
    "check_bad_key",
    "check_callback",
    "check_create_accepted",
    "check_invalid_rejected",
    "check_status_progress",
    "check_terminal_sticky",
    "check_unknown_id",
    "run_server_conformance",
]

CHECKS = (
    "create_accepted",    # valid requests: 2xx, create_response body, X-Request-Id
    "status_conforms",    # status reads: 200, task body, same id, status only moves forward
    "terminal_sticky",    # a terminal status never changes on later reads
    "invalid_rejected",   # invalid requests: 4xx with the error envelope
    "unknown_id_404",     # a status read of an unknown id: 404 with the error envelope
    "bad_key_401",        # a missing or invalid key: 401 with the error envelope
    "callback_verified",  # the callback arrives, its signature verifies and its payload conforms
)
# The routes beside the image actions, checked once per run: check -> operation.
ROUTE_CHECKS = {**pricing.ROUTE_CHECKS, **files.ROUTE_CHECKS}
INVALID_KEY = "runapi-conformance-invalid-key"
MOCK_BALANCE_CENTS = 10**9


# --- helpers (the shared ones are in exchange.py) ----------------------------------------------------


def _status_operation(path: str) -> str:
    return f"GET {path}/{{id}}"


# --- the checks -----------------------------------------------------------------------------------


def check_create_accepted(target: Target, request: CreateRequest, *, progression: str | None = None,
                          check: str = "create_accepted") -> str:
    """A valid request is accepted: 2xx, a `create_response` body, X-Request-Id. Returns the task id."""
    operation = f"POST {request.path}"
    target.guard_create(request.family, request.action, request.model, request.body)
    response = _send(target, check, "POST", request.path, operation, request.body, schema="create_response",
                     progression=progression)
    if not response.is_success:
        raise ConformanceFailure(check, operation, f"expected 2xx for a valid request, got "
                                 f"{response.status_code}: {response.text[:200]!r}", request=request.body)
    body = _body(check, operation, request.body, response)
    _conform(check, operation, request.body, "create_response", body)
    _expect_request_id(check, operation, request.body, response)
    header = response.headers.get("x-runapi-task-id")
    if header is not None and header != body["id"]:
        raise ConformanceFailure(check, operation, f"X-RunAPI-Task-Id {header!r} is not the body's id "
                                 f"{body['id']!r}", request=request.body, pointer="/id")
    return str(body["id"])


def _read(target: Target, check: str, path: str, task_id: str) -> tuple[str, httpx.Response]:
    operation = _status_operation(path)
    response = _send(target, check, "GET", f"{path}/{task_id}", operation, schema="task")
    request = {"id": task_id}
    if response.status_code != 200:
        raise ConformanceFailure(check, operation, f"expected 200, got {response.status_code}: "
                                 f"{response.text[:200]!r}", request=request)
    body = _body(check, operation, request, response)
    _conform(check, operation, request, "task", body)
    if body["id"] != task_id:
        raise ConformanceFailure(check, operation, f"read of task {task_id} answered task {body['id']}",
                                 request=request, pointer="/id")
    return str(body["status"]), response


def check_status_progress(target: Target, path: str, task_id: str, *, wait: float = 60.0,
                          interval: float = 1.0, check: str = "status_conforms") -> list[str]:
    """Poll until terminal (at most `wait` seconds): every read conforms and the status only moves forward.

    Returns the statuses seen; the last is not terminal when the wait ran out.
    """
    operation = _status_operation(path)
    seen: list[str] = []
    deadline = time.monotonic() + wait
    while True:
        status, response = _read(target, check, path, task_id)
        if seen and not moves_forward(seen[-1], status):
            raise ConformanceFailure(check, operation, f"status moved back from {seen[-1]} to {status} "
                                     f"(seen: {' → '.join(seen + [status])})", request={"id": task_id},
                                     pointer="/status")
        seen.append(status)
        if status in TERMINAL or time.monotonic() >= deadline:
            return seen
        time.sleep(max(0.0, min(_retry_after(response, interval), deadline - time.monotonic())))


def _retry_after(response: httpx.Response, default: float) -> float:
    try:
        value = float(response.headers.get("retry-after", ""))
    except ValueError:
        return default
    return value if 0 < value <= 10 * default else default


def check_terminal_sticky(target: Target, path: str, task_id: str, status: str, *, reads: int = 2) -> None:
    """A task seen in a terminal status shows that status on every later read."""
    if status not in TERMINAL:
        raise ValueError(f"status {status!r} is not terminal")
    for number in range(1, reads + 1):
        again, _ = _read(target, "terminal_sticky", path, task_id)
        if again != status:
            raise ConformanceFailure("terminal_sticky", _status_operation(path),
                                     f"task was {status}, read {number} after that says {again}",
                                     request={"id": task_id}, pointer="/status")


def check_invalid_rejected(target: Target, request: InvalidRequest) -> int:
    """A request breaking one rule gets a 4xx with the error envelope; returns the status code.

    The budget guard is asked first, at the model's price: a service that wrongly accepts it would charge.
    """
    operation = f"POST {request.path}"
    target.guard_create(request.family, request.action, request.model, request.body)
    response = _send(target, "invalid_rejected", "POST", request.path, operation, request.body)
    _expect_error("invalid_rejected", operation, request.body, response, range(400, 500),
                  f"for a request breaking {request.rule} on {request.field!r}")
    return response.status_code


def check_unknown_id(target: Target, family: str, action: str) -> None:
    """A status read of an id the server never issued gets 404 with the error envelope."""
    path = load_catalog().actions[(family, action)].path
    task_id = str(uuid.uuid4())
    response = _send(target, "unknown_id_404", "GET", f"{path}/{task_id}", _status_operation(path))
    _expect_error("unknown_id_404", _status_operation(path), {"id": task_id}, response, 404,
                  "for an unknown id")


def check_bad_key(target: Target, family: str, action: str, *, invalid_key: bool = True) -> None:
    """No key and (when `invalid_key`) a key the server never issued get 401 with the error envelope."""
    path = load_catalog().actions[(family, action)].path
    operation = _status_operation(path)
    keys = [""] + ([INVALID_KEY] if invalid_key else [])
    for key in keys:
        task_id = str(uuid.uuid4())
        response = _send(target, "bad_key_401", "GET", f"{path}/{task_id}", operation, api_key=key)
        _expect_error("bad_key_401", operation, {"id": task_id, "api_key": key or None}, response, 401,
                      "for a missing or invalid API key")


def check_callback(target: Target, receiver: CallbackReceiver, request: CreateRequest, *,
                   progression: str | None = None, wait: float = 60.0, interval: float = 1.0,
                   timeout: float = 30.0) -> dict[str, Any]:
    """A task with `callback_url` set to the receiver ends, and its callback verifies and conforms."""
    if target.callback_secret is None:
        raise ValueError("the target has no callback secret to verify with")
    check = "callback_verified"
    body = {**request.body, "callback_url": receiver.url}
    created = CreateRequest(request.family, request.action, request.model, body)
    task_id = check_create_accepted(target, created, progression=progression, check=check)
    seen = check_status_progress(target, request.path, task_id, wait=wait, interval=interval, check=check)
    operation = f"callback of POST {request.path}"
    if seen[-1] not in TERMINAL:
        raise ConformanceFailure(check, operation, f"task {task_id} did not end within {wait}s", request=body)
    call = wait_for_callback(receiver, task_id, timeout)
    if call is None:
        raise ConformanceFailure(check, operation, f"no callback for task {task_id} within {timeout}s",
                                 request=body)
    try:
        verify(target.callback_secret, call.headers, call.body)
    except SignatureError as exc:
        raise ConformanceFailure(check, operation, f"signature does not verify: {exc}",
                                 request=body) from None
    payload = json.loads(call.body)
    _conform(check, operation, body, "callback_payload", payload)
    if payload["status"] != seen[-1]:
        raise ConformanceFailure(check, operation, f"callback says {payload['status']}, status read says "
                                 f"{seen[-1]}", request=body, pointer="/status")
    return dict(payload)


def wait_for_callback(receiver: CallbackReceiver, task_id: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        for call in receiver.calls:
            try:
                payload = json.loads(call.body)
            except ValueError:
                continue
            if isinstance(payload, dict) and payload.get("id") == task_id:
                return call
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)


# --- the runner -----------------------------------------------------------------------------------


def _cheapest_model(family: str, action: str) -> str:
    models = load_catalog().actions[(family, action)].models.values()
    return min(models, key=lambda m: (m.price_microcents({}), m.name)).name


def _without_callback(body: Mapping[str, Any], receiver: CallbackReceiver | None) -> dict[str, Any]:
    # Generated callback URLs point at random loopback ports: never let a target deliver there.
    copy = dict(body)
    if "callback_url" in copy:
        if receiver is not None:
            copy["callback_url"] = receiver.url
        else:
            del copy["callback_url"]
    return copy


class _Run:
    """One run's shared state; `rows` maps each check to this action's report row."""

    def __init__(self, target: Target, report: Report, receiver: CallbackReceiver | None, wait: float,
                 interval: float) -> None:
        self.target, self.report, self.receiver = target, report, receiver
        self.progression = "immediate" if target.has_admin else None
        self.wait, self.interval = wait, interval
        self.rows: dict[str, CheckResult] = {}

    def start_action(self, path: str) -> None:
        create_op, status_op = f"POST {path}", _status_operation(path)
        self.rows = {check: self.report._get(check, create_op if check in _CREATE_CHECKS else status_op)
                     for check in CHECKS}

    def record(self, action: Callable[[], None]) -> None:
        try:
            action()
        except ConformanceFailure as failure:
            self.rows[failure.check].failure = str(failure)

    def once(self, check: str, action: Callable[[], None]) -> None:
        self.record(action)
        if not self.rows[check].failure:
            self.rows[check].passed += 1

    def valid(self, request: CreateRequest) -> None:
        request = CreateRequest(request.family, request.action, request.model,
                                _without_callback(request.body, self.receiver))
        task_id = check_create_accepted(self.target, request, progression=self.progression)
        self.rows["create_accepted"].passed += 1
        seen = check_status_progress(self.target, request.path, task_id, wait=self.wait,
                                     interval=self.interval)
        self.rows["status_conforms"].passed += 1
        if seen[-1] in TERMINAL:
            check_terminal_sticky(self.target, request.path, task_id, seen[-1])
            self.rows["terminal_sticky"].passed += 1
        else:
            self.rows["terminal_sticky"].skipped = f"no task ended within {self.wait:g}s"

    def invalid(self, request: InvalidRequest) -> None:
        body = request.body
        if request.field != "callback_url":
            body = _without_callback(body, self.receiver)
        request = InvalidRequest(request.family, request.action, request.model, body, request.field,
                                 request.rule)
        check_invalid_rejected(self.target, request)
        self.rows["invalid_rejected"].passed += 1

    def callback(self, request: CreateRequest) -> None:
        assert self.receiver is not None  # only called when a receiver runs
        check_callback(self.target, self.receiver, request, progression=self.progression, wait=self.wait,
                       interval=self.interval)
        self.rows["callback_verified"].passed += 1


_CREATE_CHECKS = ("create_accepted", "invalid_rejected", "callback_verified")


def _invalid_key_applies(target: Target) -> bool:
    # A mock started without --api-key accepts any non-blank key; only a missing key can be checked there.
    return not target.has_admin or bool(target.admin_config().get("api_keys"))


def _prepare_mock(target: Target) -> None:
    try:
        target.mock_admin.set_balance(target.api_key, MOCK_BALANCE_CENTS)
    except MockAdminError as exc:
        raise RuntimeError(f"could not set the mock's balance: {exc}") from None


def run_server_conformance(
    target: Target,
    *,
    examples: int = 10,
    invalid_examples: int | None = None,
    actions: Iterable[tuple[str, str]] | None = None,
    cheapest_only: bool = False,
    callbacks: bool = True,
    receiver: CallbackReceiver | None = None,
    wait: float = 60.0,
    interval: float = 1.0,
    seed: int | None = None,
    routes: bool = True,
) -> Report:
    """Run every check for every catalog family/action (or `actions`) and collect the results.

    Args:
        examples: Hypothesis examples of valid requests per family/action (invalid: `invalid_examples`,
            default the same).
        cheapest_only: draw requests only for each action's cheapest model (live mode).
        callbacks: check callbacks when the target can reach a local receiver (loopback and a known secret);
            a private `CallbackReceiver` is started unless `receiver` is given.
        wait, interval: bound and pace of status polling when the target has no admin API to make tasks end
            at once (with the admin API, tasks are created with `X-Mock-Progression: immediate`).
        seed: make Hypothesis' choices reproducible.
        routes: also run the route checks once (`ROUTE_CHECKS`: `pricing.ROUTE_CHECKS`, the price schedules, quotes,
            model list and account; `files.ROUTE_CHECKS`, the files API).

    A create guard that refuses (`StopConformance`, e.g. `BudgetExceeded`) ends the run: the reason is in
    `Report.stopped` and the checks not reached are left without examples.
    """
    if examples < 1 or (invalid_examples is not None and invalid_examples < 1):
        raise ValueError("examples must be at least 1")
    catalog = load_catalog()
    # A synchronous action answers its result instead of a task to poll: tests/e2e/test_sdk_sync.py checks those.
    chosen = sorted(k for k, a in catalog.actions.items() if "sync" not in a.output_spec) if actions is None \
        else list(actions)
    for key in chosen:
        if key not in catalog.actions:
            raise ValueError(f"no catalog action {key[0]}/{key[1]}")
    report = Report(target.base_url)
    if target.has_admin:
        _prepare_mock(target)
    own_receiver = None
    if callbacks and receiver is None and target.can_verify_callbacks:
        receiver = own_receiver = CallbackReceiver().start()
    run = _Run(target, report, receiver, wait, interval)
    try:
        invalid_key = _invalid_key_applies(target)
        for family, action in chosen:
            model = _cheapest_model(family, action) if cheapest_only else None
            _run_action(run, family, action, model, examples, invalid_examples or examples, callbacks,
                        invalid_key, seed)
        if routes:
            pricing.run_route_checks(target, report, examples, seed)
            files.run_route_checks(target, report, examples, seed)
    except StopConformance as exc:
        report.stopped = str(exc)
    finally:
        if own_receiver is not None:
            own_receiver.stop()
    return report


def _run_action(run: _Run, family: str, action: str, model: str | None, examples: int, invalid_examples: int,
                callbacks: bool, invalid_key: bool, seed: int | None) -> None:
    target = run.target
    run.start_action(load_catalog().actions[(family, action)].path)
    run.record(lambda: _for_examples(create_requests(family, action, model), examples, seed, run.valid))
    run.record(lambda: _for_examples(invalid_create_requests(family, action, model), invalid_examples, seed,
                                     run.invalid))
    run.once("unknown_id_404", lambda: check_unknown_id(target, family, action))
    run.once("bad_key_401", lambda: check_bad_key(target, family, action, invalid_key=invalid_key))
    row = run.rows["callback_verified"]
    if not callbacks:
        row.skipped = "callbacks not requested"
    elif run.receiver is None or target.callback_secret is None:
        row.skipped = ("target is not on loopback" if not target.on_loopback
                       else "no callback secret (pass one, or use a mock with /_mock/)")
    else:
        run.record(lambda: _for_examples(create_requests(family, action, model), 1, seed, run.callback))
