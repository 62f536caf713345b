"""The task engine: namespaces of tasks, their lifecycle, credits, limits and idempotency. No HTTP here."""

from __future__ import annotations

import hashlib
import heapq
import json
import random
import re
import threading
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from runapi_contracts import load_catalog
from runapi_contracts.output import Output

from . import errors, images, lifecycle, scenarios
from .clock import VirtualClock
from .journal import Journal
from .ledger import MICROCENTS, Ledger
from .lifecycle import Progression
from .ratelimit import RateLimiter, check_concurrency
from .settings import Settings

if TYPE_CHECKING:
    from .state import StateStore

NAMESPACE_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
DEFAULT_NAMESPACE = "default"
_FLAKY_MEMORY = 10_000


@dataclass(slots=True)
class Task:
    id: str
    namespace: str
    key: str
    family: str
    action: str
    model: str
    body: dict[str, Any]
    created_at: float
    progression: Progression
    outcome: str
    durations: tuple[float, float]
    price: int
    origin: str
    image_format: str = "png"
    aspect_ratio: str | None = None  # unused since the catalog shapes output; kept so old state files load
    resolution: str = "1k"
    failure: tuple[str, str] = ("Image generation failed", "generation_failed")
    client_request_id: str | None = None
    reads: int = 0
    manual_steps: int = 0
    step: int = 0
    status: str = "pending"
    finished_at: float | None = None
    history: list[tuple[str, float]] = field(default_factory=list)
    callback_mode: Any = None  # a callbacks.CallbackMode, when the request asked for one
    requested_model: str | None = None  # the name the client sent, echoed back (docs' older names)

    @property
    def terminal(self) -> bool:
        return self.status in lifecycle.TERMINAL

    def output(self) -> Output:
        """What the task makes, per its action's output spec (catalog data: no field is named here)."""
        entry = load_catalog().action(self.family, self.action)
        model = entry.models.get(self.model) if entry is not None else None
        if model is None:  # a task restored from a state file whose model the catalog no longer has
            return Output(1, 1024, 1024, self.image_format)
        return model.output(self.body)

    def image_size(self) -> tuple[int, int]:
        output = self.output()
        return output.width, output.height

    def image_count(self) -> int:
        return self.output().count

    def image_urls(self) -> list[str]:
        ext = images.extension(self.image_format)
        base = f"{self.origin}/files/{self.namespace}/{self.id}"
        return [f"{base}/{index}.{ext}" for index in range(self.image_count())]

    def to_body(self, status: str | None = None) -> dict[str, Any]:
        """The task as the status routes show it (or will show it at `status`: early callbacks)."""
        status = status or self.status
        body: dict[str, Any] = {"id": self.id, "task_id": self.id, "status": status,
                                "model": self.requested_model or self.model}
        if status == "completed":
            # A completed task settled exactly its reserved price.
            body["images"] = [{"url": url} for url in self.image_urls()]
            body["usage"] = {"cost": self.price / MICROCENTS / 100, "generated_images": self.image_count()}
        elif status == "failed":
            body["error"], body["error_code"] = self.failure
        return body


class Namespace:
    """All state one test (or one user) sees: tasks, clock, ledger, rules, journal, limits."""

    def __init__(self, name: str, settings: Settings) -> None:
        self.name = name
        self.settings = settings
        self.clock = VirtualClock(frozen=settings.frozen_clock)
        self.tasks: dict[str, Task] = {}
        # Creation order for pruning: a dict emptied from the front makes next(iter(...)) walk the holes.
        self.order: deque[str] = deque()
        self.ledger = Ledger(settings.balance_cents)
        self.rules = scenarios.RuleBook()
        self.journal = Journal(settings.journal_size)
        self.limiter = RateLimiter(settings.rate_limit)
        self.progression: Progression | None = None
        self.idempotency: dict[tuple[str, str], tuple[str, str]] = {}
        self.flaky: OrderedDict[str, int] = OrderedDict()
        self.due: list[tuple[float, str]] = []  # (clock time, task id) of auto tasks' next status change
        self.callback_mode: Any = None  # default callbacks.CallbackMode for this namespace's tasks
        self.deliveries: dict[str, Any] = {}  # callbacks.Delivery by id, oldest first
        self.delivery_due: list[tuple[float, str]] = []  # (clock time, delivery id) of due attempts

    def add(self, task: Task) -> None:
        self.tasks[task.id] = task
        self.order.append(task.id)

    def active_count(self, key: str) -> tuple[int, float | None]:
        """Active tasks of `key`, and clock seconds until the first of them is due to end (if known)."""
        now = self.clock.now()
        active = [t for t in self.tasks.values() if t.key == key and not t.terminal]
        ends = [t.created_at + sum(t.durations) - now for t in active
                if t.progression.mode == "auto" and t.outcome != "stuck"]
        return len(active), (min(ends) if ends else None)


