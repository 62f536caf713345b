"""Signed callback delivery: queued when a task ends, sent off the request path, retried on the clock.

Only allowed hosts are ever contacted (loopback by default): the real API takes public URLs, so any other
URL is accepted with its task, and its delivery is journaled as blocked instead of sent.

The dispatcher hears of task endings through the engine's events and keeps its deliveries itself, per
namespace, each book timed by its namespace's clock; a reset drops the book. It never takes the engine's lock.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from runapi_contracts.receiver import is_loopback_host
from runapi_contracts.signing import InvalidSecret, callback_headers, generate_secret, sign
from runapi_contracts.vocabulary import TERMINAL

from .clock import VirtualClock
from .delivery import Attempt, CallbackMode, Delivery
from .events import (
    DeliveryChanged,
    DeliveryForgotten,
    Event,
    NamespaceChanged,
    NamespaceReset,
    Store,
    TaskCreated,
    TaskMoved,
    TaskTerminal,
    TaskUpdated,
)
from .model import Task
from .settings import Settings

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger("runapi_mock")
MAX_DELIVERIES = 10_000  # per namespace; finished ones beyond this are forgotten first


def host_allowed(url: str, extra_hosts: tuple[str, ...]) -> tuple[bool, str]:
    """Is `url` one we may POST to? Loopback always; other hosts only when named with --allow-callback-host."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False, "callback_url is not a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return False, "callback_url is not an absolute http(s) URL"
    if is_loopback_host(host) or host in {h.lower() for h in extra_hosts}:
        return True, ""
    return False, (f"host {host!r} is not loopback and not allowed with --allow-callback-host; "
                   "the mock never sends traffic off this machine")


def payload(task: Task, origin: str | None = None) -> bytes:
    """The callback body (compact JSON): the task's terminal body, as the status route shows it.

    No request reads it, so its image URLs are on `origin` (the --public-url), else the creating request's.
    """
    # Early mode sends it before the status route shows the end: render the outcome the task is heading for.
    body = task.to_body(task.status if task.terminal else task.outcome, origin=origin)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode()


@dataclass
class _Book:
    """One namespace's deliveries (oldest first) and the (clock time, delivery id) heap of due attempts."""

    clock: VirtualClock
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    due: list[tuple[float, str]] = field(default_factory=list)


