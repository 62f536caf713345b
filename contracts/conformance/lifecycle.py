"""The task lifecycle as a Hypothesis state machine (create, poll, advance the clock, receive callbacks).

`LifecycleMachine` is public: subclass it, override `make_target()` (rules cannot take fixtures), and run
`MyMachine.TestCase`. `AsyncClientAdapter` lets the machine drive an `httpx.AsyncClient` synchronously.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule

from ..catalog import load_catalog
from ..receiver import CallbackReceiver
from ..signing import SignatureError, verify
from ..strategies import CreateRequest, create_requests
from ..validate import validate_response
from ..vocabulary import TERMINAL, moves_forward, rank
from .server import (
    MOCK_BALANCE_CENTS,
    ConformanceFailure,
    check_create_accepted,
    check_status_progress,
    check_terminal_sticky,
    wait_for_callback,
)
from .target import Target

__all__ = ["AsyncClientAdapter", "LifecycleMachine", "TrackedTask"]

T = TypeVar("T")
PROGRESSIONS = ("immediate", "polls:1", "polls:2", "auto", "manual")  # a sample of every mode
# How long a callback of an ended task may take to arrive: a bound on "never sent", not a speed requirement
# (the sender is asynchronous; on a busy machine 5 s was once too short for a callback that did come).
CALLBACK_WAIT = 30.0


class AsyncClientAdapter:
    """Runs an `httpx.AsyncClient`'s coroutines on a private event-loop thread, so sync code can call it.

    `request(method, url, **kwargs)` has `httpx.Client.request`'s shape: an adapter can be a Target's client.
    """

    def __init__(self, client: httpx.AsyncClient, *, timeout: float = 60.0) -> None:
        self.client = client
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="runapi-async-adapter",
                                        daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> httpx.URL:
        return self.client.base_url

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run one coroutine on the adapter's loop and return its result (or raise its exception)."""
        if self._loop.is_closed():
            coroutine.close()
            raise RuntimeError("AsyncClientAdapter is closed")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(self.timeout)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.run(self.client.request(method, url, **kwargs))

    def close(self) -> None:
        """Close the client on its loop, then stop the loop and join its thread."""
        if self._loop.is_closed():
            return
        try:
            self.run(self.client.aclose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(self.timeout)
            self._loop.close()

    def __enter__(self) -> AsyncClientAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class TrackedTask:
    """A task the machine created, and every status it has read for it."""

    request: CreateRequest
    id: str
    progression: str | None
    callback: bool
    statuses: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.request.path

    def __repr__(self) -> str:
        return f"TrackedTask({self.request.family}/{self.request.action} {self.id} {self.statuses})"


class LifecycleMachine(RuleBasedStateMachine):
    """Creates tasks, polls them, moves the mock's clock and checks callbacks; fails on any broken contract.

    Checked on every step: status bodies conform to `task`, a status only moves forward, a terminal status
    never changes, every callback verifies (when a receiver and secret are available) and reports the status
    the task ended in. Override `make_target()`; optionally `make_receiver()`, `requests()` and `callbacks()`.
    """

    tasks = Bundle("tasks")

    def __init__(self) -> None:
        super().__init__()
        self.target: Target | None = None
        self.receiver: CallbackReceiver | None = None
        self.tracked: list[TrackedTask] = []
        self.verified: set[str] = set()

    # -- hooks for subclasses ------------------------------------------------------------------------------

    def make_target(self) -> Target:
        """The server to drive; called once per example. Subclasses must override it."""
        raise NotImplementedError("subclass LifecycleMachine and override make_target() to return a Target")

    def make_receiver(self) -> CallbackReceiver | None:
        """A started receiver for callbacks, or None; by default one when the target can reach it."""
        assert self.target is not None
        return CallbackReceiver().start() if self.target.can_verify_callbacks else None

    @classmethod
    def requests(cls) -> st.SearchStrategy[CreateRequest]:
        """The create requests to draw (default: every asynchronous catalog action and model: a synchronous one
        answers its result, or a task result to poll, not a task whose lifecycle this machine follows)."""
        catalog = load_catalog()
        return st.one_of([create_requests(family, action) for (family, action), entry in catalog.actions.items()
                          if "sync" not in entry.output_spec])

    @classmethod
    def callbacks(cls) -> st.SearchStrategy[bool]:
        """Whether a create asks for a callback, when a receiver is there (default: either)."""
        return st.booleans()

    # -- rules ---------------------------------------------------------------------------------------------

    @initialize()
    def start(self) -> None:
        self.target = self.make_target()
        if self.target.has_admin:
            # A fresh namespace per example: its own tasks, clock and balance.
            self.target.namespace = f"lifecycle-{uuid.uuid4().hex[:16]}"
            admin = self.target.mock_admin
            admin.reset()
            admin.set_balance(self.target.api_key, MOCK_BALANCE_CENTS)
        self.receiver = self.make_receiver()

    @rule(target=tasks, data=st.data())
    def create(self, data: st.DataObject) -> TrackedTask:
        target = self._target()
        request = data.draw(self.requests(), label="request")
        progression = None
        if target.has_admin:
            progression = data.draw(st.sampled_from(PROGRESSIONS), label="progression")
        callback = self.receiver is not None and data.draw(self.callbacks(), label="callback")
        body = {k: v for k, v in request.body.items() if k != "callback_url"}
        if callback:
            assert self.receiver is not None
            body["callback_url"] = self.receiver.url
        request = CreateRequest(request.family, request.action, request.model, body)
        task_id = check_create_accepted(target, request, progression=progression)
        task = TrackedTask(request, task_id, progression, callback)
        self.tracked.append(task)
        return task

    @rule(task=tasks)
    def poll(self, task: TrackedTask) -> None:
        statuses = check_status_progress(self._target(), task.path, task.id, wait=0)
        status = statuses[-1]
        if task.statuses and not moves_forward(task.statuses[-1], status):
            raise ConformanceFailure("status_conforms", f"GET {task.path}/{{id}}",
                                     f"status moved back from {task.statuses[-1]} to {status} "
                                     f"(seen: {' → '.join(task.statuses + [status])})",
                                     request={"id": task.id}, pointer="/status")
        task.statuses.append(status)
        if status in TERMINAL:
            check_terminal_sticky(self._target(), task.path, task.id, status, reads=1)

    @precondition(lambda self: self.target is not None and bool(self.target.has_admin))
    @rule(seconds=st.sampled_from((1, 2, 5, 15, 60)))
    def advance_clock(self, seconds: int) -> None:
        answer = self._target().admin("POST", "/clock/advance", {"seconds": seconds})
        if answer.status_code != 200:
            raise ConformanceFailure("clock", "POST /_mock/clock/advance", f"HTTP {answer.status_code}",
                                     request={"seconds": seconds})

    @precondition(lambda self: self.target is not None and bool(self.target.has_admin))
    @rule(task=tasks)
    def step(self, task: TrackedTask) -> None:
        """Move a `manual` task one step (the admin API's only mover for that progression)."""
        self._target().admin("POST", f"/tasks/{task.id}/step")

    @precondition(lambda self: self.receiver is not None and any(self._awaiting()))
    @rule()
    def receive_callback(self) -> None:
        assert self.receiver is not None
        task = next(self._awaiting())
        operation = f"callback of POST {task.path}"
        call = wait_for_callback(self.receiver, task.id, timeout=CALLBACK_WAIT)
        if call is None:
            raise ConformanceFailure("callback_verified", operation,
                                     f"task {task.id} ended {task.statuses[-1]}; no callback came in "
                                     f"{CALLBACK_WAIT:g}s",
                                     request=task.request.body)
        secret = self._target().callback_secret
        assert secret is not None
        try:
            verify(secret, call.headers, call.body)
        except SignatureError as exc:
            raise ConformanceFailure("callback_verified", operation, f"signature does not verify: {exc}",
                                     request=task.request.body) from None
        payload = json.loads(call.body)
        violations = validate_response("callback_payload", payload)
        if violations:
            raise ConformanceFailure("callback_verified", operation, violations[0].message,
                                     request=task.request.body, pointer=violations[0].pointer or "/")
        if payload.get("status") != task.statuses[-1]:
            raise ConformanceFailure("callback_verified", operation,
                                     f"callback says {payload.get('status')}, "
                                     f"the task read {task.statuses[-1]}",
                                     request=task.request.body, pointer="/status")
        self.verified.add(task.id)

    @invariant()
    def statuses_only_move_forward(self) -> None:
        for task in self.tracked:
            ranks = [rank(s) for s in task.statuses]
            if ranks != sorted(ranks):
                raise ConformanceFailure("status_conforms", f"GET {task.path}/{{id}}",
                                         f"statuses went backwards: {task.statuses}", request={"id": task.id})

    def teardown(self) -> None:
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None

    # -- helpers -------------------------------------------------------------------------------------------

    def _target(self) -> Target:
        if self.target is None:
            raise RuntimeError("the machine has no target yet")
        return self.target

    def _awaiting(self) -> Any:
        return (t for t in self.tracked
                if t.callback and t.statuses and t.statuses[-1] in TERMINAL and t.id not in self.verified)
