"""Signed callback delivery: queued when a task ends, sent off the request path, retried on the clock.

Only allowed hosts are ever contacted (loopback by default): the real API takes public URLs, so any other
URL is accepted with its task, and its delivery is journaled as blocked instead of sent.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from runapi_contracts.receiver import is_loopback_host
from runapi_contracts.signing import InvalidSecret, callback_headers, generate_secret, sign

from .engine import Namespace, Task, TaskEngine
from .settings import Settings

logger = logging.getLogger("runapi_mock")
_SECONDS = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?")
MAX_DELIVERIES = 10_000  # per namespace; finished ones beyond this are forgotten first


class InvalidCallbackMode(ValueError):
    """A callback mode that is not a comma list of `duplicate`, `early`, `delay:SECONDS`."""


@dataclass(frozen=True)
class CallbackMode:
    """Ways to test a handler: send twice with one id, send late, or send before the status shows the end."""

    duplicate: bool = False
    delay: float = 0.0
    early: bool = False

    @classmethod
    def parse(cls, value: str) -> CallbackMode:
        duplicate, delay, early = False, 0.0, False
        for part in filter(None, (p.strip().lower() for p in value.split(","))):
            name, _, arg = part.partition(":")
            if part == "duplicate":
                duplicate = True
            elif part == "early":
                early = True
            elif name == "delay" and _SECONDS.fullmatch(arg) and float(arg) <= 86400:
                delay = float(arg)
            else:
                raise InvalidCallbackMode(
                    f"invalid callback mode {part!r}: use duplicate, early, delay:SECONDS (comma-separated)"
                )
        return cls(duplicate, delay, early)


@dataclass
class Attempt:
    number: int
    at: float
    status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    timestamp: int | None = None
    headers: dict[str, str] | None = None  # as sent, signature included, for the dashboard

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Delivery:
    id: str
    namespace: str
    task_id: str
    url: str
    body: bytes
    created_at: float
    state: str = "pending"  # pending | sending | delivered | exhausted | blocked
    reason: str | None = None
    next_attempt_at: float | None = None
    attempts: list[Attempt] = field(default_factory=list)
    copies_left: int = 0  # duplicate mode: sends still owed after a success

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "namespace": self.namespace, "task_id": self.task_id, "url": self.url,
            "state": self.state, "reason": self.reason, "created_at": self.created_at,
            "next_attempt_at": self.next_attempt_at, "attempts": [a.to_dict() for a in self.attempts],
            "payload": json.loads(self.body),
        }


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


def payload(task: Task) -> bytes:
    """The callback body (compact JSON): the task's terminal body, as the status route shows it."""
    # Early mode sends it before the status route shows the end: render the outcome the task is heading for.
    body = task.to_body(task.status if task.terminal else task.outcome)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode()


