"""The dashboard at /_mock/ui/ in a real browser: headless Chromium driven by Playwright.

Tasks are created with the official SDK against a served mock (only `test-key` accepted, every clock
frozen so nothing moves unless a test moves it); the page is checked as a person would look at it.
Nothing sleeps: every wait is on a page condition. Playwright launches the system Chromium
(/usr/bin/chromium; `apt-get install -y chromium`), never a browser of its own. Without it the tests skip,
with the reason, except under CI (CI=true), where that is a failure.
With RUNAPI_SCREENSHOTS=1 the tests also write the README's screenshots into docs/.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from runapi.core import RequestOptions
from runapi.flux_2 import Flux2Client
from runapi.flux_kontext import FluxKontextClient
from runapi.pixverse import PixVerseClient
from runapi.suno import SunoClient

from runapi_contracts.receiver import CallbackReceiver
from runapi_mock import Settings
from runapi_mock.serving.server import RunningServer, serve_in_thread

CHROMIUM = os.environ.get("RUNAPI_CHROMIUM", "/usr/bin/chromium")
# Names the host tests browse under resolve to 127.0.0.1 inside the browser only: evil.example plays a DNS
# rebinding attacker, proxy.test the --public-url host, mock-svc a docker-compose service name.
RESOLVED = ("evil.example", "proxy.test", "mock-svc")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--host-resolver-rules=" + ", ".join(f"MAP {name} 127.0.0.1" for name in RESOLVED)]
KEY = "test-key"
DOCS = Path(__file__).resolve().parents[2] / "docs"
SCREENSHOTS = os.environ.get("RUNAPI_SCREENSHOTS") == "1"
WAIT_MS = 20_000  # the longest any page condition may take on a busy machine
HTTP_SECONDS = WAIT_MS / 1000  # and any request the test sends itself (httpx waits 5 s by default)


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the browser tests (.ci/run installs Chromium)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[test]')")
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        _missing(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    running = serve_in_thread(Settings(port=0, api_keys=(KEY,), frozen_clock=True))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def ns() -> str:
    return f"ui-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def page(browser: Any, server: RunningServer) -> Iterator[Any]:
    """A fresh page; at teardown, every request it made went to the mock (nothing from the internet)."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    requested: list[str] = []
    errors: list[str] = []
    opened.on("request", lambda request: requested.append(request.url))
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], f"the page raised: {errors}"
    elsewhere = [url for url in requested if not url.startswith(server.base_url + "/")]
    assert elsewhere == [], f"the page fetched from outside the mock: {elsewhere}"


def opts(namespace: str, **headers: str) -> RequestOptions:
    return RequestOptions(headers={"X-Mock-Namespace": namespace, **headers})


def flux2(server: RunningServer) -> Flux2Client:
    return Flux2Client(api_key=KEY, base_url=server.base_url, retry_base_delay=0.01, retry_max_delay=0.05)


def kontext(server: RunningServer) -> FluxKontextClient:
    return FluxKontextClient(api_key=KEY, base_url=server.base_url, retry_base_delay=0.01, retry_max_delay=0.05)


def admin(server: RunningServer, namespace: str, method: str, path: str, **kwargs: Any) -> Any:
    headers = {"X-Mock-Namespace": namespace, **({"Content-Type": "application/json"} if method != "GET" else {})}
    response = httpx.request(method, f"{server.base_url}/_mock{path}", headers=headers, timeout=HTTP_SECONDS, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


def open_dashboard(page: Any, server: RunningServer, namespace: str, hash: str = "#/tasks") -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.base_url}/_mock/ui/?namespace={namespace}{hash}")
    expect(page.locator("#live")).to_have_text("live")  # the event stream is open


def show_view(page: Any, name: str) -> None:
    """Click the nav link of view `name` and wait until that view is the one shown: the link changes the URL's hash
    and the view is swapped in at the `hashchange` event, after the click returns. A fill sent meanwhile lands in
    the old view's input of the same name (the rules view has a `key` input, as the balances view does)."""
    from playwright.sync_api import expect

    page.click(f'a[data-view="{name}"]')
    expect(page.locator(f"section.view.{name}")).to_be_visible()


def loaded(page: Any, selector: str) -> None:
    """Wait until every image matching `selector` has decoded to real pixels."""
    page.wait_for_function(
        "s => { const all = [...document.querySelectorAll(s)];"
        " return all.length > 0 && all.every(i => i.complete && i.naturalWidth > 0); }", arg=selector)


