"""Task lifecycle and the virtual clock: pure units of lifecycle.py and clock.py, then the same rules over HTTP."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from runapi_mock import lifecycle
from runapi_mock.clock import VirtualClock
from runapi_mock.lifecycle import InvalidProgression, Progression, next_change_in, status_on_path, step_at

AUTH = {"Authorization": "Bearer test-key"}
FK_PATH = "/api/v1/flux_kontext/text_to_image"
FK_BODY = {"model": "flux-kontext-pro", "prompt": "a red bicycle"}
ORDER = {"pending": 0, "processing": 1, "completed": 2, "failed": 2}


def assert_monotonic(statuses: list[str]) -> None:
    """Statuses seen over time never go backwards and never leave a terminal status."""
    for before, after in itertools.pairwise(statuses):
        assert ORDER[after] >= ORDER[before], f"status went backwards: {before} -> {after} in {statuses}"
        if before in lifecycle.TERMINAL:
            assert after == before, f"terminal status {before} changed to {after} in {statuses}"


def create(client: TestClient, headers: dict[str, str] | None = None, body: dict[str, Any] | None = None) -> str:
    response = client.post(FK_PATH, json=body or FK_BODY, headers={**AUTH, **(headers or {})})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "pending"
    return str(response.json()["id"])


def status(client: TestClient, task_id: str) -> str:
    response = client.get(f"{FK_PATH}/{task_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def admin_status(client: TestClient, task_id: str) -> str:
    return str(client.get(f"/_mock/tasks/{task_id}").json()["status"])


def advance(client: TestClient, seconds: float) -> None:
    assert client.post("/_mock/clock/advance", json={"seconds": seconds}).status_code == 200


# -- pure units: Progression ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mode", "polls"),
    [("auto", "auto", 1), ("immediate", "immediate", 1), ("manual", "manual", 1), ("polls:3", "polls", 3),
     ("  POLLS:1 ", "polls", 1), ("Auto", "auto", 1), ("polls:1000000", "polls", 1_000_000)],
)
def test_progression_parses_every_mode(text: str, mode: str, polls: int) -> None:
    parsed = Progression.parse(text)
    assert (parsed.mode, parsed.polls) == (mode, polls)
    assert Progression.parse(str(parsed)) == parsed


@pytest.mark.parametrize("text", ["", "polls", "polls:", "polls:0", "polls:-1", "polls:1.5", "polls:x",
                                  "polls:1000001", "fast", "auto:2", "manual:1"])
def test_progression_rejects_malformed_values_naming_them(text: str) -> None:
    with pytest.raises(InvalidProgression, match="invalid progression"):
        Progression.parse(text)


@pytest.mark.parametrize("text", ["polls:\u00b2", "polls:\u0663", "polls:\uff13"])
def test_progression_rejects_non_ascii_digits(text: str) -> None:
    with pytest.raises(InvalidProgression, match="invalid progression"):
        Progression.parse(text)


# -- pure units: step_at, status_on_path, next_change_in ------------------------------------------------


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [(0.0, 0), (1.999, 0), (2.0, 1), (11.999, 1), (12.0, 2), (1e9, 2)],
)
def test_auto_steps_follow_the_durations(elapsed: float, expected: int) -> None:
    assert step_at(Progression(), elapsed=elapsed, reads=99, manual_steps=99, durations=(2, 10)) == expected


@pytest.mark.parametrize(("reads", "polls", "expected"), [(0, 2, 0), (1, 2, 0), (2, 2, 1), (3, 2, 1), (4, 2, 2),
                                                          (1, 1, 1), (7, 3, 2)])
def test_polls_steps_count_reads(reads: int, polls: int, expected: int) -> None:
    progression = Progression(mode="polls", polls=polls)
    assert step_at(progression, elapsed=1e9, reads=reads, manual_steps=0, durations=(2, 10)) == expected


@pytest.mark.parametrize(("reads", "expected"), [(0, 0), (1, 2), (5, 2)])
def test_immediate_finishes_on_the_first_read(reads: int, expected: int) -> None:
    progression = Progression(mode="immediate")
    assert step_at(progression, elapsed=0, reads=reads, manual_steps=0, durations=(2, 10)) == expected


@pytest.mark.parametrize("steps", [0, 1, 2, 5])
def test_manual_moves_only_by_steps(steps: int) -> None:
    progression = Progression(mode="manual")
    assert step_at(progression, elapsed=1e9, reads=1000, manual_steps=steps, durations=(2, 10)) == steps


@pytest.mark.parametrize(
    ("outcome", "steps", "expected"),
    [("completed", 0, "pending"), ("completed", 1, "processing"), ("completed", 2, "completed"),
     ("completed", 9, "completed"), ("failed", 2, "failed"), ("failed", 7, "failed"),
     ("stuck", 2, "processing"), ("stuck", 100, "processing")],
)
def test_status_on_path_clamps_at_the_path_end(outcome: str, steps: int, expected: str) -> None:
    assert status_on_path(outcome, steps) == expected


@pytest.mark.parametrize("outcome", ["completed", "failed", "stuck"])
def test_status_along_any_path_is_monotonic(outcome: str) -> None:
    assert_monotonic([status_on_path(outcome, step) for step in range(10)])


@pytest.mark.parametrize(
    ("mode", "elapsed", "expected"),
    [("auto", 0, 2), ("auto", 1.5, 0.5), ("auto", 2, 10), ("auto", 11, 1), ("auto", 12, None),
     ("polls", 0, None), ("immediate", 0, None), ("manual", 0, None)],
)
def test_next_change_in_only_schedules_auto(mode: str, elapsed: float, expected: float | None) -> None:
    assert next_change_in(Progression(mode=mode), elapsed, (2, 10)) == expected  # type: ignore[arg-type]


def test_monotonic_check_detects_a_backwards_sequence() -> None:
    assert_monotonic(["pending", "pending", "processing", "completed", "completed"])
    with pytest.raises(AssertionError, match="backwards"):
        assert_monotonic(["pending", "processing", "pending"])
    with pytest.raises(AssertionError, match="terminal"):
        assert_monotonic(["completed", "failed"])


# -- pure units: VirtualClock ----------------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_clock_follows_its_source_plus_advances() -> None:
    source = FakeTime()
    clock = VirtualClock(source=source)
    assert clock.now() == 1000.0
    source.now = 1005.0
    assert clock.now() == 1005.0
    assert clock.advance(10) == 1015.0
    source.now = 1006.0
    assert clock.now() == 1016.0


def test_frozen_clock_stands_still_until_advanced() -> None:
    source = FakeTime()
    clock = VirtualClock(frozen=True, source=source)
    source.now = 2000.0
    assert clock.frozen and clock.now() == 1000.0
    assert clock.advance(2.5) == 1002.5
    assert clock.now() == 1002.5


def test_unfreeze_resumes_from_the_frozen_moment_without_jumping() -> None:
    source = FakeTime()
    clock = VirtualClock(source=source)
    assert clock.freeze() == 1000.0
    source.now = 1500.0
    clock.advance(7)
    assert clock.unfreeze() == 1007.0
    source.now = 1501.0
    assert not clock.frozen and clock.now() == 1008.0


def test_freeze_twice_keeps_the_first_moment() -> None:
    source = FakeTime()
    clock = VirtualClock(source=source)
    clock.freeze()
    source.now = 1100.0
    assert clock.freeze() == 1000.0


@pytest.mark.parametrize("seconds", [-1.0, -1e-9, float("nan"), float("-inf")])
def test_clock_never_moves_backwards(seconds: float) -> None:
    clock = VirtualClock(frozen=True, source=FakeTime())
    with pytest.raises(ValueError):
        clock.advance(seconds)
    assert clock.now() == 1000.0


# -- through the API ------------------------------------------------------------------------------------


def test_auto_task_moves_on_the_namespace_clock(make_client: Callable[..., TestClient]) -> None:
    client = make_client(frozen_clock=True)
    task_id = create(client)
    seen = [status(client, task_id)]
    for seconds in (1.9, 0.1, 9.8, 0.2, 1000):
        advance(client, seconds)
        seen.append(status(client, task_id))
    assert seen == ["pending", "pending", "processing", "processing", "completed", "completed"]


def test_auto_task_progresses_without_reads_when_the_clock_moves(make_client: Callable[..., TestClient]) -> None:
    client = make_client(frozen_clock=True)
    task_id = create(client)
    advance(client, 2)
    assert admin_status(client, task_id) == "processing"
    advance(client, 10)
    assert admin_status(client, task_id) == "completed"
    task = client.get(f"/_mock/tasks/{task_id}").json()
    assert [h["status"] for h in task["history"]] == ["pending", "processing", "completed"]
    assert task["reads"] == 0


@pytest.mark.parametrize(("speed", "done_after"), [(2.0, 6.0), (10.0, 1.2)])
def test_speed_divides_the_catalog_timings(make_client: Callable[..., TestClient], speed: float,
                                           done_after: float) -> None:
    client = make_client(frozen_clock=True, speed=speed)
    task_id = create(client)
    advance(client, done_after * 0.99)
    assert status(client, task_id) == "processing"
    advance(client, done_after * 0.02)
    assert status(client, task_id) == "completed"


def test_polls_progression_moves_one_step_per_n_reads(client: TestClient) -> None:
    task_id = create(client, {"X-Mock-Progression": "polls:2"})
    seen = [status(client, task_id) for _ in range(6)]
    assert seen == ["pending", "processing", "processing", "completed", "completed", "completed"]


def test_immediate_progression_completes_on_the_first_read(client: TestClient) -> None:
    task_id = create(client, {"X-Mock-Progression": "immediate"})
    assert admin_status(client, task_id) == "pending"  # admin reads are not polls
    assert status(client, task_id) == "completed"


def test_manual_progression_moves_only_by_admin_steps(make_client: Callable[..., TestClient]) -> None:
    client = make_client(frozen_clock=True)
    task_id = create(client, {"X-Mock-Progression": "manual"})
    advance(client, 10_000)
    assert [status(client, task_id) for _ in range(3)] == ["pending"] * 3
    steps = [client.post(f"/_mock/tasks/{task_id}/step", json={}).json()["status"] for _ in range(4)]
    assert steps == ["processing", "completed", "completed", "completed"]
    assert status(client, task_id) == "completed"


@pytest.mark.parametrize(("scenario", "final"), [("failed", "failed"), ("content_policy", "failed"),
                                                 ("success", "completed"), ("stuck", "processing")])
def test_every_outcome_path_is_monotonic(client: TestClient, scenario: str, final: str) -> None:
    task_id = create(client, {"X-Mock-Progression": "polls:1", "X-Mock-Scenario": scenario})
    seen = [status(client, task_id) for _ in range(5)]
    assert_monotonic(seen)
    assert seen[-1] == final


def test_monotonic_check_catches_a_server_that_goes_backwards(client: TestClient,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    broken = ("pending", "processing", "pending", "completed")
    monkeypatch.setattr(lifecycle, "status_on_path", lambda outcome, step: broken[min(step, 3)])
    task_id = create(client, {"X-Mock-Progression": "polls:1"})
    seen = [status(client, task_id) for _ in range(3)]
    with pytest.raises(AssertionError, match="backwards"):
        assert_monotonic(seen)


def test_terminal_status_is_sticky_against_force(client: TestClient) -> None:
    task_id = create(client, {"X-Mock-Progression": "immediate"})
    assert status(client, task_id) == "completed"
    for target in ("pending", "processing", "failed"):
        response = client.post(f"/_mock/tasks/{task_id}/status", json={"status": target})
        assert response.status_code == 409, target
        assert response.json()["error"]["code"] == "invalid_transition"
    assert status(client, task_id) == "completed"


def test_force_cannot_move_a_task_backwards(client: TestClient) -> None:
    task_id = create(client, {"X-Mock-Progression": "manual"})
    assert client.post(f"/_mock/tasks/{task_id}/status", json={"status": "processing"}).json()["status"] \
        == "processing"
    response = client.post(f"/_mock/tasks/{task_id}/status", json={"status": "pending"})
    assert response.status_code == 409
    assert status(client, task_id) == "processing"


def test_forced_status_is_not_undone_by_later_reads(make_client: Callable[..., TestClient]) -> None:
    client = make_client(frozen_clock=True)
    task_id = create(client)  # auto: would still be pending for 2 s
    assert client.post(f"/_mock/tasks/{task_id}/status", json={"status": "processing"}).status_code == 200
    seen = [status(client, task_id)]
    advance(client, 1)
    seen.append(status(client, task_id))
    advance(client, 20)
    seen.append(status(client, task_id))
    assert seen == ["processing", "processing", "completed"]


def test_server_wide_progression_setting_applies(make_client: Callable[..., TestClient]) -> None:
    client = make_client(progression=Progression.parse("immediate"))
    task_id = create(client)
    assert status(client, task_id) == "completed"


def test_namespace_progression_overrides_server_and_header_overrides_both(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(progression=Progression.parse("manual"))
    assert client.put("/_mock/config", json={"progression": "immediate"}).json()["progression"] == "immediate"
    from_namespace = create(client)
    from_header = create(client, {"X-Mock-Progression": "polls:3"})
    assert status(client, from_namespace) == "completed"
    assert status(client, from_header) == "pending"


def test_task_keeps_the_progression_it_was_created_with(client: TestClient) -> None:
    task_id = create(client, {"X-Mock-Progression": "manual"})
    client.put("/_mock/config", json={"progression": "immediate"})
    assert status(client, task_id) == "pending"
    assert client.get(f"/_mock/tasks/{task_id}").json()["progression"] == "manual"
