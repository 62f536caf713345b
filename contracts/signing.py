"""HMAC-SHA256 signing and verification of RunAPI callbacks (pure functions, no I/O).

This file imports only the standard library, so a production webhook handler can use it without the
mock server: `from runapi_contracts.signing import verify`, or copy this one file into the app
(tests/contracts/test_signing.py keeps it that way).

Exceptions, all raised by `verify` (and `InvalidSecret` also by `sign`):

    SignatureError (ValueError)
    ├── InvalidSecret
    ├── MissingHeader
    ├── MalformedHeader
    ├── StaleTimestamp
    ├── FutureTimestamp
    └── SignatureMismatch
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping

__all__ = [
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "FutureTimestamp",
    "InvalidSecret",
    "MalformedHeader",
    "MissingHeader",
    "SignatureError",
    "SignatureMismatch",
    "StaleTimestamp",
    "callback_headers",
    "generate_secret",
    "sign",
    "verify",
]

ID_HEADER = "X-Callback-Id"
TIMESTAMP_HEADER = "X-Callback-Timestamp"
SIGNATURE_HEADER = "X-Callback-Signature"
DEFAULT_TOLERANCE = 300

_HEADERS = (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
# Unix seconds need 10 digits until 2286; the cap keeps int -> float arithmetic from overflowing.
_UNIX_SECONDS = re.compile(r"[0-9]{1,15}")
_DIGEST_SIZE = hashlib.sha256().digest_size


class SignatureError(ValueError):
    """A callback's signature headers do not prove it came from RunAPI."""


class InvalidSecret(SignatureError):
    """The callback secret is not standard padded base64, or decodes to nothing."""


class MissingHeader(SignatureError):
    """A required X-Callback-* header is absent."""

    def __init__(self, header: str) -> None:
        super().__init__(f"missing header {header}")
        self.header = header


class MalformedHeader(SignatureError):
    """An X-Callback-* header is present but cannot be what RunAPI sends."""


class StaleTimestamp(SignatureError):
    """The callback was signed longer ago than the tolerance allows (a possible replay)."""


class FutureTimestamp(SignatureError):
    """The callback claims to be signed further in the future than the tolerance allows."""


class SignatureMismatch(SignatureError):
    """The signature does not match the secret, id, timestamp and raw body."""


def sign(secret: str, callback_id: str, timestamp: int | str, raw_body: bytes) -> str:
    """Return the X-Callback-Signature for one delivery.

    The key is the base64-*decoded* secret and the message is the raw body bytes as sent:
    signing the secret string itself, or re-serialised JSON, are the usual bugs. A timestamp that is not
    Unix seconds raises `MalformedHeader`: `verify` would reject whatever it signed.
    """
    if not _UNIX_SECONDS.fullmatch(str(timestamp)):
        raise MalformedHeader(f"{TIMESTAMP_HEADER} must be Unix seconds (1-15 digits), got {str(timestamp)!r}")
    return base64.b64encode(_digest(_decode_secret(secret), callback_id, str(timestamp), raw_body)).decode()


def verify(
    secret: str,
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
) -> None:
    """Raise a `SignatureError` subclass unless the headers sign `raw_body` with `secret`.

    Header names are matched case-insensitively. A timestamp exactly `tolerance` seconds
    away is accepted. Returns None so that a forgotten check cannot be mistaken for a pass.
    """
    key = _decode_secret(secret)
    lowered = {name.lower(): value for name, value in headers.items()}
    callback_id, timestamp, signature = (_header(lowered, name) for name in _HEADERS)

    if not (callback_id and callback_id.isascii() and callback_id.isprintable()):
        raise MalformedHeader(f"{ID_HEADER} must be a non-empty printable ASCII string, got {callback_id!r}")
    if not _UNIX_SECONDS.fullmatch(timestamp):
        raise MalformedHeader(f"{TIMESTAMP_HEADER} must be Unix seconds (1-15 digits), got {timestamp!r}")
    wanted = f"{SIGNATURE_HEADER} must be base64 of {_DIGEST_SIZE} bytes"
    try:
        received = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedHeader(f"{wanted}, got non-base64 {signature!r}") from None
    if len(received) != _DIGEST_SIZE:
        raise MalformedHeader(f"{wanted}, got {len(received)} bytes")

    current = time.time() if now is None else now
    age = current - int(timestamp)
    if age > tolerance:
        raise StaleTimestamp(f"{TIMESTAMP_HEADER} {timestamp} is {age:.0f}s old (tolerance {tolerance}s)")
    if -age > tolerance:
        raise FutureTimestamp(f"{TIMESTAMP_HEADER} {timestamp} is {-age:.0f}s ahead (tolerance {tolerance}s)")

    # Both sides are 32-byte digests, so compare_digest never sees unequal lengths.
    if not hmac.compare_digest(_digest(key, callback_id, timestamp, raw_body), received):
        raise SignatureMismatch(f"{SIGNATURE_HEADER} does not match the secret, id, timestamp and raw body")


def generate_secret() -> str:
    """Return a fresh callback secret: 32 random bytes, base64-encoded like RunAPI shows them."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def callback_headers(secret: str, callback_id: str, timestamp: int | str, raw_body: bytes) -> dict[str, str]:
    """Return the headers RunAPI sends with one callback delivery."""
    return {
        "Content-Type": "application/json",
        ID_HEADER: callback_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, callback_id, timestamp, raw_body),
    }


def _header(lowered: Mapping[str, str], name: str) -> str:
    try:
        return lowered[name.lower()]
    except KeyError:
        raise MissingHeader(name) from None


def _decode_secret(secret: str) -> bytes:
    try:
        key = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSecret("callback secret must be standard padded base64") from None
    if not key:
        raise InvalidSecret("callback secret decodes to zero bytes")
    return key


def _digest(key: bytes, callback_id: str, timestamp: str, raw_body: bytes) -> bytes:
    return hmac.new(key, f"{callback_id}.{timestamp}.".encode() + raw_body, hashlib.sha256).digest()