def screenshot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / name), full_page=True)


# -- tasks: live, then moved by the page's clock ----------------------------------------------------------------


def test_sdk_tasks_appear_live_and_complete_when_the_clock_is_advanced_from_the_page(
        page: Any, server: RunningServer, ns: str) -> None:
    from playwright.sync_api import expect

    open_dashboard(page, server, ns)
    expect(page.locator(".empty-state")).to_contain_text(f"No tasks in namespace {ns}")
    page.evaluate("window.notReloaded = true")

    first = kontext(server).text_to_image.create(model="flux-kontext-pro", prompt="A lighthouse at dusk",
                                                 options=opts(ns))
    second = flux2(server).text_to_image.create(model="flux-2-pro-text-to-image", aspect_ratio="3:4",
                                                prompt="A ceramic vase with dried flowers", options=opts(ns))
    third = kontext(server).text_to_image.create(model="flux-kontext-max", prompt="A storm over the sea",
                                                 options=opts(ns, **{"X-Mock-Scenario": "failed"}))
    rows = page.locator("tbody tr[data-task-id]")
    expect(rows).to_have_count(3)
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.taskId)") == [third.id, second.id, first.id], \
        "newest first"
    row = page.locator(f'tr[data-task-id="{second.id}"]')
    expect(row.locator(".badge")).to_have_text("pending")
    expect(row).to_contain_text("flux-2-pro-text-to-image")
    expect(row).to_contain_text("flux_2 / text_to_image")
    expect(row).to_contain_text("$0.05")
    expect(page.locator("#clock-state")).to_have_text("frozen")
    clock_before = page.locator("#clock-now").inner_text()

    page.fill("#advance-seconds", "60")
    page.click("#advance-button")
    for task_id in (first.id, second.id):
        expect(page.locator(f'tr[data-task-id="{task_id}"] .badge')).to_have_text("completed")
    expect(page.locator(f'tr[data-task-id="{third.id}"] .badge')).to_have_text("failed")
    expect(page.locator(f'tr[data-task-id="{third.id}"] img')).to_have_count(0)
    expect(page.locator("#clock-now")).not_to_have_text(clock_before)
    loaded(page, "img.thumb")
    sizes = page.locator("img.thumb").evaluate_all("imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight])")
    assert sorted(sizes) == [[768, 1024], [1024, 576]]
    assert page.evaluate("window.notReloaded") is True
    # The SDK reads what the page's clock did.
    assert flux2(server).text_to_image.get(second.id, options=opts(ns)).status == "completed"
    screenshot(page, "dashboard-tasks.png")


def test_a_bad_advance_value_shows_the_apis_error_and_moves_nothing(
        page: Any, server: RunningServer, ns: str) -> None:
    from playwright.sync_api import expect

    before = admin(server, ns, "GET", "/clock")["now"]
    open_dashboard(page, server, ns)
    expect(page.locator("#error")).to_be_hidden()
    for typed in ("-5", "soon"):
        page.fill("#advance-seconds", typed)
        page.click("#advance-button")
        expect(page.locator("#error")).to_be_visible()
        expect(page.locator("#error")).to_contain_text("400 invalid_seconds")
        expect(page.locator("#error")).to_contain_text('send {"seconds": N} with 0 <= N <= 1e9')
        page.click("#error-close")
    assert admin(server, ns, "GET", "/clock")["now"] == before
    page.fill("#advance-seconds", "5")
    page.click("#advance-button")
    expect(page.locator("#error")).to_be_hidden()
    assert admin(server, ns, "GET", "/clock")["now"] == pytest.approx(before + 5)


# -- one task: bodies, timeline, images, step and force ----------------------------------------------------------


