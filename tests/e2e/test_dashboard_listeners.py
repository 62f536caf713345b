"""The dashboard's Listeners view in headless Chromium: a `runapi listen` session opened through the CLI's
protocol shows with its key and queue, and the page's buttons disable the key (the poll then gets 410) and
revoke the session (403). Skips without Playwright or Chromium, except under CI=true (as test_dashboard.py)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from runapi_mock import Settings
from runapi_mock.serving.server import RunningServer, serve_in_thread

CHROMIUM = os.environ.get("RUNAPI_CHROMIUM", "/usr/bin/chromium")
KEY = "sk-listen-ui-0001"
WAIT_MS = 20_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = ""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "the playwright package is not installed (pip install -e '.[test]')"
    if not reason and not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        reason = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the browser tests", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox",
                                                                               "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture
def server() -> Iterator[RunningServer]:
    running = serve_in_thread(Settings(port=0, frozen_clock=True))
    try:
        yield running
    finally:
        running.stop()


def test_the_listeners_view_shows_a_session_and_its_queue_and_disables_and_revokes(
        browser: Any, server: RunningServer) -> None:
    from playwright.sync_api import expect

    ns = f"ui-{uuid.uuid4().hex[:12]}"
    cli = httpx.Client(base_url=server.base_url, headers={"X-API-Key": KEY, "X-Mock-Namespace": ns}, timeout=10)
    owner = httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {KEY}", "X-Mock-Namespace": ns},
                         timeout=10)
    with cli, owner:
        (key,) = cli.get("/api/v1/cli/keys").json()["api_keys"]
        session = cli.post("/api/v1/cli/listen_sessions", json={"callback_api_key_id": key["id"]}).json()
        task = owner.post("/api/v1/flux_kontext/text_to_image", headers={"X-Mock-Progression": "manual"},
                          json={"model": "flux-kontext-pro", "prompt": "A lighthouse"}).json()["id"]
        assert owner.post(f"/_mock/tasks/{task}/status", json={"status": "completed"}).status_code == 200

        context = browser.new_context(viewport={"width": 1280, "height": 860})
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{server.base_url}/_mock/ui/?namespace={ns}#/listeners")
        card = page.locator(f"article.listener[data-token='{session['session_token']}']")
        expect(card).to_contain_text("1 queued")
        expect(card.locator("tr[data-event-id='1']")).to_contain_text("completed")
        expect(page.locator(f"tr[data-key-id='{key['id']}']")).to_contain_text(session["listen_secret"])

        page.locator(f"tr[data-key-id='{key['id']}'] button.disable").click()
        expect(page.locator(f"tr[data-key-id='{key['id']}']")).to_contain_text("disabled")
        poll = {"X-Session-Token": session["session_token"]}
        assert cli.get("/api/v1/cli/listen_events?last_id=0", headers=poll).status_code == 410
        page.locator(f"tr[data-key-id='{key['id']}'] button.enable").click()
        expect(page.locator(f"tr[data-key-id='{key['id']}']")).to_contain_text("enabled")

        card.locator("button.revoke").click()
        expect(card).to_have_attribute("data-state", "revoked")
        assert cli.get("/api/v1/cli/listen_events?last_id=0", headers=poll).status_code == 403
        context.close()
    assert errors == [], f"the page raised: {errors}"
