"""The one background loop: wakes when the next clock-timed event is due (task transitions, callback retries).

It sleeps until the earliest due moment or until woken (a task was created, the clock moved), never polls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

logger = logging.getLogger("runapi_mock")

Tick = Callable[[], "float | None"]
MAX_SLEEP = 60.0


class Scheduler:
    def __init__(self, ticks: list[Tick]) -> None:
        self.ticks = ticks
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def wake(self) -> None:
        """Safe from any thread (the pytest plugin advances clocks from the test's thread)."""
        if self._loop is None or self._event is None or self._loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._event.set()
        else:
            self._loop.call_soon_threadsafe(self._event.set)

    def run_once(self) -> float | None:
        delays = []
        for tick in self.ticks:
            try:
                delay = tick()
            except Exception:  # one broken tick must not stop task progress for everyone
                logger.exception("scheduler tick failed")
                delay = 1.0
            if delay is not None:
                delays.append(max(delay, 0.0))
        return min(delays) if delays else None

    async def _run(self) -> None:
        assert self._event is not None and self._loop is not None
        while True:
            delay = self.run_once()
            self._event.clear()
            # A timer that sets the event, not asyncio.wait_for: on 3.11 wait_for can swallow the cancel from
            # stop() when the event was set in the same loop turn, and shutdown would hang.
            timer = self._loop.call_later(min(delay, MAX_SLEEP) if delay is not None else MAX_SLEEP,
                                          self._event.set)
            try:
                await self._event.wait()
            finally:
                timer.cancel()
