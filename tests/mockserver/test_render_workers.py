"""Videos encode in niced worker processes (render_workers.py): the same bytes as in-process, a lower priority than
the server's threads, errors raised to the caller, and a render in the calling thread when the pool is broken."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool

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


def test_workers_run_at_a_lower_priority_than_the_server() -> None:
    pool = render_workers._executor()
    assert pool is not None
    assert pool.submit(os.nice, 0).result() == min(19, os.nice(0) + render_workers.NICE)


def test_a_bad_spec_raises_its_error_to_the_caller() -> None:
    with pytest.raises(ValueError, match="video size"):
        render_workers.render_video(VideoSpec("task-workers", 1, 1, 1.0))


def test_a_broken_pool_renders_in_the_calling_thread_and_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = render_workers._executor()
    assert broken is not None

    def fail(*args: object, **kwargs: object) -> None:
        raise BrokenProcessPool("a worker was killed")

    monkeypatch.setattr(broken, "submit", fail)
    assert render_workers.render_video(SPEC) == render_video(SPEC)
    assert render_workers._executor() is not broken
