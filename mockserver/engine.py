"""The task engine: namespaces of tasks, their lifecycle, credits, limits and idempotency. No HTTP here.

The engine owns its namespaces and their lock; callers go through its methods. It knows neither the state
store nor the callback dispatcher: every change is published as an event (events.py) to its `Store` and to
its subscribers, and every operation that changes state ends by flushing the store, so a 2xx create is on
disk before the answer leaves.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import json
import os
import random
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

from runapi_contracts import load_catalog, vocabulary
from runapi_contracts.pricing import request_microcents

from . import errors, events, lifecycle, resources, scenarios, sources
from .clock import VirtualClock
from .delivery import CallbackMode
from .journal import Entry
from .ledger import Account
from .lifecycle import Progression
from .model import Namespace, Snapshot, Task
from .ratelimit import check_concurrency
from .settings import Settings

NAMESPACE_PATTERN = re.compile(vocabulary.NAMESPACE_PATTERN)
DEFAULT_NAMESPACE = "default"
_FLAKY_MEMORY = 10_000

Subscriber = Callable[[events.Event], None]
P = ParamSpec("P")
R = TypeVar("R")


class _Keep:
    """The default of `configure()`'s arguments: leave this setting as it is."""


KEEP = _Keep()


def _operation(method: Callable[Concatenate[TaskEngine, P], R]) -> Callable[Concatenate[TaskEngine, P], R]:
    """Run under the engine's lock and end by flushing the store, whether the operation succeeds or raises."""

    @functools.wraps(method)
    def run(self: TaskEngine, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            try:
                return method(self, *args, **kwargs)
            finally:
                self._store.flush()

    return run


class TaskEngine:
    """Creates and reads tasks for every route; the one place that changes task state."""

    def __init__(self, settings: Settings, store: events.Store = events.NULL_STORE) -> None:
        self.settings = settings
        self._store = store
        self._lock = threading.RLock()
        self._namespaces: OrderedDict[str, Namespace] = OrderedDict()
        self._subscribers: list[Subscriber] = []
        self.on_change: list[Callable[[], None]] = []  # the scheduler's wake-up: something timed changed
        self._ids = random.Random(settings.seed) if settings.seed is not None else None

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call `subscriber(event)` for every change, under the engine's lock, after the store recorded it."""
        self._subscribers.append(subscriber)

    def _publish(self, event: events.Event) -> None:
        self._store.record(event)
        for subscriber in self._subscribers:
            subscriber(event)

    def new_id(self) -> str:
        """A UUID4; reproducible across runs when the server has a --seed."""
        if self._ids is None:
            return uuid4_text(os.urandom(16).hex())  # what str(uuid.uuid4()) gives, at half its cost
        return uuid4_text(f"{self._ids.getrandbits(128):032x}")

    # -- namespaces ---------------------------------------------------------------------------------

    def namespace(self, name: str | None = None) -> Namespace:
        """The namespace called `name` (default: "default"), opened on first use. Past `max_namespaces` the
        least recently used namespace that holds nothing is evicted; if every one holds something, a 429."""
        name = name or DEFAULT_NAMESPACE
        with self._lock:
            found = self._namespaces.get(name)
            if found is not None:
                self._namespaces.move_to_end(name)
                return found
            try:
                return self._open(name)
            finally:
                self._store.flush()

    def _open(self, name: str, *, bounded: bool = True) -> Namespace:
        if not NAMESPACE_PATTERN.fullmatch(name):  # fullmatch: `$` alone lets 'abc\n' through
            raise errors.BadRequest(
                f"{vocabulary.NAMESPACE_HEADER} must be 1-64 characters of letters, digits, '_', '.', '-', "
                "and not '.' or '..'",
                code="invalid_namespace",
            )
        if bounded and len(self._namespaces) >= self.settings.max_namespaces:
            self._make_room()
        created = self._namespaces[name] = Namespace(name, self.settings)
        self._publish(events.NamespaceChanged(created))
        return created

    def _make_room(self) -> None:
        """Evict the least recently used namespace that holds nothing, or refuse the new one: never drop tasks,
        uploads or settings (with --state, from the file too) because other names came along."""
        idle = next((name for name, ns in self._namespaces.items() if not ns.holds_data()), None)
        if idle is None:
            bound = self.settings.max_namespaces
            raise errors.RateLimited(
                f"the mock holds {len(self._namespaces)} namespaces with tasks, uploads or settings, its bound "
                f"of {bound}: reset one (POST /_mock/reset with its {vocabulary.NAMESPACE_HEADER}) or raise "
                "the bound (--max-namespaces, RUNAPI_MOCK_MAX_NAMESPACES)", code="too_many_namespaces")
        del self._namespaces[idle]
        self._publish(events.NamespaceReset(idle, evicted=True))

    def find_namespace(self, name: str) -> Namespace | None:
        """The namespace called `name` if it is open; never opens one (file URLs name theirs)."""
        with self._lock:
            return self._namespaces.get(name)

    def open_namespaces(self) -> list[Namespace]:
        """Every namespace held now (what a server-wide bound such as the uploads' total sums over)."""
        with self._lock:
            return list(self._namespaces.values())

    def namespaces(self) -> list[tuple[str, int, int]]:
        """(name, tasks, journal entries) of every open namespace, by name; looking opens none."""
        with self._lock:
            return sorted((ns.name, len(ns.tasks), len(ns.journal)) for ns in self._namespaces.values())

    def clock(self, name: str) -> VirtualClock:
        """The clock of namespace `name` (opened if need be): what the dispatcher times deliveries by."""
        return self.namespace(name).clock

    @_operation
    def reset(self, name: str | None = None) -> None:
        if name is None:
            self._namespaces.clear()
        else:
            self._namespaces.pop(name, None)
        self._publish(events.NamespaceReset(name))

    @_operation
    def restore(self, snapshot: Snapshot) -> int:
        """Load what a state store kept: tasks rescheduled, open reservations held again; returns tasks loaded."""
        for state in snapshot.namespaces:
            ns = self._namespaces.get(state.name) or self._open(state.name, bounded=False)  # kept before
            ns.clock.restore(state.clock_offset, state.clock_frozen_at)
            ns.progression, ns.callback_mode = state.progression, state.callback_mode
            if state.starting_microcents is not None:
                ns.ledger.starting = state.starting_microcents
        for task in snapshot.tasks:
            self.namespace(task.namespace).add(task)
        for name, key, stored in snapshot.accounts:
            account = self.namespace(name).ledger.account(key)
            account.credit, account.spent, account.spent_by_day = stored.credit, stored.spent, stored.spent_by_day
            account.name, account.email = stored.name, stored.email
        for name, key, idempotency_key, fingerprint, task_id in snapshot.idempotency:
            self.namespace(name).idempotency[(key, idempotency_key)] = (fingerprint, task_id)
        for upload in snapshot.uploads:
            self.namespace(upload.namespace).uploads[upload.id] = upload
        for ns in self._namespaces.values():
            now = ns.clock.now()
            for task in ns.tasks.values():
                if not task.terminal:  # open reservations are the tasks still running
                    ns.ledger.account(task.key).hold(task.id, task.price)
                if not task.terminal and (task.progression.mode == "auto" or _has_callback(task)):
                    heapq.heappush(ns.due, (now, task.id))  # brought up to date by the next tick
        return len(snapshot.tasks)

    # -- namespace settings: clock, config, balance, rules, journal -------------------------------------

    def now(self, ns: Namespace) -> float:
        return ns.clock.now()

    def read_clock(self, ns: Namespace) -> tuple[float, bool]:
        """(now, frozen) on the namespace's clock."""
        return ns.clock.now(), ns.clock.frozen

    @_operation
    def advance_clock(self, ns: Namespace, seconds: float) -> tuple[float, bool]:
        ns.clock.advance(seconds)
        return self._clock_changed(ns)

    @_operation
    def freeze_clock(self, ns: Namespace) -> tuple[float, bool]:
        ns.clock.freeze()
        return self._clock_changed(ns)

    @_operation
    def unfreeze_clock(self, ns: Namespace) -> tuple[float, bool]:
        ns.clock.unfreeze()
        return self._clock_changed(ns)

    def _clock_changed(self, ns: Namespace) -> tuple[float, bool]:
        self._publish(events.NamespaceChanged(ns))
        self.tick()  # due status changes happen at once
        self.notify()
        return self.read_clock(ns)

    def config(self, ns: Namespace) -> tuple[Progression | None, CallbackMode | None]:
        """The namespace's own progression and callback mode (None: the server's default)."""
        with self._lock:
            return ns.progression, ns.callback_mode

    @_operation
    def configure(self, ns: Namespace, *, progression: Progression | _Keep | None = KEEP,
                  callback_mode: CallbackMode | _Keep | None = KEEP) -> None:
        """Set the namespace's defaults for new tasks; an argument left out keeps its setting."""
        if not isinstance(progression, _Keep):
            ns.progression = progression
        if not isinstance(callback_mode, _Keep):
            ns.callback_mode = callback_mode
        self._publish(events.NamespaceChanged(ns))

    def balance(self, ns: Namespace, key: str) -> dict[str, int]:
        with self._lock:
            return ns.ledger.balance(key, ns.clock.now())

    def account(self, ns: Namespace, key: str) -> Account:
        with self._lock:
            return ns.ledger.account(key)

    @_operation
    def add_resource(self, ns: Namespace, key: str, kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """Keep a resource (a voice...) of `key`'s account; kept by --state with its credits."""
        stored = resources.add(ns.ledger.account(key), kind, record)
        self._publish(events.NamespaceChanged(ns, key=key))
        return stored

    def find_resource(self, ns: Namespace, key: str, kind: str, resource_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = resources.find(ns.ledger.account(key), kind, resource_id)
            return dict(found) if found is not None else None

    def list_resources(self, ns: Namespace, key: str, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in resources.listed(ns.ledger.account(key), kind)]

    def accounts(self, ns: Namespace) -> dict[str, dict[str, int]]:
        with self._lock:
            return ns.ledger.snapshot()

    @_operation
    def set_balance(self, ns: Namespace, key: str, cents: int) -> dict[str, int]:
        """Make `cents` available to `key`, whatever it has reserved or spent; returns the new balance."""
        ns.ledger.set_balance(key, cents)
        self._publish(events.NamespaceChanged(ns, key=key))
        return ns.ledger.balance(key, ns.clock.now())

    @_operation
    def set_profile(self, ns: Namespace, key: str, profile: Mapping[str, str | None]) -> None:
        """Set `key`'s user `name` and `email` (None: the server's default); kept by --state with its credits."""
        account = ns.ledger.account(key)
        account.name, account.email = profile.get("name", account.name), profile.get("email", account.email)
        self._publish(events.NamespaceChanged(ns, key=key))

    @_operation
    def set_every_balance(self, ns: Namespace, cents: int) -> dict[str, dict[str, int]]:
        """Make `cents` available to every key of the namespace, seen or not; returns the known accounts."""
        known = ns.ledger.set_every_balance(cents)
        self._publish(events.NamespaceChanged(ns))  # the start of keys not seen yet is the namespace's
        for key in known:
            self._publish(events.NamespaceChanged(ns, key=key))
        return ns.ledger.snapshot()

    def rules(self, ns: Namespace) -> list[dict[str, Any]]:
        with self._lock:
            return ns.rules.to_list()

    # Rules are not kept by --state; their event tells subscribers (the dashboard) that the namespace changed.
    @_operation
    def add_rule(self, ns: Namespace, data: Mapping[str, Any]) -> dict[str, Any]:
        rule = ns.rules.add(data).to_dict()
        self._publish(events.NamespaceChanged(ns))
        return rule

    @_operation
    def remove_rule(self, ns: Namespace, rule_id: int) -> bool:
        removed = ns.rules.remove(rule_id)
        if removed:
            self._publish(events.NamespaceChanged(ns))
        return removed

    @_operation
    def clear_rules(self, ns: Namespace) -> None:
        ns.rules.clear()
        self._publish(events.NamespaceChanged(ns))

    def take_rule(self, ns: Namespace, method: str, path: str, model: str | None, key: str | None) -> str | None:
        """The scenario an admin rule gives this request, using up one of the rule's count."""
        with self._lock:
            return ns.rules.take(method, path, model, key)

    def journal(self, ns: Namespace, *, limit: int, offset: int = 0, **filters: Any) -> tuple[list[Entry], int]:
        """Entries matching `filters`, newest first, past the first `offset`; and how many the journal holds."""
        with self._lock:
            return ns.journal.query(limit=limit, offset=offset, **filters), len(ns.journal)

    def hit_rate_limit(self, ns: Namespace, key: str) -> None:
        """Count one request of `key` against the per-minute limit (raises RateLimited past it)."""
        if ns.limiter.per_minute > 0:  # off by default: no lock or clock read per request then
            with self._lock:
                ns.limiter.hit(key, ns.clock.now())

    # -- create ---------------------------------------------------------------------------------------

    def create(self, *args: Any, **kwargs: Any) -> tuple[Task, bool]:
        """A new task for a validated, normalised body, or the replayed one for a repeated Idempotency-Key;
        returns once it is on disk (see create_pending)."""
        task, replayed, pending = self.create_pending(*args, **kwargs)
        if pending is not None:
            pending.wait()
        return task, replayed

    def create_pending(
        self,
        ns: Namespace,
        key: str,
        family: str,
        action: str,
        body: dict[str, Any],
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
        if entry is None or body.get("model") not in entry.models:
            raise errors.NotFound(f"no such family/action: {family}/{action}")
        model = entry.models[body["model"]]
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

    def _create(self, ns: Namespace, key: str, family: str, action: str, body: dict[str, Any], entry: Any,
                model: Any, fingerprint: str, *, origin: str, requested_model: str | None,
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
        price = request_microcents(model, body)  # the one price function: quotes answer the same
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
            image_format=model.output_format(body),
        )
        task.callback_mode = callback_mode or ns.callback_mode
        task.requested_model = requested_model
        if scenario and scenario.failure_message:
            task.failure = (scenario.failure_message, scenario.failure_code or "generation_failed")
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

    @_operation
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

    @_operation
    def get(self, ns: Namespace, task_id: str) -> Task:
        """A task by id for the admin API: does not count as a poll."""
        task = ns.tasks.get(task_id)
        if task is None:
            raise errors.NotFound(f"Task {task_id} not found")
        self._materialize(ns, task, ns.clock.now())
        return task

    @_operation
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

    @_operation
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

    @_operation
    def _force(self, ns: Namespace, task_id: str, status: str, failure: tuple[str, str] | None) -> Task:
        task = self.get(ns, task_id)
        if task.status == status:
            return task
        if task.terminal or not vocabulary.moves_forward(task.status, status):
            raise errors.Conflict(f"task is {task.status}; it cannot go to {status}", code="invalid_transition",
                                  task_id=task.id)
        if status in lifecycle.TERMINAL:
            task.outcome = status
        if status == "failed" and failure is not None:
            task.failure = failure
        task.step = lifecycle.PATHS[task.outcome].index(status)
        task.manual_steps = max(task.manual_steps, task.step)
        self._apply(ns, task, ns.clock.now())
        self._publish(events.TaskUpdated(ns, task))
        return task

    @_operation
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

    # -- internals ------------------------------------------------------------------------------------

    def _materialize(self, ns: Namespace, task: Task, now: float) -> None:
        step = lifecycle.step_at(task.progression, elapsed=now - task.created_at, reads=task.reads,
                                 manual_steps=task.manual_steps, durations=task.durations,
                                 callback=_has_callback(task))
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
                                        callback=_has_callback(task))
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

    @_operation
    def discard(self, ns: Namespace, task_id: str) -> None:
        """Forget a task whose create could not be stored (its answer is an error, not a 2xx): a refused write
        leaves nothing in memory either. Its reservation and Idempotency-Key go with it."""
        task = ns.tasks.pop(task_id, None)
        if task is None:
            return
        ns.ledger.refund(task.key, task.id)
        ns.idempotency = {k: v for k, v in ns.idempotency.items() if v[1] != task_id}
        self._publish(events.TaskForgotten(ns, task))

    def flaky_attempt(self, ns: Namespace, fingerprint: str, failures: int) -> bool:
        """True while this request (same key, route and body) is still within its failing attempts."""
        with self._lock:
            seen = ns.flaky.get(fingerprint, 0) + 1
            ns.flaky[fingerprint] = seen
            ns.flaky.move_to_end(fingerprint)
            while len(ns.flaky) > _FLAKY_MEMORY:
                ns.flaky.popitem(last=False)
            return seen <= failures

    def notify(self) -> None:
        """Tell the scheduler something timed may have changed (safe from any thread)."""
        for callback in self.on_change:
            callback()


def uuid4_text(hex32: str) -> str:
    """str(uuid.UUID(hex=hex32, version=4)): the version nibble set to 4, the variant's two bits to 10."""
    h = hex32
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _has_callback(task: Task) -> bool:
    return isinstance(task.body.get("callback_url"), str)


def _fingerprint(family: str, action: str, body: dict[str, Any]) -> str:
    canonical = json.dumps([family, action, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def request_fingerprint(key: str, method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\0".join([key.encode(), method.encode(), path.encode(), body])).hexdigest()
