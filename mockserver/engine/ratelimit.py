"""Per-key limits: requests per minute (sliding window) and concurrent active tasks."""

from __future__ import annotations

from collections import deque

from ..errors import RateLimited

WINDOW = 60.0


class RateLimiter:
    """Sliding one-minute window of request times per key, on the namespace's clock."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str, now: float) -> None:
        if self.per_minute <= 0:
            return
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - WINDOW:
            hits.popleft()
        if len(hits) >= self.per_minute:
            # The oldest request in the window leaves it at hits[0] + WINDOW: that is when a slot frees.
            raise RateLimited(
                f"Rate limit of {self.per_minute} requests per minute exceeded",
                retry_after=max(hits[0] + WINDOW - now, 1),
            )
        hits.append(now)


def check_concurrency(limit: int, active: int, frees_in: float | None) -> None:
    """429 when `active` tasks already fill `limit`; Retry-After is when the first one ends, if known."""
    if limit > 0 and active >= limit:
        raise RateLimited(
            f"Too many active tasks: {active} of {limit} allowed",
            code="too_many_active_tasks",
            retry_after=max(frees_in if frees_in is not None else 1, 1),
        )
