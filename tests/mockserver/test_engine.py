"""The task engine on its own: no HTTP, no app. A recording store and a subscriber see what it publishes.

Every namespace clock here starts frozen (`frozen_clock=True`), so time moves only when a test moves it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from runapi_contracts import load_catalog
from runapi_mock import errors
from runapi_mock.background.callbacks import Dispatcher
from runapi_mock.engine.events import (
    Event,
    NamespaceChanged,
    NamespaceReset,
    Store,
    TaskCreated,
    TaskForgotten,
    TaskMoved,
    TaskTerminal,
    TaskUpdated,
)
from runapi_mock.engine.lifecycle import Progression
from runapi_mock.engine.model import Namespace, NamespaceState, Snapshot, Task
from runapi_mock.engine.tasks import TaskEngine
from runapi_mock.settings import Settings

KEY = "engine-key"
BODY = {"model": "flux-kontext-pro", "prompt": "a kettle on a stove"}
FAMILY, ACTION = "flux_kontext", "text_to_image"


@dataclass
class RecordingStore:
    """A Store that keeps a log of calls: ("record", event) and ("flush", None), in order."""

    log: list[tuple[str, Event | None]] = field(default_factory=list)
    snapshot: Snapshot = field(default_factory=Snapshot)

    def record(self, event: Event) -> None:
        self.log.append(("record", event))

    def flush(self) -> None:
        self.log.append(("flush", None))

    def submit(self) -> None:  # a flush whose wait is the caller's (create's): logged as one
        self.log.append(("flush", None))

    def get_meta(self, name: str) -> str | None:
        return None

    def set_meta(self, name: str, value: str | None) -> None:
        pass

    def load(self) -> Snapshot:
        return self.snapshot

    def close(self) -> None:
        pass

    def events(self, kind: type[Any] | None = None) -> list[Event]:
        return [e for what, e in self.log
                if what == "record" and e is not None and (kind is None or isinstance(e, kind))]

    def clear(self) -> None:
        self.log.clear()

    def flushed_after_last_record(self) -> bool:
        """Was everything recorded flushed? (the last record is followed by a flush)"""
        last_record = max((i for i, (what, _) in enumerate(self.log) if what == "record"), default=-1)
        return any(what == "flush" for what, _ in self.log[last_record + 1:])


def price() -> int:
    catalog = load_catalog()
    entry = catalog.action(FAMILY, ACTION)
    assert entry is not None
    return entry.models[BODY["model"]].price_microcents(dict(BODY), catalog.default_resolution)


def make(**changes: Any) -> tuple[TaskEngine, RecordingStore, list[Event]]:
    store = RecordingStore()
    engine = TaskEngine(Settings(frozen_clock=True, **changes), store)
    heard: list[Event] = []
    engine.subscribe(heard.append)
    return engine, store, heard


def create(engine: TaskEngine, ns: Namespace, body: dict[str, Any] | None = None, **options: Any) -> Task:
    task, replayed = engine.create(ns, KEY, FAMILY, ACTION, dict(body or BODY), origin="http://127.0.0.1:8787",
                                   **options)
    assert replayed is False
    return task


def available(engine: TaskEngine, ns: Namespace) -> int:
    engine.balance(ns, KEY)  # opens the account at the starting balance
    return engine.accounts(ns)[KEY]["available_microcents"]


# -- create -----------------------------------------------------------------------------------------------


def test_create_reserves_the_price_publishes_and_flushes_before_returning() -> None:
    engine, store, heard = make(progression=Progression.parse("manual"))
    ns = engine.namespace("n1")
    before = available(engine, ns)
    store.clear()
    heard.clear()
    task = create(engine, ns)
    assert task.status == "pending" and task.namespace == "n1" and task.price == price() > 0
    assert available(engine, ns) == before - task.price
    (created,) = store.events(TaskCreated)
    assert isinstance(created, TaskCreated) and created.task is task and created.idempotency_key is None
    assert store.flushed_after_last_record()  # on disk before the 2xx could leave
    assert [type(e) for e in heard] == [TaskCreated]


def test_a_refused_create_still_flushes_what_it_changed() -> None:
    engine, store, _ = make(balance_cents=0)
    ns = engine.namespace()
    store.clear()
    with pytest.raises(errors.InsufficientCredits):
        create(engine, ns)
    assert store.log[-1] == ("flush", None)
    assert engine.list_tasks(ns) == ([], 0)


def test_the_store_hears_of_the_namespace_when_it_opens() -> None:
    engine, store, _ = make()
    ns = engine.namespace("fresh")
    (opened,) = store.events(NamespaceChanged)
    assert isinstance(opened, NamespaceChanged) and opened.namespace is ns
    assert store.flushed_after_last_record()
    store.clear()
    assert engine.namespace("fresh") is ns and store.log == []  # a known namespace writes nothing


# -- read, step, force ------------------------------------------------------------------------------------


def test_reads_count_as_polls_and_are_recorded() -> None:
    engine, store, heard = make(progression=Progression.parse("polls:2"))
    ns = engine.namespace()
    task = create(engine, ns)
    store.clear()
    assert engine.read(ns, KEY, task.id).status == "pending"
    assert engine.read(ns, KEY, task.id).status == "processing"
    assert task.reads == 2
    assert [type(e) for e in store.events()] == [TaskUpdated, TaskMoved, TaskUpdated]
    assert store.flushed_after_last_record()
    assert isinstance(heard[-2], TaskMoved)


def test_read_by_another_key_or_route_is_not_found_and_counts_nothing() -> None:
    engine, _, _ = make(progression=Progression.parse("polls:1"))
    ns = engine.namespace()
    task = create(engine, ns)
    with pytest.raises(errors.NotFound):
        engine.read(ns, "other-key", task.id)
    with pytest.raises(errors.NotFound):
        engine.read(ns, KEY, task.id, action="edit_image")
    assert task.reads == 0


def test_admin_get_does_not_count_as_a_poll() -> None:
    engine, _, _ = make(progression=Progression.parse("polls:1"))
    ns = engine.namespace()
    task = create(engine, ns)
    assert engine.get(ns, task.id).status == "pending" and task.reads == 0


def test_step_walks_a_manual_task_to_the_end_and_settles_its_price() -> None:
    engine, store, heard = make(progression=Progression.parse("manual"))
    ns = engine.namespace()
    start = available(engine, ns)
    task = create(engine, ns)
    assert engine.step(ns, task.id).status == "processing"
    assert engine.step(ns, task.id).status == "completed"
    assert [type(e) for e in heard if isinstance(e, (TaskMoved, TaskTerminal))] == [TaskMoved, TaskTerminal]
    account = engine.accounts(ns)[KEY]
    assert account["spent_microcents"] == task.price and account["reserved_microcents"] == 0
    assert available(engine, ns) == start - task.price
    assert [status for status, _ in task.history] == ["pending", "processing", "completed"]
    assert store.flushed_after_last_record()


def test_force_failed_refunds_and_reports_the_failure() -> None:
    engine, _, heard = make(progression=Progression.parse("manual"))
    ns = engine.namespace()
    start = available(engine, ns)
    task = create(engine, ns)
    engine.force(ns, task.id, "failed", failure=("no luck", "x_9"))
    assert task.status == "failed" and task.to_body()["error_code"] == "x_9"
    assert available(engine, ns) == start  # refunded
    (ended,) = [e for e in heard if isinstance(e, TaskTerminal)]
    assert ended.task is task and task.finished_at is not None


def test_force_refuses_backward_moves_and_unknown_statuses() -> None:
    engine, _, _ = make(progression=Progression.parse("manual"))
    ns = engine.namespace()
    task = create(engine, ns)
    engine.force(ns, task.id, "completed")
    with pytest.raises(errors.Conflict):
        engine.force(ns, task.id, "processing")
    with pytest.raises(errors.BadRequest):
        engine.force(ns, task.id, "done")
    assert task.status == "completed"


# -- the clock and tick ------------------------------------------------------------------------------------


def test_tick_moves_due_auto_tasks_when_the_clock_advances() -> None:
    engine, _, heard = make()  # auto
    ns = engine.namespace()
    task = create(engine, ns)
    pending, processing = task.durations
    assert engine.tick() is None  # frozen: nothing will come due by itself
    engine.unfreeze_clock(ns)
    wait = engine.tick()
    assert wait is not None and 0 < wait <= pending
    engine.freeze_clock(ns)
    engine.advance_clock(ns, pending)  # advancing ticks at once
    assert task.status == "processing"
    now, frozen = engine.advance_clock(ns, processing)
    assert frozen and now >= task.created_at + pending + processing
    assert task.status == "completed"
    assert [type(e) for e in heard if isinstance(e, (TaskMoved, TaskTerminal))] == [TaskMoved, TaskTerminal]


def test_clock_changes_are_recorded_for_the_store() -> None:
    engine, store, _ = make()
    ns = engine.namespace()
    store.clear()
    engine.advance_clock(ns, 60)
    assert any(isinstance(e, NamespaceChanged) and e.namespace is ns for e in store.events())
    assert store.flushed_after_last_record()


# -- prune ---------------------------------------------------------------------------------------------------


def test_tasks_past_retention_are_forgotten_and_refunded() -> None:
    engine, store, _ = make(progression=Progression.parse("manual"), retention_seconds=100)
    ns = engine.namespace()
    start = available(engine, ns)
    old = create(engine, ns)
    engine.advance_clock(ns, 101)
    store.clear()
    new = create(engine, ns)
    assert engine.find(ns, old.id) is None and engine.find(ns, new.id) is new
    (forgotten,) = store.events(TaskForgotten)
    assert isinstance(forgotten, TaskForgotten) and forgotten.task is old
    assert available(engine, ns) == start - new.price  # the old reservation went back


def test_a_full_namespace_of_running_tasks_refuses_more() -> None:
    engine, _, _ = make(progression=Progression.parse("manual"), max_tasks_per_namespace=2)
    ns = engine.namespace()
    first = create(engine, ns)
    create(engine, ns)
    with pytest.raises(errors.RateLimited):
        create(engine, ns)
    engine.force(ns, first.id, "completed")
    create(engine, ns)  # a finished task makes room
    assert engine.find(ns, first.id) is None


# -- idempotency ---------------------------------------------------------------------------------------------


def test_an_idempotency_key_replays_and_a_different_body_conflicts() -> None:
    engine, store, _ = make(progression=Progression.parse("manual"))
    ns = engine.namespace()
    task = create(engine, ns, idempotency_key="order-1")
    (created,) = store.events(TaskCreated)
    assert isinstance(created, TaskCreated) and created.idempotency_key == "order-1" and created.fingerprint
    again, replayed = engine.create(ns, KEY, FAMILY, ACTION, dict(BODY), origin="http://x",
                                    idempotency_key="order-1")
    assert replayed and again is task
    assert len(store.events(TaskCreated)) == 1
    with pytest.raises(errors.Conflict):
        engine.create(ns, KEY, FAMILY, ACTION, {**BODY, "prompt": "else"}, origin="http://x",
                      idempotency_key="order-1")
    assert engine.list_tasks(ns)[1] == 1


# -- namespaces, config, balance, rules --------------------------------------------------------------------


def test_reset_and_eviction_are_published() -> None:
    engine, store, heard = make(max_namespaces=2)
    a, _ = engine.namespace("a"), engine.namespace("b")
    engine.namespace("a")  # "b" is now the least recently used
    engine.namespace("c")
    evicted = [e for e in heard if isinstance(e, NamespaceReset)]
    assert evicted == [NamespaceReset("b", evicted=True)]
    assert engine.find_namespace("b") is None and engine.find_namespace("a") is a
    engine.reset("a")
    assert heard[-1] == NamespaceReset("a") and engine.find_namespace("a") is None
    assert store.flushed_after_last_record()
    engine.reset()
    assert heard[-1] == NamespaceReset(None) and engine.find_namespace("c") is None


def test_configure_and_set_balance_are_recorded() -> None:
    engine, store, _ = make()
    ns = engine.namespace()
    store.clear()
    engine.configure(ns, progression=Progression.parse("polls:3"))
    assert engine.config(ns) == (Progression.parse("polls:3"), None)
    assert engine.set_balance(ns, KEY, 7)["balance_cents"] == 7
    changed = store.events(NamespaceChanged)
    assert [e.key for e in changed if isinstance(e, NamespaceChanged)] == [None, KEY]
    assert store.flushed_after_last_record()
    engine.configure(ns, callback_mode=None)  # leaves the progression as it is
    assert engine.config(ns)[0] == Progression.parse("polls:3")


def test_rules_are_taken_in_order_and_used_up() -> None:
    engine, _, _ = make()
    ns = engine.namespace()
    rule = engine.add_rule(ns, {"scenario": "server_error", "count": 1})
    assert engine.rules(ns) == [rule]
    assert engine.take_rule(ns, "POST", "/api/v1/flux_kontext/text_to_image", None, KEY) == "server_error"
    assert engine.take_rule(ns, "POST", "/api/v1/flux_kontext/text_to_image", None, KEY) is None
    assert engine.remove_rule(ns, rule["id"]) and not engine.remove_rule(ns, rule["id"])


# -- restore -------------------------------------------------------------------------------------------------


def test_restore_loads_tasks_holds_open_reservations_and_reschedules_auto_tasks() -> None:
    engine, _, _ = make()
    ns = engine.namespace("kept")
    running = create(engine, ns)  # auto
    done = create(engine, ns, progression=Progression.parse("manual"))
    engine.force(ns, done.id, "completed")
    account = engine.accounts(ns)[KEY]

    again, store, _ = make()
    ledger = ns.ledger.account(KEY)
    store.snapshot = Snapshot(
        namespaces=[NamespaceState("kept", clock_offset=0.0, clock_frozen_at=ns.clock.now())],
        tasks=[running, done], accounts=[("kept", KEY, ledger)],
    )
    assert again.restore(store.load()) == 2
    restored = again.find_namespace("kept")
    assert restored is not None and again.find(restored, running.id) is running
    assert again.accounts(restored)[KEY] == account  # the running task's price is reserved again
    again.advance_clock(restored, sum(running.durations))
    assert running.status == "completed"  # rescheduled: the tick after the advance finished it


# -- the dispatcher hears the engine's events -----------------------------------------------------------------


def test_the_dispatcher_queues_on_task_end_and_drops_on_reset() -> None:
    engine, store, _ = make(progression=Progression.parse("manual"))
    dispatcher = Dispatcher(engine.settings, store)
    engine.subscribe(dispatcher.handle)
    ns = engine.namespace("cb")
    task = create(engine, ns, {**BODY, "callback_url": "http://127.0.0.1:9/cb"})
    assert dispatcher.deliveries("cb") == []
    engine.force(ns, task.id, "completed")
    (delivery,) = dispatcher.deliveries("cb")
    assert delivery.task_id == task.id and delivery.state == "pending"
    assert delivery.next_attempt_at == engine.now(ns)  # timed by the namespace's clock
    engine.reset("cb")
    assert dispatcher.deliveries("cb") == [] and dispatcher.all() == []


def test_the_engine_works_without_a_store() -> None:
    engine = TaskEngine(Settings(frozen_clock=True, progression=Progression.parse("immediate")))
    ns = engine.namespace()
    task = create(engine, ns)
    assert engine.read(ns, KEY, task.id).status == "completed"


def test_the_recording_store_is_a_store() -> None:
    store: Store = RecordingStore()  # mypy checks the protocol; this checks the fake keeps its log
    store.flush()
    assert isinstance(store, RecordingStore) and store.log == [("flush", None)]
