"""Server-wide settings: one frozen object built by the CLI, the pytest plugin or `Settings.from_env()`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from .lifecycle import Progression

ENV_PREFIX = "RUNAPI_MOCK_"


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one mock server.

    Args:
        progression: default progression for new tasks (`auto`, `immediate`, `manual`, `polls:N`).
        speed: divides the catalog's auto timings (10 = ten times faster than the real service).
        balance_cents: starting balance of every account.
        api_keys: when non-empty, only these bearer keys are accepted.
        rate_limit: requests per minute per key (0 = off); max_concurrent: active tasks per key (0 = off).
        poll_retry_after: seconds sent as Retry-After on pending/processing status reads (None = no header);
            the official SDKs wait that long instead of their 2 s default.
        retention_seconds: tasks (and their files) older than this on the clock are forgotten.
        file_ttl_seconds: generated image URLs answer 410 after this.
        callback_schedule: seconds between callback attempts; its length + 1 is the attempt cap.
        state_path: a SQLite file that keeps tasks, ledger, secret, clocks and owed callbacks across
            restarts (None: everything lives in memory).
    """

    host: str = "127.0.0.1"
    port: int = 8787
    progression: Progression = field(default_factory=Progression)
    speed: float = 1.0
    balance_cents: int = 5000
    api_keys: tuple[str, ...] = ()
    rate_limit: int = 0
    max_concurrent: int = 0
    seed: int | None = None
    poll_retry_after: float | None = None
    retention_seconds: float = 7 * 86400
    file_ttl_seconds: float = 7 * 86400
    max_tasks_per_namespace: int = 100_000
    max_namespaces: int = 1000
    journal_size: int = 1000
    max_body_bytes: int = 1024 * 1024
    callback_secret: str | None = None
    allow_callback_hosts: tuple[str, ...] = ()
    callback_schedule: tuple[float, ...] = (1, 2, 4, 8, 16, 32)
    callback_timeout: float = 10.0
    callback_concurrency: int = 16
    frozen_clock: bool = False
    state_path: str | None = None

    def replace(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from RUNAPI_MOCK_* variables (and RUNAPI_CALLBACK_SECRET), defaults elsewhere."""
        env = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        for name, kind in (("host", str), ("port", int), ("speed", float), ("balance_cents", int),
                           ("rate_limit", int), ("max_concurrent", int), ("seed", int),
                           ("journal_size", int), ("retention_seconds", float), ("file_ttl_seconds", float),
                           ("state_path", str)):
            value = env.get(ENV_PREFIX + name.upper())
            if value:
                changes[name] = kind(value)
        if env.get(ENV_PREFIX + "PROGRESSION"):
            changes["progression"] = Progression.parse(env[ENV_PREFIX + "PROGRESSION"])
        if env.get(ENV_PREFIX + "API_KEYS"):
            changes["api_keys"] = tuple(k for k in env[ENV_PREFIX + "API_KEYS"].split(",") if k)
        if env.get("RUNAPI_CALLBACK_SECRET"):
            changes["callback_secret"] = env["RUNAPI_CALLBACK_SECRET"]
        return cls(**changes)
