"""The files API's rules, without HTTP: request fields, base64 and data: URLs, MIME sniffing, the shapes of answers.

Every answer shape here is what `runapi-core` 0.10.1 decodes: the temporary upload of `/api/v1/files`
(ISO-8601 times) and the OpenAI-style objects of `/v1/files` and `/v1/uploads` (integer epoch seconds).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import hashlib
import io
import mimetypes
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from runapi_contracts import Violation

from .model import MultipartUpload, Namespace, Upload

# Pillow's names for the image formats identified from their bytes; Image.MIME gives their MIME types.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
OCTET_STREAM = "application/octet-stream"
MAX_FILE_NAME = 255
# What a JSON body around base64 data may add to it (the source object, the file name, whitespace).
JSON_OVERHEAD = 64 * 1024
_DATA_URL = re.compile(r"data:(?P<media>[^,;]*)(?P<params>(;[^,;]*)*),(?P<data>.*)", re.DOTALL | re.IGNORECASE)
# Text is UTF-8 without control characters other than tab, newline and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_OWN_PATH = re.compile(r"(?:/ns/[^/]+)?/(?P<kind>uploads|files)/(?P<namespace>[^/]+)/(?P<id>[^/]+)/(?P<name>[^/]+)")


@dataclass(frozen=True)
class Field:
    """One field of a request body: its JSON type, and whether it must be there."""

    kind: type
    required: bool = False


_TYPE_NAMES = {str: "a string", int: "an integer", dict: "an object", list: "an array"}
CREATE_FIELDS = {"source": Field(dict, True), "file_name": Field(str)}
URL_SOURCE_FIELDS = {"type": Field(str, True), "url": Field(str, True)}
BASE64_SOURCE_FIELDS = {"type": Field(str, True), "data": Field(str, True)}
PREPARE_FIELDS = {"filename": Field(str, True), "byte_size": Field(int, True), "checksum": Field(str, True),
                  "content_type": Field(str)}
CONFIRM_FIELDS = {"signed_id": Field(str, True)}
MULTIPART_CREATE_FIELDS = {"bytes": Field(int, True), "filename": Field(str, True), "mime_type": Field(str, True),
                           "purpose": Field(str, True)}
COMPLETE_FIELDS = {"part_ids": Field(list, True), "md5": Field(str)}
SOURCE_FIELDS = {"url": URL_SOURCE_FIELDS, "base64": BASE64_SOURCE_FIELDS}


class BadUpload(ValueError):
    """File data that cannot be taken: bad base64, empty, too large. The message says which."""


def check_fields(body: Any, spec: Mapping[str, Field], where: str = "") -> list[Violation]:
    """What is wrong with `body` against `spec`: not an object, unknown, missing or mistyped fields."""
    label = where or "request body"
    if not isinstance(body, dict):
        return [Violation(where, "type", f"{label} must be a JSON object")]
    found: list[Violation] = []
    for name in body:
        if name not in spec:
            close = difflib.get_close_matches(name, list(spec), n=1)
            hint = f" (did you mean {close[0]}?)" if close else f"; known fields: {', '.join(spec)}"
            found.append(Violation(where or name, "unknown", f"{where + '.' if where else ''}{name} is not a "
                                   f"field of this request{hint}"))
    for name, field in spec.items():
        full = f"{where}.{name}" if where else name
        if name not in body:
            if field.required:
                found.append(Violation(where or name, "required", f"{full} is required"))
            continue
        value = body[name]
        if not isinstance(value, field.kind) or (field.kind is int and isinstance(value, bool)):
            found.append(Violation(where or name, "type", f"{full} must be {_TYPE_NAMES[field.kind]}"))
        elif isinstance(value, str) and not value.strip():
            found.append(Violation(where or name, "blank", f"{full} must not be blank"))
    return found


def check_file_name(name: str, field: str) -> list[Violation]:
    if len(name) > MAX_FILE_NAME or "/" in name or "\\" in name or _CONTROL.search(name) or "\x00" in name:
        return [Violation(field, "format", f"{field} must be a plain file name of at most {MAX_FILE_NAME} "
                          "characters, without slashes or control characters")]
    return []


def decode_base64(text: str, limit: int) -> bytes:
    """The bytes of base64 `text` or of a `data:...;base64,` URL; BadUpload when it is neither, empty or too big."""
    match = _DATA_URL.fullmatch(text.strip()) if text.lstrip()[:5].lower() == "data:" else None
    if match is not None:
        if "base64" not in (p.strip().lower() for p in match["params"].split(";")):
            raise BadUpload("a data: URL must be base64-encoded (data:<type>;base64,<data>)")
        text = match["data"]
    compact = "".join(text.split())
    compact += "=" * (-len(compact) % 4) if len(compact) % 4 != 1 else ""
    if len(compact) // 4 * 3 > limit + 3:
        raise BadUpload(f"the file is larger than {limit} bytes")
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise BadUpload("data is not valid base64 (standard alphabet, optionally as a data: URL)") from None
    check_size(data, limit)
    return data


def check_size(data: bytes, limit: int, *, empty: bool = False) -> None:
    """BadUpload when `data` is larger than `limit`, or empty unless `empty` allows it."""
    if not data and not empty:
        raise BadUpload("the file is empty")
    if len(data) > limit:
        raise BadUpload(f"the file is larger than {limit} bytes")


def md5_base64(data: bytes) -> str:
    """The checksum ActiveStorage-style direct uploads carry: base64 of the MD5 digest."""
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def is_md5_base64(text: str) -> bool:
    try:
        return len(base64.b64decode(text, validate=True)) == 16
    except (binascii.Error, ValueError):
        return False


def sniff_mime(data: bytes, file_name: str | None = None) -> str:
    """The MIME type of `data`: an image Pillow identifies, else UTF-8 text, else the name's type, else bytes."""
    from PIL import Image  # at first use: see the module docstring
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a decompression-bomb warning: identifying reads only the header
        try:
            with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
                found = image.format
        except Exception:  # Pillow raises many kinds for bytes it cannot identify
            found = None
    if found in IMAGE_FORMATS:
        return Image.MIME[found]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not _CONTROL.search(text):
        return "text/plain"
    guessed = mimetypes.guess_type(file_name)[0] if file_name else None
    return guessed or OCTET_STREAM