class Dispatcher:
    """Creates deliveries from task endings and sends the due ones, at most `callback_concurrency` at once."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self._store = store
        self._lock = threading.RLock()
        self._books: dict[str, _Book] = {}
        self.on_change: list[Callable[[], None]] = []  # the scheduler's wake-up: an attempt became due
        self._subscribers: list[Callable[[Event], None]] = []
        self.on_attempt: list[Callable[[Delivery, Attempt], None]] = []  # serve's request log: an attempt answered
        stored = store.get_meta("callback_secret")
        self.secret = settings.callback_secret or stored or generate_secret()
        self.secret_source = "given" if settings.callback_secret else "restored" if stored else "generated"
        try:
            sign(self.secret, "check", 0, b"")
        except InvalidSecret as exc:
            raise ValueError(f"invalid callback secret: {exc}") from None
        self.previous_secret: str | None = store.get_meta("previous_callback_secret") \
            if self.secret == stored else None
        self._save_secrets()
        self._client: httpx.AsyncClient | None = None  # made at the first delivery (see _http)
        self._running = False
        self._semaphore: asyncio.Semaphore | None = None
        self._inflight: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._running = True
        self._semaphore = asyncio.Semaphore(max(1, self.settings.callback_concurrency))

    def _http(self) -> httpx.AsyncClient:
        """The delivery client, made at the first delivery rather than at start: httpx and its TLS context cost
        a start that may never send a callback (issue 24)."""
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(timeout=self.settings.callback_timeout, follow_redirects=False,
                                             trust_env=False, headers={"User-Agent": "runapi-mock-callbacks"})
        return self._client

    async def stop(self, grace: float = 5.0) -> list[Delivery]:
        """Let in-flight attempts finish (up to `grace` seconds); return the deliveries still owed."""
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=grace)
        self._running = False
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        return [d for d in self.all() if d.state in ("pending", "sending")]

    def rotate_secret(self) -> str:
        """New deliveries and retries are signed with the new secret; receivers holding the old one reject them."""
        self.previous_secret, self.secret = self.secret, generate_secret()
        self._save_secrets()
        return self.secret

    def _save_secrets(self) -> None:
        self._store.set_meta("callback_secret", self.secret)
        self._store.set_meta("previous_callback_secret", self.previous_secret)

    def subscribe(self, subscriber: Callable[[Event], None]) -> None:
        """Call `subscriber(event)` for every delivery change, under the dispatcher's lock, after the store."""
        self._subscribers.append(subscriber)

    def _publish(self, event: DeliveryChanged | DeliveryForgotten) -> None:
        self._store.record(event)
        for subscriber in self._subscribers:
            subscriber(event)

    # -- creating deliveries ---------------------------------------------------------------------------

    def handle(self, event: Event) -> None:
        """The engine's events: a task ending (or reaching processing, for `early`) queues its callback."""
        if isinstance(event, (TaskCreated, TaskUpdated)):
            return  # the create and poll path: nothing to send
        if isinstance(event, TaskTerminal):
            self._on_terminal(event.namespace.name, event.namespace.clock, event.task)
        elif isinstance(event, TaskMoved):
            mode = event.task.callback_mode
            if mode is not None and mode.early and event.task.outcome in TERMINAL:
                self._enqueue(event.namespace.name, event.namespace.clock, event.task)
        elif isinstance(event, NamespaceReset):
            with self._lock:
                if event.name is None:
                    self._books.clear()
                else:
                    self._books.pop(event.name, None)
        elif isinstance(event, NamespaceChanged):
            with self._lock:
                book = self._books.get(event.namespace.name)
                if book is not None and book.clock is not event.namespace.clock:
                    del self._books[event.namespace.name]  # a book left by a namespace that has since gone

    def _book(self, namespace: str, clock: VirtualClock) -> _Book:
        book = self._books.get(namespace)
        if book is None:
            book = self._books[namespace] = _Book(clock)
        return book

    def _on_terminal(self, namespace: str, clock: VirtualClock, task: Task) -> None:
        mode = task.callback_mode
        with self._lock:
            book = self._books.get(namespace)
            if mode is not None and mode.early and book is not None \
                    and any(d.task_id == task.id for d in book.deliveries.values()):
                return  # already sent early
        self._enqueue(namespace, clock, task)

    def _enqueue(self, namespace: str, clock: VirtualClock, task: Task) -> None:
        url = task.body.get("callback_url")
        if not isinstance(url, str):
            return
        with self._lock:
            book = self._book(namespace, clock)
            now = clock.now()
            delivery = Delivery(id=str(uuid.uuid4()), namespace=namespace, task_id=task.id, url=url,
                                body=payload(task, self.settings.public_url), created_at=now)
            mode = task.callback_mode or CallbackMode()
            delivery.copies_left = 1 if mode.duplicate else 0
            allowed, reason = host_allowed(url, self.settings.allow_callback_hosts)
            if not allowed:
                delivery.state, delivery.reason = "blocked", reason
            else:
                self._schedule(book, delivery, now + mode.delay)
            book.deliveries[delivery.id] = delivery
            self._publish(DeliveryChanged(delivery))
            self._trim(book)
        self._notify()

    def restore(self, deliveries: Iterable[Delivery], clock: Callable[[str], VirtualClock]) -> None:
        """Deliveries a state store kept: one still owed is due again (now, if it was mid-attempt)."""
        deliveries = list(deliveries)
        clocks = {name: clock(name) for name in dict.fromkeys(d.namespace for d in deliveries)}
        with self._lock:
            for delivery in deliveries:
                book = self._book(delivery.namespace, clocks[delivery.namespace])
                book.deliveries[delivery.id] = delivery
                if delivery.state in ("pending", "sending") and self._refuse(delivery):
                    continue  # its host was allowed when it was queued, and is not now: never sent
                if delivery.state == "sending":
                    unanswered = delivery.attempts[-1] if delivery.attempts else None
                    if unanswered is not None and unanswered.status_code is None and unanswered.error is None:
                        unanswered.error = "the server stopped before the receiver answered"
                    self._schedule(book, delivery, book.clock.now())
                elif delivery.state == "pending":
                    self._schedule(book, delivery, delivery.next_attempt_at or book.clock.now())

    def _refuse(self, delivery: Delivery) -> bool:
        """Block a delivery whose host the allow-list no longer holds (restored, or redelivered after a restart
        with other flags): it ends `blocked`, saying why, instead of being sent."""
        allowed, reason = host_allowed(delivery.url, self.settings.allow_callback_hosts)
        if allowed:
            return False
        delivery.state, delivery.next_attempt_at = "blocked", None
        delivery.reason = f"{reason} (no longer allowed: it was when this delivery was queued)"
        self._publish(DeliveryChanged(delivery))
        return True

    def _schedule(self, book: _Book, delivery: Delivery, at: float) -> None:
        delivery.state, delivery.next_attempt_at = "pending", at
        heapq.heappush(book.due, (at, delivery.id))

    def _trim(self, book: _Book) -> None:
        while len(book.deliveries) > MAX_DELIVERIES:
            oldest = next((d for d in book.deliveries.values() if d.state in ("delivered", "exhausted", "blocked")),
                          None)
            if oldest is None:
                return
            del book.deliveries[oldest.id]
            self._publish(DeliveryForgotten(oldest))

    def redeliver(self, namespace: str, delivery_id: str) -> Delivery:
        """Send a delivery again now (KeyError: no such delivery; ValueError: it is blocked)."""
        with self._lock:
            book = self._books.get(namespace)
            if book is None:
                raise KeyError(delivery_id)
            delivery = book.deliveries[delivery_id]
            if delivery.state == "blocked":
                raise ValueError(delivery.reason or "blocked")
            allowed, reason = host_allowed(delivery.url, self.settings.allow_callback_hosts)
            if not allowed:  # delivered or exhausted once, to a host no longer allowed: it keeps its state
                raise ValueError(reason)
            self._schedule(book, delivery, book.clock.now())
            self._publish(DeliveryChanged(delivery))
            self._store.flush()
        self._notify()
        return delivery

    # -- reading ---------------------------------------------------------------------------------------

    def deliveries(self, namespace: str) -> list[Delivery]:
        """A namespace's deliveries, newest first."""
        with self._lock:
            book = self._books.get(namespace)
            return list(reversed(book.deliveries.values())) if book is not None else []

    def delivery(self, namespace: str, delivery_id: str) -> Delivery | None:
        with self._lock:
            book = self._books.get(namespace)
            return book.deliveries.get(delivery_id) if book is not None else None

    def delivery_counts(self) -> dict[str, int]:
        """How many deliveries each namespace's book holds."""
        with self._lock:
            return {name: len(book.deliveries) for name, book in self._books.items()}

    def all(self) -> list[Delivery]:
        with self._lock:
            return [d for book in self._books.values() for d in book.deliveries.values()]

    # -- sending ---------------------------------------------------------------------------------------

    def tick(self) -> float | None:
        """Start the attempts that are due; wall seconds until the next one (None when nothing waits)."""
        soonest: float | None = None
        with self._lock:
            for book in list(self._books.values()):
                now = book.clock.now()
                while book.due and book.due[0][0] <= now:
                    at, delivery_id = heapq.heappop(book.due)
                    delivery = book.deliveries.get(delivery_id)
                    if delivery is None or delivery.state != "pending" or delivery.next_attempt_at != at:
                        continue  # superseded by a redelivery or already finished
                    delivery.state, delivery.next_attempt_at = "sending", None
                    self._publish(DeliveryChanged(delivery))
                    self._launch(book, delivery, at)
                if book.due and not book.clock.frozen:
                    wait = book.due[0][0] - now
                    soonest = wait if soonest is None else min(soonest, wait)
            self._store.flush()
        return soonest

    def _launch(self, book: _Book, delivery: Delivery, due: float) -> None:
        task = asyncio.get_running_loop().create_task(self._attempt(book, delivery, due))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _attempt(self, book: _Book, delivery: Delivery, due: float) -> None:
        assert self._semaphore is not None
        async with self._semaphore:
            attempt = Attempt(number=len(delivery.attempts) + 1, at=book.clock.now())
            delivery.attempts.append(attempt)
            # Receivers check the timestamp against their own clock, so it is wall time, not the mock's clock.
            attempt.timestamp = int(time.time())
            started = time.monotonic()
            try:
                headers = callback_headers(self.secret, delivery.id, attempt.timestamp, delivery.body)
                attempt.headers = headers
                if not self._running:
                    raise RuntimeError("the server is shutting down")
                response = await self._http().post(delivery.url, content=delivery.body, headers=headers)
                attempt.status_code = response.status_code
                ok = 200 <= response.status_code < 300
                if not ok:
                    attempt.error = f"receiver answered {response.status_code}"
            except Exception as exc:
                ok = False
                attempt.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            attempt.latency_ms = round((time.monotonic() - started) * 1000, 3)
        for listener in self.on_attempt:
            listener(delivery, attempt)
        # The attempt ended, on the namespace's clock, as long after it was due as it took: a retry is timed
        # from there, so one clock advance past several retries runs each one that falls within it.
        self._finish(book, delivery, ok, ended=due + max(book.clock.now() - attempt.at, 0.0))

    def _finish(self, book: _Book, delivery: Delivery, ok: bool, ended: float) -> None:
        with self._lock:
            now = book.clock.now()
            if ok and delivery.copies_left > 0:
                delivery.copies_left -= 1
                self._schedule(book, delivery, now)  # duplicate mode: the same id once more
            elif ok:
                delivery.state = "delivered"
            else:
                failures = sum(1 for a in delivery.attempts if a.error is not None)
                schedule = self.settings.callback_schedule
                if failures > len(schedule):
                    delivery.state = "exhausted"
                else:
                    self._schedule(book, delivery, ended + schedule[failures - 1])
            if self._books.get(delivery.namespace) is book:  # not when its namespace was reset meanwhile
                self._publish(DeliveryChanged(delivery))
                self._store.flush()
        self._notify()

    def _notify(self) -> None:
        for callback in self.on_change:
            callback()