def test_task_page_steps_forces_and_shows_bodies_timeline_and_full_image(
        page: Any, server: RunningServer, ns: str) -> None:
    from playwright.sync_api import expect

    task = flux2(server).text_to_image.create(model="flux-2-pro-text-to-image", prompt="A red bicycle by a canal",
                                              options=opts(ns, **{"X-Mock-Progression": "manual"}))
    open_dashboard(page, server, ns)
    page.click(f'tr[data-task-id="{task.id}"]')
    expect(page).to_have_url(re.compile(f"#/tasks/{task.id}$"))
    heading = page.locator("section.task h2")
    expect(heading).to_contain_text(task.id)
    expect(heading.locator(".badge")).to_have_text("pending")
    expect(page.locator("section.task")).to_contain_text('"prompt": "A red bicycle by a canal"')

    page.click("#task-step")
    expect(heading.locator(".badge")).to_have_text("processing")
    page.click('button[data-force="completed"]')
    expect(heading.locator(".badge")).to_have_text("completed")
    expect(page.locator("ol.timeline li")).to_have_count(3)
    assert page.locator("ol.timeline li").evaluate_all("items => items.map(i => i.dataset.status)") == [
        "pending", "processing", "completed"]
    expect(page.locator("section.task .bodies")).to_contain_text('"generated_images": 1')
    loaded(page, "img.full")
    assert page.locator("img.full").evaluate("i => [i.naturalWidth, i.naturalHeight]") == [1024, 1024]
    expect(page.locator("section.task .actions")).to_have_count(0)  # a terminal task has nothing to step
    assert flux2(server).text_to_image.get(task.id, options=opts(ns)).status == "completed"
    screenshot(page, "dashboard-task.png")


def test_a_video_task_has_a_poster_in_the_list_and_plays_on_its_page(
        page: Any, server: RunningServer, ns: str) -> None:
    from playwright.sync_api import expect

    pixverse = PixVerseClient(api_key=KEY, base_url=server.base_url, retry_base_delay=0.01, retry_max_delay=0.05)
    task = pixverse.text_to_video.create(model="pixverse-v6", prompt="A lighthouse beam at night",
                                         output_resolution="360p", duration_seconds=2, aspect_ratio="16:9",
                                         enable_audio=True, options=opts(ns, **{"X-Mock-Progression": "manual"}))
    admin(server, ns, "POST", f"/tasks/{task.id}/status", json={"status": "completed"})
    open_dashboard(page, server, ns)
    row = page.locator(f'tr[data-task-id="{task.id}"]')
    loaded(page, f'tr[data-task-id="{task.id}"] img.thumb.poster')  # the first frame, as PNG
    assert row.locator("img.poster").evaluate("i => [i.naturalWidth, i.naturalHeight]") == [640, 360]

    row.click()
    expect(page).to_have_url(re.compile(f"#/tasks/{task.id}$"))
    video = page.locator("section.task video.full")
    expect(video).to_have_count(1)
    page.wait_for_function("() => { const v = document.querySelector('video.full'); return v && v.readyState >= 1; }")
    width, height, duration = video.evaluate("v => [v.videoWidth, v.videoHeight, v.duration]")
    assert (width, height) == (640, 360) and abs(duration - 2) < 0.1
    video.evaluate("v => { v.muted = true; return v.play(); }")  # it plays: the clock moves
    page.wait_for_function("() => document.querySelector('video.full').currentTime > 0.2")
    screenshot(page, "dashboard-video.png")


def test_a_song_has_its_cover_in_the_list_and_plays_with_its_lyrics_on_its_page(
        page: Any, server: RunningServer, ns: str) -> None:
    from playwright.sync_api import expect

    suno = SunoClient(api_key=KEY, base_url=server.base_url, retry_base_delay=0.01, retry_max_delay=0.05)
    lyrics = "Morning light on the river, carry me home"
    task = suno.text_to_music.create(model="suno-v5.5", vocal_mode="exact_lyrics", lyrics=lyrics, style="folk",
                                     title="River", duration_seconds=12,
                                     options=opts(ns, **{"X-Mock-Progression": "manual"}))
    admin(server, ns, "POST", f"/tasks/{task.id}/status", json={"status": "completed"})
    songs = admin(server, ns, "GET", f"/tasks/{task.id}")["response"]["audios"]
    open_dashboard(page, server, ns)
    row = page.locator(f'tr[data-task-id="{task.id}"]')
    loaded(page, f'tr[data-task-id="{task.id}"] img.thumb.cover')  # the first song's cover art
    assert row.locator("img.cover").evaluate("i => [i.naturalWidth, i.naturalHeight]") == [512, 512]

    row.click()
    expect(page).to_have_url(re.compile(f"#/tasks/{task.id}$"))
    players = page.locator("section.task audio")
    expect(players).to_have_count(len(songs))
    expect(page.locator("section.task img.cover")).to_have_count(len(songs))
    loaded(page, "section.task img.cover")
    page.wait_for_function("() => { const a = document.querySelector('section.task audio');"
                           " a.preload = 'metadata'; a.load(); return true; }")
    page.wait_for_function("() => document.querySelector('section.task audio').readyState >= 1")
    assert abs(players.first.evaluate("a => a.duration") - songs[0]["duration"]) < 0.5
    expect(page.locator("section.task pre.words").first).to_have_text(lyrics)


