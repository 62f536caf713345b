"""Issue 6: a burst of concurrent creates with callbacks, against a mock served on a real loopback port.

One namespace, a frozen clock, and 1000 creates issued at once (plus 100 more from an account that can afford only
40 of them), mixing every family and action, both create routes, fractional-cent prices, three progressions, failed
and content-policy outcomes, and callbacks that are answered 2xx, answered 500, refused (nothing listens), blocked
(not loopback), sent twice on request (duplicate mode) or not asked for. The test then drives the clock (never
sleeping on it) until every delivery has settled, and checks:

- the creates were really in flight together, and all 1000 task ids are distinct;
- every task is terminal, with the outcome it was asked for, on its status route and in the admin list;
- every task with a callback_url has exactly one delivery: `delivered` (the receiver holds it, signed with the
  served secret) or `exhausted` after the full attempt count on the retry schedule (or `blocked`, never sent);
  the receiver got no task's callback twice unless duplicate mode asked for it;
- each account's ledger balances to the micro-cent against catalog prices; the overdraw race admitted exactly
  what the balance covered.

The checks are small functions; the tests at the end feed each one a broken input to show it can fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import resource
import socket
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import h11
import httpx
import pytest

from runapi_contracts import load_catalog, validate_response
from runapi_contracts.receiver import CallbackReceiver, ReceivedCallback
from runapi_contracts.signing import SignatureError, callback_headers, generate_secret, verify
from runapi_mock import Settings
from runapi_mock.ledger import MICROCENTS
from runapi_mock.server import RunningServer

MakeServer = Callable[..., RunningServer]

NAMESPACE = "issue-6"
KEYS = ("acct-a", "acct-b", "acct-c")
KEY_SHARES = {"acct-a": 334, "acct-b": 333, "acct-c": 333}
STARTING_CENTS = 20_000  # per account: far more than its ~333 tasks can cost, so no regular create gets 402
TASKS = 1000
TIGHT_KEY = "acct-tight"
TIGHT_CREATES = 100
TIGHT_BALANCE_CENTS = 100  # flux-kontext-pro costs 2.5 cents: exactly 40 of the 100 fit
SCHEDULE = Settings().callback_schedule  # the default 1, 2, 4, 8, 16, 32 s, run on the frozen namespace clock
ATTEMPTS = len(SCHEDULE) + 1
DEADLINE = 30.0  # seconds of wall time for any one wait; a healthy run needs well under one
BLOCKED_URL = "http://callbacks.invalid/hook"  # not loopback: journaled as blocked, never contacted
PROMPT = "A lighthouse at dusk"
FAILURE_CODES = {"failed": "generation_failed", "content_policy": "content_policy_violation"}

# How many tasks get each trait; every list sums to TASKS and is shuffled independently with a fixed seed.
CALLBACK_KINDS = {"ok": 700, "duplicate": 50, "failing": 80, "refused": 70, "blocked": 30, "none": 70}
SCENARIOS = {"success": 800, "failed": 130, "content_policy": 70}
PROGRESSIONS = {"auto": 400, "immediate": 400, "polls:1": 200}
END_AFTER = 60  # clock seconds from the creates to the moment every task has ended


def calls_owed(kind: str, schedule: Sequence[float] = SCHEDULE) -> int:
    """How many requests a receiver should get for one task with this kind of callback."""
    return {"ok": 1, "duplicate": 2, "failing": len(schedule) + 1}.get(kind, 0)


# -- what gets created --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One way to create a task: route, family/action, body, and the route its status is read on."""

    create_path: str
    family: str
    action: str
    body: Mapping[str, Any]
    docs_route: bool = False

    def status_path(self, task_id: str) -> str:
        return f"/v1/tasks/{task_id}" if self.docs_route else f"{self.create_path}/{task_id}"

    def price(self) -> int:
        """Micro-cents, from the catalog (the docs route may name a model by its older alias)."""
        catalog = load_catalog()
        resolved = catalog.resolve(self.action, self.body["model"])
        assert resolved is not None, self.body
        action, model = resolved
        assert action.family == self.family
        return action.models[model].price_microcents(self.body, catalog.default_resolution)


def _sdk(family: str, action: str, **body: Any) -> Variant:
    return Variant(f"/api/v1/{family}/{action}", family, action, {"prompt": PROMPT, **body})


