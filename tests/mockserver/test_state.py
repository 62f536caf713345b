"""`--state PATH`: tasks, credits, clocks, the callback secret and owed callbacks survive a restart, even a SIGKILL.

A "crash" in-process is a second app opened on the same file while the first was never shut down: only what
was committed before each response can be there. The subprocess test does it for real with SIGKILL mid-load.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from runapi_contracts import load_catalog
from runapi_contracts.receiver import CallbackReceiver
from runapi_contracts.signing import verify
from runapi_mock import Settings, create_app
from runapi_mock.background.state import StateError, StateStore
from runapi_mock.background.state_records import delivery_from_record, delivery_record, task_from_record, task_record
from runapi_mock.engine.delivery import Attempt, CallbackMode, Delivery
from runapi_mock.engine.events import NullStore
from runapi_mock.engine.lifecycle import Progression
from runapi_mock.engine.model import Task
from runapi_mock.serving import cli

ROOT = Path(__file__).resolve().parents[2]
CREATE = "/api/v1/flux_kontext/text_to_image"
AUTH = {"Authorization": "Bearer state-key"}
BODY = {"model": "flux-kontext-pro", "prompt": "a lighthouse at dusk"}


def price_microcents(body: dict[str, Any]) -> int:
    catalog = load_catalog()
    entry = catalog.action("flux_kontext", "text_to_image")
    assert entry is not None
    return entry.models[body["model"]].price_microcents(body, catalog.default_resolution)


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite"


@pytest.fixture
def open_app(state_file: Path) -> Iterator[Callable[..., TestClient]]:
    """Open an app on the state file; its lifespan runs, but it is not shut down until teardown ("a crash")."""
    clients: list[TestClient] = []

    def open_(**changes: Any) -> TestClient:
        client = TestClient(create_app(Settings(state_path=str(state_file), **changes)),
                            base_url="http://127.0.0.1:8787", headers=AUTH)
        client.__enter__()
        clients.append(client)
        return client

    yield open_
    for client in clients:
        client.__exit__(None, None, None)


def create(client: TestClient, body: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
    response = client.post(CREATE, json=body or BODY, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def status(client: TestClient, task_id: str) -> str:
    response = client.get(f"{CREATE}/{task_id}")
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def account(client: TestClient, key: str = "state-key") -> dict[str, int]:
    response = client.get("/_mock/balance")
    assert response.status_code == 200, response.text
    return dict(response.json()["accounts"][key])


def assert_survived(before: dict[str, str], after: TestClient) -> None:
    """Every task seen before the crash is there after it, in at least the status it had."""
    order = ("pending", "processing", "completed", "failed")
    for task_id, seen in before.items():
        response = after.get(f"/_mock/tasks/{task_id}")
        assert response.status_code == 200, f"task {task_id} was lost: {response.text}"
        now = response.json()["status"]
        assert order.index(now) >= order.index(seen), (task_id, seen, now)


# -- records ---------------------------------------------------------------------------------------------


def test_records_round_trip_through_json_and_match_dataclasses_asdict() -> None:
    task = Task(id="t1", namespace="ns", key="k", family="flux_kontext", action="edit_image", model="m",
                body={"prompt": "é", "input_images": ["http://127.0.0.1/a.png"], "n": 2}, created_at=10.5,
                progression=Progression.parse("polls:3"), outcome="failed", durations=(2.0, 10.0), price=2_500_000,
                origin="http://127.0.0.1:8787", failure=("boom", "x_1"), reads=4, step=1, status="processing",
                history=[("pending", 10.5), ("processing", 12.5)], callback_mode=CallbackMode(True, 1.5, False),
                requested_model="older-name")
    record = json.loads(json.dumps(task_record(task)))
    assert record == json.loads(json.dumps(dataclasses.asdict(task)))  # the hand-written record is complete
    assert task_from_record(record) == task
    delivery = Delivery(id="d1", namespace="ns", task_id="t1", url="http://127.0.0.1:9/cb", body=b'{"id":"t1"}',
                        created_at=11.0, state="pending", next_attempt_at=12.0, copies_left=1,
                        attempts=[Attempt(1, 11.0, 500, 3.2, "receiver answered 500", 1_700_000_000)])
    record = json.loads(json.dumps(delivery_record(delivery)))
    assert delivery_from_record(record) == delivery


# -- in-process crash and restart ---------------------------------------------------------------------------


def test_tasks_statuses_and_the_ledger_survive_a_crash(open_app: Callable[..., TestClient]) -> None:
    first = open_app(progression=Progression.parse("manual"))
    ids = [create(first)["id"] for _ in range(4)]
    first.post(f"/_mock/tasks/{ids[0]}/status", json={"status": "completed"})
    first.post(f"/_mock/tasks/{ids[1]}/status", json={"status": "failed", "error": "nope", "error_code": "x_1"})
    first.post(f"/_mock/tasks/{ids[2]}/status", json={"status": "processing"})
    seen = {task_id: status(first, task_id) for task_id in ids}
    ledger_before = account(first)

    second = open_app()  # the first was never shut down
    assert_survived(seen, second)
    assert {task_id: status(second, task_id) for task_id in ids} == seen
    failed = second.get(f"{CREATE}/{ids[1]}").json()
    assert (failed["error"], failed["error_code"]) == ("nope", "x_1")
    assert account(second) == ledger_before
    price = price_microcents(BODY)
    assert ledger_before["spent_microcents"] == price  # one completed
    assert ledger_before["reserved_microcents"] == 2 * price  # processing + pending hold their price
    # The restored reservations are real: finishing the rest settles them exactly.
    for task_id in ids[2:]:
        second.post(f"/_mock/tasks/{task_id}/status", json={"status": "completed"})
    after = account(second)
    assert after["reserved_microcents"] == 0 and after["spent_microcents"] == 3 * price
    assert after["available_microcents"] == after["credit_microcents"] - 3 * price


def test_the_check_fails_when_nothing_is_written(open_app: Callable[..., TestClient],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The survival check above can fail: with submit() (so flush()) disabled, a crash loses the task."""
    monkeypatch.setattr(StateStore, "submit", lambda self: None)
    first = open_app(progression=Progression.parse("manual"))
    task_id = create(first)["id"]
    second = open_app()
    with pytest.raises(AssertionError, match="was lost"):
        assert_survived({task_id: "pending"}, second)