def test_forcing_a_terminal_task_shows_the_apis_conflict(page: Any, server: RunningServer, ns: str) -> None:
    from playwright.sync_api import expect

    task = kontext(server).text_to_image.create(model="flux-kontext-pro", prompt="A red apple",
                                                options=opts(ns, **{"X-Mock-Progression": "manual"}))
    open_dashboard(page, server, ns, f"#/tasks/{task.id}")
    expect(page.locator("section.task h2 .badge")).to_have_text("pending")
    admin(server, ns, "POST", f"/tasks/{task.id}/status", json={"status": "failed"})  # from another terminal
    expect(page.locator("section.task h2 .badge")).to_have_text("failed")  # live, no reload


# -- callbacks: attempts and a redelivery ---------------------------------------------------------------------------


def test_failed_callback_shows_its_attempts_and_redeliver_from_the_page_adds_one(
        page: Any, server: RunningServer, ns: str, callback_receiver: CallbackReceiver) -> None:
    from playwright.sync_api import expect

    callback_receiver.respond_with(500)
    task = flux2(server).text_to_image.create(model="flux-2-pro-text-to-image", prompt="A mountain lake at dawn",
                                              callback_url=callback_receiver.url, options=opts(ns))
    open_dashboard(page, server, ns, "#/callbacks")
    page.fill("#advance-seconds", "60")
    page.click("#advance-button")  # the task completes; its callback is sent and answered 500

    card = page.locator("article.delivery")
    expect(card).to_have_count(1)
    expect(card).to_contain_text(task.id[:8])
    attempts = card.locator("table.attempts tbody tr")
    expect(attempts).to_have_count(1)
    expect(attempts.nth(0)).to_contain_text("500")
    expect(attempts.nth(0)).to_contain_text("receiver answered 500")
    expect(attempts.nth(0)).to_contain_text(" ms")
    expect(card).to_contain_text("next attempt")  # the retry waits on the frozen clock
    (call,) = callback_receiver.wait_for(1)
    attempts.nth(0).locator("summary").click()
    expect(attempts.nth(0).locator("pre")).to_contain_text(call.headers["x-callback-signature"])

    card.locator("button.redeliver").click()
    expect(attempts).to_have_count(2)
    expect(attempts.nth(1)).to_contain_text("receiver answered 500")
    calls = callback_receiver.wait_for(2)
    assert calls[1].headers["x-callback-id"] == call.headers["x-callback-id"], "a redelivery keeps its id"
    expect(attempts.nth(0).locator("pre")).to_be_visible()  # what was opened stays open across live updates
    screenshot(page, "dashboard-callbacks.png")

    callback_receiver.respond_with(204)
    card.locator("button.redeliver").click()
    expect(card).to_have_attribute("data-state", "delivered")
    expect(attempts).to_have_count(3)
    page.click(f'article.delivery a[href="#/tasks/{task.id}"]')
    expect(page.locator("section.task article.delivery table.attempts tbody tr")).to_have_count(3)


# -- the /ns/<name>/ prefix, and thousands of tasks -------------------------------------------------------------------


def test_the_page_works_under_the_namespace_prefix(page: Any, server: RunningServer, ns: str) -> None:
    from playwright.sync_api import expect

    task = kontext(server).text_to_image.create(model="flux-kontext-pro", prompt="A quiet harbour",
                                                options=opts(ns, **{"X-Mock-Progression": "manual"}))
    page.goto(f"{server.base_url}/ns/{ns}/_mock/ui")  # redirected to the slash
    expect(page.locator("#live")).to_have_text("live")
    expect(page.locator("#namespace")).to_be_disabled()
    expect(page.locator("#namespace")).to_contain_text(ns)
    row = page.locator(f'tr[data-task-id="{task.id}"]')
    expect(row.locator(".badge")).to_have_text("pending")
    admin(server, ns, "POST", f"/tasks/{task.id}/status", json={"status": "completed"})
    expect(row.locator(".badge")).to_have_text("completed")
    loaded(page, "img.thumb")
    assert page.locator("img.thumb").get_attribute("src").startswith(f"/ns/{ns}/files/")


