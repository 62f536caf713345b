"""Account resources as the engine keeps them: what one request creates and later requests of the same account
name by id (Fish Audio voices, Suno personas), per namespace and API key.

Why on the account: a resource belongs to the key that made it, as its balance does, and the account is what
`--state` writes whenever it changes (the change is published like a balance's), so a voice survives a restart.
A resource is a small JSON record under a kind and its ``id``; the ledger's Account holds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import events
from .core import EngineCore, locked, operation
from .model import Namespace

__all__ = ["ResourceBook"]


class ResourceBook(EngineCore):
    """Add, find and list an account's resources, under the engine's lock."""

    @operation
    def add_resource(self, ns: Namespace, key: str, kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """Keep `record` (it has an ``id``) as a `kind` resource of the key's account; returns the stored copy."""
        stored = dict(record)
        ns.ledger.account(key).resources.setdefault(kind, {})[str(stored["id"])] = stored
        self._publish(events.NamespaceChanged(ns, key=key))
        return dict(stored)

    @locked
    def find_resource(self, ns: Namespace, key: str, kind: str, resource_id: str) -> dict[str, Any] | None:
        """The key's `kind` resource with this id, or None."""
        found = ns.ledger.account(key).resources.get(kind, {}).get(resource_id)
        return dict(found) if found is not None else None

    @locked
    def list_resources(self, ns: Namespace, key: str, kind: str) -> list[dict[str, Any]]:
        """The key's `kind` resources, oldest first."""
        return [dict(r) for r in ns.ledger.account(key).resources.get(kind, {}).values()]