def test_idempotency_keys_replay_across_a_restart(open_app: Callable[..., TestClient]) -> None:
    first = open_app()
    original = create(first, **{"Idempotency-Key": "order-42"})
    second = open_app()
    replay = create(second, **{"Idempotency-Key": "order-42"})
    assert replay["id"] == original["id"] and replay["task_replayed"] is True
    conflict = second.post(CREATE, json={**BODY, "prompt": "else"}, headers={"Idempotency-Key": "order-42"})
    assert conflict.status_code == 409


def test_clock_config_balance_and_secret_survive(open_app: Callable[..., TestClient]) -> None:
    first = open_app()
    frozen_at = first.post("/_mock/clock/freeze", json={}).json()["now"]
    first.post("/_mock/clock/advance", json={"seconds": 3600})
    first.put("/_mock/config", json={"progression": "polls:3", "callback_mode": "duplicate"})
    first.put("/_mock/balance", json={"key": "state-key", "balance_cents": 123})
    first.post("/_mock/callback-secret/rotate", json={})
    secrets = first.get("/_mock/callback-secret").json()

    for _ in range(2):  # and a restart does not overwrite them: a second restart sees them too
        again = open_app()
        clock = again.get("/_mock/clock").json()
        assert clock == {"now": frozen_at + 3600, "frozen": True}
        config = again.get("/_mock/config").json()
        assert config["progression"] == "polls:3" and config["callback_mode"]["duplicate"] is True
        assert again.get("/api/v1/me/balance").json()["balance_cents"] == 123
        assert again.get("/_mock/callback-secret").json() == secrets