def _docs(family: str, action: str, **body: Any) -> Variant:
    return Variant(f"/v1/{action}", family, action, {"prompt": PROMPT, **body}, docs_route=True)


SOURCE = "https://example.com/source.png"  # a string the mock validates and never fetches
VARIANTS = (
    _sdk("flux_kontext", "text_to_image", model="flux-kontext-pro"),                                   # 2.5 c
    _sdk("flux_kontext", "text_to_image", model="flux-kontext-max", source_image_url=SOURCE,
         safety_tolerance=1),                                                                           # 5 c
    _docs("flux_kontext", "text_to_image", model="flux-kontext-pro", image_url=SOURCE),                # 2.5 c
    _sdk("flux_2", "text_to_image", model="flux-2-pro-text-to-image", output_resolution="2k"),          # 7 c
    _sdk("flux_2", "text_to_image", model="flux-2-flex-text-to-image"),                                # 14 c
    _sdk("flux_2", "text_to_image", model="flux-2-max-text-to-image", aspect_ratio="16:9"),            # 10 c
    _sdk("flux_2", "remix_image", model="flux-2-flex-remix-image", output_resolution="2k",
         source_image_urls=[SOURCE, "https://example.com/second.png"]),                                # 24 c
    _sdk("flux_2", "remix_image", model="flux-2-max-remix-image", aspect_ratio="3:2",
         source_image_urls=[SOURCE]),                                                                   # 10 c
    _sdk("gpt_image_2", "text_to_image", model="gpt-image-2"),                                          # 4 c
    _docs("gpt_image_2", "text_to_image", model="gpt-image-2-text-to-image", aspect_ratio="16:9",
          output_resolution="4k"),                                                                      # 16 c
    _sdk("gpt_image_2", "edit_image", model="gpt-image-2", aspect_ratio="1:1", output_resolution="2k",
         source_image_urls=[SOURCE]),                                                                   # 8 c
    _docs("gpt_image_2", "edit_image", model="gpt-image-2-image-to-image", source_image_urls=[SOURCE]),  # 4 c
)
TIGHT_VARIANT = VARIANTS[0]


@dataclass(frozen=True)
class Spec:
    key: str
    variant: Variant
    scenario: str
    progression: str
    callback: str

    @property
    def outcome(self) -> str:
        return "completed" if self.scenario == "success" else "failed"

    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.key}", "X-Mock-Progression": self.progression}
        if self.scenario != "success":
            headers["X-Mock-Scenario"] = self.scenario
        modes = ["duplicate"] if self.callback == "duplicate" else []
        if self.progression == "immediate" and self.callback != "none":
            # `immediate` ends a callback task at its create, before the clock's 60 s advance ends the others:
            # a 60 s delay puts its first attempt at their end, so every failing delivery retries in lockstep.
            modes.append(f"delay:{END_AFTER}")
        if modes:
            headers["X-Mock-Callback-Mode"] = ",".join(modes)
        return headers

    def body(self, urls: Mapping[str, str]) -> dict[str, Any]:
        body = dict(self.variant.body)
        if self.callback != "none":
            body["callback_url"] = urls[self.callback]
        return body


def _spread(counts: Mapping[str, int], rng: random.Random) -> list[str]:
    values = [name for name, count in counts.items() for _ in range(count)]
    assert len(values) == TASKS
    rng.shuffle(values)
    return values


def build_specs(seed: int = 6) -> list[Spec]:
    """The same 1000 specs on every run: traits are crossed by independent seeded shuffles."""
    rng = random.Random(seed)
    keys, callbacks, scenarios, progressions = (_spread(counts, rng) for counts in (
        KEY_SHARES, CALLBACK_KINDS, SCENARIOS, PROGRESSIONS))
    return [Spec(key=keys[i], variant=VARIANTS[i % len(VARIANTS)], scenario=scenarios[i],
                 progression=progressions[i], callback=callbacks[i]) for i in range(TASKS)]


# -- the checks (each is fed a broken input by a test at the end) ----------------------------------------------


def check_unique_ids(ids: Sequence[str]) -> None:
    repeated = {task_id: n for task_id, n in Counter(ids).items() if n > 1}
    assert not repeated, f"{len(repeated)} task id(s) handed out more than once: {repeated}"


