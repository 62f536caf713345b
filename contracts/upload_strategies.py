"""Hypothesis strategies for the files API: base64 uploads, direct uploads (prepare → PUT → confirm) paired with
the bytes they carry, and requests that each break one rule. Import them from `runapi_contracts.strategies`.

Every file is tiny (at most a few hundred bytes): a conformance run sends these to the live service too, which
keeps what it is sent. URL sources are not drawn: whether a server may fetch a URL is the server's own rule (the
mock fetches only loopback), so a check builds those from an upload it has made.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from PIL import Image, features

from .plans import TEXT

__all__ = [
    "FILES",
    "JAVA_SMOKE",
    "PREPARE",
    "PUT",
    "InvalidUpload",
    "PrepareRequest",
    "UploadRequest",
    "invalid_upload_requests",
    "md5_base64",
    "prepare_requests",
    "upload_requests",
]

FILES, PREPARE, PUT = "POST /api/v1/files", "POST /api/v1/files/prepare", "PUT {upload_url}"
KINDS = ("image", "text", "bytes")
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", *(("WEBP",) if features.check("webp") else ()))
_EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp", "text": ".txt", "bytes": ".bin"}
OCTET_STREAM = "application/octet-stream"
# Characters no base64 alphabet has (":" left out: it could make "data:" of a URL's start).
_NOT_BASE64 = "!$%&*?@#^~"
_UNKNOWN_SOURCE_TYPES = ("file", "path", "multipart", "binary", "blob")


def md5_base64(data: bytes) -> str:
    """The `checksum` of a direct upload: the base64 of the bytes' MD5 digest (as ActiveStorage's)."""
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


@dataclass(frozen=True)
class UploadRequest:
    """A `POST /api/v1/files` body with a base64 source, the bytes it carries, and their MIME type when known
    (an image drawn with Pillow, UTF-8 text as `text/plain`; None for arbitrary bytes)."""

    body: dict[str, Any]
    data: bytes
    mime_type: str | None

    @property
    def file_name(self) -> str | None:
        name = self.body.get("file_name")
        return name if isinstance(name, str) else None


@dataclass(frozen=True)
class PrepareRequest:
    """A `POST /api/v1/files/prepare` body (`filename`, `byte_size`, `checksum`, maybe `content_type`) and the
    bytes to PUT to the answered `upload_url`; `mime_type` as for `UploadRequest`."""

    body: dict[str, Any]
    data: bytes
    mime_type: str | None


@dataclass(frozen=True)
class InvalidUpload:
    """A files request that breaks one rule: `field` (dotted; "" for the whole body) and `rule` say which.

    `operation` is `FILES` or `PREPARE` (the body is refused), or `PUT`: then `body` is a valid prepare body and
    `data` the bytes PUT to its upload URL, whose size or MD5 differ from what `body` declared.
    """

    operation: str
    body: Any
    field: str
    rule: str
    data: bytes | None = None

    @property
    def path(self) -> str:
        return self.operation.split(" ", 1)[1]


JAVA_SMOKE = UploadRequest(
    body={"source": {"type": "base64", "data": base64.b64encode(b"hello from java sdk").decode("ascii")},
          "file_name": "java-smoke.txt"},
    data=b"hello from java sdk", mime_type="text/plain")
"""RunAPI's own local smoke test: these 19 bytes come back as `text/plain`, 19 bytes, with a URL."""


# --- contents ---


@st.composite
def _image(draw: st.DrawFn) -> tuple[bytes, str, str]:
    """A small image in a format every image service reads: (bytes, MIME type, the file name's extension)."""
    fmt = draw(st.sampled_from(IMAGE_FORMATS))
    size = (draw(st.integers(1, 24)), draw(st.integers(1, 24)))
    colours = st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))
    image = Image.new("RGB", size, draw(colours))
    image.putpixel((draw(st.integers(0, size[0] - 1)), draw(st.integers(0, size[1] - 1))), draw(colours))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue(), Image.MIME[fmt], _EXTENSIONS[fmt]


