"""The engine's core: its lock, its store and subscribers, ids, and the namespaces it holds. No HTTP here.

The engine owns its namespaces and their lock; callers go through its methods. It knows neither the state
store nor the callback dispatcher: every change is published as an event (events.py) to its `Store` and to
its subscribers, and every operation that changes state ends by flushing the store, so a 2xx is on disk
before the answer leaves. The concepts build on this core: namespace settings (engine_namespaces.py),
uploads (engine_uploads.py) and tasks (engine.py, whose `TaskEngine` is all of them).
"""

from __future__ import annotations

import functools
import heapq
import os
import random
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from runapi_contracts import vocabulary

from .. import errors
from ..settings import Settings
from . import events
from .clock import VirtualClock
from .model import Namespace, Snapshot

NAMESPACE_PATTERN = re.compile(vocabulary.NAMESPACE_PATTERN)
DEFAULT_NAMESPACE = "default"

Subscriber = Callable[[events.Event], None]
P = ParamSpec("P")
R = TypeVar("R")
E = TypeVar("E", bound="EngineCore")


def operation(method: Callable[Concatenate[E, P], R]) -> Callable[Concatenate[E, P], R]:
    """Run under the engine's lock and end by flushing the store, whether the operation succeeds or raises."""

    @functools.wraps(method)
    def run(self: E, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            try:
                return method(self, *args, **kwargs)
            finally:
                self._store.flush()

    return run


def locked(method: Callable[Concatenate[E, P], R]) -> Callable[Concatenate[E, P], R]:
    """Run under the engine's lock: a read that must not see an operation half done."""

    @functools.wraps(method)
    def run(self: E, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            return method(self, *args, **kwargs)

    return run


class EngineCore:
    """The lock, the store, the subscribers and the namespaces every part of the engine shares."""

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
            return uuid4_text(_ENTROPY.hex32())  # what str(uuid.uuid4()) gives, at a fraction of its cost
        return uuid4_text(f"{self._ids.getrandbits(128):032x}")

    def _submitted(self, change: Callable[[], R]) -> tuple[R, events.Pending | None]:
        """Run `change` under the lock, then hand what it published to the store without waiting: the async
        routes await the returned Pending (None: nothing to wait for) outside the lock, so concurrent changes
        share one commit before their 2xx."""
        with self._lock:
            try:
                result = change()
            finally:
                pending = self._store.submit()
        return result, pending

    def notify(self) -> None:
        """Tell the scheduler something timed may have changed (safe from any thread)."""
        for callback in self.on_change:
            callback()

    def tick(self) -> float | None:
        """Bring due work up to date (the task engine's); wall seconds until the next is due."""
        raise NotImplementedError

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

    @locked
    def open_namespaces(self) -> list[Namespace]:
        """Every namespace held now (what a server-wide bound such as the uploads' total sums over)."""
        return list(self._namespaces.values())

    @locked
    def find_namespace(self, name: str) -> Namespace | None:
        """The namespace called `name` if it is open; never opens one (file URLs name theirs)."""
        return self._namespaces.get(name)

    @locked
    def namespaces(self) -> list[tuple[str, int, int]]:
        """(name, tasks, journal entries) of every open namespace, by name; looking opens none."""
        return sorted((ns.name, len(ns.tasks), len(ns.journal)) for ns in self._namespaces.values())

    def clock(self, name: str) -> VirtualClock:
        """The clock of namespace `name` (opened if need be): what the dispatcher times deliveries by."""
        return self.namespace(name).clock

    @operation
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
            account.name, account.email, account.resources = stored.name, stored.email, stored.resources
        for name, key, idempotency_key, fingerprint, task_id in snapshot.idempotency:
            self.namespace(name).idempotency[(key, idempotency_key)] = (fingerprint, task_id)
        for upload in snapshot.uploads:
            self.namespace(upload.namespace).uploads[upload.id] = upload
        for ns in self._namespaces.values():
            now = ns.clock.now()
            for task in ns.tasks.values():
                if not task.terminal:  # open reservations are the tasks still running
                    ns.ledger.account(task.key).hold(task.id, task.price)
                if not task.terminal and (task.progression.mode == "auto" or task.has_callback):
                    heapq.heappush(ns.due, (now, task.id))  # brought up to date by the next tick
        return len(snapshot.tasks)

    @operation
    def reset(self, name: str | None = None) -> None:
        if name is None:
            self._namespaces.clear()
        else:
            self._namespaces.pop(name, None)
        self._publish(events.NamespaceReset(name))


class EntropyPool:
    """os.urandom's bytes as hex, read 2 KiB at a time and handed out 32 digits per id: one system call per 64
    ids instead of one each. The same randomness; a call that blocks in the kernel also lets other threads
    take the GIL (with --state, the committer), and the creating request then waits for it to come back."""

    BYTES = 2048

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hex = ""
        self._at = 0
        os.register_at_fork(after_in_child=self.drop)  # a forked child must not hand out its parent's next ids

    def drop(self) -> None:
        self._hex, self._at = "", 0

    def hex32(self) -> str:
        with self._lock:
            at = self._at
            if at >= len(self._hex):
                self._hex, at = os.urandom(self.BYTES).hex(), 0
            self._at = at + 32
            return self._hex[at:at + 32]


_ENTROPY = EntropyPool()


def uuid4_text(hex32: str) -> str:
    """str(uuid.UUID(hex=hex32, version=4)): the version nibble set to 4, the variant's two bits to 10."""
    h = hex32
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"
