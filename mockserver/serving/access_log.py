"""The console's request log for `runapi-mock serve`: a line per request and per callback attempt.

Text (coloured only on a terminal) or JSON, one object a line. Lines go through a bounded queue to a writer
thread, so a console nobody reads (a full pipe, a paused terminal) never stalls the server: past the queue's
size lines are dropped, and the writer says how many once it can write again.
"""

from __future__ import annotations

import datetime
import json
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TextIO

from starlette.applications import Starlette

from ..engine.delivery import Attempt, Delivery
from ..settings import LOG_FORMATS

QUIET_READS = "/_mock"  # GET/HEAD under it (admin reads, the dashboard and its stream) are not logged
_CAPACITY = 10_000
_RESET, _DIM = "\x1b[0m", "\x1b[2m"
_STATUS_COLOURS = {2: "\x1b[32m", 3: "\x1b[36m", 4: "\x1b[33m", 5: "\x1b[31m"}  # green, cyan, yellow, red
_FAILED_COLOUR = "\x1b[31m"


@dataclass(frozen=True, slots=True)
class Line:
    """One request the mock answered, or one callback attempt it made (`kind` "callback", `path` its URL)."""

    at: float  # wall clock, time.time()
    method: str
    path: str
    status: int | None  # None: a callback attempt that got no answer (see `error`)
    latency_ms: float | None
    task_id: str | None = None
    scenario: str | None = None
    namespace: str | None = None
    kind: str = "request"
    attempt: int | None = None
    error: str | None = None


Listener = Callable[[Line], None]


def callback_line(delivery: Delivery, attempt: Attempt) -> Line:
    """An answered (or failed) callback attempt as a line: POST to its URL, the receiver's status."""
    return Line(at=time.time(), method="POST", path=delivery.url, status=attempt.status_code,
                latency_ms=attempt.latency_ms, task_id=delivery.task_id, namespace=delivery.namespace,
                kind="callback", attempt=attempt.number, error=attempt.error if attempt.status_code is None else None)


def attach(app: Starlette, stream: TextIO, fmt: str) -> AccessLog:
    """Log `app`'s requests and callback attempts to `stream`; start() it once the banner is out."""
    log = AccessLog(stream, fmt)
    app.state.request_listeners.append(log.add)
    app.state.dispatcher.on_attempt.append(lambda delivery, attempt: log.add(callback_line(delivery, attempt)))
    return log


def logged(method: str, path: str) -> bool:
    """Whether a request gets a line: all but reads of the mock's own control surface (the dashboard polls it)."""
    under = path == QUIET_READS or path.startswith(QUIET_READS + "/")
    return not (under and method in ("GET", "HEAD"))


def text(line: Line, colour: bool = False) -> str:
    """`12:00:01.234 POST /api/v1/... 200 3.1 ms task=... scenario=... ns=...`; callbacks start `callback`."""
    clock = datetime.datetime.fromtimestamp(line.at).strftime("%H:%M:%S.%f")[:-3]
    status = "-" if line.status is None else str(line.status)
    if colour:
        tone = _STATUS_COLOURS.get(line.status // 100, "") if line.status is not None else _FAILED_COLOUR
        clock, status = f"{_DIM}{clock}{_RESET}", f"{tone}{status}{_RESET}" if tone else status
    latency = "-" if line.latency_ms is None else f"{line.latency_ms:.1f} ms"
    parts = [clock, *(["callback"] if line.kind == "callback" else []), line.method, line.path, status, latency]
    tags = {"task": line.task_id, "scenario": line.scenario, "ns": line.namespace, "attempt": line.attempt}
    parts += [f"{name}={value}" for name, value in tags.items() if value is not None]
    if line.error is not None:
        parts.append(f"error={json.dumps(line.error, ensure_ascii=False)}")
    return " ".join(parts)


def as_json(line: Line) -> str:
    """One JSON object: `time` (ISO 8601, UTC) and every field of `Line` but `at`, nulls included."""
    stamp = datetime.datetime.fromtimestamp(line.at, datetime.timezone.utc).isoformat(timespec="milliseconds")
    fields = asdict(line)
    del fields["at"]
    return json.dumps({"time": stamp.replace("+00:00", "Z"), **fields}, ensure_ascii=False, separators=(",", ":"))


class AccessLog:
    """Writes `Line`s to `stream` in `fmt`, from a thread of its own; `add` never blocks."""

    def __init__(self, stream: TextIO, fmt: str = "text", *, colour: bool | None = None,
                 capacity: int = _CAPACITY) -> None:
        if fmt not in LOG_FORMATS:
            raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {fmt!r}")
        self.stream, self.fmt = stream, fmt
        # Colour only for a person at a terminal, and not when they asked for none (https://no-color.org).
        self.colour = colour if colour is not None else stream.isatty() and not os.environ.get("NO_COLOR")
        self._lines: queue.Queue[Line | None] = queue.Queue(capacity)
        self._dropped = 0
        self._thread: threading.Thread | None = None

    def add(self, line: Line) -> None:
        try:
            self._lines.put_nowait(line)
        except queue.Full:
            self._dropped += 1  # a count for the notice; a race with the writer may lose one

    def start(self) -> None:
        """Begin writing (after the banner: lines logged before wait in the queue)."""
        self._thread = threading.Thread(target=self._write, name="runapi-mock-access-log", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Write what is queued, for up to `timeout` seconds (a stuck console is left behind)."""
        deadline = time.monotonic() + timeout
        while self._thread is not None and self._thread.is_alive() and time.monotonic() < deadline:
            try:
                self._lines.put(None, timeout=0.05)
                break
            except queue.Full:
                continue
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))

    def format(self, line: Line) -> str:
        return as_json(line) if self.fmt == "json" else text(line, self.colour)

    def _write(self) -> None:
        while (line := self._lines.get()) is not None:
            out = self.format(line) + "\n"
            dropped, self._dropped = self._dropped, 0
            if dropped:
                out = f"runapi-mock: {dropped} log lines dropped (the console was not read fast enough)\n" + out
            try:
                self.stream.write(out)
                self.stream.flush()
            except (OSError, ValueError):  # the console went away (a closed pipe): stop writing, keep serving
                return