def check_terminal(statuses: Mapping[str, str], expected: Mapping[str, str]) -> None:
    """Every task shows the terminal status it was asked for."""
    wrong = {task_id: (statuses.get(task_id), want) for task_id, want in expected.items()
             if statuses.get(task_id) != want}
    extra = set(statuses) - set(expected)
    assert not wrong and not extra, (
        f"{len(wrong)} task(s) not at their expected terminal status (got, want): {dict(list(wrong.items())[:10])}; "
        f"unexpected tasks: {sorted(extra)[:10]}")


def check_ledger(account: Mapping[str, int], starting: int, completed_prices: Iterable[int]) -> None:
    """The admin view of one account, in micro-cents: only completed tasks were charged, nothing stays reserved."""
    spent = sum(completed_prices)
    expected = {"credit_microcents": starting, "reserved_microcents": 0, "spent_microcents": spent,
                "available_microcents": starting - spent}
    assert dict(account) == expected, f"ledger does not balance: got {dict(account)}, want {expected}"


def check_callbacks(expected: Mapping[str, str], deliveries: Sequence[Mapping[str, Any]],
                    calls: Sequence[ReceivedCallback], paths: Mapping[str, str], secret: str,
                    schedule: Sequence[float]) -> None:
    """Every callback is accounted for, once.

    expected: callback kind per task id: `ok` and `duplicate` (a receiver answering 200; duplicate mode asks for
    two sends), `failing` (a receiver answering 500), `refused` (nothing listens), `blocked` (not loopback) or
    `none` (no callback_url). deliveries: the /_mock/callbacks journal; calls: what the local receivers recorded;
    paths: the receiver path each kind must arrive on; schedule: the retry delays (attempt cap = its length + 1).
    """
    problems: list[str] = []
    by_task: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for record in deliveries:
        by_task[record["task_id"]].append(record)
    calls_by_id: dict[str, list[ReceivedCallback]] = defaultdict(list)
    calls_by_task: Counter[str] = Counter()
    for call in calls:
        calls_by_id[call.headers.get("x-callback-id", "")].append(call)
        try:
            calls_by_task[str(json.loads(call.body)["id"])] += 1
        except (ValueError, KeyError, TypeError):
            problems.append(f"a call with an unreadable body: {call.body[:80]!r}")

    for task_id, kind in expected.items():
        records = by_task.pop(task_id, [])
        if kind == "none":
            if records:
                problems.append(f"task {task_id} asked for no callback but has {len(records)} delivery(ies)")
            continue
        if len(records) != 1:
            problems.append(f"task {task_id} ({kind}) has {len(records)} deliveries, want 1")
            continue
        record = records[0]
        attempts = record["attempts"]
        received = calls_by_id.pop(record["id"], [])
        want_calls = calls_owed(kind, schedule)
        if record["payload"].get("id") != task_id:
            problems.append(f"delivery {record['id']} carries task {record['payload'].get('id')}, not {task_id}")
        if kind in ("ok", "duplicate"):
            if record["state"] != "delivered" or len(attempts) != want_calls \
                    or not all(a["status_code"] is not None and 200 <= a["status_code"] < 300 for a in attempts):
                problems.append(f"task {task_id} ({kind}): delivery {record['state']} after "
                                f"{[a['status_code'] for a in attempts]}, want delivered after {want_calls} 2xx")
        elif kind in ("failing", "refused"):
            answer = 500 if kind == "failing" else None  # the failing receiver answers 500; nothing answers refused
            if record["state"] != "exhausted" or len(attempts) != len(schedule) + 1 \
                    or not all(a["error"] and a["status_code"] == answer for a in attempts):
                problems.append(f"task {task_id} ({kind}): delivery {record['state']} after "
                                f"{[a['status_code'] or a['error'] for a in attempts]}, want exhausted after "
                                f"{len(schedule) + 1} failed attempts answered {answer}")
            else:
                gaps = [later["at"] - earlier["at"] for earlier, later in itertools.pairwise(attempts)]
                if gaps != pytest.approx(list(schedule), abs=1e-6):
                    problems.append(f"task {task_id}: retries {gaps} s apart, want the schedule {list(schedule)}")
        elif kind == "blocked" and (record["state"] != "blocked" or attempts):
            problems.append(f"task {task_id}: delivery {record['state']} with {len(attempts)} attempt(s), "
                            "want blocked and never attempted")
        if len(received) != want_calls:
            problems.append(f"task {task_id} ({kind}): the receiver got {len(received)} call(s), want {want_calls}")
        for call in received:
            if call.path != paths.get(kind):
                problems.append(f"task {task_id} ({kind}): callback arrived on {call.path}, want {paths.get(kind)}")
            if json.loads(call.body) != record["payload"]:
                problems.append(f"task {task_id}: received body differs from the journaled payload")
            try:
                verify(secret, call.headers, call.body)
            except SignatureError as exc:
                problems.append(f"task {task_id}: callback does not verify with the served secret: {exc!r}")

    # Belt and braces: per task, however the ids were spelled, no task was called back more than it asked for.
    for task_id, count in calls_by_task.items():
        owed = calls_owed(expected.get(task_id, "none"), schedule)
        if count > owed:
            problems.append(f"task {task_id} was called back {count} time(s), want {owed}")
    for task_id, records in by_task.items():
        problems.append(f"{len(records)} delivery(ies) for unknown task {task_id}")
    for callback_id, stray in calls_by_id.items():
        problems.append(f"{len(stray)} call(s) with X-Callback-Id {callback_id!r} that no delivery journaled")
    assert not problems, f"{len(problems)} callback problem(s):\n" + "\n".join(problems[:25])


