"""The task engine: tasks, their lifecycle, credits and idempotency. No HTTP here.

`TaskEngine` is the whole engine: its core (lock, store, subscribers, namespaces: engine_core.py), namespace
settings (engine_namespaces.py), uploads (engine_uploads.py), listeners (listen_book.py) and, here, tasks:
create, read, drive and the scheduler's tick. Every change is published as an event to the store and the
subscribers (see engine_core).
"""

from __future__ import annotations

import hashlib
import heapq
import json

from runapi_contracts import load_catalog, vocabulary
from runapi_contracts.catalog import Action, Model

from .. import errors
from . import events, lifecycle, resources, scenarios, sources
from .core import DEFAULT_NAMESPACE, NAMESPACE_PATTERN, operation, uuid4_text
from .delivery import CallbackMode
from .lifecycle import Progression
from .listen_book import ListenBook
from .model import JsonObject, Namespace, Task
from .namespaces import KEEP, NamespaceSettings
from .ratelimit import check_concurrency
from .terms import create_terms
from .upload_book import UploadBook

__all__ = ["DEFAULT_NAMESPACE", "KEEP", "NAMESPACE_PATTERN", "TaskEngine", "request_fingerprint", "uuid4_text"]


class TaskEngine(NamespaceSettings, UploadBook, ListenBook):
    """Creates and reads tasks for every route; the one place that changes a namespace's state."""

    # -- create ---------------------------------------------------------------------------------------

    def create(self, ns: Namespace, key: str, family: str, action: str, body: JsonObject, *, origin: str,
               requested_model: str | None = None, scenario: scenarios.Scenario | None = None,
               progression: Progression | None = None, idempotency_key: str | None = None,
               client_request_id: str | None = None,
               callback_mode: CallbackMode | None = None) -> tuple[Task, bool]:
        """A new task for a validated, normalised body, or the replayed one for a repeated Idempotency-Key;
        returns once it is on disk (see create_pending)."""
        task, replayed, pending = self.create_pending(
            ns, key, family, action, body, origin=origin, requested_model=requested_model, scenario=scenario,
            progression=progression, idempotency_key=idempotency_key, client_request_id=client_request_id,
            callback_mode=callback_mode)
        if pending is not None:
            pending.wait()
        return task, replayed

    def create_pending(
        self,
        ns: Namespace,
        key: str,
        family: str,
        action: str,
        body: JsonObject,
        *,
        origin: str,
        requested_model: str | None = None,
        scenario: scenarios.Scenario | None = None,
        progression: Progression | None = None,
        idempotency_key: str | None = None,
        client_request_id: str | None = None,
        callback_mode: CallbackMode | None = None,
    ) -> tuple[Task, bool, events.Pending | None]:
        """create() that does not wait for the store: the async create route awaits the returned Pending (None:
        nothing to wait for) outside the lock, so concurrent creates share one commit before their 2xx."""
        entry = load_catalog().action(family, action)
        name = body.get("model")
        if entry is None or not isinstance(name, str) or name not in entry.models:
            raise errors.NotFound(f"no such family/action: {family}/{action}")
        model = entry.models[name]
        fingerprint = _fingerprint(family, action, body) if idempotency_key is not None else ""
        with self._lock:
            try:
                task, replayed, timed = self._create(ns, key, family, action, body, entry, model, fingerprint,
                                                     origin=origin, requested_model=requested_model,
                                                     scenario=scenario, progression=progression,
                                                     idempotency_key=idempotency_key,
                                                     client_request_id=client_request_id,
                                                     callback_mode=callback_mode)
            finally:
                pending = self._store.submit()  # the 2xx waits for it: an accepted task survives a crash
        if timed:  # `auto` tasks (and `immediate` ones with a callback) give the scheduler something to do
            self.notify()
        return task, replayed, pending

    def _create(self, ns: Namespace, key: str, family: str, action: str, body: JsonObject, entry: Action,
                model: Model, fingerprint: str, *, origin: str, requested_model: str | None,
                scenario: scenarios.Scenario | None, progression: Progression | None,
                idempotency_key: str | None, client_request_id: str | None,
                callback_mode: CallbackMode | None) -> tuple[Task, bool, bool]:
        now = ns.clock.now()
        if idempotency_key is not None:
            known = ns.idempotency.get((key, idempotency_key))
            if known is not None:
                known_fingerprint, task_id = known
                if known_fingerprint != fingerprint:
                    raise errors.Conflict(
                        "Idempotency-Key was already used with a different request body",
                        task_id=task_id,
                    )
                replayed = ns.tasks.get(task_id)
                if replayed is not None:
                    self._materialize(ns, replayed, now)
                    return replayed, True, False
        active, frees_in = ns.active_count(key) if self.settings.max_concurrent else (0, None)
        check_concurrency(self.settings.max_concurrent, active, frees_in)
        self._prune(ns, now)
        found = sources.resolve(model, body, origin, self.settings, self._namespaces, self._bring_up_to_date,
                                ns.name, key)
        task_id = self.new_id()
        while task_id in ns.tasks:  # a --seed restarted over a --state file replays its ids
            task_id = self.new_id()
        resources.check(model, body, ns.ledger.account(key))  # a voice or persona id must be the account's
        price, image_format = create_terms(model, body)  # request_microcents (quotes answer the same), memoised
        ns.ledger.reserve(key, task_id, price)
        speed = self.settings.speed if self.settings.speed > 0 else 1.0
        timing = entry.timing_seconds
        outcome = scenario.outcome if scenario and scenario.outcome else "completed"
        task = Task(
            id=task_id, namespace=ns.name, key=key, family=family, action=action, model=model.name,
            body=body, created_at=now,
            progression=progression or ns.progression or self.settings.progression,
            outcome=outcome,
            durations=(timing.get("pending", 2) / speed, timing.get("processing", 10) / speed),
            price=price, origin=origin, client_request_id=client_request_id,
            image_format=image_format,
        )
        task.callback_mode = callback_mode or ns.callback_mode
        task.requested_model = requested_model
        if scenario and scenario.failure_message:
            task.failure = (scenario.failure_message, scenario.failure_code or errors.DEFAULT_FAILURE[1])
        if found is not None:  # a source on the mock's own files: kept, or the reason the task will fail
            found.apply(task)
        task.history.append(("pending", now))
        ns.add(task)
        if idempotency_key is not None:
            ns.idempotency[(key, idempotency_key)] = (fingerprint, task_id)
        timed = self._schedule(ns, task, now)
        self._publish(events.TaskCreated(ns, task, idempotency_key, fingerprint))
        return task, False, timed

    # -- read and drive -------------------------------------------------------------------------------

    def find(self, ns: Namespace, task_id: str) -> Task | None:
        """A task by id as it stands, or None: no poll counted, nothing brought up to date."""
        with self._lock:
            return ns.tasks.get(task_id)

    @operation
    def read(self, ns: Namespace, key: str, task_id: str, *, family: str | None = None,
             action: str | None = None) -> Task:
        """A status read by the task's owner: counts as a poll for `polls:N` and `immediate`."""
        task = ns.tasks.get(task_id)
        if task is None or task.key != key or (family and task.family != family) \
                or (action and task.action != action):
            raise errors.NotFound(f"Task {task_id} not found")
        task.reads += 1
        self._materialize(ns, task, ns.clock.now())
        self._publish(events.TaskUpdated(ns, task))
        return task

    @operation
    def get(self, ns: Namespace, task_id: str) -> Task:
        """A task by id for the admin API: does not count as a poll."""
        task = ns.tasks.get(task_id)
        if task is None:
            raise errors.NotFound(f"Task {task_id} not found")
        self._materialize(ns, task, ns.clock.now())
        return task

    @operation
    def list_tasks(self, ns: Namespace, *, status: str | None = None, key: str | None = None,
                   limit: int = 100, offset: int = 0) -> tuple[list[Task], int]:
        """Tasks brought up to date, newest first, matching `status` and `key`, past the first `offset`; and how
        many the namespace holds."""
        found: list[Task] = []
        now = ns.clock.now()
        for task in reversed(ns.tasks.values()):
            self._materialize(ns, task, now)
            if (status is None or task.status == status) and (key is None or task.key == key):
                if offset > 0:
                    offset -= 1
                    continue
                found.append(task)
                if len(found) >= limit:
                    break
        return found, len(ns.tasks)

    @operation
    def step(self, ns: Namespace, task_id: str) -> Task:
        """Move a task one step along its path (the `manual` progression's only mover)."""
        task = self.get(ns, task_id)
        task.manual_steps = max(task.manual_steps, task.step) + 1
        task.step = max(task.step, task.manual_steps)
        self._apply(ns, task, ns.clock.now())
        self._publish(events.TaskUpdated(ns, task))
        return task

    def force(self, ns: Namespace, task_id: str, status: str, *, failure: tuple[str, str] | None = None) -> Task:
        """Put a task in `status` now; only forward moves are allowed and terminal statuses stay.

        `failure` (message, code) is what a task forced to `failed` reports, its callback included.
        """
        if status not in vocabulary.STATUSES:
            raise errors.BadRequest(f"unknown status {status!r}", code="invalid_status")
        task = self._force(ns, task_id, status, failure)
        self.notify()
        return task

    @operation
    def _force(self, ns: Namespace, task_id: str, status: str, failure: tuple[str, str] | None) -> Task:
        task = self.get(ns, task_id)
        if task.status == status:
            return task
        if task.terminal or not vocabulary.moves_forward(task.status, status):
            raise errors.Conflict(f"task is {task.status}; it cannot go to {status}", code="invalid_transition",
                                  task_id=task.id)
        if status in lifecycle.TERMINAL:
            task.outcome = "completed" if status == "completed" else "failed"
        if status == "failed" and failure is not None:
            task.failure = failure
        task.step = lifecycle.PATHS[task.outcome].index(status)
        task.manual_steps = max(task.manual_steps, task.step)
        self._apply(ns, task, ns.clock.now())
        self._publish(events.TaskUpdated(ns, task))
        return task

    @operation
    def tick(self) -> float | None:
        """Bring due `auto` tasks up to date in every namespace; wall seconds until the next is due."""
        soonest: float | None = None
        for ns in list(self._namespaces.values()):
            now = ns.clock.now()
            while ns.due and ns.due[0][0] <= now:
                _, task_id = heapq.heappop(ns.due)
                task = ns.tasks.get(task_id)
                if task is not None:
                    self._materialize(ns, task, now)
                    self._schedule(ns, task, now)
            if ns.due and not ns.clock.frozen:
                wait = ns.due[0][0] - now
                soonest = wait if soonest is None else min(soonest, wait)
        return soonest

    @operation
    def discard(self, ns: Namespace, task_id: str) -> None:
        """Forget a task whose create could not be stored (its answer is an error, not a 2xx): a refused write
        leaves nothing in memory either. Its reservation and Idempotency-Key go with it."""
        task = ns.tasks.pop(task_id, None)
        if task is None:
            return
        ns.ledger.refund(task.key, task.id)
        ns.idempotency = {k: v for k, v in ns.idempotency.items() if v[1] != task_id}
        self._publish(events.TaskForgotten(ns, task))

    # -- internals ------------------------------------------------------------------------------------

    def _materialize(self, ns: Namespace, task: Task, now: float) -> None:
        step = lifecycle.step_at(task.progression, elapsed=now - task.created_at, reads=task.reads,
                                 manual_steps=task.manual_steps, durations=task.durations,
                                 callback=task.has_callback)
        if step > task.step:
            task.step = step
            self._apply(ns, task, now)

    def _bring_up_to_date(self, ns: Namespace, task: Task) -> None:
        self._materialize(ns, task, ns.clock.now())

    def _apply(self, ns: Namespace, task: Task, now: float) -> None:
        if task.terminal:
            return  # terminal statuses are sticky
        status = lifecycle.status_on_path(task.outcome, task.step)
        if status == task.status:
            return
        task.status = status
        task.history.append((status, now))
        if status == "completed":
            ns.ledger.settle(task.key, task.id, now)
            made = resources.made_by(task)  # a voice generated: the account's from now on
            if made is not None:
                resources.add(ns.ledger.account(task.key), *made)
        elif status == "failed":
            ns.ledger.refund(task.key, task.id)
        if status in lifecycle.TERMINAL:
            task.finished_at = now
            self._publish(events.TaskTerminal(ns, task))
        else:
            self._publish(events.TaskMoved(ns, task))

    def _schedule(self, ns: Namespace, task: Task, now: float) -> bool:
        """Queue a task's next status change that needs no read; False when nothing is timed."""
        wait = lifecycle.next_change_in(task.progression, now - task.created_at, task.durations, step=task.step,
                                        callback=task.has_callback)
        if wait is None or task.terminal:
            return False
        heapq.heappush(ns.due, (now + wait, task.id))
        return True

    def _prune(self, ns: Namespace, now: float) -> None:
        horizon = now - self.settings.retention_seconds
        while ns.order:
            oldest = ns.tasks.get(ns.order[0])
            if oldest is None:
                ns.order.popleft()  # already gone
                continue
            too_many = len(ns.tasks) >= self.settings.max_tasks_per_namespace
            if oldest.created_at >= horizon and not too_many:
                break
            if too_many and not oldest.terminal and oldest.created_at >= horizon:
                raise errors.RateLimited(
                    f"namespace {ns.name} holds {len(ns.tasks)} tasks, the most it keeps",
                    code="too_many_tasks", retry_after=1,
                )
            ns.order.popleft()
            del ns.tasks[oldest.id]
            ns.ledger.refund(oldest.key, oldest.id)
            self._publish(events.TaskForgotten(ns, oldest))


def _fingerprint(family: str, action: str, body: JsonObject) -> str:
    canonical = json.dumps([family, action, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def request_fingerprint(key: str, method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\0".join([key.encode(), method.encode(), path.encode(), body])).hexdigest()