class Dispatcher:
    """Creates deliveries from task endings and sends the due ones, at most `callback_concurrency` at once."""

    def __init__(self, engine: TaskEngine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.store = engine.store
        stored = self.store.get_meta("callback_secret") if self.store is not None else None
        self.secret = settings.callback_secret or stored or generate_secret()
        self.secret_source = "given" if settings.callback_secret else "restored" if stored else "generated"
        try:
            sign(self.secret, "check", 0, b"")
        except InvalidSecret as exc:
            raise ValueError(f"invalid callback secret: {exc}") from None
        self.previous_secret: str | None = self.store.get_meta("previous_callback_secret") \
            if self.store is not None and self.secret == stored else None
        self._save_secrets()
        self._client: httpx.AsyncClient | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        engine.on_terminal.append(self._on_terminal)
        engine.on_processing.append(self._on_processing)

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.settings.callback_timeout, follow_redirects=False,
                                         trust_env=False, headers={"User-Agent": "runapi-mock-callbacks"})
        self._semaphore = asyncio.Semaphore(max(1, self.settings.callback_concurrency))

    async def stop(self, grace: float = 5.0) -> list[Delivery]:
        """Let in-flight attempts finish (up to `grace` seconds); return the deliveries still owed."""
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=grace)
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
        if self.store is not None:
            self.store.set_meta("callback_secret", self.secret)
            self.store.set_meta("previous_callback_secret", self.previous_secret)

    # -- creating deliveries ---------------------------------------------------------------------------

    def _on_processing(self, ns: Namespace, task: Task) -> None:
        mode = task.callback_mode
        if mode is not None and mode.early and task.outcome in ("completed", "failed"):
            self._enqueue(ns, task)

    def _on_terminal(self, ns: Namespace, task: Task) -> None:
        mode = task.callback_mode
        if mode is not None and mode.early and any(d.task_id == task.id for d in ns.deliveries.values()):
            return  # already sent early
        self._enqueue(ns, task)

    def _enqueue(self, ns: Namespace, task: Task) -> None:
        url = task.body.get("callback_url")
        if not isinstance(url, str):
            return
        now = ns.clock.now()
        delivery = Delivery(id=str(uuid.uuid4()), namespace=ns.name, task_id=task.id, url=url,
                            body=payload(task), created_at=now)
        mode = task.callback_mode or CallbackMode()
        delivery.copies_left = 1 if mode.duplicate else 0
        allowed, reason = host_allowed(url, self.settings.allow_callback_hosts)
        if not allowed:
            delivery.state, delivery.reason = "blocked", reason
        else:
            self._schedule(ns, delivery, now + mode.delay)
        ns.deliveries[delivery.id] = delivery
        self._save(delivery)
        self._trim(ns)
        self.engine.notify()

    def resume(self, ns: Namespace, delivery: Delivery) -> None:
        """A delivery loaded from --state: one still owed is due again (now, if it was mid-attempt)."""
        ns.deliveries[delivery.id] = delivery
        if delivery.state == "sending":
            unanswered = delivery.attempts[-1] if delivery.attempts else None
            if unanswered is not None and unanswered.status_code is None and unanswered.error is None:
                unanswered.error = "the server stopped before the receiver answered"
            self._schedule(ns, delivery, ns.clock.now())
        elif delivery.state == "pending":
            self._schedule(ns, delivery, delivery.next_attempt_at or ns.clock.now())

    def _save(self, delivery: Delivery) -> None:
        if self.store is not None:
            self.store.delivery(delivery)

    def _commit(self) -> None:
        if self.store is not None:
            self.store.flush()

    def _schedule(self, ns: Namespace, delivery: Delivery, at: float) -> None:
        delivery.state, delivery.next_attempt_at = "pending", at
        heapq.heappush(ns.delivery_due, (at, delivery.id))

    def _trim(self, ns: Namespace) -> None:
        while len(ns.deliveries) > MAX_DELIVERIES:
            oldest = next((d for d in ns.deliveries.values() if d.state in ("delivered", "exhausted", "blocked")),
                          None)
            if oldest is None:
                return
            del ns.deliveries[oldest.id]
            if self.store is not None:
                self.store.forget_delivery(oldest)

    def redeliver(self, ns: Namespace, delivery_id: str) -> Delivery:
        with self.engine.lock:
            delivery = ns.deliveries[delivery_id]
            if delivery.state == "blocked":
                raise ValueError(delivery.reason or "blocked")
            self._schedule(ns, delivery, ns.clock.now())
            self._save(delivery)
            self._commit()
            return delivery

    # -- sending ---------------------------------------------------------------------------------------

    def tick(self) -> float | None:
        """Start the attempts that are due; wall seconds until the next one (None when nothing waits)."""
        soonest: float | None = None
        with self.engine.lock:
            for ns in list(self.engine.namespaces.values()):
                now = ns.clock.now()
                while ns.delivery_due and ns.delivery_due[0][0] <= now:
                    at, delivery_id = heapq.heappop(ns.delivery_due)
                    delivery = ns.deliveries.get(delivery_id)
                    if delivery is None or delivery.state != "pending" or delivery.next_attempt_at != at:
                        continue  # superseded by a redelivery or already finished
                    delivery.state, delivery.next_attempt_at = "sending", None
                    self._save(delivery)
                    self._launch(ns, delivery)
                if ns.delivery_due and not ns.clock.frozen:
                    wait = ns.delivery_due[0][0] - now
                    soonest = wait if soonest is None else min(soonest, wait)
            self._commit()
        return soonest

    def _launch(self, ns: Namespace, delivery: Delivery) -> None:
        task = asyncio.get_running_loop().create_task(self._attempt(ns, delivery))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _attempt(self, ns: Namespace, delivery: Delivery) -> None:
        assert self._semaphore is not None
        async with self._semaphore:
            attempt = Attempt(number=len(delivery.attempts) + 1, at=ns.clock.now())
            delivery.attempts.append(attempt)
            # Receivers check the timestamp against their own clock, so it is wall time, not the mock's clock.
            attempt.timestamp = int(time.time())
            started = time.monotonic()
            try:
                headers = callback_headers(self.secret, delivery.id, attempt.timestamp, delivery.body)
                attempt.headers = headers
                if self._client is None:
                    raise RuntimeError("the server is shutting down")
                response = await self._client.post(delivery.url, content=delivery.body, headers=headers)
                attempt.status_code = response.status_code
                ok = 200 <= response.status_code < 300
                if not ok:
                    attempt.error = f"receiver answered {response.status_code}"
            except Exception as exc:  # any failure is a failed attempt, journaled and retried; never lost
                ok = False
                attempt.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            attempt.latency_ms = round((time.monotonic() - started) * 1000, 3)
        self._finish(ns, delivery, ok)

    def _finish(self, ns: Namespace, delivery: Delivery, ok: bool) -> None:
        with self.engine.lock:
            now = ns.clock.now()
            if ok and delivery.copies_left > 0:
                delivery.copies_left -= 1
                self._schedule(ns, delivery, now)  # duplicate mode: the same id once more
            elif ok:
                delivery.state = "delivered"
            else:
                failures = sum(1 for a in delivery.attempts if a.error is not None)
                schedule = self.settings.callback_schedule
                if failures > len(schedule):
                    delivery.state = "exhausted"
                else:
                    self._schedule(ns, delivery, now + schedule[failures - 1])
            self._save(delivery)
            self._commit()
        self.engine.notify()

    def all(self) -> list[Delivery]:
        with self.engine.lock:
            return [d for ns in self.engine.namespaces.values() for d in ns.deliveries.values()]


def deliveries(ns: Namespace) -> list[Delivery]:
    return list(reversed(ns.deliveries.values()))

