"""Videos encode in niced worker processes (render_workers.py): the same bytes as in-process, a lower priority than
the server's threads, errors raised to the caller, and a render in the calling thread when a worker dies."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from runapi_mock.media import VideoSpec, caption, render_video, render_workers

SPEC = VideoSpec("task-workers", 320, 180, 2.0, label=caption("kling-3.0", 320, 180, 2.0, "task-workers", "a kite"),
                 with_audio=True)


@pytest.fixture(autouse=True)
def fresh_pool() -> Iterator[None]:
    render_workers.shutdown()
    yield
    render_workers.shutdown()


def test_a_worker_renders_the_same_bytes_as_the_calling_thread() -> None:
    assert render_workers.render_video(SPEC) == render_video(SPEC)


def _worker() -> render_workers._Worker:
    render_workers.render_video(SPEC)
    assert len(render_workers._idle) == 1
    return render_workers._idle[0]


def test_workers_run_at_a_lower_priority_than_the_server() -> None:
    worker = _worker()
    expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + render_workers.NICE)
    assert os.getpriority(os.PRIO_PROCESS, worker.proc.pid) == expected


def test_a_bad_spec_raises_its_error_to_the_caller_and_the_worker_serves_on() -> None:
    worker = _worker()
    with pytest.raises(ValueError, match="video size"):
        render_workers.render_video(VideoSpec("task-workers", 1, 1, 1.0))
    assert render_workers._idle == [worker] and worker.proc.poll() is None


def test_a_dead_worker_renders_in_the_calling_thread_and_is_replaced() -> None:
    dead = _worker()
    dead.proc.kill()
    dead.proc.wait()
    assert render_workers.render_video(SPEC) == render_video(SPEC)
    assert dead not in render_workers._idle
    assert render_workers.render_video(SPEC) == render_video(SPEC)
    assert len(render_workers._idle) == 1 and render_workers._idle[0].proc.poll() is None


def test_renders_at_once_are_bounded_by_the_workers() -> None:
    specs = [VideoSpec(f"task-{n}", 160, 90, 1.0) for n in range(4)]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(render_workers.render_video, specs)) == [render_video(spec) for spec in specs]
    assert 1 <= len(render_workers._idle) <= render_workers.WORKERS


def test_a_worker_that_cannot_start_turns_the_workers_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_workers, "_command", lambda: [sys.executable, "-c", "pass"])  # exits at once
    assert render_workers.render_video(SPEC) == render_video(SPEC)
    monkeypatch.setattr(render_workers, "_command", lambda: pytest.fail("started a worker again"))
    assert render_workers.render_video(SPEC) == render_video(SPEC)
    assert render_workers._idle == []
