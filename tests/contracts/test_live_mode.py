"""Live mode against a mock on a port treated as an unknown remote: the budget guard and the drift report."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runapi_contracts import load_catalog
from runapi_contracts.conformance import BudgetExceeded, BudgetGuard, Target, live_target, run_live_conformance
from runapi_mock import Settings, create_app
from runapi_mock.cli import main
from runapi_mock.lifecycle import Progression
from runapi_mock.server import RunningServer, serve_in_thread

LIVE_KEY = "live-key"


class ExtraField:
    """Adds `queue_position` (no contract declares it) to every task status body, as a newer API might."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"].count("/") != 5:
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = json.loads(b"".join(chunks))
            if start["status"] == 200:
                body["queue_position"] = 0
            raw = json.dumps(body).encode()
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            await send({**start, "headers": headers + [(b"content-length", str(len(raw)).encode())]})
            await send({"type": "http.response.body", "body": raw})

        await self.app(scope, receive, rewrite)


@pytest.fixture
def remote() -> Iterator[RunningServer]:
    """A mock on a loopback port with one accepted key, like a remote that finishes tasks at once."""
    settings = Settings(port=0, api_keys=(LIVE_KEY,), progression=Progression.parse("immediate"),
                        balance_cents=10_000_000)  # video is priced per second: drawn lengths cost dollars
    running = serve_in_thread(settings, app=ExtraField(create_app(settings)))  # type: ignore[arg-type]
    yield running
    running.stop()


def _journaled_creates(base_url: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{base_url}/_mock/journal", params={"method": "POST", "limit": 1000})
    return [e for e in answer.json()["entries"] if e["path"].startswith("/api/v1/")]


def _catalog_price(entry: dict[str, Any]) -> int:
    _, _, _, family, action = entry["path"].split("/")
    return BudgetGuard(0).price(family, action, entry["model"] or "", entry["request_body"] or {})


def test_budget_guard_refuses_the_create_that_would_cross_the_budget() -> None:
    guard = BudgetGuard.from_cents(6)
    body = {"model": "flux-kontext-pro", "prompt": "a red bicycle"}

    guard("flux_kontext", "text_to_image", "flux-kontext-pro", body)  # 2.5 cents
    guard("flux_kontext", "text_to_image", "flux-kontext-pro", body)  # 5 cents
    with pytest.raises(BudgetExceeded, match="costs 2.5¢; 5¢ of 6¢ spent in 2 create"):
        guard("flux_kontext", "text_to_image", "flux-kontext-pro", body)

    assert (guard.spent_microcents, guard.creates) == (5_000_000, 2)


def test_live_mode_stops_before_a_tiny_budget_is_crossed(remote: RunningServer, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RUNAPI_API_KEY", LIVE_KEY)

    code = main(["conformance", "--target", "live", "--base-url", remote.base_url, "--budget-cents", "12",
                 "--report-dir", str(tmp_path), "--wait", "5"])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "stopped early: runapi-mock: live budget" in out and "so it was not sent" in out
    creates = _journaled_creates(remote.base_url)
    accepted = [e for e in creates if e["status"] == 200]  # what a live service would charge for
    assert accepted, "the guard let no create through"
    assert sum(_catalog_price(e) for e in accepted) <= 12 * 1_000_000
    tally = re.search(r"^spent ([0-9.]+) of 12 cents in ([0-9]+) create", out, re.MULTILINE)
    assert tally is not None, out
    assert float(tally[1]) <= 12 and int(tally[2]) == len(creates)  # rejected creates are priced too
    cheapest = {min(a.models.values(), key=lambda m: m.price_microcents({})).name
                for a in load_catalog().actions.values()}
    assert {e["model"] for e in accepted} <= cheapest
    assert (tmp_path / "drift-report.json").exists() and (tmp_path / "drift-report.md").exists()


def test_live_mode_sends_nothing_when_one_create_exceeds_the_budget(remote: RunningServer) -> None:
    with live_target(LIVE_KEY, remote.base_url) as target:
        run = run_live_conformance(target, budget_cents=1)

    assert run.report.stopped is not None and "live budget" in run.report.stopped
    assert run.guard.creates == 0 and _journaled_creates(remote.base_url) == []
    assert not target.has_admin  # treated as an unknown remote: /_mock/ was never used


def test_live_mode_writes_a_drift_report(remote: RunningServer, tmp_path: Path) -> None:
    target = live_target(LIVE_KEY, remote.base_url)
    assert isinstance(target, Target) and not target.has_admin

    # A budget for two creates per catalog action: images at up to 24 cents, videos at up to 16 cents a
    # second for up to 600 s (the mock's render guard) when a drawn body asks for that.
    budget = 2 * len(load_catalog().actions) * 9_600
    run = run_live_conformance(target, budget_cents=budget, report_dir=tmp_path, wait=5, interval=0.05)
    target.close()

    assert run.report.stopped is None and run.report.passed, run.report.table()
    data = json.loads((tmp_path / "drift-report.json").read_text())
    actions = len(load_catalog().actions)
    # 3 reads per completed task: an action whose request names an earlier task (a drawn, unknown id) fails
    by_reference = sum(any(str(m.media(f)).startswith("task:") for m in a.models.values() for f in m.required)
                       for a in load_catalog().actions.values())
    unknown = data["unknown_fields"]["task (completed)"]
    assert set(unknown) == {"/queue_position"} and unknown["/queue_position"] % 3 == 0
    assert 3 * (actions - by_reference) <= unknown["/queue_position"] <= 3 * actions
    assert "/task_replayed" in data["never_sent"]["task (completed)"]
    assert "/images/*/origin_url" in data["never_sent"]["task (completed)"]
    codes = data["status_codes"]["GET /api/v1/flux_2/text_to_image/{id}"]
    assert {"200", "401", "404"} <= set(codes)
    assert "422" in data["status_codes"]["POST /api/v1/flux_2/text_to_image"]
    markdown = (tmp_path / "drift-report.md").read_text()
    assert f"| task (completed) | `/queue_position` | {unknown['/queue_position']} |" in markdown
    assert run.guard.creates == 2 * actions and run.guard.spent_microcents <= budget * 1_000_000


def test_live_mode_needs_an_api_key(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("RUNAPI_API_KEY", raising=False)

    code = main(["conformance", "--target", "live", "--base-url", "http://127.0.0.1:9"])

    assert code == 1
    assert "live mode needs an API key: set RUNAPI_API_KEY" in capsys.readouterr().err