def test_thousands_of_tasks_are_paged(page: Any, server: RunningServer, ns: str) -> None:
    from playwright.sync_api import expect

    admin(server, ns, "PUT", "/balance", json={"key": KEY, "balance_cents": 10_000_000})
    engine = server.app.state.engine  # in-process, for speed; the page sees them only through the admin API
    space = engine.namespace(ns)
    ids = [engine.create(space, KEY, "flux_kontext", "text_to_image",
                         {"model": "flux-kontext-pro", "prompt": f"task number {i}"}, origin=server.base_url)[0].id
           for i in range(3000)]
    open_dashboard(page, server, ns)
    rows = page.locator("tbody tr[data-task-id]")
    expect(page.locator(".pager .summary")).to_have_text("1–50 of 3000 tasks")
    expect(rows).to_have_count(50)
    expect(rows.first).to_have_attribute("data-task-id", ids[-1])
    page.click("button.older")
    expect(page.locator(".pager .summary")).to_have_text("51–100 of 3000 tasks")
    expect(rows.first).to_have_attribute("data-task-id", ids[-51])
    kontext(server).text_to_image.create(model="flux-kontext-pro", prompt="one more", options=opts(ns))
    expect(page.locator(".pager .summary")).to_have_text("51–100 of 3001 tasks")  # live, still on page 2
    page.select_option('select[name="status"]', "completed")
    expect(page.locator(".pager .summary")).to_have_text("no tasks")


# -- journal, rules, balances, config ---------------------------------------------------------------------------------


def test_journal_filters_and_expands_an_entry(page: Any, server: RunningServer, ns: str) -> None:
    from playwright.sync_api import expect

    client = kontext(server)
    task = client.text_to_image.create(model="flux-kontext-pro", prompt="A paper boat", options=opts(ns))
    client.text_to_image.get(task.id, options=opts(ns))
    open_dashboard(page, server, ns, "#/journal")
    entries = page.locator("details.entry")
    expect(entries).to_have_count(2)
    page.fill('input[name="method"]', "POST")
    page.click("form.filters button")
    expect(entries).to_have_count(1)
    entries.first.locator("summary").click()
    expect(entries.first).to_contain_text('"prompt": "A paper boat"')
    client.text_to_image.create(model="flux-kontext-pro", prompt="A second boat", options=opts(ns))
    expect(entries).to_have_count(2)
    assert entries.nth(1).evaluate("d => d.open") is True, "an expanded entry stays open across live updates"


def test_rules_balances_and_config_act_through_the_admin_api(page: Any, server: RunningServer, ns: str) -> None:
    from playwright.sync_api import expect

    open_dashboard(page, server, ns, "#/rules")
    page.select_option('select[name="scenario"]', "insufficient_credits")
    page.fill('input[name="count"]', "1")
    page.click("text=Add rule")
    expect(page.locator("tr[data-rule-id]")).to_have_count(1)
    assert [r["scenario"] for r in admin(server, ns, "GET", "/rules")["rules"]] == ["insufficient_credits"]
    page.fill('input[name="count"]', "zero")
    page.click("text=Add rule")
    expect(page.locator("#error")).to_contain_text("400 invalid_rule")
    page.click("tr[data-rule-id] button")
    expect(page.locator("tr[data-rule-id]")).to_have_count(0)

    show_view(page, "balances")
    page.fill('input[name="key"]', KEY)
    page.fill('input[name="balance_cents"]', "1234")
    page.click("text=Set balance")
    expect(page.locator(f'tr[data-key="{KEY}"]')).to_contain_text("$12.34")

    show_view(page, "config")
    page.fill('input[name="progression"]', "polls:x")
    page.click("text=Save")
    expect(page.locator("#error")).to_contain_text("400 invalid_progression")
    page.fill('input[name="progression"]', "manual")
    page.fill('input[name="callback_mode"]', "duplicate")
    page.click("text=Save")
    expect(page.locator('dd[data-config="progression"]')).to_have_text("manual")
    assert admin(server, ns, "GET", "/config")["callback_mode"]["duplicate"] is True