def test_a_namespace_balance_for_keys_not_seen_yet_survives(open_app: Callable[..., TestClient]) -> None:
    open_app().put("/_mock/balance", json={"balance_cents": 7})
    again = open_app()
    assert again.get("/api/v1/me/balance", headers={"Authorization": "Bearer never-seen"}).json()["balance_cents"] == 7


def test_an_accounts_voices_survive_a_restart(open_app: Callable[..., TestClient]) -> None:
    # Voices are the account's resources (engine/resources.py): kept with its credits and read back by id.
    made = open_app().post("/api/v1/voices", json={"source_audio_url": "https://example.com/me.mp3", "name": "me"})
    assert made.status_code == 200, made.text
    voice = made.json()["voice"]
    for _ in range(2):
        again = open_app()
        read = again.get(f"/api/v1/voices/{voice['id']}")
        assert read.status_code == 200, read.text
        assert read.json()["voice"] == voice
        assert again.get("/api/v1/voices").json()["voices"] == [voice]


def test_a_song_chain_plays_one_tune_after_a_restart(open_app: Callable[..., TestClient]) -> None:
    # An extension of an extension keeps the tune the first song composed (SourceMedia.tune): its lyric timings
    # and MIDI notes read the same after a restart.
    first = open_app(progression=Progression.parse("immediate"))

    def made(action: str, body: dict[str, Any]) -> dict[str, Any]:
        task_id = first.post(f"/api/v1/suno/{action}", json=body).json()["id"]
        return dict(first.get(f"/api/v1/suno/{action}/{task_id}").json())

    made_ = made("text_to_music", {"model": "suno-v5.5", "vocal_mode": "exact_lyrics", "lyrics": "la di da",
                                   "style": "folk", "title": "River", "duration_seconds": 10})
    for _ in range(2):
        made_ = made("extend_music", {"model": "suno-v5.5", "parameter_mode": "source", "task_id": made_["id"],
                                      "audio_id": made_["audios"][0]["id"]})
    midi = made("generate_midi", {"task_id": made_["id"]})
    ask = {"task_id": made_["id"], "audio_id": made_["audios"][0]["id"]}
    timed = first.post("/api/v1/suno/get_timestamped_lyrics", json=ask).json()["aligned_words"]
    again = open_app()
    assert again.post("/api/v1/suno/get_timestamped_lyrics", json=ask).json()["aligned_words"] == timed
    assert again.get(f"/api/v1/suno/generate_midi/{midi['id']}").json()["instruments"] == midi["instruments"]
    vocals = next(i["notes"] for i in midi["instruments"] if i["name"] == "vocals")
    assert timed and all(any(n["start_time"] <= w["start_time"] < n["end_time"] for n in vocals) for w in timed)


def test_image_urls_after_a_restart_on_another_port_are_on_that_port(state_file: Path) -> None:
    body = {"model": "gpt-image-2", "prompt": "x"}
    with TestClient(create_app(Settings(state_path=str(state_file))), base_url="http://127.0.0.1:8787",
                    headers=AUTH) as first:
        task_id = first.post("/api/v1/gpt_image_2/text_to_image", json=body,
                             headers={"X-Mock-Progression": "immediate"}).json()["id"]
        first.get(f"/api/v1/gpt_image_2/text_to_image/{task_id}")
    with TestClient(create_app(Settings(state_path=str(state_file))), base_url="http://127.0.0.1:9140",
                    headers=AUTH) as again:
        url = again.get(f"/api/v1/gpt_image_2/text_to_image/{task_id}").json()["images"][0]["url"]
        assert url.startswith("http://127.0.0.1:9140/files/")
        assert again.get(url).status_code == 200


def test_a_given_secret_wins_over_the_stored_one(open_app: Callable[..., TestClient]) -> None:
    stored = open_app().get("/_mock/callback-secret").json()["secret"]
    given = "Z2l2ZW4tc2VjcmV0LWZvci10aGUtc2Vjb25kLXN0YXJ0"
    assert stored != given
    assert open_app(callback_secret=given).get("/_mock/callback-secret").json()["secret"] == given
    assert open_app().get("/_mock/callback-secret").json()["secret"] == given  # and is kept from then on


