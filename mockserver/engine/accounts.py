"""The user and account `GET /api/v1/me` shows for a key, and the admin change that sets them per key.

Every key starts as RunAPI's own local smoke test expects (`Demo User`, `demo@example.com`, 5000 cents; the
server's --user-name, --user-email and --balance); `PUT /_mock/accounts/{key}` gives one key its own.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .. import errors
from ..settings import Settings
from .ledger import Account

ACCOUNT_NAME = "Demo Account"
MAX_TEXT = 200
_HINT = ('send {"name": "...", "email": "...", "balance_cents": N} (any of them; null name or email: the '
         "server's default)")


def user_id(key: str) -> int:
    """A stable positive id per key (the SDK wants an int): the same key is the same user after a restart."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


def user(settings: Settings, key: str, account: Account) -> dict[str, Any]:
    """The body of `GET /api/v1/me` (the SDK's AccountInfoResponse)."""
    number = user_id(key)
    return {"id": number, "name": account.name or settings.user_name, "email": account.email or settings.user_email,
            "account": {"id": number, "name": ACCOUNT_NAME}}


def parse_change(body: dict[str, Any]) -> tuple[dict[str, str | None], int | None]:
    """The profile fields and the balance an admin `PUT /_mock/accounts/{key}` sets; 400 for anything else."""
    unknown = sorted(set(body) - {"name", "email", "balance_cents"})
    if unknown:
        raise errors.BadRequest(f"unknown field {unknown[0]!r}: {_HINT}", code="invalid_account")
    profile: dict[str, str | None] = {}
    for name in ("name", "email"):
        if name in body:
            value = body[name]
            if value is not None and (not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT):
                raise errors.BadRequest(f"{name} must be 1-{MAX_TEXT} characters or null: {_HINT}",
                                        code="invalid_account")
            profile[name] = value
    cents = body.get("balance_cents")
    if "balance_cents" in body and (isinstance(cents, bool) or not isinstance(cents, int)
                                    or not 0 <= cents <= 10 ** 12):
        raise errors.BadRequest(f"balance_cents must be a whole number from 0 to 1e12: {_HINT}",
                                code="invalid_account")
    return profile, cents
