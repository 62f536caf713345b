"""The client under test, as the harness calls it: `ClientAdapter` around a `generate` callable."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["ClientAdapter", "ClientContext", "Generate"]


@dataclass(frozen=True)
class ClientContext:
    """What the harness tells the adapter about one call.

    Args:
        timeout: seconds the client should wait for the task before giving up (short for `stuck`).
        headers: mock control headers (`RETRY_AFTER_HEADER`, `X-Mock-Retry-After`) the adapter may forward;
            if it does not, the mock's defaults apply (Retry-After 2 s on 429/503, 1 s on flaky).
        sleep: the wait to give a client that takes one (a retry or polling library's sleep function):
            `time.sleep`, or with `frozen_clock=True` an advance of the run's frozen mock clock, so the
            client's waits are judged exactly, however fast or busy the machine is.
    """

    scenario: str
    timeout: float
    headers: Mapping[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep


class Generate(Protocol):
    """The adapter's entry point: return the client's result, or raise what the client raised."""

    def __call__(self, base_url: str, api_key: str, request: dict[str, Any], *, family: str,
                 action: str) -> Any: ...


@dataclass(frozen=True)
class ClientAdapter:
    """A client under test.

    Args:
        generate: a `Generate`; it also gets `context=ClientContext(...)` if it takes `context` or `**kwargs`.
        operations: the (family, action) pairs the client supports; the matrix uses the first.
        request: the matrix's request body (default: the simplest valid body of the first operation).
    """

    generate: Callable[..., Any]
    operations: tuple[tuple[str, str], ...] = (("flux_2", "text_to_image"),)
    name: str = "client"
    request: Mapping[str, Any] | None = None

    @classmethod
    def from_calls(cls, create: Callable[..., Any], get: Callable[..., Any], *, poll_interval: float = 0.5,
                   **kwargs: Any) -> ClientAdapter:
        """An adapter from separate calls, polled by the kit.

        `create(base_url, api_key, request, *, family, action)` returns a task id or a body with `id`;
        `get(base_url, api_key, task_id, *, family, action)` returns a status body. The kit's own loop then
        does the polling, so `stops_at_terminal` and `polls_not_too_fast` judge the kit, not the client.
        """
        def generate(base_url: str, api_key: str, request: dict[str, Any], *, family: str, action: str,
                     context: ClientContext) -> Any:
            created = create(base_url, api_key, request, family=family, action=action)
            task_id = created.get("id") if isinstance(created, Mapping) else created
            deadline = time.monotonic() + context.timeout
            while True:
                body = get(base_url, api_key, task_id, family=family, action=action)
                status = body.get("status") if isinstance(body, Mapping) else None
                if status == "completed":
                    return body
                if status == "failed":
                    raise RuntimeError(f"task {task_id} failed: {body.get('error')}")
                if time.monotonic() + poll_interval > deadline:
                    raise TimeoutError(f"task {task_id} still {status} after {context.timeout:g} s")
                time.sleep(poll_interval)

        return cls(generate=generate, **kwargs)

    def call(self, base_url: str, api_key: str, request: dict[str, Any], family: str, action: str,
             context: ClientContext) -> Any:
        kwargs: dict[str, Any] = {"family": family, "action": action}
        if _accepts_context(self.generate):
            kwargs["context"] = context
        return self.generate(base_url, api_key, request, **kwargs)


def _accepts_context(function: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "context" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
