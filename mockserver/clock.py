"""The mock's clock: wall time that can be frozen and advanced, so tests never sleep."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# The latest moment a clock reaches: 3000-01-01T00:00:00Z. Dates the mock writes (an upload's expires_at, the
# clock plus --file-ttl) must stay below year 10000, where datetime stops; an advance past it is refused.
LATEST = 32503680000.0


class ClockRangeError(ValueError):
    """An advance that would take the clock past `LATEST`."""


class VirtualClock:
    """Seconds since the epoch: wall time plus an offset, stopped while frozen.

    Advancing never moves time backwards, so task statuses computed from it only move forward.
    """

    def __init__(self, *, frozen: bool = False, source: Callable[[], float] = time.time) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = source() if frozen else None

    def now(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return self._source() + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def advance(self, seconds: float) -> float:
        if not seconds >= 0:  # also rejects NaN
            raise ValueError("seconds must be a non-negative number")
        with self._lock:
            now = self._frozen_at if self._frozen_at is not None else self._source() + self._offset
            if now + seconds > LATEST:
                raise ClockRangeError(f"advancing by {seconds:g} s would take the clock past the year 3000, "
                                      f"the latest it goes ({LATEST - now:.0f} s from now)")
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds
        return self.now()

    def freeze(self) -> float:
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = self._source() + self._offset
            return self._frozen_at

    def unfreeze(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - self._source()
                self._frozen_at = None
            return self._source() + self._offset

    def state(self) -> tuple[float, float | None]:
        """(offset from wall time, frozen time or None): what `--state` keeps so the clock resumes where it was."""
        with self._lock:
            return self._offset, self._frozen_at

    def restore(self, offset: float, frozen_at: float | None) -> None:
        with self._lock:
            self._offset, self._frozen_at = offset, frozen_at
