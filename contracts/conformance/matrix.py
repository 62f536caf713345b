"""The client-conformance matrix: the checks a client is judged by, and the scenarios it is run through.

Each scenario is an admin rule of the mock (a scenario name from the vocabulary) plus what the adapter
should do about it; `CHECKS` names the verdicts `judges.py` reaches from the mock's journal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..vocabulary import ScenarioName

__all__ = ["CHECKS", "SCENARIOS", "Check", "ClientScenario"]


@dataclass(frozen=True)
class Check:
    """A named check and what it requires of the client."""

    name: str
    description: str


CHECKS: tuple[Check, ...] = (
    Check("requests_valid", "Every request reached the mock and was accepted as well-formed, and every "
          "create body is valid by the contract (journal violations, request_body re-validated). The "
          "deliberately invalid scenario is exempt."),
    Check("honours_retry_after", "After a 429 or 503 with Retry-After, the next attempt of the same request "
          "came at least Retry-After seconds after the response (server wall clock)."),
    Check("no_retry_on_client_errors", "A request answered 400, 401, 402, 404, 409 or 422 was not sent "
          "again."),
    Check("stops_at_terminal", "No status read of a task after the one that returned completed or failed."),
    Check("polls_not_too_fast", "After a status read that returned pending or processing, the next read of "
          "that task came at least min_poll_interval seconds later, or the read's Retry-After if smaller."),
    Check("idempotent_retries", "A create POST sent more than once carried one non-empty Idempotency-Key "
          "on every attempt."),
    Check("surfaces_failures", "A failed or content-policy task, a 401, 402 or 422 and a stuck task (the "
          "client's own timeout) made the adapter raise; every call ended within its timeout hint; a "
          "returned result was a task the client had read as completed."),
    Check("returns_results", "The success scenario and every generated valid request returned a result."),
)


@dataclass(frozen=True)
class ClientScenario:
    """A row of the matrix: the admin rule that shapes the run, and what the adapter should do."""

    name: str
    description: str
    expect: Literal["result", "error", "either"]
    rule: Mapping[str, Any] | None = None
    invalid: bool = False
    stuck: bool = False
    retry_after_header: bool = False


def _rule(scenario: ScenarioName, method: str, count: int | None = 1) -> dict[str, Any]:
    return {"scenario": scenario, "method": method, "count": count}


SCENARIOS: tuple[ClientScenario, ...] = (
    ClientScenario("success", "The task completes.", "result"),
    ClientScenario("failed", "The task ends failed.", "error", _rule("failed", "POST")),
    ClientScenario("content_policy", "The task fails on content policy.", "error",
                   _rule("content_policy", "POST")),
    ClientScenario("unauthorized", "401 on every create.", "error", _rule("unauthorized", "POST", None)),
    ClientScenario("insufficient_credits", "402 on every create.", "error",
                   _rule("insufficient_credits", "POST", None)),
    ClientScenario("invalid_request", "422: the request lacks its prompt.", "error", invalid=True),
    ClientScenario("rate_limited", "429 with Retry-After on the first status read.", "either",
                   _rule("rate_limited", "GET"), retry_after_header=True),
    ClientScenario("unavailable", "503 with Retry-After on the first status read.", "either",
                   _rule("unavailable", "GET"), retry_after_header=True),
    ClientScenario("flaky", "503 with Retry-After on the first two creates, then success.", "either",
                   _rule("flaky", "POST", 3), retry_after_header=True),
    ClientScenario("stuck", "The task never leaves processing; the client's own timeout must end it.",
                   "error", _rule("stuck", "POST"), stuck=True),
)
