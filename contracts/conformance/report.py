"""What a server conformance run finds: `ConformanceFailure` for one broken contract, and the `Report` of
`CheckResult` rows (one per check and operation) a run collects."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CheckResult", "ConformanceFailure", "Report"]


class ConformanceFailure(AssertionError):
    """A target broke a contract: `check`, `operation`, `request` and `pointer` say where."""

    def __init__(self, check: str, operation: str, message: str, *, request: Any = None,
                 pointer: str = "") -> None:
        self.check, self.operation, self.request, self.pointer = check, operation, request, pointer
        text = f"runapi-mock: {check}: {operation}"
        if request is not None:
            text += f" with {_brief(request)}"
        if pointer:
            text += f" at {pointer}"
        super().__init__(f"{text}: {message}")


def _brief(value: Any, limit: int = 240) -> str:
    """A request as short JSON for a message."""
    text = json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class CheckResult:
    """One check on one operation: how many examples passed, and the failure or the reason it was skipped."""

    check: str
    operation: str
    passed: int = 0
    failure: str | None = None
    skipped: str | None = None

    @property
    def outcome(self) -> str:
        return "failed" if self.failure else "passed" if self.passed else "skipped"


@dataclass
class Report:
    """All check results of one run; `stopped` says why a run ended early (a budget)."""

    target: str
    results: list[CheckResult] = field(default_factory=list)
    stopped: str | None = None

    @property
    def passed(self) -> bool:
        return not self.failures and any(r.outcome == "passed" for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.outcome == "failed"]

    def result(self, check: str, operation: str | None = None) -> CheckResult:
        """The first result of `check` (on `operation` when given)."""
        for result in self.results:
            if result.check == check and operation in (None, result.operation):
                return result
        raise KeyError(f"no result for {check} {operation or ''}".strip())

    def outcomes(self, check: str) -> set[str]:
        return {r.outcome for r in self.results if r.check == check}

    def _get(self, check: str, operation: str) -> CheckResult:
        for result in self.results:
            if (result.check, result.operation) == (check, operation):
                return result
        self.results.append(CheckResult(check, operation))
        return self.results[-1]

    def table(self) -> str:
        rows = [("check", "operation", "result")]
        for r in self.results:
            detail = {"passed": f"passed ({r.passed})", "failed": f"FAILED: {r.failure}",
                      "skipped": f"skipped: {r.skipped or 'not reached'}"}[r.outcome]
            rows.append((r.check, r.operation, detail))
        width = [max(len(row[i]) for row in rows) for i in range(2)]
        lines = [f"{a:<{width[0]}}  {b:<{width[1]}}  {c}" for a, b, c in rows]
        counts = {o: sum(1 for r in self.results if r.outcome == o) for o in ("passed", "failed", "skipped")}
        lines.append(f"target {self.target}: {counts['passed']} passed, {counts['failed']} failed, "
                     f"{counts['skipped']} skipped")
        if self.stopped:
            lines.append(f"stopped early: {self.stopped}")
        return "\n".join(lines)

    def raise_for_failures(self) -> None:
        """Raise the first failure as a `ConformanceFailure` (for pytest); the message holds the table."""
        if self.failures:
            first = self.failures[0]
            raise ConformanceFailure(first.check, first.operation, f"{len(self.failures)} check(s) failed\n"
                                     + self.table())
