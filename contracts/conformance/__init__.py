"""Conformance: a server against the contracts (provider side) and a client against the mock (consumer side).

    from runapi_contracts.conformance import Target, run_server_conformance

    report = run_server_conformance(Target("http://127.0.0.1:8787"), examples=10)
    assert report.passed, report.table()

`CheckResult` is a server check on one operation; a client check's verdict is a `ClientCheckResult`. The
client checks' own `CHECKS` live in `runapi_contracts.conformance.client`.
"""

from .client import (
    ClientAdapter,
    ClientCheckResult,
    ClientConformanceError,
    ClientContext,
    ClientReport,
    assert_client_conforms,
    run_client_conformance,
)
from .lifecycle import AsyncClientAdapter, LifecycleMachine
from .live import BudgetExceeded, BudgetGuard, DriftReport, live_target, run_live_conformance
from .server import CHECKS, ROUTE_CHECKS, CheckResult, ConformanceFailure, Report, run_server_conformance
from .target import StopConformance, Target

__all__ = [
    "CHECKS",
    "ROUTE_CHECKS",
    "AsyncClientAdapter",
    "BudgetExceeded",
    "BudgetGuard",
    "CheckResult",
    "ClientAdapter",
    "ClientCheckResult",
    "ClientConformanceError",
    "ClientContext",
    "ClientReport",
    "ConformanceFailure",
    "DriftReport",
    "LifecycleMachine",
    "Report",
    "StopConformance",
    "Target",
    "assert_client_conforms",
    "live_target",
    "run_client_conformance",
    "run_live_conformance",
    "run_server_conformance",
]
