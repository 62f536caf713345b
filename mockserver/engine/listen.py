"""`runapi listen` as the mock keeps it: per-key listen secrets, listener sessions and their queues. No HTTP here.

A namespace's listeners (`ns.listeners`) are part of the engine's state and change only under its lock: the
engine's TaskTerminal event queues a task's callback for the open sessions of the task's key, and the listen
routes go through the engine's listen methods (listen_book.py). Everything runs on the namespace's clock.

An event is queued per session until that session acknowledges it; a poll hands out the queued events after
`last_id`, oldest first. Past `queue_size` unacknowledged events the oldest is dropped and counted. A session
not polled (or acked) for `ttl` clock seconds expires: its token answers 404 and its queue is gone.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Literal

SessionState = Literal["open", "expired", "revoked", "closed", "rotated"]
MAX_SESSIONS_PER_KEY = 100  # RunAPI's documented limit of active listeners per key
MAX_POLL_EVENTS = 100  # events one poll hands out
CLOSED_KEPT = 50  # ended sessions the dashboard still shows


def key_id(key: str) -> str:
    """The stable id the CLI selects a key by (`callback_api_key_id`): never the key itself."""
    return "key_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def masked(key: str) -> str:
    """The key as RunAPI lists it: its head and tail around bullets, nothing of a short key's middle."""
    if len(key) >= 12:
        return f"{key[:4]}••••••••{key[-4:]}"
    return f"{key[:1]}••••••••{key[-1:]}" if len(key) >= 4 else "••••••••"


@dataclass(frozen=True, slots=True)
class ListenEvent:
    """One terminal callback of a key's task, as listeners get it: `body` is what is signed and forwarded."""

    id: int
    callback_id: str  # X-Callback-Id: the same on every redelivery, so a receiver can dedupe
    task_id: str
    status: str
    body: bytes
    created_at: float


@dataclass
class ListenKey:
    """A key as a callback subscription key: its listen signing secret and whether it can still be listened to."""

    key: str
    id: str
    secret: str
    enabled: bool = True
    name: str = ""

    def summary(self) -> dict[str, Any]:
        """`{id, name, masked_token, enabled}`: what GET /api/v1/cli/keys lists and a session names."""
        return {"id": self.id, "name": self.name or f"Mock key {masked(self.key)}", "masked_token": masked(self.key),
                "enabled": self.enabled}


@dataclass
class ListenSession:
    """One `runapi listen` run: its token, the key it listens to, its queue and what it did."""

    token: str
    key_id: str
    owner: str  # the X-API-Key that opened it: only that credential polls, acks or closes it
    created_at: float
    last_seen: float  # the clock time of its creation, last poll or ack: expiry counts from here
    queue: OrderedDict[int, ListenEvent] = field(default_factory=OrderedDict)  # unacknowledged, oldest first
    state: SessionState = "open"
    ended_at: float | None = None
    last_poll: float | None = None
    polls: int = 0
    delivered: int = 0  # events handed out by polls, redeliveries included
    acked: int = 0
    dropped: int = 0  # oldest unacknowledged events dropped past the queue size
    last_queued: int = 0  # the newest event id queued for it: an ack of a higher id names no event it had

    def summary(self, ttl: float) -> dict[str, Any]:
        return {
            "session_token": self.token, "callback_api_key_id": self.key_id, "state": self.state,
            "created_at": self.created_at, "last_seen": self.last_seen, "last_poll": self.last_poll,
            "expires_at": self.last_seen + ttl if self.state == "open" else None, "ended_at": self.ended_at,
            "polls": self.polls, "queued": len(self.queue), "delivered": self.delivered, "acked": self.acked,
            "dropped": self.dropped,
            "events": [{"id": e.id, "task_id": e.task_id, "status": e.status, "callback_id": e.callback_id,
                        "created_at": e.created_at} for e in self.queue.values()],
        }


class Listeners:
    """One namespace's callback subscription keys and listener sessions (open ones, and the last ended ones)."""

    def __init__(self) -> None:
        self.keys: dict[str, ListenKey] = {}  # by key id
        self.sessions: dict[str, ListenSession] = {}  # open, by token
        self.ended: deque[ListenSession] = deque(maxlen=CLOSED_KEPT)
        self.next_event_id = 1

    def holds_data(self) -> bool:
        """An open session or a disabled key: what an evicted namespace would lose (a secret is made again)."""
        return bool(self.sessions) or any(not key.enabled for key in self.keys.values())

    def subscription(self, key: str, secret: str) -> ListenKey:
        """The ListenKey of `key`, made with `secret` the first time it is asked for."""
        found = self.keys.get(key_id(key))
        if found is None:
            found = self.keys[key_id(key)] = ListenKey(key, key_id(key), secret)
        return found

    def open_sessions(self, key: ListenKey | None = None) -> list[ListenSession]:
        return [s for s in self.sessions.values() if key is None or s.key_id == key.id]

    def open(self, key: ListenKey, owner: str, token: str, now: float) -> ListenSession:
        session = self.sessions[token] = ListenSession(token, key.id, owner, now, now)
        return session

    def end(self, session: ListenSession, state: SessionState, now: float) -> None:
        """Close a session (its queue is released); the dashboard keeps showing it for a while."""
        if self.sessions.pop(session.token, None) is None:
            return
        session.state, session.ended_at = state, now
        session.queue.clear()
        self.ended.append(session)

    def expire(self, now: float, ttl: float) -> None:
        """End the sessions not seen for more than `ttl` clock seconds."""
        for session in [s for s in self.sessions.values() if now - s.last_seen > ttl]:
            self.end(session, "expired", now)

    def enqueue(self, key: str, task_id: str, status: str, body: bytes, callback_id: str, now: float,
                queue_size: int) -> ListenEvent | None:
        """Queue a terminal callback of `key`'s task for each open session of that key (None: nobody listens)."""
        listening = self.open_sessions(self.keys.get(key_id(key))) if key_id(key) in self.keys else []
        if not listening:
            return None
        event = ListenEvent(self.next_event_id, callback_id, task_id, status, body, now)
        self.next_event_id += 1
        for session in listening:
            session.queue[event.id] = event
            session.last_queued = event.id
            while len(session.queue) > queue_size:
                session.queue.popitem(last=False)
                session.dropped += 1
        return event

    def poll(self, session: ListenSession, last_id: int, now: float) -> list[ListenEvent]:
        """The queued events after `last_id`, oldest first (at most MAX_POLL_EVENTS); the session was seen."""
        session.last_seen = session.last_poll = now
        session.polls += 1
        found = [e for e in session.queue.values() if e.id > last_id][:MAX_POLL_EVENTS]
        session.delivered += len(found)
        return found

    def ack(self, session: ListenSession, event_id: int, now: float) -> bool:
        """Acknowledge one event; again is harmless. False: no such event was ever queued for this session."""
        session.last_seen = now
        if session.queue.pop(event_id, None) is not None:
            session.acked += 1
            return True
        return 0 < event_id <= session.last_queued
