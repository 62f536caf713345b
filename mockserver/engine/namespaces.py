"""A namespace's settings as the engine keeps them: its clock, defaults, accounts, rules, journal and limits.

Every change goes through here under the engine's lock and is published as an event (see engine_core.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import events, resources
from .core import EngineCore, locked, operation
from .delivery import CallbackMode
from .journal import Entry
from .ledger import Account
from .lifecycle import Progression
from .model import Namespace

_FLAKY_MEMORY = 10_000


class _Keep:
    """The default of `configure()`'s arguments: leave this setting as it is."""


KEEP = _Keep()


class NamespaceSettings(EngineCore):
    """Clock, defaults for new tasks, credits and profiles, admin rules, the journal and the limits."""

    # -- clock ----------------------------------------------------------------------------------------

    def now(self, ns: Namespace) -> float:
        return ns.clock.now()

    def read_clock(self, ns: Namespace) -> tuple[float, bool]:
        """(now, frozen) on the namespace's clock."""
        return ns.clock.now(), ns.clock.frozen

    @operation
    def advance_clock(self, ns: Namespace, seconds: float) -> tuple[float, bool]:
        ns.clock.advance(seconds)
        return self._clock_changed(ns)

    @operation
    def freeze_clock(self, ns: Namespace) -> tuple[float, bool]:
        ns.clock.freeze()
        return self._clock_changed(ns)

    @operation
    def unfreeze_clock(self, ns: Namespace) -> tuple[float, bool]:
        ns.clock.unfreeze()
        return self._clock_changed(ns)

    def _clock_changed(self, ns: Namespace) -> tuple[float, bool]:
        self._publish(events.NamespaceChanged(ns))
        self.tick()  # due status changes happen at once
        self.notify()
        return self.read_clock(ns)

    # -- defaults for new tasks -----------------------------------------------------------------------

    @locked
    def config(self, ns: Namespace) -> tuple[Progression | None, CallbackMode | None]:
        """The namespace's own progression and callback mode (None: the server's default)."""
        return ns.progression, ns.callback_mode

    @operation
    def configure(self, ns: Namespace, *, progression: Progression | _Keep | None = KEEP,
                  callback_mode: CallbackMode | _Keep | None = KEEP) -> None:
        """Set the namespace's defaults for new tasks; an argument left out keeps its setting."""
        if not isinstance(progression, _Keep):
            ns.progression = progression
        if not isinstance(callback_mode, _Keep):
            ns.callback_mode = callback_mode
        self._publish(events.NamespaceChanged(ns))

    # -- accounts -------------------------------------------------------------------------------------

    @locked
    def balance(self, ns: Namespace, key: str) -> dict[str, int]:
        return ns.ledger.balance(key, ns.clock.now())

    @locked
    def account(self, ns: Namespace, key: str) -> Account:
        return ns.ledger.account(key)

    @locked
    def accounts(self, ns: Namespace) -> dict[str, dict[str, int]]:
        return ns.ledger.snapshot()

    @operation
    def add_resource(self, ns: Namespace, key: str, kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """Keep a resource (a voice...) of `key`'s account; kept by --state with its credits."""
        stored = resources.add(ns.ledger.account(key), kind, record)
        self._publish(events.NamespaceChanged(ns, key=key))
        return stored

    @locked
    def find_resource(self, ns: Namespace, key: str, kind: str, resource_id: str) -> dict[str, Any] | None:
        found = resources.find(ns.ledger.account(key), kind, resource_id)
        return dict(found) if found is not None else None

    @locked
    def list_resources(self, ns: Namespace, key: str, kind: str) -> list[dict[str, Any]]:
        return [dict(r) for r in resources.listed(ns.ledger.account(key), kind)]

    @operation
    def set_balance(self, ns: Namespace, key: str, cents: int) -> dict[str, int]:
        """Make `cents` available to `key`, whatever it has reserved or spent; returns the new balance."""
        ns.ledger.set_balance(key, cents)
        self._publish(events.NamespaceChanged(ns, key=key))
        return ns.ledger.balance(key, ns.clock.now())

    @operation
    def set_profile(self, ns: Namespace, key: str, profile: Mapping[str, str | None]) -> None:
        """Set `key`'s user `name` and `email` (None: the server's default); kept by --state with its credits."""
        account = ns.ledger.account(key)
        account.name, account.email = profile.get("name", account.name), profile.get("email", account.email)
        self._publish(events.NamespaceChanged(ns, key=key))

    @operation
    def set_every_balance(self, ns: Namespace, cents: int) -> dict[str, dict[str, int]]:
        """Make `cents` available to every key of the namespace, seen or not; returns the known accounts."""
        known = ns.ledger.set_every_balance(cents)
        self._publish(events.NamespaceChanged(ns))  # the start of keys not seen yet is the namespace's
        for key in known:
            self._publish(events.NamespaceChanged(ns, key=key))
        return ns.ledger.snapshot()

    # -- admin rules (not kept by --state; their event tells the dashboard the namespace changed) -------

    @locked
    def rules(self, ns: Namespace) -> list[dict[str, object]]:
        return ns.rules.to_list()

    @operation
    def add_rule(self, ns: Namespace, data: Mapping[str, object]) -> dict[str, object]:
        rule = ns.rules.add(data).to_dict()
        self._publish(events.NamespaceChanged(ns))
        return rule

    @operation
    def remove_rule(self, ns: Namespace, rule_id: int) -> bool:
        removed = ns.rules.remove(rule_id)
        if removed:
            self._publish(events.NamespaceChanged(ns))
        return removed

    @operation
    def clear_rules(self, ns: Namespace) -> None:
        ns.rules.clear()
        self._publish(events.NamespaceChanged(ns))

    @locked
    def take_rule(self, ns: Namespace, method: str, path: str, model: str | None, key: str | None) -> str | None:
        """The scenario an admin rule gives this request, using up one of the rule's count."""
        return ns.rules.take(method, path, model, key)

    # -- journal and limits ---------------------------------------------------------------------------

    def journal(self, ns: Namespace, *, limit: int, offset: int = 0,
                **filters: str | int | None) -> tuple[list[Entry], int]:
        """Entries matching `filters`, newest first, past the first `offset`; and how many the journal holds."""
        with self._lock:
            return ns.journal.query(limit=limit, offset=offset, **filters), len(ns.journal)

    def hit_rate_limit(self, ns: Namespace, key: str) -> None:
        """Count one request of `key` against the per-minute limit (raises RateLimited past it)."""
        if ns.limiter.per_minute > 0:  # off by default: no lock or clock read per request then
            with self._lock:
                ns.limiter.hit(key, ns.clock.now())

    @locked
    def flaky_attempt(self, ns: Namespace, fingerprint: str, failures: int) -> bool:
        """True while this request (same key, route and body) is still within its failing attempts."""
        seen = ns.flaky.get(fingerprint, 0) + 1
        ns.flaky[fingerprint] = seen
        ns.flaky.move_to_end(fingerprint)
        while len(ns.flaky) > _FLAKY_MEMORY:
            ns.flaky.popitem(last=False)
        return seen <= failures
