"""Listeners as the engine keeps them: `runapi listen`'s keys, secrets, sessions, polls and acks, under its lock.

The state is each namespace's `Listeners` (listen.py); this is its one writer. A task's terminal callback is
queued by `queue_for_listeners`, an engine subscriber (called under the lock with the TaskTerminal event); the
listen routes (listen_api.py) and the admin API call the rest. Refusals are the statuses the CLI reacts to:
404 the session is gone (it opens a new one), 410 the key is disabled (it stops), 403 the session was revoked
(it stops). Listeners are not kept by --state: after a restart the CLI's next poll gets 404.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable
from typing import Any

from .. import errors
from . import events
from .core import EngineCore, locked
from .listen import MAX_POLL_EVENTS, Listeners, ListenEvent, ListenKey, ListenSession
from .listen import MAX_SESSIONS_PER_KEY as MAX_SESSIONS
from .model import Namespace, Task


class ListenBook(EngineCore):
    """`runapi listen` on the engine (a part of TaskEngine, as uploads and namespace settings are)."""

    def _random(self, size: int) -> bytes:
        """Random bytes; from the --seed's generator when there is one, so secrets and tokens repeat too."""
        return os.urandom(size) if self._ids is None else self._ids.getrandbits(8 * size).to_bytes(size, "big")

    def _new_secret(self) -> str:
        """A listen signing secret as generate_secret() makes them: 32 random bytes, base64."""
        return base64.b64encode(self._random(32)).decode()

    # -- the engine's event: a task ended ------------------------------------------------------------------

    def queue_for_listeners(self, event: events.Event) -> None:
        """Subscriber: a task's terminal callback goes to the open sessions listening to its key."""
        if not isinstance(event, events.TaskTerminal):
            return
        ns, task = event.namespace, event.task
        book = self._listeners(ns)
        if not book.sessions:
            return
        body = _payload(task, self.settings.public_url)
        book.enqueue(task.key, task.id, task.status, body, self.new_id(), ns.clock.now(),
                     self.settings.listen_queue_size)

    # -- keys and their secrets ----------------------------------------------------------------------------

    @locked
    def listen_keys(self, ns: Namespace, caller: str) -> list[ListenKey]:
        """Every key of the namespace (the mock's accounts are its keys): the ones with an account, the
        server's --api-key ones and the caller."""
        book = self._listeners(ns)
        seen: Iterable[str] = (*self.settings.api_keys, *ns.ledger.snapshot(), caller)
        for key in seen:
            if key:
                book.subscription(key, self._new_secret())
        return sorted(book.keys.values(), key=lambda k: k.key)

    @locked
    def listen_secret(self, ns: Namespace, caller: str, key_id: str, *, rotate: bool = False) -> ListenKey:
        """The key's listen signing secret; `rotate` makes a new one and ends the key's sessions (their polls
        get 404, and the CLI stops when the new session's secret differs)."""
        key = self._usable_key(ns, caller, key_id)
        if rotate:
            key.secret = self._new_secret()
            book, now = self._listeners(ns), ns.clock.now()
            for session in book.open_sessions(key):
                book.end(session, "rotated", now)
        return key

    @locked
    def set_listen_key_enabled(self, ns: Namespace, key_id: str, enabled: bool) -> ListenKey:
        """Admin: disable a key (its sessions' polls and acks get 410) or enable it again."""
        self.listen_keys(ns, "")  # the keys seen so far, with no caller
        key = self._listeners(ns).keys.get(key_id)
        if key is None:
            raise errors.NotFound(f"no callback API key {key_id!r} in namespace {ns.name}")
        key.enabled = enabled
        return key

    # -- sessions --------------------------------------------------------------------------------------

    @locked
    def open_listen_session(self, ns: Namespace, caller: str, key_id: str) -> tuple[ListenSession, ListenKey]:
        key = self._usable_key(ns, caller, key_id)
        book = self._listeners(ns)
        if len(book.open_sessions(key)) >= MAX_SESSIONS:
            raise errors.RateLimited(f"key {key.id} has {MAX_SESSIONS} open listener sessions, the most "
                                     "RunAPI allows; close one (DELETE /api/v1/cli/listen_sessions/{token})",
                                     code="too_many_listeners", retry_after=self.settings.listen_session_ttl)
        token = "ls_" + base64.urlsafe_b64encode(self._random(24)).decode()
        session = book.open(key, caller, token, ns.clock.now())
        return session, key

    @locked
    def poll_listen(self, ns: Namespace, caller: str, token: str, last_id: int) -> tuple[list[ListenEvent],
                                                                                        ListenKey]:
        """The session's queued events after `last_id`, and the key whose secret signs them."""
        session, key = self._session(ns, caller, token)
        return self._listeners(ns).poll(session, last_id, ns.clock.now()), key

    @locked
    def ack_listen(self, ns: Namespace, caller: str, token: str, event_id: int) -> None:
        session, _ = self._session(ns, caller, token)
        if not self._listeners(ns).ack(session, event_id, ns.clock.now()):
            # A well-formed id the session does not hold: a conflict with its state, not a malformed request.
            raise errors.Conflict(f"event {event_id} was never sent to this session")

    @locked
    def close_listen_session(self, ns: Namespace, caller: str, token: str) -> None:
        book = self._listeners(ns)
        session = book.sessions.get(token)
        if session is None or session.owner != caller:
            raise errors.NotFound("no such listen session (it expired or was closed)")
        book.end(session, "closed", ns.clock.now())

    @locked
    def revoke_listen_session(self, ns: Namespace, token: str) -> ListenSession:
        """Admin: end a session as revoked: its polls and acks get 403 from then on."""
        book = self._listeners(ns)
        session = book.sessions.get(token)
        if session is None:
            raise errors.NotFound(f"no open listen session {token!r} in namespace {ns.name}")
        book.end(session, "revoked", ns.clock.now())
        return session

    @locked
    def listen_summary(self, ns: Namespace) -> dict[str, Any]:
        """Admin and dashboard: every key with its secret, every session (open ones, then the last ended ones,
        newest first) with its queue, and the bounds."""
        ttl = self.settings.listen_session_ttl
        book = self._listeners(ns)
        opened = list(book.sessions.values())
        return {
            "keys": [{**key.summary(), "listen_secret": key.secret,
                      "open_sessions": sum(1 for s in opened if s.key_id == key.id)}
                     for key in book.keys.values()],
            "sessions": [s.summary(ttl) for s in [*opened, *reversed(book.ended)]],
            "bounds": {"session_ttl_seconds": ttl, "queue_size": self.settings.listen_queue_size,
                       "sessions_per_key": MAX_SESSIONS, "events_per_poll": MAX_POLL_EVENTS},
        }

    # -- internals --------------------------------------------------------------------------------------

    def _listeners(self, ns: Namespace) -> Listeners:
        ns.listeners.expire(ns.clock.now(), self.settings.listen_session_ttl)
        return ns.listeners

    def _usable_key(self, ns: Namespace, caller: str, key_id: str) -> ListenKey:
        self.listen_keys(ns, caller)
        key = self._listeners(ns).keys.get(key_id)
        if key is None:
            raise errors.NotFound(f"no callback API key {key_id!r}: GET /api/v1/cli/keys lists them")
        if not key.enabled:
            raise errors.Gone(f"callback API key {key_id} is disabled", code="callback_api_key_unusable")
        return key

    def _session(self, ns: Namespace, caller: str, token: str) -> tuple[ListenSession, ListenKey]:
        book = self._listeners(ns)
        session = book.sessions.get(token)
        if session is None or session.owner != caller:
            if any(s.token == token and s.state == "revoked" and s.owner == caller for s in book.ended):
                raise errors.Forbidden("this listen session's access was revoked", code="cli_listen_required")
            raise errors.NotFound("listen session expired or unknown: open a new one")
        key = book.keys[session.key_id]
        if not key.enabled:
            raise errors.Gone(f"callback API key {key.id} is disabled", code="callback_api_key_unusable")
        return session, key





def _payload(task: Task, origin: str | None) -> bytes:
    """The task's callback body, as the dispatcher's callbacks.payload() writes it (compact ASCII JSON of the
    terminal body, its URLs on the --public-url when there is one)."""
    body = task.to_body(task.status, origin=origin)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode()
