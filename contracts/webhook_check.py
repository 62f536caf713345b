"""Probe a user's webhook handler with signed and forged callbacks, and judge its answers."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import httpx

from .signing import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, callback_headers, generate_secret, sign

__all__ = [
    "CASES",
    "Case",
    "CaseResult",
    "HandlerUnreachable",
    "WebhookReport",
    "assert_webhook_secure",
    "callback_body",
    "check_webhook",
    "send_callback",
]

Expect = Literal["accept", "reject", "acknowledge"]
Clock = Callable[[], float]


class HandlerUnreachable(Exception):
    """The webhook handler could not be connected to; its message is one line, "cannot reach <url>: …"."""


@dataclass(frozen=True)
class Case:
    """One probe: what it sends, and whether a secure handler should take it."""

    name: str
    description: str
    expect: Expect


# Past the 300 s tolerance by a minute: the case is dated by this tool's clock and checked a moment later by
# the handler's, and 301 s failed to be "future" whenever the check crossed a second boundary.
_SKEW = 360

CASES = (
    Case("valid", "correctly signed callback", "accept"),
    Case("tampered_body", "body changed after signing", "reject"),
    Case("wrong_secret", "signed with another secret", "reject"),
    Case("stale_timestamp", f"signed {_SKEW} s ago", "reject"),
    Case("future_timestamp", f"signed {_SKEW} s in the future", "reject"),
    Case("missing_id", f"no {ID_HEADER} header", "reject"),
    Case("missing_timestamp", f"no {TIMESTAMP_HEADER} header", "reject"),
    Case("missing_signature", f"no {SIGNATURE_HEADER} header", "reject"),
    Case("malformed_signature", "signature is not base64", "reject"),
    Case("reserialised_body", "body re-indented after signing the compact original", "reject"),
    Case("undecoded_secret", "HMAC keyed with the secret string, not its base64 decoding", "reject"),
    Case("replay", "valid callback's id again, freshly signed (a retry)", "acknowledge"),
)


@dataclass(frozen=True)
class CaseResult:
    """How the handler answered one case; `accepted` means a 2xx."""

    case: Case
    status_code: int | None
    accepted: bool
    ok: bool
    error: str | None = None

    @property
    def verdict(self) -> str:
        if not self.ok:
            return "FAIL"
        # A retry RunAPI sees rejected is retried again; worth saying, not worth failing.
        return "ok" if self.accepted or self.case.expect != "acknowledge" else "note: retry not acknowledged"


@dataclass
class WebhookReport:
    """Every case's result; `passed` is False if a forgery got a 2xx or the valid callback did not."""

    url: str
    results: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(result.ok for result in self.results)

    def failures(self) -> list[CaseResult]:
        return [result for result in self.results if not result.ok]

    def table(self) -> str:
        rows = [("case", "expected", "handler answered", "verdict")]
        for r in self.results:
            answered = str(r.status_code) if r.status_code is not None else f"no answer ({r.error})"
            rows.append((r.case.name, r.case.expect, answered, r.verdict))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[3]]) for row in rows]
        return "\n".join(line.rstrip() for line in lines)


def callback_body(status: Literal["completed", "failed"] = "completed", task_id: str | None = None) -> bytes:
    """Return a compact JSON callback payload, as RunAPI would send for a finished task."""
    payload: dict[str, object] = {"id": task_id or str(uuid.uuid4()), "status": status}
    if status == "completed":
        payload["images"] = [{"url": "http://127.0.0.1/files/x.png"}]
        payload["usage"] = {"cost": 0.05, "generated_images": 1}
    else:
        payload["error"] = "Content policy violation"
    return json.dumps(payload, separators=(",", ":")).encode()


def send_callback(
    url: str,
    secret: str,
    *,
    status: Literal["completed", "failed"] = "completed",
    task_id: str | None = None,
    client: httpx.Client | None = None,
    now: Clock = time.time,
) -> httpx.Response:
    """POST one correctly signed callback to `url`; transport errors propagate."""
    body = callback_body(status, task_id)
    headers = callback_headers(secret, str(uuid.uuid4()), int(now()), body)
    with _client(client) as http:
        return http.post(url, content=body, headers=headers)