def _text() -> st.SearchStrategy[tuple[bytes, str, str]]:
    lines = st.text(TEXT, min_size=1, max_size=40)
    return st.lists(lines, min_size=1, max_size=3).map(
        lambda parts: ("\n".join(parts).encode("utf-8"), "text/plain", _EXTENSIONS["text"]))


def _bytes() -> st.SearchStrategy[tuple[bytes, str | None, str]]:
    return st.binary(min_size=1, max_size=64).map(lambda data: (data, None, _EXTENSIONS["bytes"]))


_CONTENTS: dict[str, st.SearchStrategy[tuple[bytes, str | None, str]]] = {
    "image": _image(), "text": _text(), "bytes": _bytes()}


def _contents(kinds: Iterable[str]) -> st.SearchStrategy[tuple[bytes, str | None, str]]:
    chosen = tuple(kinds)
    unknown = [kind for kind in chosen if kind not in KINDS]
    if unknown or not chosen:
        raise InvalidArgument(f"kinds={chosen!r} must be a non-empty selection of {KINDS}")
    return st.one_of([_CONTENTS[kind] for kind in chosen])


def _file_names(extension: str) -> st.SearchStrategy[str]:
    """Plain ASCII names (what every service accepts) with the extension of their content."""
    return st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,23}", fullmatch=True).map(lambda stem: stem + extension)


# --- valid requests ---


@st.composite
def _uploads(draw: st.DrawFn, contents: st.SearchStrategy[tuple[bytes, str | None, str]]) -> UploadRequest:
    data, mime_type, extension = draw(contents)
    encoded = base64.b64encode(data).decode("ascii")
    if draw(st.booleans()):  # a data: URL, as a browser's FileReader gives it
        encoded = f"data:{mime_type or OCTET_STREAM};base64,{encoded}"
    body: dict[str, Any] = {"source": {"type": "base64", "data": encoded}}
    if draw(st.booleans()):
        body["file_name"] = draw(_file_names(extension))
    return UploadRequest(body, data, mime_type)


def upload_requests(kinds: Iterable[str] = KINDS) -> st.SearchStrategy[UploadRequest]:
    """Valid `POST /api/v1/files` bodies with a base64 source (plain, or as a `data:` URL) of a small image
    (PNG, JPEG, GIF, WebP), UTF-8 text or arbitrary bytes (`kinds`), with or without `file_name`."""
    return _uploads(_contents(kinds))


@st.composite
def _prepares(draw: st.DrawFn, contents: st.SearchStrategy[tuple[bytes, str | None, str]]) -> PrepareRequest:
    data, mime_type, extension = draw(contents)
    body: dict[str, Any] = {"filename": draw(_file_names(extension)), "byte_size": len(data),
                            "checksum": md5_base64(data)}
    if draw(st.booleans()):
        body["content_type"] = mime_type or OCTET_STREAM
    return PrepareRequest(body, data, mime_type)


def prepare_requests(kinds: Iterable[str] = KINDS) -> st.SearchStrategy[PrepareRequest]:
    """Valid `POST /api/v1/files/prepare` bodies, each with the bytes it declares (`byte_size`, base64 MD5
    `checksum`), with or without `content_type`; the contents as for `upload_requests`."""
    return _prepares(_contents(kinds))


# --- invalid requests ---


def _wrong(*kinds: str) -> st.SearchStrategy[Any]:
    """JSON values of other types than `kinds` (names: string, integer, object, array)."""
    values = {"string": st.sampled_from(("x", "19", "true")), "integer": st.integers(-5, 10**6),
              "object": st.just({"value": 1}), "array": st.lists(st.integers(0, 9), max_size=2),
              "null": st.none(), "boolean": st.booleans()}
    return st.one_of([strategy for name, strategy in values.items() if name not in kinds])


@st.composite
def _bad_base64(draw: st.DrawFn, data: bytes) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    at = draw(st.integers(0, len(encoded)))
    return encoded[:at] + draw(st.sampled_from(_NOT_BASE64)) + encoded[at:]


