"""Account resources: what one request creates and later requests of the same account name by id (voices,
personas), per namespace and API key.

Why on the account: a resource belongs to the key that made it, as its balance does, and the account is
what `--state` already writes whenever that key's tasks change; so a voice survives a restart and outlives
the task that made it. A resource is a small JSON record under a kind (``voice``, ``persona``...) and an id.
The catalog says which actions create one (output spec ``creates: <kind>``, made when the task completes)
and which fields name one (a field's ``media: voice``: a voice or persona of the account); `check` refuses a
create naming an unknown id, as the real API does, with the field in the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runapi_contracts.catalog import Model

from .. import errors
from .ledger import Account
from .model import Task

__all__ = ["REFERENCE_KINDS", "add", "check", "find", "listed", "made_by", "resource_id"]

# Which resource kinds a field's `media` accepts: a Suno persona_id names a persona or a voice.
REFERENCE_KINDS: Mapping[str, tuple[str, ...]] = {"voice": ("voice", "persona")}


def add(account: Account, kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """Keep `record` (it has an ``id``) as a `kind` resource of the account; returns the stored copy."""
    stored = dict(record)
    account.resources.setdefault(kind, {})[str(stored["id"])] = stored
    return stored


def find(account: Account, kinds: tuple[str, ...] | str, resource_id: str) -> dict[str, Any] | None:
    """The account's resource of one of `kinds` with this id, or None."""
    for kind in (kinds,) if isinstance(kinds, str) else kinds:
        record = account.resources.get(kind, {}).get(resource_id)
        if record is not None:
            return record
    return None


def listed(account: Account, kind: str) -> list[dict[str, Any]]:
    """The account's resources of `kind`, oldest first."""
    return list(account.resources.get(kind, {}).values())


def check(model: Model, body: Mapping[str, Any], account: Account) -> None:
    """Refuse (422) a request whose resource field names an id the account does not have."""
    for name in model.source_fields:
        kinds = REFERENCE_KINDS.get(str(model.media(name)))
        value = body.get(name)
        if kinds is None or value in (None, ""):
            continue
        if not isinstance(value, str) or find(account, kinds, value) is None:
            raise errors.ValidationFailed(
                f"{name}: no {' or '.join(kinds)} {value!r} in this account (create one first)",
                code="resource_not_found")


def resource_id(kind: str, task_id: str) -> str:
    """The id of the resource a task creates (stable: derived from the task), e.g. ``voice_1f2e...``."""
    return f"{kind}_{task_id.replace('-', '')[:24]}"


def made_by(task: Task) -> tuple[str, dict[str, Any]] | None:
    """The (kind, record) a completed task creates per its output spec's ``creates``, or None."""
    model = task.catalog_model()
    kind = model.output_spec.get("creates") if model is not None else None
    if not isinstance(kind, str):
        return None
    name = task.body.get("voice_name") or task.body.get("name")
    return kind, {"id": resource_id(kind, task.id), "name": name if isinstance(name, str) else None,
                  "task_id": task.id, "created_at": task.finished_at}