def test_home_page_links_the_dashboard_and_the_docs(page: Any, server: RunningServer) -> None:
    from playwright.sync_api import expect

    page.goto(server.base_url + "/")
    page.click("text=Dashboard")
    expect(page.locator("#live")).to_have_text("live")
    assert httpx.get(server.base_url + "/", timeout=HTTP_SECONDS).json()["links"]["dashboard"] == "/_mock/ui/"
    assert httpx.get(server.base_url + "/api/v1/nope", timeout=HTTP_SECONDS).status_code == 404


# -- hosts: a rebinding page and a cross-site page are refused; the public URL and allowed hosts work ----------------


def port_of(server: RunningServer) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


def test_a_dns_rebinding_page_is_refused(browser: Any, server: RunningServer) -> None:
    # evil.example resolves to 127.0.0.1: without the Host check its page would be the dashboard, on its origin.
    context = browser.new_context()
    page = context.new_page()
    for path in ("/_mock/ui/", "/_mock/callback-secret"):
        answer = page.goto(f"http://evil.example:{port_of(server)}{path}")
        assert answer is not None and answer.status == 403, path
        assert '"host_not_allowed"' in page.content() and "--allowed-host evil.example" in page.content()
    secret = admin(server, "default", "GET", "/callback-secret")["secret"]
    assert secret not in page.content()
    context.close()


ATTACK = """<!doctype html><script>
const base = "http://127.0.0.1:%(port)d/_mock";
const tried = [];
async function attempt(name, url, init) {
  try { await fetch(url, init); tried.push(name + ":sent"); } catch (e) { tried.push(name + ":blocked"); }
}
(async () => {
  await attempt("rule", base + "/rules?namespace=%(ns)s", {method: "POST", mode: "no-cors",
    headers: {"Content-Type": "text/plain"}, body: '{"scenario":"server_error"}'});
  await attempt("form", base + "/callback-secret/rotate", {method: "POST", mode: "no-cors", body: new FormData()});
  await attempt("reset", base + "/reset?all=1", {method: "POST", mode: "no-cors"});
  await attempt("json", base + "/rules?namespace=%(ns)s", {method: "POST",
    headers: {"Content-Type": "application/json"}, body: '{"scenario":"server_error"}'});
  document.title = tried.join(" ");
})();
</script>"""


