"""The background scheduler: ticks run when woken or when due, and stop() always returns."""

from __future__ import annotations

import asyncio

from runapi_mock.background.scheduler import Scheduler


def test_stop_returns_even_right_after_a_wake() -> None:
    """A wake in the same loop turn as stop() once swallowed the cancel (asyncio.wait_for on 3.11): a hang."""

    async def cycle() -> None:
        scheduler = Scheduler([lambda: None])
        scheduler.start()
        await asyncio.sleep(0)
        scheduler.wake()
        stopping = asyncio.ensure_future(scheduler.stop())
        # wait() never cancels: a hang stays visible. 30 s bounds a hang only: stop() takes a few loop turns,
        # and a process stalled past the bound (a loaded machine) would report a hang that was not one.
        done, _ = await asyncio.wait({stopping}, timeout=30)
        assert stopping in done, "Scheduler.stop() hung"

    async def many() -> None:
        for _ in range(50):
            await cycle()

    asyncio.run(many())


def test_a_wake_runs_the_ticks_again_and_a_due_delay_runs_them_later() -> None:
    calls: list[str] = []
    delays = iter([None, 0.01, None])

    def tick() -> float | None:
        calls.append("tick")
        return next(delays, None)

    async def scenario() -> None:
        scheduler = Scheduler([tick])
        scheduler.start()
        await asyncio.sleep(0)
        assert calls == ["tick"]  # the first pass at start; it asked for nothing timed
        scheduler.wake()
        while len(calls) < 3:  # woken once, then the 0.01 s delay it returned brings the third pass
            await asyncio.sleep(0.005)
        await asyncio.wait_for(scheduler.stop(), timeout=30)

    asyncio.run(asyncio.wait_for(scenario(), timeout=60))  # bounds a hang; the outcome is the calls, not time
    assert calls == ["tick", "tick", "tick"]