def test_reset_and_retention_delete_rows_too(open_app: Callable[..., TestClient], state_file: Path) -> None:
    first = open_app(progression=Progression.parse("manual"))
    kept = create(first, **{"X-Mock-Namespace": "keep"})["id"]
    create(first, **{"X-Mock-Namespace": "gone"})
    first.post("/_mock/reset", json={}, headers={"X-Mock-Namespace": "gone"})
    with sqlite3.connect(state_file) as db:
        rows = db.execute("SELECT namespace, id FROM tasks").fetchall()
    assert rows == [("keep", kept)]


def test_owed_callbacks_resume_after_a_crash(open_app: Callable[..., TestClient]) -> None:
    with CallbackReceiver() as receiver:
        first = open_app(progression=Progression.parse("manual"))
        first.post("/_mock/clock/freeze", json={})
        task_id = create(first, {**BODY, "callback_url": receiver.url}, **{"X-Mock-Callback-Mode": "delay:60"})["id"]
        first.post(f"/_mock/tasks/{task_id}/status", json={"status": "completed"})
        (owed,) = first.get("/_mock/callbacks").json()["deliveries"]
        assert owed["state"] == "pending"
        secret = first.get("/_mock/callback-secret").json()["secret"]

        second = open_app()
        (resumed,) = second.get("/_mock/callbacks").json()["deliveries"]
        assert resumed["id"] == owed["id"] and resumed["state"] == "pending"
        assert receiver.calls == []
        second.post("/_mock/clock/advance", json={"seconds": 60})
        (call,) = receiver.wait_for(1)
    assert call.headers["x-callback-id"] == owed["id"]
    verify(secret, call.headers, call.body)


def test_an_attempt_cut_off_by_the_crash_counts_as_failed_and_is_retried(
        open_app: Callable[..., TestClient], state_file: Path) -> None:
    first = open_app(progression=Progression.parse("manual"))
    first.post("/_mock/clock/freeze", json={})
    late = {"X-Mock-Callback-Mode": "delay:60"}
    task_id = create(first, {**BODY, "callback_url": "http://127.0.0.1:9/cb"}, **late)["id"]
    first.post(f"/_mock/tasks/{task_id}/status", json={"status": "completed"})
    # Rewrite the row as the moment between "attempt started" and "receiver answered".
    with sqlite3.connect(state_file) as db:
        (record,) = db.execute("SELECT record FROM deliveries").fetchone()
        data = json.loads(record)
        data["state"], data["next_attempt_at"] = "sending", None
        data["attempts"] = [{"number": 1, "at": 0.0, "status_code": None, "latency_ms": None, "error": None,
                             "timestamp": 0}]
        db.execute("UPDATE deliveries SET record = ?", (json.dumps(data),))
    second = open_app()
    (resumed,) = second.get("/_mock/callbacks").json()["deliveries"]
    assert resumed["attempts"][0]["error"] == "the server stopped before the receiver answered"
    assert resumed["state"] in ("pending", "sending")


def test_a_file_that_is_not_a_state_file_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database, just text that is long enough to have a header" * 20)
    with pytest.raises(StateError, match="cannot use .*notes.txt as a state file"):
        StateStore(bogus)


