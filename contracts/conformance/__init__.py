"""Server conformance (provider side): checks, a report, the lifecycle state machine and live mode.

    from contracts.conformance import Target, run_server_conformance

    report = run_server_conformance(Target("http://127.0.0.1:8787"), examples=10)
    assert report.passed, report.table()
"""

from .lifecycle import AsyncClientAdapter, LifecycleMachine
from .live import BudgetExceeded, BudgetGuard, DriftReport, live_target, run_live_conformance
from .server import CHECKS, CheckResult, ConformanceFailure, Report, run_server_conformance
from .target import StopConformance, Target

__all__ = [
    "CHECKS",
    "AsyncClientAdapter",
    "BudgetExceeded",
    "BudgetGuard",
    "CheckResult",
    "ConformanceFailure",
    "DriftReport",
    "LifecycleMachine",
    "Report",
    "StopConformance",
    "Target",
    "live_target",
    "run_live_conformance",
    "run_server_conformance",
]
