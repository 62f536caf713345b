"""A byte-bounded, thread-safe LRU cache of rendered files, for any kind of output.

Why: a video takes a fraction of a second to a second or two to render, so the server renders in worker
threads (off the event loop) and keeps the result for repeated downloads, within a memory bound. The
cache knows nothing about media: a key and a zero-argument render function. Concurrent requests for a
key that is being rendered wait for that one render instead of starting their own (a burst of downloads
of a new 4k video costs one render, not one per request). A file larger than the whole bound is returned
but not kept, so it cannot evict everything else.

`images.ImageCache` is the same idea for images only (its own render arguments; an oversize image is stored
and then evicts everything). It can become a thin wrapper over this class when images.py moves into this
package; it is left alone here so that move does not conflict.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future

__all__ = ["RenderCache"]


class RenderCache:
    """LRU of rendered bytes, bounded by their total size (`max_bytes`); least recently used go first."""

    def __init__(self, max_bytes: int = 256 * 1024 * 1024) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._pending: dict[str, Future[bytes]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return self._size

    def resize(self, max_bytes: int) -> None:
        """Change the bound, evicting the least recently used past it at once."""
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        with self._lock:
            self.max_bytes = max_bytes
            while self._size > self.max_bytes and self._entries:
                _, evicted = self._entries.popitem(last=False)
                self._size -= len(evicted)

    def get(self, key: str) -> bytes | None:
        """The cached bytes (now the most recently used), or None."""
        with self._lock:
            data = self._entries.get(key)
            if data is not None:
                self._entries.move_to_end(key)
            return data

    def put(self, key: str, data: bytes) -> None:
        """Keep `data` under `key`, evicting the least recently used past the bound."""
        with self._lock:
            self._store(key, data)

    def _store(self, key: str, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._size -= len(old)
        self._entries[key] = data
        self._size += len(data)
        while self._size > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._size -= len(evicted)

    def get_or_render(self, key: str, render: Callable[[], bytes]) -> bytes:
        """The cached bytes for `key`, else `render()`'s, stored. Only one thread renders a given key at a
        time; the others wait for its result (or its exception). Rendering runs outside the lock."""
        with self._lock:
            data = self._entries.get(key)
            if data is not None:
                self._entries.move_to_end(key)
                return data
            pending = self._pending.get(key)
            owner = pending is None
            if pending is None:
                pending = self._pending[key] = Future()
        if not owner:
            return pending.result()
        try:
            data = render()
        except BaseException as exc:
            with self._lock:
                del self._pending[key]
            pending.set_exception(exc)
            raise
        with self._lock:
            self._store(key, data)
            del self._pending[key]
        pending.set_result(data)
        return data
