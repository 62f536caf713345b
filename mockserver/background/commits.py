"""A --state operation's way to disk: the Commit each submit() gets, and the committer's finish() of a batch.

Apart from state.py, which marks, queues, writes and loads: this is what the creating request waits on.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any


class StateError(ValueError):
    """The state file cannot be used (not SQLite, or written by an incompatible version)."""


class Commit:
    """One operation's changes on their way to disk: it waits for the transaction its batch is written in.

    Every submit() gets its own Commit, so when a batch's transaction fails the committer can write each
    operation apart (a savepoint each): one record SQLite refuses fails its own operation, not the batch.
    """

    __slots__ = ("_blocked", "_done", "_error", "_lock", "_waiters", "rows")

    def __init__(self, rows: list[tuple[str, tuple[Any, ...]]]) -> None:
        self.rows = rows
        self._done = False
        self._error: Exception | None = None
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._blocked: threading.Event | None = None  # made by a blocking wait() only: most waits are async
        self._lock = threading.Lock()

    def settle(self, error: Exception | None) -> list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]:
        """Called by the committer: done (with `error`); the async waiters, for finish() to wake."""
        with self._lock:
            self._error = error
            self._done = True
            waiters, self._waiters = self._waiters, []
            blocked = self._blocked
        if blocked is not None:
            blocked.set()
        return waiters

    def wait(self) -> None:
        """Block until the batch is on disk (raise what the commit raised)."""
        with self._lock:
            if not self._done and self._blocked is None:
                self._blocked = threading.Event()
            blocked = None if self._done else self._blocked
        if blocked is not None:
            blocked.wait()
        if self._error is not None:
            raise StateError(f"could not write the state file: {self._error}") from self._error

    async def wait_async(self) -> None:
        """Wait, without blocking the loop, until the batch is on disk."""
        future: asyncio.Future[None] | None = None
        with self._lock:
            if not self._done:
                loop = asyncio.get_running_loop()
                future = loop.create_future()
                self._waiters.append((loop, future))
        if future is not None:
            await future
        self.wait()


def _resolve(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None)


def finish(commits: list[Commit], errors: list[Exception | None]) -> None:
    """Settle each commit with its error and wake their async waiters: one call into each waiting loop for the
    whole batch (a call_soon_threadsafe is a write to the loop's wake-up pipe, and a turn of the loop to read it)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for commit, error in zip(commits, errors, strict=True):
        for loop, future in commit.settle(error):
            by_loop.setdefault(loop, []).append(future)
    for loop, futures in by_loop.items():
        loop.call_soon_threadsafe(_resolve, futures)