def test_cli_reports_a_bad_state_file_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("plain text " * 200)
    assert cli.main(["serve", "--port", "0", "--state", str(bogus)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("runapi-mock: error: cannot use") and "Traceback" not in err


def test_default_is_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with TestClient(create_app(Settings()), base_url="http://localhost", headers=AUTH) as client:
        create(client)
        assert isinstance(client.app.state.store, NullStore)  # type: ignore[attr-defined]
    assert list(tmp_path.iterdir()) == []


# -- the real thing: SIGKILL a served process mid-load --------------------------------------------------------


def serve(state_file: Path, *args: str) -> tuple[subprocess.Popen[str], str, str, str]:
    """Start `runapi-mock serve --state` on a free loopback port; (process, base URL, secret, secret's origin)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("RUNAPI_CALLBACK_SECRET", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "runapi_mock", "serve", "--port", "0", "--state", str(state_file), *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    banner = process.stdout.readline()
    assert banner.startswith("runapi-mock serving on http://127.0.0.1:"), banner + process.stderr.read()
    secret_line = process.stdout.readline()
    assert secret_line.startswith("callback secret"), secret_line
    label, _, secret = secret_line.strip().rpartition(": ")
    return process, banner.split()[3], secret, label


def load(base_url: str, callback_url: str, accepted: list[str], stop: threading.Event) -> None:
    """One client sending creates until the server goes away; records the ids it was given."""
    with httpx.Client(base_url=base_url, headers={**AUTH, "X-Mock-Callback-Mode": "delay:3600"},
                      timeout=5, trust_env=False) as client:
        while not stop.is_set():
            try:
                response = client.post(CREATE, json={**BODY, "callback_url": callback_url})
            except httpx.HTTPError:
                return
            assert response.status_code == 200, response.text
            accepted.append(response.json()["id"])


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_sigkill_mid_load_keeps_every_accepted_task_and_resumes_owed_callbacks(state_file: Path) -> None:
    with CallbackReceiver() as receiver:
        process, base_url, secret, label = serve(state_file, "--speed", "1000", "--balance", "1000000")
        assert label == "callback secret (generated)"
        accepted: list[str] = []
        stop = threading.Event()
        clients = [threading.Thread(target=load, args=(base_url, receiver.url, accepted, stop)) for _ in range(8)]
        try:
            for thread in clients:
                thread.start()
            wait_for(lambda: len(accepted) >= 200, 60, "200 accepted creates")
            process.send_signal(signal.SIGKILL)  # no shutdown code runs
            process.wait(timeout=10)
        finally:
            stop.set()
            for thread in clients:
                thread.join(timeout=10)
            if process.poll() is None:
                process.kill()
            process.communicate()
        assert process.returncode == -signal.SIGKILL
        assert len(set(accepted)) == len(accepted)

        process, base_url, restored_secret, label = serve(state_file, "--speed", "1000", "--balance", "1000000")
        try:
            assert restored_secret == secret  # receivers keep verifying after the restart
            assert label == f"callback secret (from {state_file})"
            with httpx.Client(base_url=base_url, headers=AUTH, timeout=10, trust_env=False) as client:
                tasks = client.get("/_mock/tasks", params={"limit": "10000"}).json()
                stored = {task["id"] for task in tasks["tasks"]}
                assert set(accepted) <= stored, f"{len(set(accepted) - stored)} accepted tasks were lost"
                # Tasks cut off mid-run finish on the clock after the restart.
                wait_for(lambda: all(client.get(f"{CREATE}/{task_id}").json()["status"] == "completed"
                                     for task_id in accepted), 30, "every accepted task to complete")
                wait_for(lambda: client.get("/_mock/callbacks", params={"limit": "10000"}).json()["total"]
                         == len(stored), 30, "a delivery for every task")
                owed = client.get("/_mock/callbacks", params={"limit": "10000"}).json()["deliveries"]
                assert {d["state"] for d in owed} == {"pending"} and receiver.calls == []
                client.post("/_mock/clock/advance", json={"seconds": 3600})
                calls = receiver.wait_for(len(stored), timeout=30)
                account_after = client.get("/_mock/balance").json()["accounts"]["state-key"]
        finally:
            process.terminate()
            process.communicate(timeout=15)
    delivered = sorted(call.headers["x-callback-id"] for call in calls)
    assert delivered == sorted(d["id"] for d in owed)  # each owed callback exactly once
    for call in calls:
        verify(secret, call.headers, call.body)
    # The ledger survived to the micro-cent: every stored task completed and was charged once.
    assert account_after["reserved_microcents"] == 0
    assert account_after["spent_microcents"] == len(stored) * price_microcents(BODY)