# What users upload is served so that no browser runs it: no sniffing, a sandbox with nothing allowed, and only
# media shown inline (SVG is an image that runs scripts: an attachment too). Generated files get the first.
NOSNIFF = {"X-Content-Type-Options": "nosniff"}
SANDBOX = {**NOSNIFF, "Content-Security-Policy": "sandbox; default-src 'none'"}
_INLINE = ("image/", "audio/", "video/")


def served_headers(upload: Upload) -> dict[str, str]:
    """The headers an upload's bytes are served with, wherever it is read from (its URL, /v1/files/.../content)."""
    headers = dict(SANDBOX)
    media = upload.mime_type.lower()
    if not media.startswith(_INLINE) or "svg" in media or "xml" in media:
        quoted = quote(upload.file_name, safe="")
        headers["Content-Disposition"] = f'attachment; filename="{upload.file_name}"' if quoted == upload.file_name \
            else f"attachment; filename*=utf-8''{quoted}"
    return headers


def default_file_name(mime_type: str, url: str | None = None) -> str:
    """A name for an upload sent without one: the URL's last path segment, else `upload` and the type's extension."""
    if url is not None:
        last = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        if last and not check_file_name(last, "file_name"):
            return last
    return "upload" + (mimetypes.guess_extension(mime_type) or ".bin")


def own_path(path: str) -> tuple[str, str, str, str] | None:
    """(kind, namespace, id, name) of a path to the mock's own files: `/uploads/{namespace}/{id}/{name}` or
    `/files/{namespace}/{task_id}/{n}.{ext}`, optionally behind `/ns/<name>`; None for any other path."""
    match = _OWN_PATH.fullmatch(path)
    if match is None:
        return None
    return match["kind"], unquote(match["namespace"]), unquote(match["id"]), unquote(match["name"])


DIRECT_TTL_SECONDS = 3600.0  # a prepared direct upload not confirmed within an hour is dropped, bytes and all


def prune_sessions(ns: Namespace, now: float) -> None:
    """Drop what uploads on their way in hold past their expiry: prepared direct uploads (PUT or not) an hour
    after prepare, and the parts of /v1/uploads past their expires_at (the upload is `expired` from then on)."""
    sessions = ns.upload_sessions
    stale = [d for d in sessions.direct.values() if now - d.created_at > DIRECT_TTL_SECONDS]
    for direct in stale:
        del sessions.direct[direct.signed_id]
        sessions.tokens.pop(direct.token, None)
    for session in sessions.multipart.values():
        if session.status == "pending" and now > session.expires_at:
            session.status = "expired"
        if session.status != "pending" and session.parts:
            session.parts = {}


def held_bytes(ns: Namespace) -> int:
    """The bytes the namespace's uploads hold, with those of uploads still on their way in."""
    sessions = ns.upload_sessions
    return (sum(u.size for u in ns.uploads.values())
            + sum(len(d.data) for d in sessions.direct.values() if d.data is not None)
            + sum(len(data) for s in sessions.multipart.values() for _, data in s.parts.values()))


def prune(ns: Namespace, retention_seconds: float) -> list[str]:
    """Forget uploads older than the retention on the clock, as tasks and their files are; their ids."""
    now = ns.clock.now()
    gone = [u.id for u in ns.uploads.values() if now - u.created_at > retention_seconds]
    for upload_id in gone:
        del ns.uploads[upload_id]
    return gone


# -- answers ---------------------------------------------------------------------------------------------------

def iso(seconds: float) -> str:
    """ISO-8601 in UTC with milliseconds, as Rails writes times: 2026-12-01T12:00:00.000Z."""
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def upload_body(upload: Upload, origin: str) -> dict[str, Any]:
    """The temporary upload of POST /api/v1/files (and of confirm)."""
    return {"file_name": upload.file_name, "url": upload.url(origin), "size_bytes": upload.size,
            "mime_type": upload.mime_type, "created_at": iso(upload.created_at), "expires_at": iso(upload.expires_at)}


def file_object(upload: Upload, origin: str) -> dict[str, Any]:
    """An OpenAI-style file object of /v1/files; `url` is an extra the SDK keeps (a task source)."""
    return {"id": upload.id, "object": "file", "bytes": upload.size, "created_at": int(upload.created_at),
            "expires_at": int(upload.expires_at), "filename": upload.file_name, "purpose": upload.purpose,
            "mime_type": upload.mime_type, "url": upload.url(origin)}


def upload_object(session: MultipartUpload, file: dict[str, Any] | None) -> dict[str, Any]:
    """An OpenAI-style upload object of /v1/uploads; `file` once completed."""
    return {"id": session.id, "object": "upload", "bytes": session.size, "created_at": int(session.created_at),
            "filename": session.filename, "purpose": session.purpose, "status": session.status,
            "expires_at": int(session.expires_at), "file": file}


def part_object(part_id: str, created_at: float, upload_id: str) -> dict[str, Any]:
    return {"id": part_id, "object": "upload.part", "created_at": int(created_at), "upload_id": upload_id}