TerminalHook = Callable[[Namespace, Task], None]


class TaskEngine:
    """Creates and reads tasks for every route; the one place that changes task state."""

    def __init__(self, settings: Settings, store: StateStore | None = None) -> None:
        self.settings = settings
        self.store = store  # --state: every operation's changes are committed before it returns
        self.lock = threading.RLock()
        self.namespaces: OrderedDict[str, Namespace] = OrderedDict()
        self.on_terminal: list[TerminalHook] = []
        self.on_processing: list[TerminalHook] = []
        self.on_change: list[Callable[[], None]] = []
        self._ids = random.Random(settings.seed) if settings.seed is not None else None

    def new_id(self) -> str:
        """A UUID4; reproducible across runs when the server has a --seed."""
        if self._ids is None:
            return str(uuid.uuid4())
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    # -- namespaces ---------------------------------------------------------------------------------

    def namespace(self, name: str | None = None) -> Namespace:
        name = name or DEFAULT_NAMESPACE
        with self.lock:
            found = self.namespaces.get(name)
            if found is not None:
                self.namespaces.move_to_end(name)
                return found
            if not NAMESPACE_PATTERN.match(name):
                raise errors.BadRequest(
                    "X-Mock-Namespace must be 1-64 characters of letters, digits, '_', '.', '-'",
                    code="invalid_namespace",
                )
            if len(self.namespaces) >= self.settings.max_namespaces:
                evicted, _ = self.namespaces.popitem(last=False)  # the least recently used namespace goes
                if self.store is not None:
                    self.store.drop(evicted)
            created = self.namespaces[name] = Namespace(name, self.settings)
            self.save_namespace(created)
            return created

    def reset(self, name: str | None = None) -> None:
        with self.lock:
            if name is None:
                self.namespaces.clear()
            else:
                self.namespaces.pop(name, None)
            if self.store is not None:
                self.store.drop(name)
                self.store.flush()

    def save_namespace(self, ns: Namespace, *, key: str | None = None) -> None:
        """Commit a namespace's clock and config (and one account's balance) after an admin change."""
        if self.store is not None:
            with self.lock:
                self.store.namespace(ns)
                if key is not None:
                    self.store.account(ns, key)
                self.store.flush()

    # -- create ---------------------------------------------------------------------------------------

    def create(
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
        callback_mode: Any = None,
    ) -> tuple[Task, bool]:
        """A new task for a validated, normalised body, or the replayed one for a repeated Idempotency-Key."""
        entry = load_catalog().action(family, action)
        if entry is None or body.get("model") not in entry.models:
            raise errors.NotFound(f"no such family/action: {family}/{action}")
        model = entry.models[body["model"]]
        fingerprint = _fingerprint(family, action, body) if idempotency_key is not None else ""
        with self.lock:
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
                    task = ns.tasks.get(task_id)
                    if task is not None:
                        self._materialize(ns, task, now)
                        return task, True
            active, frees_in = ns.active_count(key) if self.settings.max_concurrent else (0, None)
            check_concurrency(self.settings.max_concurrent, active, frees_in)
            self._prune(ns, now)
            task_id = self.new_id()
            while task_id in ns.tasks:  # a --seed restarted over a --state file replays its ids
                task_id = self.new_id()
            price = model.price_microcents(body, load_catalog().default_resolution)
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
                image_format=model.output(body).format,
            )
            task.callback_mode = callback_mode or ns.callback_mode
            task.requested_model = requested_model
            if scenario and scenario.failure_message:
                task.failure = (scenario.failure_message, scenario.failure_code or "generation_failed")
            task.history.append(("pending", now))
            ns.add(task)
            if idempotency_key is not None:
                ns.idempotency[(key, idempotency_key)] = (fingerprint, task_id)
            timed = self._schedule(ns, task, now)
            if self.store is not None:
                self.store.task(ns, task)
                if idempotency_key is not None:
                    self.store.idempotency(ns, key, idempotency_key, fingerprint, task_id)
                self.store.flush()  # before the 2xx goes out: an accepted task survives a crash
        if timed:  # only `auto` tasks give the scheduler something new to wait for
            self.notify()
        return task, False

    # -- read and drive -------------------------------------------------------------------------------

    def read(self, ns: Namespace, key: str, task_id: str, *, family: str | None = None,
             action: str | None = None) -> Task:
        """A status read by the task's owner: counts as a poll for `polls:N` and `immediate`."""
        with self.lock:
            task = ns.tasks.get(task_id)
            if task is None or task.key != key or (family and task.family != family) \
                    or (action and task.action != action):
                raise errors.NotFound(f"Task {task_id} not found")
            task.reads += 1
            self._materialize(ns, task, ns.clock.now())
            self._save(ns, task)
            return task

    def get(self, ns: Namespace, task_id: str) -> Task:
        """A task by id for the admin API: does not count as a poll."""
        with self.lock:
            task = ns.tasks.get(task_id)
            if task is None:
                raise errors.NotFound(f"Task {task_id} not found")
            self._materialize(ns, task, ns.clock.now())
            self._flush()
            return task

    def step(self, ns: Namespace, task_id: str) -> Task:
        """Move a task one step along its path (the `manual` progression's only mover)."""
        with self.lock:
            task = self.get(ns, task_id)
            task.manual_steps = max(task.manual_steps, task.step) + 1
            task.step = max(task.step, task.manual_steps)
            self._apply(ns, task, ns.clock.now())
            self._save(ns, task)
            return task

    def force(self, ns: Namespace, task_id: str, status: str, *, failure: tuple[str, str] | None = None) -> Task:
        """Put a task in `status` now; only forward moves are allowed and terminal statuses stay.

        `failure` (message, code) is what a task forced to `failed` reports, its callback included.
        """
        if status not in ("pending", "processing", "completed", "failed"):
            raise errors.BadRequest(f"unknown status {status!r}", code="invalid_status")
        with self.lock:
            task = self.get(ns, task_id)
            order = ("pending", "processing", "completed", "failed")
            if task.status == status:
                return task
            if task.terminal or order.index(status) < order.index(task.status):
                raise errors.Conflict(f"task is {task.status}; it cannot go to {status}", code="invalid_transition",
                                      task_id=task.id)
            if status in lifecycle.TERMINAL:
                task.outcome = status
            if status == "failed" and failure is not None:
                task.failure = failure
            task.step = lifecycle.PATHS[task.outcome].index(status)
            task.manual_steps = max(task.manual_steps, task.step)
            self._apply(ns, task, ns.clock.now())
            self._save(ns, task)
        self._changed()
        return task

    def tick(self) -> float | None:
        """Bring due `auto` tasks up to date in every namespace; wall seconds until the next is due."""
        soonest: float | None = None
        with self.lock:
            for ns in list(self.namespaces.values()):
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
            self._flush()
        return soonest

    def resume(self, ns: Namespace, task: Task, now: float) -> None:
        """A task loaded from --state: `auto` ones are brought up to date by the next tick."""
        if task.progression.mode == "auto" and not task.terminal:
            heapq.heappush(ns.due, (now, task.id))

    # -- internals ------------------------------------------------------------------------------------

    def _materialize(self, ns: Namespace, task: Task, now: float) -> None:
        step = lifecycle.step_at(task.progression, elapsed=now - task.created_at, reads=task.reads,
                                 manual_steps=task.manual_steps, durations=task.durations)
        if step > task.step:
            task.step = step
            self._apply(ns, task, now)

    def _apply(self, ns: Namespace, task: Task, now: float) -> None:
        if task.terminal:
            return  # terminal statuses are sticky
        status = lifecycle.status_on_path(task.outcome, task.step)
        if status == task.status:
            return
        task.status = status
        task.history.append((status, now))
        if self.store is not None:
            self.store.task(ns, task)
        if status == "completed":
            ns.ledger.settle(task.key, task.id, now)
        elif status == "failed":
            ns.ledger.refund(task.key, task.id)
        hooks = self.on_processing if status == "processing" else self.on_terminal if task.terminal else []
        if task.terminal:
            task.finished_at = now
        for hook in hooks:
            hook(ns, task)

    def _schedule(self, ns: Namespace, task: Task, now: float) -> bool:
        """Queue an `auto` task's next status change; False when nothing is timed (other progressions)."""
        wait = lifecycle.next_change_in(task.progression, now - task.created_at, task.durations)
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
            if self.store is not None:
                self.store.forget_task(ns, oldest)

    def flaky_attempt(self, ns: Namespace, fingerprint: str, failures: int) -> bool:
        """True while this request (same key, route and body) is still within its failing attempts."""
        with self.lock:
            seen = ns.flaky.get(fingerprint, 0) + 1
            ns.flaky[fingerprint] = seen
            ns.flaky.move_to_end(fingerprint)
            while len(ns.flaky) > _FLAKY_MEMORY:
                ns.flaky.popitem(last=False)
            return seen <= failures

    def _save(self, ns: Namespace, task: Task) -> None:
        if self.store is not None:
            self.store.task(ns, task)
            self.store.flush()

    def _flush(self) -> None:
        if self.store is not None:
            self.store.flush()

    def _changed(self) -> None:
        self.notify()

    def notify(self) -> None:
        """Tell the scheduler something timed may have changed (safe from any thread)."""
        for callback in self.on_change:
            callback()


def _fingerprint(family: str, action: str, body: dict[str, Any]) -> str:
    canonical = json.dumps([family, action, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def request_fingerprint(key: str, method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\0".join([key.encode(), method.encode(), path.encode(), body])).hexdigest()
