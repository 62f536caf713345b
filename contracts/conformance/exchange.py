"""The steps every server check shares: send one request, read its JSON, hold it to a schema, expect an error
envelope, run a check over Hypothesis examples. Each failure is a `ConformanceFailure` naming the check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from ..validate import validate_response
from .report import ConformanceFailure
from .target import Target

T = TypeVar("T")


def send(target: Target, check: str, method: str, path: str, operation: str, request: Any = None,
          **options: Any) -> httpx.Response:
    try:
        return target.request(method, path, operation=operation, json=request, **options)
    except httpx.HTTPError as exc:
        raise ConformanceFailure(check, operation, f"request failed: {type(exc).__name__}: {exc}",
                                 request=request) from exc


def body(check: str, operation: str, request: Any, response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ConformanceFailure(check, operation, f"HTTP {response.status_code} body is not JSON: "
                                 f"{response.text[:200]!r}", request=request) from None


def conform(check: str, operation: str, request: Any, schema: str, body: Any) -> None:
    violations = validate_response(schema, body)
    if violations:
        first = violations[0]
        pointer = first.pointer or "/"
        if first.rule == "required" and "'" in first.message:
            missing = first.message.split("'")[1]  # "'images' is a required property"
            pointer = pointer.rstrip("/") + "/" + missing
        more = f" (+{len(violations) - 1} more)" if len(violations) > 1 else ""
        raise ConformanceFailure(check, operation, f"body violates {schema}: {first.message}{more}",
                                 request=request, pointer=pointer)


def expect_error(check: str, operation: str, request: Any, response: httpx.Response, statuses: range | int,
                  why: str) -> None:
    wanted = statuses if isinstance(statuses, range) else range(statuses, statuses + 1)
    if response.status_code not in wanted:
        expected = f"{wanted.start}" if len(wanted) == 1 else f"{wanted.start // 100}xx"
        raise ConformanceFailure(check, operation, f"expected {expected} {why}, got {response.status_code}: "
                                 f"{response.text[:200]!r}", request=request)
    conform(check, operation, request, "error", body(check, operation, request, response))
    expect_request_id(check, operation, request, response)


def expect_request_id(check: str, operation: str, request: Any, response: httpx.Response) -> None:
    if not response.headers.get("x-request-id"):
        raise ConformanceFailure(check, operation, f"HTTP {response.status_code} has no X-Request-Id header",
                                 request=request)


def _hypothesis_settings(examples: int) -> settings:
    # No shrink phase: against a real server every shrink step is another request (and, live, money).
    return settings(max_examples=examples, deadline=None, database=None,
                    phases=(Phase.explicit, Phase.generate), report_multiple_bugs=False,
                    suppress_health_check=list(HealthCheck),
                    verbosity=Verbosity.quiet, print_blob=False)


def for_examples(strategy: st.SearchStrategy[T], examples: int, seed: int | None,
                  body: Callable[[T], None]) -> None:
    @_hypothesis_settings(examples)
    @given(strategy)
    def run(value: T) -> None:
        body(value)

    (hypothesis_seed(seed)(run) if seed is not None else run)()