# -- plumbing ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def refusing_port() -> Iterator[str]:
    """A loopback URL where nothing listens: the port stays bound (not listening) so no one else can take it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"


@contextlib.contextmanager
def enough_file_descriptors(connections: int) -> Iterator[int]:
    """Raise the soft RLIMIT_NOFILE for a burst of `connections`; yield how many can be open at once.

    Client and server share this process, so each open connection costs two descriptors, plus a margin for the
    receivers, the dispatcher and pytest. Where the hard limit is too low, bursts go in waves of what fits (each
    wave still entirely in flight at once) rather than failing on EMFILE.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * connections + 512
    if soft != resource.RLIM_INFINITY and soft < need:
        raised = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
    try:
        current = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        yield connections if current == resource.RLIM_INFINITY else max(1, min(connections, (current - 512) // 2))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def admin_call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    response = client.request(method, path, **kwargs)
    assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
    return response.json()


def wait_until(fetch: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    """Poll `fetch` until `done` holds (wall-clock deadline; the mock's clock stays frozen meanwhile)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {DEADLINE}s waiting for {what}")
        time.sleep(0.02)


@dataclass(frozen=True)
class Reply:
    status_code: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


Request = tuple[str, str, Mapping[str, str], Any]  # method, path, headers, JSON body (None: no body)


class Wave:
    """One set of requests sent together: every connection opens first, then every request is written."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.opened = self.written = 0
        self.written_before_first_answer: int | None = None
        self.all_open = asyncio.Event()

    def open(self) -> None:
        self.opened += 1
        if self.opened == self.size:
            self.all_open.set()

    def answer(self) -> None:
        if self.written_before_first_answer is None:
            self.written_before_first_answer = self.written


async def _exchange(host: str, port: int, request: Request, wave: Wave) -> Reply:
    method, path, headers, body = request
    payload = b"" if body is None else json.dumps(body).encode()
    connection = h11.Connection(h11.CLIENT)
    head = [("Host", f"{host}:{port}"), ("Connection", "close"), ("Content-Length", str(len(payload))),
            ("Content-Type", "application/json"), ("X-Mock-Namespace", NAMESPACE), *headers.items()]
    wire = connection.send(h11.Request(method=method, target=path, headers=head))
    wire += connection.send(h11.Data(data=payload)) + connection.send(h11.EndOfMessage())  # type: ignore[operator]
    reader, writer = await asyncio.open_connection(host, port)
    try:
        wave.open()
        await wave.all_open.wait()
        writer.write(wire)
        wave.written += 1
        status, reply_headers, chunks = 0, {}, []
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                connection.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Response):
                wave.answer()
                status = event.status_code
                reply_headers = {k.decode().lower(): v.decode() for k, v in event.headers}
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return Reply(status, reply_headers, b"".join(chunks))
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError(f"{method} {path}: the server closed the connection without answering")
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _waves(base_url: str, requests: Sequence[Request], width: int) -> tuple[list[Reply], list[Wave]]:
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    replies: list[Reply] = []
    waves: list[Wave] = []
    for start in range(0, len(requests), width):
        chunk = requests[start:start + width]
        wave = Wave(len(chunk))
        waves.append(wave)
        replies += await asyncio.wait_for(asyncio.gather(*(_exchange(host, int(port), r, wave) for r in chunk)),
                                          DEADLINE)
    return replies, waves


def burst(base_url: str, requests: Sequence[Request], width: int) -> list[Reply]:
    """Send the requests `width` at a time (normally all at once), one connection each; replies in order.

    Within a wave every connection is open before any request is written, and every request is written before
    any answer is read, so all of them are in flight together at the server; the test asserts that below. A bare
    HTTP/1.1 client (asyncio streams and h11, the parser under httpx) keeps the client's share of this process
    and its GIL small: httpx's pool does bookkeeping linear in its size per request, seconds for 1000 connections.
    """
    replies, waves = asyncio.run(_waves(base_url, requests, width))
    for wave in waves:
        assert wave.written_before_first_answer == wave.size, (
            f"only {wave.written_before_first_answer} of {wave.size} requests were in flight together")
    return replies


def journal(admin: httpx.Client, state: str | None = None) -> list[dict[str, Any]]:
    params = {"limit": "10000", **({"state": state} if state else {})}
    return list(admin_call(admin, "GET", "/_mock/callbacks", params=params)["deliveries"])


def settled(deliveries: Sequence[Mapping[str, Any]], now: float) -> bool:
    """Nothing is being sent and nothing is due at `now`: only the clock can move the journal further."""
    return not any(d["state"] == "sending" or (d["state"] == "pending" and d["next_attempt_at"] <= now)
                   for d in deliveries)


def settle(admin: httpx.Client, now: float, what: str) -> list[dict[str, Any]]:
    """The whole callback journal, once it has settled at clock time `now`.

    Polls the small views (pending, then sending) until both look settled, then confirms on one read of the whole
    journal, which the server renders under one lock: polling the whole journal (~0.6 MB) would slow the very
    dispatcher being waited on.
    """
    def fetch() -> list[dict[str, Any]] | None:
        if settled(journal(admin, "pending"), now) and not journal(admin, "sending"):
            return journal(admin)
        return None

    return list(wait_until(fetch, lambda ds: ds is not None and settled(ds, now), f"{what} to settle"))


# -- the test ------------------------------------------------------------------------------------------------


def test_1000_concurrent_creates_with_callbacks_settle_and_balance(make_server: MakeServer) -> None:
    specs = build_specs()
    server = make_server(balance_cents=STARTING_CENTS)  # progression auto and the default retry schedule
    with CallbackReceiver() as ok, CallbackReceiver(path="/failing") as failing, refusing_port() as refused, \
            enough_file_descriptors(TASKS + TIGHT_CREATES) as width, \
            httpx.Client(base_url=server.base_url, headers={"X-Mock-Namespace": NAMESPACE}, timeout=30,
                         trust_env=False) as admin:
        failing.respond_with(status=500)
        urls = {"ok": ok.url, "duplicate": ok.url, "failing": failing.url, "refused": refused,
                "blocked": BLOCKED_URL}
        now = admin_call(admin, "POST", "/_mock/clock/freeze", json={})["now"]
        admin_call(admin, "PUT", "/_mock/balance", json={"key": TIGHT_KEY, "balance_cents": TIGHT_BALANCE_CENTS})

        # 1. Every create at once: 1000 that must succeed, and 100 racing for a balance that covers 40.
        tight_headers = {"Authorization": f"Bearer {TIGHT_KEY}", "X-Mock-Progression": "immediate"}
        creates = [("POST", s.variant.create_path, s.headers(), s.body(urls)) for s in specs]
        creates += [("POST", TIGHT_VARIANT.create_path, tight_headers, dict(TIGHT_VARIANT.body))] * TIGHT_CREATES
        responses = burst(server.base_url, creates, width)
        regular, racing = responses[:TASKS], responses[TASKS:]
        refused_creates = [r.text for r in regular if r.status_code != 200]
        assert not refused_creates, refused_creates[:5]
        ids = [r.json()["id"] for r in regular]
        check_unique_ids(ids)
        for response in regular:
            body = response.json()
            assert body["task_id"] == body["id"] == response.headers["x-runapi-task-id"]
            assert body["status"] == "pending" and body["task_replayed"] is False
        task_of = dict(zip(ids, specs, strict=True))
        tight_codes = Counter(r.status_code for r in racing)
        affordable = TIGHT_BALANCE_CENTS * MICROCENTS // TIGHT_VARIANT.price()
        assert tight_codes == {200: affordable, 402: TIGHT_CREATES - affordable}, tight_codes
        assert {r.json()["error"]["code"] for r in racing if r.status_code == 402} == {"insufficient_credits"}
        tight_ids = [r.json()["id"] for r in racing if r.status_code == 200]
        check_unique_ids(ids + tight_ids)

        # 2. End every task: the clock finishes `auto` ones, status reads the others (`polls:1`: a step per read).
        #    All of them end at the same frozen instant, so every failing delivery retries in lockstep.
        now = admin_call(admin, "POST", "/_mock/clock/advance", json={"seconds": END_AFTER})["now"]
        reads = [("GET", task_of[i].variant.status_path(i), {"Authorization": f"Bearer {task_of[i].key}"}, None)
                 for i in ids]
        reads += [("GET", TIGHT_VARIANT.status_path(i), {"Authorization": f"Bearer {TIGHT_KEY}"}, None)
                  for i in tight_ids]
        first = burst(server.base_url, reads, width)
        second = burst(server.base_url, reads, width)
        assert all(r.status_code == 200 for r in first + second), [r.text for r in first + second
                                                                   if r.status_code != 200][:5]
        after_one_read = {r.json()["id"]: r.json()["status"] for r in first}
        assert {task_id: after_one_read[task_id] for task_id in ids} == {
            task_id: "processing" if task_of[task_id].progression == "polls:1" else task_of[task_id].outcome
            for task_id in ids}
        bodies = {r.json()["id"]: r.json() for r in second}
        expected_status = {**{i: task_of[i].outcome for i in ids}, **{i: "completed" for i in tight_ids}}
        check_terminal({i: b["status"] for i, b in bodies.items()}, expected_status)
        for task_id in ids:
            body, spec = bodies[task_id], task_of[task_id]
            if spec.outcome == "completed":
                assert body["usage"]["cost"] == pytest.approx(spec.variant.price() / MICROCENTS / 100)
                assert body["images"]
            else:
                assert body["error_code"] == FAILURE_CODES[spec.scenario]

        # 3. Drive the retries: wait until nothing is sending or due, move the clock to the next due attempt.
        rounds = 0
        deliveries = settle(admin, now, "the first callback wave")
        while pending := [d["next_attempt_at"] for d in deliveries if d["state"] == "pending"]:
            rounds += 1
            assert rounds <= ATTEMPTS, f"deliveries still pending after {rounds} clock advances"
            now = admin_call(admin, "POST", "/_mock/clock/advance", json={"seconds": min(pending) - now})["now"]
            deliveries = settle(admin, now, f"retry round {rounds}")
        assert rounds == len(SCHEDULE)  # the failing deliveries moved in lockstep, one advance per retry

        tasks = admin_call(admin, "GET", "/_mock/tasks", params={"limit": "10000"})
        accounts = admin_call(admin, "GET", "/_mock/balance")["accounts"]
        public = {key: admin_call(admin, "GET", "/api/v1/me/balance", headers={"Authorization": f"Bearer {key}"})
                  for key in (*KEYS, TIGHT_KEY)}
        secret = admin_call(admin, "GET", "/_mock/callback-secret")["secret"]
        calls = ok.calls + failing.calls

    # Every task is terminal in the admin view too, and belongs to the account that created it.
    assert tasks["total"] == TASKS + len(tight_ids)
    check_terminal({t["id"]: t["status"] for t in tasks["tasks"]}, expected_status)
    assert all(t["key"] == (task_of[t["id"]].key if t["id"] in task_of else TIGHT_KEY) for t in tasks["tasks"])

    # Callbacks: one delivery per task that asked, each delivered (and verified) or exhausted, never doubled.
    check_callbacks({i: task_of[i].callback for i in ids} | {i: "none" for i in tight_ids}, deliveries, calls,
                    {"ok": "/callback", "duplicate": "/callback", "failing": "/failing"}, secret, SCHEDULE)
    for record in deliveries:
        assert validate_response("callback_payload", record["payload"]) == [], record["payload"]
        assert record["payload"]["status"] == task_of[record["task_id"]].outcome

    # The ledger, per account, to the micro-cent: completed tasks charged their catalog price, failures refunded.
    for key in KEYS:
        prices = [task_of[i].variant.price() for i in ids
                  if task_of[i].key == key and task_of[i].outcome == "completed"]
        check_ledger(accounts[key], STARTING_CENTS * MICROCENTS, prices)
        assert public[key]["balance_cents"] == accounts[key]["available_microcents"] // MICROCENTS
        assert public[key]["spent_cents_total"] == sum(prices) // MICROCENTS
    check_ledger(accounts[TIGHT_KEY], TIGHT_BALANCE_CENTS * MICROCENTS, [TIGHT_VARIANT.price()] * len(tight_ids))
    assert public[TIGHT_KEY]["balance_cents"] == 0
    assert set(accounts) == {*KEYS, TIGHT_KEY}


def test_the_mix_covers_what_the_ledger_and_callback_checks_rely_on() -> None:
    """The spec list really crosses prices, outcomes and callback kinds (so the checks above mean something)."""
    specs = build_specs()
    assert build_specs() == specs  # deterministic
    prices = {v.price() for v in VARIANTS}
    assert any(p % MICROCENTS for p in prices) and len(prices) >= 6  # fractional cents, many price points
    # every action of the seed families (the imported ones share their code path: see test_fast_routes)
    seeds = {key for key in load_catalog().actions if key[0] in ("flux_kontext", "flux_2", "gpt_image_2")}
    assert {(v.family, v.action) for v in VARIANTS} == seeds
    crossed = Counter((s.callback, s.outcome) for s in specs)
    assert all(crossed[(kind, outcome)] > 0 for kind in CALLBACK_KINDS for outcome in ("completed", "failed"))
    by_key_outcome = Counter((s.key, s.outcome, s.variant.price() % MICROCENTS != 0) for s in specs)
    assert all(by_key_outcome[(key, "failed", True)] > 0 for key in KEYS)  # refunds of fractional prices too
    for key in KEYS:
        worst = sum(s.variant.price() for s in specs if s.key == key)
        assert worst < STARTING_CENTS * MICROCENTS  # no regular create may hit 402


# -- each check can fail -------------------------------------------------------------------------------------


def test_unique_id_check_catches_a_duplicate() -> None:
    check_unique_ids(["a", "b", "c"])
    with pytest.raises(AssertionError, match="more than once"):
        check_unique_ids(["a", "b", "a"])


def test_terminal_check_catches_an_unfinished_or_wrong_task() -> None:
    check_terminal({"a": "completed", "b": "failed"}, {"a": "completed", "b": "failed"})
    for broken in ({"a": "completed", "b": "processing"}, {"a": "failed", "b": "failed"}, {"a": "completed"},
                   {"a": "completed", "b": "failed", "c": "completed"}):
        with pytest.raises(AssertionError):
            check_terminal(broken, {"a": "completed", "b": "failed"})


def test_ledger_check_catches_drift_and_leftover_reservations() -> None:
    starting, prices = 100 * MICROCENTS, [2_500_000, 7_000_000]
    good = {"credit_microcents": starting, "reserved_microcents": 0, "spent_microcents": 9_500_000,
            "available_microcents": starting - 9_500_000}
    check_ledger(good, starting, prices)
    for broken in ({**good, "available_microcents": good["available_microcents"] - 1},   # one micro-cent lost
                   {**good, "reserved_microcents": 2_500_000,                            # a refund never made
                    "available_microcents": good["available_microcents"] - 2_500_000},
                   {**good, "spent_microcents": 7_000_000,                               # a completion not charged
                    "available_microcents": starting - 7_000_000}):
        with pytest.raises(AssertionError, match="does not balance"):
            check_ledger(broken, starting, prices)


SECRET = generate_secret()
PATHS = {"ok": "/callback", "duplicate": "/callback", "failing": "/failing"}
SHORT = (1.0, 2.0)


def _record(task_id: str, state: str, statuses: Sequence[int | None], gaps: Sequence[float] = ()) -> dict[str, Any]:
    at = [1000.0]
    for gap in gaps:
        at.append(at[-1] + gap)
    attempts = [{"number": n + 1, "at": at[n] if n < len(at) else at[-1], "status_code": code,
                 "error": None if code is not None and 200 <= code < 300 else "failed"}
                for n, code in enumerate(statuses)]
    return {"id": f"cb-{task_id}", "task_id": task_id, "state": state, "attempts": attempts,
            "payload": {"id": task_id, "task_id": task_id, "status": "completed", "model": "m"}}


def _call(record: Mapping[str, Any], path: str, secret: str = SECRET) -> ReceivedCallback:
    body = json.dumps(record["payload"], separators=(",", ":")).encode()
    headers = {k.lower(): v for k, v in callback_headers(secret, record["id"], int(time.time()), body).items()}
    return ReceivedCallback("POST", path, headers, body, time.time())


def _callback_world() -> tuple[dict[str, str], list[dict[str, Any]], list[ReceivedCallback]]:
    """A small journal and receiver log that check_callbacks accepts."""
    expected = {"t-ok": "ok", "t-dup": "duplicate", "t-500": "failing", "t-ref": "refused", "t-blk": "blocked",
                "t-none": "none"}
    records = [_record("t-ok", "delivered", [200]), _record("t-dup", "delivered", [200, 204]),
               _record("t-500", "exhausted", [500, 500, 500], SHORT),
               _record("t-ref", "exhausted", [None, None, None], SHORT), _record("t-blk", "blocked", [])]
    calls = [_call(records[0], "/callback"), *[_call(records[1], "/callback")] * 2,
             *[_call(records[2], "/failing")] * 3]
    return expected, records, calls


def test_callback_check_accepts_a_consistent_journal() -> None:
    expected, records, calls = _callback_world()
    check_callbacks(expected, records, calls, PATHS, SECRET, SHORT)


def _lose_a_call(e: Any, r: list[dict[str, Any]], c: list[ReceivedCallback]) -> None:
    c.pop(0)


def _duplicate_a_call(e: Any, r: list[dict[str, Any]], c: list[ReceivedCallback]) -> None:
    c.append(c[0])


def _forge_a_call(e: Any, r: list[dict[str, Any]], c: list[ReceivedCallback]) -> None:
    c[0] = _call(r[0], "/callback", secret=generate_secret())


def _cut_the_retries_short(e: Any, r: list[dict[str, Any]], c: list[ReceivedCallback]) -> None:
    r[3] = _record("t-ref", "exhausted", [None, None], SHORT[:1])


def _retry_off_schedule(e: Any, r: list[dict[str, Any]], c: list[ReceivedCallback]) -> None:
    r[3] = _record("t-ref", "exhausted", [None, None, None], (1.0, 1.0))


def _leave_one_pending(e: Any, r: list[dict[str, Any]], c: list[ReceivedCallback]) -> None:
    r[2] = {**r[2], "state": "pending"}


def _lose_a_delivery(e: Any, r: list[dict[str, Any]], c: list[ReceivedCallback]) -> None:
    del r[4]


def _two_deliveries_for_one_task(e: Any, r: list[dict[str, Any]], c: list[ReceivedCallback]) -> None:
    r.append({**r[0], "id": "cb-second"})


def _callback_nobody_asked_for(e: dict[str, str], r: list[dict[str, Any]], c: list[ReceivedCallback]) -> None:
    extra = _record("t-none", "delivered", [200])
    r.append(extra)
    c.append(_call(extra, "/callback"))


def _wrong_receiver(e: Any, r: list[dict[str, Any]], c: list[ReceivedCallback]) -> None:
    c[0] = _call(r[0], "/failing")


def _tampered_body(e: Any, r: list[dict[str, Any]], c: list[ReceivedCallback]) -> None:
    good = c[0]
    c[0] = ReceivedCallback(good.method, good.path, good.headers, good.body.replace(b"completed", b"failed"),
                            good.received_at)


def _refused_but_answered(e: Any, r: list[dict[str, Any]], c: list[ReceivedCallback]) -> None:
    r[3] = _record("t-ref", "exhausted", [None, 500, None], SHORT)


@pytest.mark.parametrize("corrupt", [
    _refused_but_answered, _lose_a_call, _duplicate_a_call, _forge_a_call, _cut_the_retries_short,
    _retry_off_schedule, _leave_one_pending,
    _lose_a_delivery, _two_deliveries_for_one_task, _callback_nobody_asked_for, _wrong_receiver, _tampered_body,
])
def test_callback_check_catches_each_kind_of_mistake(corrupt: Callable[..., None]) -> None:
    expected, records, calls = _callback_world()
    corrupt(expected, records, calls)
    with pytest.raises(AssertionError, match="callback problem"):
        check_callbacks(expected, records, calls, PATHS, SECRET, SHORT)
