"""A small HTTP/1.1 load generator: N keep-alive connections on raw asyncio streams, latencies per request.

Used by bench/run.py when `wrk` is not installed, and always for the multi-request scenarios wrk cannot chain
(lifecycle, callbacks, memory fill). Run it as its own process so the server's CPU is measured fairly:

    python bench/loadgen.py --url http://127.0.0.1:8787 --scenario create --connections 32 --duration 5

It prints one JSON object: units (completed scenarios), requests, errors, statuses, elapsed, rate (units/s),
and request latency p50/p90/p99/max in milliseconds. Loopback targets only.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit

DEFAULT_BODY = {"model": "flux-kontext-pro", "prompt": "a red bicycle leaning on a wall"}
CREATE_PATH = "/api/v1/flux_kontext/text_to_image"


class HTTPError(Exception):
    pass


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closes it."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.base_headers = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None

    def build(self, method: str, path: str, body: bytes | None = None) -> bytes:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.base_headers}"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        return head.encode("latin-1") + b"\r\n" + (body or b"")

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        """Send a prebuilt request, return (status, body). One retry on a connection the server had closed."""
        for attempt in (1, 2):
            if self.writer is None:
                await self._connect()
            assert self.reader is not None and self.writer is not None
            try:
                self.writer.write(raw)
                return await self._read()
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                await self.close()
                if attempt == 2:
                    raise HTTPError(str(exc)) from exc
        raise AssertionError("unreachable")

    async def _read(self) -> tuple[int, bytes]:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, chunked, close = None, False, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(data[:-2])
            body = b"".join(parts)
        else:
            body = await self.reader.readexactly(length or 0)
        if close:
            await self.close()
        return status, body


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.units = 0
        self.errors = 0
        self.bad = 0  # scenario-level failures (unexpected status, missing image, ...)

    def record(self, status: int, seconds: float) -> None:
        self.latencies.append(seconds)
        self.statuses[status] = self.statuses.get(status, 0) + 1


async def timed(conn: Connection, stats: Stats, raw: bytes) -> tuple[int, bytes]:
    started = time.perf_counter()
    status, body = await conn.send(raw)
    stats.record(status, time.perf_counter() - started)
    return status, body


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def scenario_create(conn: Connection, stats: Stats, args: argparse.Namespace, raw: bytes) -> None:
    status, _ = await timed(conn, stats, raw)
    if 200 <= status < 300:
        stats.units += 1
    else:
        stats.bad += 1


async def scenario_get(conn: Connection, stats: Stats, args: argparse.Namespace, raw: bytes) -> None:
    status, _ = await timed(conn, stats, raw)
    if 200 <= status < 300:
        stats.units += 1
    else:
        stats.bad += 1


async def scenario_lifecycle(conn: Connection, stats: Stats, args: argparse.Namespace, raw: bytes) -> None:
    """Create, poll the status route until completed, fetch the first image."""
    status, body = await timed(conn, stats, raw)
    if status != 200:
        stats.bad += 1
        return
    task_id = json.loads(body)["task_id"]
    for _ in range(20):
        status, body = await timed(conn, stats, conn.build("GET", f"{args.path}/{task_id}"))
        task = json.loads(body) if status == 200 else {}
        if task.get("status") in ("completed", "failed"):
            break
    if task.get("status") != "completed":
        stats.bad += 1
        return
    status, image = await timed(conn, stats, conn.build("GET", _path(task["images"][0]["url"])))
    if status == 200 and image[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xdb"):
        stats.units += 1
    else:
        stats.bad += 1


async def scenario_callback(conn: Connection, stats: Stats, args: argparse.Namespace, raw: bytes) -> None:
    """Create with a callback_url, read the status once (immediate progression ends the task)."""
    status, body = await timed(conn, stats, raw)
    if status != 200:
        stats.bad += 1
        return
    task_id = json.loads(body)["task_id"]
    status, body = await timed(conn, stats, conn.build("GET", f"{args.path}/{task_id}"))
    if status == 200 and json.loads(body).get("status") == "completed":
        stats.units += 1
    else:
        stats.bad += 1


SCENARIOS = {"create": scenario_create, "get": scenario_get, "lifecycle": scenario_lifecycle,
             "callback": scenario_callback}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    target = urlsplit(args.url)
    host, port = target.hostname or "127.0.0.1", target.port or 80
    if not (host == "localhost" or ipaddress.ip_address(host).is_loopback):
        raise SystemExit(f"loadgen: refusing non-loopback target {host!r}")
    headers = {"Authorization": f"Bearer {args.key}", "User-Agent": "runapi-bench"}
    for header in args.header:
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    body = json.loads(args.body) if args.body else dict(DEFAULT_BODY)
    if args.scenario == "callback":
        body["callback_url"] = args.callback_url
    payload = json.dumps(body, separators=(",", ":")).encode()
    scenario = SCENARIOS[args.scenario]
    stats = Stats()
    remaining = [args.total] if args.total else None
    stop_at = time.perf_counter() + (args.duration if not args.total else 10 ** 9)
    deadline = time.perf_counter() + args.max_seconds

    def take() -> bool:
        if remaining is None:
            return time.perf_counter() < stop_at
        if remaining[0] <= 0 or time.perf_counter() > deadline:
            return False
        remaining[0] -= 1
        return True

    async def worker() -> None:
        conn = Connection(host, port, headers)
        raw = conn.build("POST", args.path, payload) if args.scenario != "get" else conn.build("GET", args.path)
        try:
            while take():
                try:
                    await scenario(conn, stats, args, raw)
                except (HTTPError, OSError, ValueError, KeyError, asyncio.IncompleteReadError):
                    stats.errors += 1
                    await conn.close()
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.connections)))
    elapsed = time.perf_counter() - started
    lat = sorted(stats.latencies)

    def pct(q: float) -> float | None:
        return round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 3) if lat else None

    return {
        "scenario": args.scenario, "connections": args.connections, "units": stats.units,
        "requests": len(lat), "errors": stats.errors, "bad": stats.bad,
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "elapsed": round(elapsed, 4), "rate": round(stats.units / elapsed, 2) if elapsed else 0.0,
        "request_rate": round(len(lat) / elapsed, 2) if elapsed else 0.0,
        "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": pct(1.0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="base URL (loopback only)")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="create")
    parser.add_argument("--path", default=CREATE_PATH, help="create path (status reads append /{id})")
    parser.add_argument("--body", default=None, help="JSON body for creates")
    parser.add_argument("--header", action="append", default=[], help="extra 'Name: value' header")
    parser.add_argument("--key", default="bench-key")
    parser.add_argument("--callback-url", default=None)
    parser.add_argument("--connections", "-c", type=int, default=32)
    parser.add_argument("--duration", "-d", type=float, default=5.0, help="seconds (ignored with --total)")
    parser.add_argument("--total", type=int, default=0, help="stop after this many scenarios instead")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="hard stop for --total runs")
    args = parser.parse_args(argv)
    if args.scenario == "callback" and not args.callback_url:
        parser.error("--scenario callback needs --callback-url")
    result = asyncio.run(run(args))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
