"""What the engine and the dispatcher tell the rest of the server: typed events, and the store they write through.

The engine publishes an event for every change it makes (to its store first, then to its subscribers, such as
the callback dispatcher) and ends every operation with `store.flush()`. It knows nothing else about either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeAlias

from .delivery import Delivery
from .model import Namespace, Snapshot, Task, Upload


@dataclass(slots=True)
class TaskCreated:
    namespace: Namespace
    task: Task
    idempotency_key: str | None = None
    fingerprint: str = ""


@dataclass(slots=True)
class TaskUpdated:
    """A task's counters or failure changed (a status read, a manual step) but not its status."""

    namespace: Namespace
    task: Task


@dataclass(slots=True)
class TaskMoved:
    """A task reached a status that is not the end (processing)."""

    namespace: Namespace
    task: Task


@dataclass(slots=True)
class TaskTerminal:
    """A task ended (completed or failed); its credits are settled or refunded."""

    namespace: Namespace
    task: Task


@dataclass(slots=True)
class TaskForgotten:
    """A task was pruned (retention or the per-namespace cap); its reservation was refunded."""

    namespace: Namespace
    task: Task


@dataclass(slots=True)
class NamespaceChanged:
    """A namespace was opened or its clock or config changed; `key`'s balance too, when given."""

    namespace: Namespace
    key: str | None = None


@dataclass(slots=True)
class NamespaceReset:
    """A namespace (None: every namespace) is gone: reset by the admin API, or `evicted` as least recently used."""

    name: str | None
    evicted: bool = False


@dataclass(slots=True)
class UploadStored:
    """An upload was kept (the files API, through the engine's upload book)."""

    namespace: Namespace
    upload: Upload


@dataclass(slots=True)
class UploadDeleted:
    """An upload was deleted (/v1/files, the admin API) or forgotten past the retention."""

    namespace: Namespace
    upload_id: str


@dataclass(slots=True)
class DeliveryChanged:
    delivery: Delivery


@dataclass(slots=True)
class DeliveryForgotten:
    delivery: Delivery


Event: TypeAlias = (TaskCreated | TaskUpdated | TaskMoved | TaskTerminal | TaskForgotten | NamespaceChanged
                    | NamespaceReset | DeliveryChanged | DeliveryForgotten | UploadStored | UploadDeleted)


class Pending(Protocol):
    """Changes on their way to disk: done once written (group commit lets many operations share one)."""

    def wait(self) -> None: ...

    async def wait_async(self) -> None: ...


class Store(Protocol):
    """Where state goes: `record` marks what an event changed (cheap), `flush` commits everything marked;
    `submit` hands it to be committed and returns what to wait on (None: nothing to wait for)."""

    def record(self, event: Event) -> None: ...

    def flush(self) -> None: ...

    def submit(self) -> Pending | None: ...

    def get_meta(self, name: str) -> str | None: ...

    def set_meta(self, name: str, value: str | None) -> None: ...

    def load(self) -> Snapshot: ...

    def close(self) -> None: ...


class NullStore:
    """Memory mode: nothing is kept, nothing is loaded."""

    def record(self, event: Event) -> None:
        pass

    def flush(self) -> None:
        pass

    def submit(self) -> Pending | None:
        return None

    def get_meta(self, name: str) -> str | None:
        return None

    def set_meta(self, name: str, value: str | None) -> None:
        pass

    def load(self) -> Snapshot:
        return Snapshot()

    def close(self) -> None:
        pass


NULL_STORE = NullStore()