@st.composite
def _invalid_uploads(draw: st.DrawFn) -> InvalidUpload:
    valid = draw(upload_requests())
    body, source = valid.body, valid.body["source"]
    rule = draw(st.sampled_from(("body-type", "source-required", "source-type", "source-enum", "data-type",
                                 "data-base64", "file_name-type")))
    if rule == "body-type":
        return InvalidUpload(FILES, draw(st.one_of(st.just([body]), _wrong("object", "null"))), "", "type")
    if rule == "source-required":
        return InvalidUpload(FILES, {k: v for k, v in body.items() if k != "source"}, "source", "required")
    if rule == "source-type":
        wrong = draw(st.one_of(st.just(source["data"]), _wrong("object")))
        return InvalidUpload(FILES, {**body, "source": wrong}, "source", "type")
    if rule == "source-enum":
        kind = draw(st.sampled_from(_UNKNOWN_SOURCE_TYPES))
        return InvalidUpload(FILES, {**body, "source": {**source, "type": kind}}, "source.type", "enum")
    if rule == "data-type":
        return InvalidUpload(FILES, {**body, "source": {**source, "data": draw(_wrong("string"))}}, "source.data",
                             "type")
    if rule == "data-base64":
        bad = draw(_bad_base64(valid.data))
        return InvalidUpload(FILES, {**body, "source": {**source, "data": bad}}, "source.data", "base64")
    return InvalidUpload(FILES, {**body, "file_name": draw(_wrong("string", "null"))}, "file_name", "type")


@st.composite
def _invalid_prepares(draw: st.DrawFn) -> InvalidUpload:
    valid = draw(prepare_requests())
    body, data = valid.body, valid.data
    rule = draw(st.sampled_from(("filename-required", "byte_size-type", "byte_size-range", "checksum-format")))
    if rule == "filename-required":
        return InvalidUpload(PREPARE, {k: v for k, v in body.items() if k != "filename"}, "filename", "required")
    if rule == "byte_size-type":
        wrong = draw(st.one_of(st.just(f"{len(data)} bytes"), st.just([len(data)]), st.just({"bytes": len(data)})))
        return InvalidUpload(PREPARE, {**body, "byte_size": wrong}, "byte_size", "type")
    if rule == "byte_size-range":
        return InvalidUpload(PREPARE, {**body, "byte_size": draw(st.integers(-3, 0))}, "byte_size", "range")
    # Common mistakes: the hex digest, the digest of another hash, a few letters.
    wrong = draw(st.sampled_from((hashlib.md5(data).hexdigest(),
                                  base64.b64encode(hashlib.sha1(data).digest()).decode("ascii"), "abc")))
    return InvalidUpload(PREPARE, {**body, "checksum": wrong}, "checksum", "format")


@st.composite
def _mismatched_puts(draw: st.DrawFn) -> InvalidUpload:
    valid = draw(prepare_requests())
    data = valid.data
    if draw(st.booleans()):  # as many bytes, one of them changed: only the MD5 tells
        at = draw(st.integers(0, len(data) - 1))
        changed = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
        return InvalidUpload(PUT, valid.body, "checksum", "mismatch", changed)
    longer = draw(st.booleans()) or len(data) == 1
    other = data + draw(st.binary(min_size=1, max_size=4)) if longer else data[:-1]
    return InvalidUpload(PUT, valid.body, "byte_size", "mismatch", other)


_INVALID = {FILES: _invalid_uploads(), PREPARE: _invalid_prepares(), PUT: _mismatched_puts()}


def invalid_upload_requests(operations: Iterable[str] = (FILES, PREPARE, PUT)) -> st.SearchStrategy[InvalidUpload]:
    """Files requests breaking one rule each, for the chosen `operations`:

    - `FILES`: a body that is no object, no `source`, a `source` that is no object, an unknown `source.type`,
      `data` that is no string or no base64, a `file_name` that is no string;
    - `PREPARE`: no `filename`, a `byte_size` that is no integer or below 1, a `checksum` that is no base64 MD5
      (the hex digest, a SHA-1);
    - `PUT`: bytes whose MD5 (same size) or size differ from what the valid prepare body declared.
    """
    chosen = tuple(operations)
    unknown = [operation for operation in chosen if operation not in _INVALID]
    if unknown or not chosen:
        raise InvalidArgument(f"operations={chosen!r} must be a non-empty selection of {tuple(_INVALID)}")
    return st.one_of([_INVALID[operation] for operation in chosen])