@contextlib.contextmanager
def attacker_site(page_html: str) -> Iterator[int]:
    """A plain HTTP server on 127.0.0.1 serving one page, browsed as http://evil.example:PORT/: a site the
    browser counts as local, as a rebinding or a local dev server is, so it does not block its requests itself."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            body = page_html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    site = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=site.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield int(site.server_address[1])
    finally:
        site.shutdown()
        site.server_close()


def test_a_cross_site_page_cannot_drive_the_admin_api(browser: Any, server: RunningServer, ns: str) -> None:
    task = kontext(server).text_to_image.create(model="flux-kontext-pro", prompt="kept",
                                                options=opts(ns, **{"X-Mock-Progression": "manual"}))
    secret = admin(server, ns, "GET", "/callback-secret")["secret"]
    context = browser.new_context()
    page = context.new_page()
    answered: dict[str, int] = {}
    page.on("response", lambda response: answered.__setitem__(f"{response.request.method} {response.url}",
                                                               response.status))
    with attacker_site(ATTACK % {"port": port_of(server), "ns": ns}) as site_port:
        page.goto(f"http://evil.example:{site_port}/")
        page.wait_for_function("document.title.split(' ').length === 4")
    assert page.title().split(" ")[-1] == "json:blocked", page.title()  # the preflight is refused: never sent
    base = f"http://127.0.0.1:{port_of(server)}/_mock"
    # The simple requests reach the mock (no-cors hides the answer from the page, not from Playwright): 403.
    for sent in (f"{base}/rules?namespace={ns}", f"{base}/callback-secret/rotate", f"{base}/reset?all=1"):
        assert answered.get(f"POST {sent}") == 403, answered
    assert f"POST {base}/rules?namespace={ns}" in answered and answered.get(f"OPTIONS {base}/rules?namespace={ns}",
                                                                            403) == 403
    context.close()
    assert admin(server, ns, "GET", "/rules")["rules"] == []
    assert admin(server, ns, "GET", "/callback-secret")["secret"] == secret
    assert admin(server, ns, "GET", f"/tasks/{task.id}")["id"] == task.id


@pytest.fixture(scope="module")
def named_server() -> Iterator[RunningServer]:
    running = serve_in_thread(Settings(port=0, api_keys=(KEY,), frozen_clock=True, public_url="http://proxy.test",
                                       allowed_hosts=("mock-svc",)))
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.parametrize("host", ["proxy.test", "mock-svc"])
def test_the_dashboard_works_behind_the_public_url_and_on_an_allowed_host(
        browser: Any, named_server: RunningServer, ns: str, host: str) -> None:
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"http://{host}:{port_of(named_server)}/ns/{ns}/_mock/ui/")
    expect(page.locator("#live")).to_have_text("live")
    expect(page.locator("#clock-state")).to_have_text("frozen")
    page.click("#clock-toggle")  # a POST from the page's own origin, with the JSON type
    expect(page.locator("#clock-state")).to_have_text("running")
    assert admin(named_server, ns, "GET", "/clock")["frozen"] is False
    assert page.goto(f"http://evil.example:{port_of(named_server)}/_mock/ui/").status == 403  # type: ignore[union-attr]
    context.close()
    assert errors == []


# -- what a first look trips over: a favicon, cut-off placeholders, a narrow window, costs, force buttons --------


def test_the_first_load_has_no_failed_request(page: Any, server: RunningServer, ns: str) -> None:
    failed: list[str] = []
    page.on("response", lambda response: failed.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    icons = []
    open_dashboard(page, server, ns)
    icons.append(page.evaluate("() => document.querySelector('link[rel=icon]')?.href"))
    page.goto(server.base_url + "/")
    page.wait_for_load_state("load")
    icons.append(page.evaluate("() => document.querySelector('link[rel=icon]')?.href"))
    assert failed == []
    # A browser asks for /favicon.ico (a 404) unless the page names its icon; headless Chromium never asks, so
    # the test checks that both pages name one that the mock serves.
    assert all(icons), icons
    for icon in icons:
        answer = httpx.get(icon, timeout=HTTP_SECONDS)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("image/svg"), icon


_CUT_PLACEHOLDERS = """() => {
  const canvas = document.createElement("canvas").getContext("2d");
  return [...document.querySelectorAll("input[placeholder]")].filter((input) => input.offsetParent !== null)
    .map((input) => {
      const style = getComputedStyle(input);
      canvas.font = `${style.fontSize} ${style.fontFamily}`;
      const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      return [input.name, input.placeholder, Math.ceil(canvas.measureText(input.placeholder).width), room];
    }).filter(([, , needs, room]) => needs > room);
}"""


def test_every_placeholder_fits_its_box(page: Any, server: RunningServer, ns: str) -> None:
    from playwright.sync_api import expect

    task = kontext(server).text_to_image.create(model="flux-kontext-pro", prompt="A quiet harbour",
                                                options=opts(ns, **{"X-Mock-Progression": "manual"}))
    cut = []
    for view in ("#/tasks", f"#/tasks/{task.id}", "#/journal", "#/rules", "#/balances", "#/config"):
        open_dashboard(page, server, ns, view)
        expect(page.locator("main#view input[placeholder]").first).to_be_visible()
        cut += [(view, *found) for found in page.evaluate(_CUT_PLACEHOLDERS)]
    assert cut == [], "placeholders cut off (view, name, text, px needed, px there)"


def test_a_narrow_window_keeps_the_task_table_inside_the_page(page: Any, server: RunningServer, ns: str) -> None:
    from playwright.sync_api import expect

    for prompt in ("A lighthouse at dusk", "A red apple"):
        kontext(server).text_to_image.create(model="flux-kontext-pro", prompt=prompt, options=opts(ns))
    page.set_viewport_size({"width": 420, "height": 860})
    open_dashboard(page, server, ns)
    expect(page.locator("tbody tr[data-task-id]")).to_have_count(2)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth,"
                           " document.querySelector('header.top').getBoundingClientRect().width,"
                           " document.querySelector('table.list').parentElement.getBoundingClientRect().right]")
    page_width, window_width, header_width, table_right = widths
    assert page_width <= window_width, f"the page scrolls sideways: {widths}"
    assert table_right <= header_width, f"the table spills past the header: {widths}"
    if os.environ.get("RUNAPI_SCREENSHOT_DIR"):
        page.screenshot(path=str(Path(os.environ["RUNAPI_SCREENSHOT_DIR"]) / "dashboard-420.png"), full_page=True)


def test_a_failed_task_shows_its_cost_refunded(page: Any, server: RunningServer, ns: str) -> None:
    from playwright.sync_api import expect

    failed = kontext(server).text_to_image.create(model="flux-kontext-pro", prompt="A storm", options=opts(ns))
    done = kontext(server).text_to_image.create(model="flux-kontext-pro", prompt="A calm sea", options=opts(ns))
    admin(server, ns, "POST", f"/tasks/{failed.id}/status", json={"status": "failed"})  # refunded
    admin(server, ns, "POST", f"/tasks/{done.id}/status", json={"status": "completed"})  # charged
    open_dashboard(page, server, ns)
    expect(page.locator(f'tr[data-task-id="{failed.id}"] td.num')).to_have_text("$0.025 refunded")
    expect(page.locator(f'tr[data-task-id="{done.id}"] td.num')).to_have_text("$0.025")
    open_dashboard(page, server, ns, f"#/tasks/{failed.id}")
    expect(page.locator("dl.facts").first).to_contain_text("$0.025 refunded")


def test_what_is_typed_before_the_config_loads_is_kept(page: Any, server: RunningServer, ns: str) -> None:
    """The config form shows the namespace's settings when they load, unless the user typed first: the load
    used to overwrite the typing, so a Save sent the old value (seen as a flaky browser test)."""
    from playwright.sync_api import expect

    open_dashboard(page, server, ns)
    held: list[Any] = []  # the config view's first GET, answered only after the typing
    page.route(lambda url: "/_mock/config" in url,
               lambda route: held.append(route) if route.request.method == "GET" and not held else route.continue_())
    page.click('a[data-view="config"]')
    for _ in range(WAIT_MS // 10):
        if held:
            break
        page.wait_for_timeout(10)  # browser events are dispatched while Playwright waits
    assert held, "the config view sent no GET /_mock/config"
    page.fill('input[name="progression"]', "polls:x")
    held[0].continue_()
    expect(page.locator('dd[data-config="progression"]')).to_have_count(1)  # the config has loaded
    expect(page.locator('input[name="progression"]')).to_have_value("polls:x")
    page.click("text=Save")
    expect(page.locator("#error")).to_contain_text("400 invalid_progression")


def test_force_is_not_offered_for_the_status_a_task_has(page: Any, server: RunningServer, ns: str) -> None:
    from playwright.sync_api import expect

    task = kontext(server).text_to_image.create(model="flux-kontext-pro", prompt="A red apple",
                                                options=opts(ns, **{"X-Mock-Progression": "manual"}))
    open_dashboard(page, server, ns, f"#/tasks/{task.id}")
    expect(page.locator("section.task h2 .badge")).to_have_text("pending")
    expect(page.locator('button[data-force="processing"]')).to_be_visible()
    page.click("#task-step")
    expect(page.locator("section.task h2 .badge")).to_have_text("processing")
    expect(page.locator('button[data-force="processing"]')).to_be_hidden()
    expect(page.locator('button[data-force="completed"]')).to_be_visible()


def test_a_retrying_delivery_is_amber_and_an_exhausted_one_red(
        page: Any, server: RunningServer, ns: str, callback_receiver: CallbackReceiver) -> None:
    from playwright.sync_api import expect

    callback_receiver.respond_with(500)
    flux2(server).text_to_image.create(model="flux-2-pro-text-to-image", prompt="A mountain lake at dawn",
                                       callback_url=callback_receiver.url, options=opts(ns))
    open_dashboard(page, server, ns, "#/callbacks")
    admin(server, ns, "POST", "/clock/advance", json={"seconds": 60})  # completes; the first attempt fails
    badge = page.locator("article.delivery header .badge")
    expect(badge).to_have_text("pending")
    expect(badge).to_have_class(re.compile(r"\bretrying\b"))
    amber = badge.evaluate("b => getComputedStyle(b).color")
    admin(server, ns, "POST", "/clock/advance", json={"seconds": 136})  # past the whole retry schedule, at once
    expect(badge).to_have_text("exhausted")
    assert badge.evaluate("b => getComputedStyle(b).color") not in (amber, "rgb(122, 132, 148)")  # red, not grey
