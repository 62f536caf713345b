"""Credit ledger per account: reserve at create, settle on completion, refund on failure.

Amounts are integer micro-cents (`MICROCENTS` per cent) so fractional catalog prices (2.5 cents) add up exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runapi_contracts.vocabulary import MICROCENTS_PER_CENT

from ..errors import InsufficientCredits

MICROCENTS = MICROCENTS_PER_CENT


@dataclass
class Account:
    credit: int
    reserved: dict[str, int] = field(default_factory=dict)
    reserved_total: int = 0  # kept with `reserved`, so a create does not sum every open reservation
    spent: int = 0
    spent_by_day: dict[int, int] = field(default_factory=dict)
    name: str | None = None  # the user `GET /api/v1/me` shows (None: the server's --user-name)
    email: str | None = None  # (None: the server's --user-email)
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # kind -> id -> record

    @property
    def available(self) -> int:
        return self.credit - self.spent - self.reserved_total

    def hold(self, task_id: str, amount: int) -> None:
        self.reserved[task_id] = amount
        self.reserved_total += amount

    def release(self, task_id: str) -> int:
        amount = self.reserved.pop(task_id, 0)
        self.reserved_total -= amount
        return amount


class Ledger:
    """Balances of the accounts (API keys) of one namespace."""

    def __init__(self, starting_cents: int) -> None:
        self.starting = self._initial = starting_cents * MICROCENTS
        self._accounts: dict[str, Account] = {}

    def holds_data(self) -> bool:
        """Whether any balance, spending, reservation or profile differs from what a new ledger starts with."""
        return self.starting != self._initial or any(
            a.credit != self.starting or a.spent or a.reserved_total or a.name is not None or a.email is not None
            for a in self._accounts.values())

    def account(self, key: str) -> Account:
        account = self._accounts.get(key)
        if account is None:
            account = self._accounts[key] = Account(credit=self.starting)
        return account

    def reserve(self, key: str, task_id: str, amount: int) -> None:
        account = self.account(key)
        if amount > account.available:
            raise InsufficientCredits(
                f"Insufficient credits: this task costs {amount / MICROCENTS:g} cents, "
                f"available balance is {account.available / MICROCENTS:g} cents",
                task_id=None,
            )
        account.hold(task_id, amount)

    def settle(self, key: str, task_id: str, now: float) -> int:
        account = self.account(key)
        amount = account.release(task_id)
        account.spent += amount
        day = int(now // 86400)
        account.spent_by_day[day] = account.spent_by_day.get(day, 0) + amount
        return amount

    def refund(self, key: str, task_id: str) -> int:
        return self.account(key).release(task_id)

    def set_every_balance(self, cents: int) -> list[str]:
        """Make `cents` available to every key: those already known, and those not seen yet (their start).

        Returns the known keys, whose accounts changed."""
        self.starting = cents * MICROCENTS
        for key in self._accounts:
            self.set_balance(key, cents)
        return list(self._accounts)

    def set_balance(self, key: str, cents: int) -> None:
        """Make `cents` available to `key`, whatever it has reserved or spent."""
        account = self.account(key)
        account.credit = cents * MICROCENTS + account.spent + account.reserved_total

    def balance(self, key: str, now: float) -> dict[str, int]:
        account = self.account(key)
        available = account.available // MICROCENTS
        return {
            "balance_cents": available,
            "paid_balance_cents": available,
            "bonus_balance_cents": 0,
            "spent_cents_today": account.spent_by_day.get(int(now // 86400), 0) // MICROCENTS,
            "spent_cents_total": account.spent // MICROCENTS,
        }

    def snapshot(self) -> dict[str, dict[str, int]]:
        return {
            key: {"credit_microcents": a.credit, "reserved_microcents": a.reserved_total,
                  "spent_microcents": a.spent, "available_microcents": a.available}
            for key, a in self._accounts.items()
        }