def check_webhook(
    url: str, secret: str, *, client: httpx.Client | None = None, now: Clock = time.time
) -> WebhookReport:
    """Send every case in `CASES` to the handler at `url` and record how it answered each.

    Raises `HandlerUnreachable` when a case cannot even connect: a handler that is down rejects every
    forgery only in the sense that it rejects everything, which must not read as a pass.
    """
    report = WebhookReport(url)
    valid_id = str(uuid.uuid4())
    valid_body = callback_body()
    with _client(client) as http:
        for case in CASES:
            callback_id = valid_id if case.name in ("valid", "replay") else str(uuid.uuid4())
            body = valid_body if case.name in ("valid", "replay") else callback_body()
            sent_body, headers = _forge(case.name, secret, callback_id, int(now()), body)
            report.results.append(_send(http, url, case, sent_body, headers))
    return report


def assert_webhook_secure(
    url: str, secret: str, *, client: httpx.Client | None = None, now: Clock = time.time
) -> WebhookReport:
    """Run `check_webhook` and raise `AssertionError` with the table unless the handler passed."""
    report = check_webhook(url, secret, client=client, now=now)
    if not report.passed:
        names = ", ".join(result.case.name for result in report.failures())
        raise AssertionError(f"runapi-mock: webhook handler at {url} failed: {names}\n{report.table()}")
    return report


def _forge(name: str, secret: str, callback_id: str, ts: int, body: bytes) -> tuple[bytes, dict[str, str]]:
    # Every case starts from a correct delivery and breaks exactly one thing.
    if name in ("stale_timestamp", "future_timestamp"):
        ts += -_SKEW if name == "stale_timestamp" else _SKEW
    headers = callback_headers(secret, callback_id, ts, body)
    if name == "tampered_body":
        payload = json.loads(body)
        payload["images"] = [{"url": "http://127.0.0.1/files/forged.png"}]
        body = json.dumps(payload, separators=(",", ":")).encode()
    elif name == "wrong_secret":
        headers = callback_headers(generate_secret(), callback_id, ts, body)
    elif name.startswith("missing_"):
        missing = {"missing_id": ID_HEADER, "missing_timestamp": TIMESTAMP_HEADER}.get(name, SIGNATURE_HEADER)
        del headers[missing]
    elif name == "malformed_signature":
        headers[SIGNATURE_HEADER] = "%not-base64%"
    elif name == "reserialised_body":
        body = json.dumps(json.loads(body), indent=2).encode()
    elif name == "undecoded_secret":
        # sign() decodes its secret, so encoding the secret string once more keys the HMAC with that string.
        headers[SIGNATURE_HEADER] = sign(base64.b64encode(secret.encode()).decode(), callback_id, ts, body)
    return body, headers


def _send(http: httpx.Client, url: str, case: Case, body: bytes, headers: dict[str, str]) -> CaseResult:
    import httpx  # here, not at import: `runapi-mock serve` loads this module and starts faster without httpx

    # No connection at all: nothing was sent, so no case says anything about the handler.
    unreachable = (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol)
    try:
        response = http.post(url, content=body, headers=headers)
    except unreachable as exc:
        reason = " ".join(str(exc).split()) or "no reason given"
        raise HandlerUnreachable(f"cannot reach {url}: {type(exc).__name__}: {reason}") from exc
    except httpx.HTTPError as exc:  # connected, then no answer (a timeout, a dropped connection): not accepted
        return CaseResult(case, None, accepted=False, ok=case.expect != "accept", error=_no_answer(exc))
    accepted = response.is_success
    ok = case.expect == "acknowledge" or accepted == (case.expect == "accept")
    return CaseResult(case, response.status_code, accepted, ok)


def _no_answer(exc: Exception) -> str:
    """One outcome per cause: a handler that hangs up ends as a clean close (RemoteProtocolError), a reset
    (ReadError) or a broken pipe (WriteError), depending on the timing of its close against our send."""
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out: {type(exc).__name__}"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.CloseError)):
        return "connection closed without a response"
    return f"{type(exc).__name__}: {exc}"


@contextmanager
def _client(client: httpx.Client | None) -> Iterator[httpx.Client]:
    if client is not None:
        yield client
        return
    # 10 s is RunAPI's deadline for a 2xx. One connection per delivery, as a webhook sender does;
    # keep-alive would also hit 40 ms Nagle/delayed-ACK stalls against some servers (uvicorn).
    import httpx

    with httpx.Client(timeout=10.0, headers={"Connection": "close"}) as owned:
        yield owned
