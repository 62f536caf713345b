"""Scenarios: named outcomes a request can be given, by header or by an admin rule."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runapi_contracts import vocabulary
from runapi_contracts.vocabulary import Outcome, ScenarioName

from .. import errors


@dataclass(frozen=True)
class Scenario:
    """What a scenario does: fail the request now (`error`), or pick the task's `outcome`."""

    name: ScenarioName
    error: type[errors.MockError] | None = None
    message: str | None = None
    code: str | None = None
    retry_after: float | None = None
    outcome: Outcome | None = None
    failure_message: str | None = None
    failure_code: errors.FailureCode | None = None
    flaky_attempts: int = 0

    @property
    def description(self) -> str:
        return vocabulary.SCENARIOS[self.name]


_BEHAVIOURS = (
    Scenario("success", outcome="completed"),
    Scenario("failed", outcome="failed", failure_message=errors.FAILURES["generation_failed"],
             failure_code="generation_failed"),
    Scenario("content_policy", outcome="failed", failure_message=errors.FAILURES["content_policy_violation"],
             failure_code="content_policy_violation"),
    Scenario("stuck", outcome="stuck"),
    Scenario("insufficient_credits", error=errors.InsufficientCredits),
    Scenario("rate_limited", error=errors.RateLimited, retry_after=2),
    Scenario("unavailable", error=errors.ServiceUnavailable, message="No active channel available", retry_after=2),
    Scenario("unavailable_455", error=errors.TemporarilyUnavailable),
    Scenario("server_error", error=errors.ServerError, message="Injected server error"),
    Scenario("unauthorized", error=errors.Unauthorized, message="Invalid API key"),
    Scenario("flaky", error=errors.ServiceUnavailable, message="Flaky upstream", retry_after=1, flaky_attempts=2),
)
SCENARIOS: dict[str, Scenario] = {s.name: s for s in _BEHAVIOURS}  # the vocabulary's names, in its order


def lookup(name: str) -> Scenario:
    scenario = SCENARIOS.get(name.strip().lower())
    if scenario is None:
        raise errors.BadRequest(
            f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}", code="unknown_scenario"
        )
    return scenario


@dataclass
class Rule:
    """"The next `count` requests matching method/path/model/key get `scenario`" (count None: all of them)."""

    id: int
    scenario: str
    count: int | None = None
    method: str | None = None
    path: str | None = None
    model: str | None = None
    key: str | None = None
    used: int = field(default=0)

    @classmethod
    def from_dict(cls, rule_id: int, data: Mapping[str, Any]) -> Rule:
        unknown = set(data) - {"scenario", "count", "method", "path", "model", "key"}
        if unknown:
            raise errors.BadRequest(f"unknown rule fields: {', '.join(sorted(unknown))}", code="invalid_rule")
        scenario = data.get("scenario")
        if not isinstance(scenario, str):
            raise errors.BadRequest("rule needs a scenario name", code="invalid_rule")
        lookup(scenario)
        count = data.get("count")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise errors.BadRequest("count must be a positive integer or null", code="invalid_rule")
        for name in ("method", "path", "model", "key"):
            if data.get(name) is not None and not isinstance(data[name], str):
                raise errors.BadRequest(f"{name} must be a string", code="invalid_rule")
        method = data.get("method")
        return cls(rule_id, scenario.strip().lower(), count, method.upper() if method else None,
                   data.get("path"), data.get("model"), data.get("key"))

    def matches(self, method: str, path: str, model: str | None, key: str | None) -> bool:
        return (
            (self.method is None or self.method == method)
            and (self.path is None or fnmatch.fnmatchcase(path, self.path))
            and (self.model is None or self.model == model)
            and (self.key is None or self.key == key)
        )

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.used >= self.count

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "scenario": self.scenario, "count": self.count, "used": self.used,
                "method": self.method, "path": self.path, "model": self.model, "key": self.key}


class RuleBook:
    """Admin rules of one namespace, consumed in order of creation."""

    def __init__(self) -> None:
        self._rules: list[Rule] = []
        self._next_id = 1

    def add(self, data: Mapping[str, Any]) -> Rule:
        rule = Rule.from_dict(self._next_id, data)
        self._next_id += 1
        self._rules.append(rule)
        return rule

    def remove(self, rule_id: int) -> bool:
        before = len(self._rules)
        self._rules = [r for r in self._rules if r.id != rule_id]
        return len(self._rules) != before

    def clear(self) -> None:
        self._rules.clear()

    def take(self, method: str, path: str, model: str | None, key: str | None) -> str | None:
        """The scenario for this request, using up one of its rule's count."""
        for rule in self._rules:
            if not rule.exhausted and rule.matches(method, path, model, key):
                rule.used += 1
                return rule.scenario
        return None

    def to_list(self) -> list[dict[str, Any]]:
        return [rule.to_dict() for rule in self._rules]
