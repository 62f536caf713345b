"""RunAPI's files API: POST /api/v1/files (URL or base64 source), the direct upload (prepare, PUT, confirm), the
uploads served at their URLs, and the admin view of them. The rules live in uploads.py.

A URL source is fetched only from loopback or an --allow-callback-host host (the callbacks' allow-list): any
other host is refused before anything is contacted. A URL on the mock's own files is read from the engine.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from runapi_contracts import Violation
from runapi_contracts.vocabulary import NAMESPACE_HEADER

from . import endpoints, errors, events, uploads
from .engine import TaskEngine
from .model import DirectUpload, Namespace, Upload
from .parsing import Context, context, header, parse_json, read_body
from .responses import JSON
from .settings import Settings
from .uploads import BadUpload, Field

FETCH_TIMEOUT = 10.0  # seconds for a loopback URL source to answer in full


def json_body_limit(settings: Settings) -> int:
    """What a JSON body carrying a whole file as base64 (4/3 of its bytes) may weigh."""
    return math.ceil(settings.max_upload_bytes / 3) * 4 + uploads.JSON_OVERHEAD


def form_body_limit(settings: Settings) -> int:
    """What a multipart body carrying a whole file may weigh (the file, its part headers, the other fields)."""
    return settings.max_upload_bytes + uploads.JSON_OVERHEAD


def invalid(request: Request, violations: list[Violation]) -> errors.ValidationFailed:
    return endpoints._validation_failed(request, violations)


async def json_request(request: Request, spec: Mapping[str, Field], limit: int,
                       summary: Any = None) -> tuple[Namespace, str, dict[str, Any]]:
    """Admit the request, read and check its JSON body (422 naming every bad field); the journal gets
    `summary(body)` instead of the body when given (base64 data is not kept there)."""
    engine, settings = endpoints._engine(request)
    ns, key = endpoints._admit(request, engine, settings)
    raw = await read_body(request, limit)
    body = parse_json(request, raw)
    context(request).body = summary(body) if summary is not None and isinstance(body, dict) else body
    endpoints._scenario(request, engine, ns, key, None, b"")
    if isinstance(body, dict):  # JSON Schema's integer is a number with no fraction: 1200.0 is 1200
        body = {name: int(value) if isinstance(value, float) and value.is_integer() and name in spec
                and spec[name].kind is int else value for name, value in body.items()}
    violations = uploads.check_fields(body, spec)
    if violations:
        raise invalid(request, violations)
    return ns, key, body


def check_room(request: Request, adding: int) -> None:
    """A 507 when `adding` more bytes would take every namespace's uploads past --max-upload-total-bytes;
    uploads on their way in that have expired are dropped first, in every namespace."""
    engine, settings = endpoints._engine(request)
    held = 0
    for each in engine.open_namespaces():
        uploads.prune_sessions(each, each.clock.now())
        held += uploads.held_bytes(each)
    bound = settings.max_upload_total_bytes
    if held + adding > bound:
        raise errors.InsufficientStorage(
            f"the mock holds {held} bytes of uploads; {adding} more would pass its bound of {bound} "
            "(--max-upload-total-bytes, RUNAPI_MOCK_MAX_UPLOAD_TOTAL_BYTES): delete files, reset a namespace "
            "or raise the bound")


async def store(request: Request, ns: Namespace, key: str, data: bytes, file_name: str, *,
                purpose: str = "user_data", mime_type: str | None = None, arriving: bool = True) -> Upload:
    """Keep `data` as a new upload of `key`, on the namespace's clock, expiring like generated files; with
    --state the answer waits until it is on disk, as a create's does. `arriving`: the bytes are new to the
    mock (not a confirmed or completed upload's, counted since their PUT or parts), so they must fit."""
    engine, settings = endpoints._engine(request)
    if arriving:
        check_room(request, len(data))
    changes: list[events.Event] = [events.UploadDeleted(ns, gone) for gone in
                                   uploads.prune(ns, settings.retention_seconds)]
    now = ns.clock.now()
    upload = Upload(id=engine.new_id(), namespace=ns.name, key=key, file_name=file_name,
                    mime_type=mime_type or uploads.sniff_mime(data, file_name), data=data, created_at=now,
                    expires_at=now + settings.file_ttl_seconds, purpose=purpose)
    ns.uploads[upload.id] = upload
    await kept(request, [*changes, events.UploadStored(ns, upload)])
    return upload


async def delete(request: Request, ns: Namespace, upload_id: str) -> Upload | None:
    """Delete an upload (its URL answers 404 from then on); None when there was none."""
    upload = ns.uploads.pop(upload_id, None)
    if upload is not None:
        await kept(request, [events.UploadDeleted(ns, upload_id)])
    return upload


async def kept(request: Request, changes: list[events.Event]) -> None:
    """Hand `changes` to the state store (a no-op without --state) and wait until they are written."""
    store: events.Store = request.app.state.store
    for change in changes:
        store.record(change)
    pending = store.submit()
    if pending is not None:
        await pending.wait_async()


def _without_data(body: dict[str, Any]) -> dict[str, Any]:
    source = body.get("source")
    if isinstance(source, dict) and isinstance(source.get("data"), str):
        source = {**source, "data": f"<{len(source['data'])} characters>"}
    return {**body, "source": source} if "source" in body else body


# -- POST /api/v1/files ----------------------------------------------------------------------------------------

async def create(request: Request) -> Response:
    """A temporary upload from `{"source": {"type": "url", "url"} | {"type": "base64", "data"}, "file_name"?}`."""
    _, settings = endpoints._engine(request)
    ns, key, body = await json_request(request, uploads.CREATE_FIELDS, json_body_limit(settings), _without_data)
    source = body["source"]
    kind = source.get("type")
    spec = uploads.SOURCE_FIELDS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        message = "source.type must be one of: url, base64" if "type" in source else "source.type is required"
        raise invalid(request, [Violation("source", "enum" if "type" in source else "required", message)])
    name = body.get("file_name")
    violations = uploads.check_fields(source, spec, "source")
    violations += uploads.check_file_name(name, "file_name") if isinstance(name, str) else []
    if violations:
        raise invalid(request, violations)
    limit = settings.max_upload_bytes
    try:
        if kind == "base64":
            data = uploads.decode_base64(source["data"], limit)
            mime_type = None
        else:
            data, mime_type = await read_url(request, source["url"], limit)
    except BadUpload as exc:
        if str(exc).startswith("the file is larger"):
            raise errors.PayloadTooLarge(f"source: {exc}") from None
        raise invalid(request, [Violation("source", "file", f"source: {exc}")]) from None
    file_name = name or uploads.default_file_name(uploads.sniff_mime(data), source.get("url"))
    sniffed = uploads.sniff_mime(data, file_name)
    # The type a fetched URL was served with counts only when neither the bytes nor the name say more.
    upload = await store(request, ns, key, data, file_name,
                   mime_type=mime_type if sniffed == uploads.OCTET_STREAM and mime_type else sniffed)
    return JSON(uploads.upload_body(upload, endpoints.image_origin(request)))


# -- URL sources -----------------------------------------------------------------------------------------------

def _own_netlocs(request: Request, settings: Settings) -> set[str]:
    """The host[:port] forms this mock is reached at: the request's own, and the --public-url's."""
    found = {urlsplit(endpoints._origin(request)).netloc.lower()}
    if settings.public_url:
        found.add(urlsplit(settings.public_url).netloc.lower())
    return found


async def read_url(request: Request, url: str, limit: int) -> tuple[bytes, str | None]:
    """The bytes at `url` (and the type it was served with): the mock's own files from the engine, --allow-source-host
    hosts over HTTP; any other host, loopback too, is refused (BadUpload) without being contacted."""
    _, settings = endpoints._engine(request)
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise BadUpload(f"url {url[:200]!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadUpload("url must be an absolute http(s) URL")
    own = uploads.own_path(parts.path)
    if own is not None and parts.netloc.lower() in _own_netlocs(request, settings):
        return await own_file(request, *own)
    if not source_allowed(parts, settings.allow_source_hosts):
        netloc = parts.netloc.rpartition("@")[2].lower()
        raise BadUpload(f"url refused: host {netloc!r} is not allowed as a source; start the mock with "
                        f"--allow-source-host {netloc} (or the host alone, for any port) to fetch from it. Loopback "
                        "is not allowed by default: the mock would republish a local service to anyone; its own "
                        "files need no flag")
    return await fetch(url.strip(), limit)


def source_allowed(parts: SplitResult, allowed: tuple[str, ...]) -> bool:
    """Is the URL on an --allow-source-host entry: `host` (any port) or `host:port`?"""
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for entry in allowed:
        entry_parts = urlsplit(f"//{entry.strip().lower()}")
        try:
            if entry_parts.hostname == host and entry_parts.port in (None, port):
                return True
        except ValueError:  # an entry with a malformed port names nothing
            continue
    return False


async def own_file(request: Request, kind: str, namespace: str, item_id: str, name: str) -> tuple[bytes, str]:
    """One of the mock's own files, read from the engine, not over HTTP (an in-process app cannot call itself)."""
    engine, _ = endpoints._engine(request)
    ns = engine.find_namespace(namespace)
    if kind == "uploads":
        upload = ns.uploads.get(item_id) if ns is not None else None
        if upload is None or upload.file_name != name:
            raise BadUpload(f"url names no upload of this mock (unknown or deleted): {item_id}/{name}")
        if ns is not None and upload.expired(ns.clock.now()):
            raise BadUpload(f"url names an upload that has expired: {item_id}/{name}")
        return upload.data, upload.mime_type
    # A generated image: what GET /files/... answers, through that endpoint itself (its rendering, its checks).
    scope = {"type": "http", "method": "GET", "app": request.app, "path": f"/files/{namespace}/{item_id}/{name}",
             "headers": [], "query_string": b"", "path_params": {"namespace": namespace, "task_id": item_id,
                                                                  "name": name},
             "runapi.context": Context(request_id="", wall=0.0)}
    try:
        response = await endpoints.file(Request(scope))
    except errors.Gone:
        raise BadUpload(f"url names a generated file that has expired: {item_id}/{name}") from None
    except errors.NotFound:
        raise BadUpload(f"url names no generated file of this mock: {item_id}/{name}") from None
    return bytes(response.body), response.media_type or uploads.OCTET_STREAM


async def fetch(url: str, limit: int) -> tuple[bytes, str | None]:
    """GET `url` (an allowed host), at most `limit` bytes, no redirects followed (one could leave loopback)."""
    import httpx  # here, not at import: a start without uploads by URL need not load it (issue 24)

    try:
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False) as client, \
                client.stream("GET", url) as response:
            if response.status_code != 200:
                raise BadUpload(f"fetching url answered {response.status_code}, not 200")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise BadUpload(f"the file at url is larger than {limit} bytes")
                chunks.append(chunk)
            data = b"".join(chunks)
            media = response.headers.get("content-type")
    except httpx.HTTPError as exc:
        raise BadUpload(f"fetching url failed: {type(exc).__name__}: {exc}"[:300]) from None
    uploads.check_size(data, limit)
    return data, media.split(";")[0].strip() if media else None


# -- direct upload: prepare, PUT, confirm ----------------------------------------------------------------------

async def prepare(request: Request) -> Response:
    """POST /api/v1/files/prepare: a pre-authorized URL to PUT `byte_size` bytes of MD5 `checksum` to."""
    _, settings = endpoints._engine(request)
    ns, key, body = await json_request(request, uploads.PREPARE_FIELDS, settings.max_body_bytes)
    violations = uploads.check_file_name(body["filename"], "filename")
    if not 1 <= body["byte_size"] <= settings.max_upload_bytes:
        violations.append(Violation("byte_size", "range", "byte_size must be from 1 to "
                                    f"{settings.max_upload_bytes} (the mock's --max-upload-bytes)"))
    if not uploads.is_md5_base64(body["checksum"]):
        violations.append(Violation("checksum", "format", "checksum must be the base64 of a 16-byte MD5 digest"))
    if violations:
        raise invalid(request, violations)
    uploads.prune_sessions(ns, ns.clock.now())
    direct = DirectUpload(signed_id=secrets.token_urlsafe(24), token=secrets.token_urlsafe(32), key=key,
                          file_name=body["filename"], byte_size=body["byte_size"], checksum=body["checksum"],
                          content_type=body.get("content_type") or uploads.OCTET_STREAM, created_at=ns.clock.now())
    sessions = ns.upload_sessions
    sessions.direct[direct.signed_id] = direct
    sessions.tokens[direct.token] = direct.signed_id
    upload_url = f"{endpoints.image_origin(request)}/direct-uploads/{ns.name}/{direct.token}"
    return JSON({"upload_url": upload_url, "signed_id": direct.signed_id,
                 "headers": {"Content-Type": direct.content_type, "Content-MD5": direct.checksum}})


async def put_direct(request: Request) -> Response:
    """PUT /direct-uploads/{namespace}/{token}: the bytes of a prepared upload; the token is the authorization.

    Like ActiveStorage's disk service: an unknown token is a 404; bytes whose size or MD5 differ from what was
    prepared, or a Content-Type other than the one issued, a 422 (its IntegrityError answer); a second PUT, 409.
    """
    engine, settings = endpoints._engine(request)
    ns = engine.find_namespace(request.path_params["namespace"])
    signed_id = ns.upload_sessions.tokens.get(request.path_params["token"]) if ns is not None else None
    direct = ns.upload_sessions.direct.get(signed_id) if ns is not None and signed_id else None
    if ns is None or direct is None:
        raise errors.NotFound("No prepared upload at this URL (unknown token, or its namespace was reset)")
    context(request).namespace = ns
    data = await read_body(request, settings.max_upload_bytes)
    check_room(request, len(data))
    if direct.data is not None:
        raise errors.Conflict("These bytes were uploaded already: an upload URL takes one PUT",
                              code="upload_already_received")
    sent_type = (header(request, "content-type") or "").split(";")[0].strip().lower()
    problems = []
    if len(data) != direct.byte_size:
        problems.append(f"the body is {len(data)} bytes, but byte_size was {direct.byte_size}")
    elif uploads.md5_base64(data) != direct.checksum:
        problems.append("the body's MD5 is not the checksum given to prepare")
    if sent_type != direct.content_type.lower():
        problems.append(f"Content-Type must be {direct.content_type!r}, the header prepare issued")
    if problems:
        raise errors.ValidationFailed("Upload refused: " + "; ".join(problems), code="upload_integrity_error")
    direct.data = data
    return Response(status_code=204)


async def confirm(request: Request) -> Response:
    """POST /api/v1/files/confirm `{signed_id}`: the uploaded bytes become an upload (the answer of create)."""
    _, settings = endpoints._engine(request)
    ns, key, body = await json_request(request, uploads.CONFIRM_FIELDS, settings.max_body_bytes)
    direct = ns.upload_sessions.direct.get(body["signed_id"])
    if direct is None or direct.key != key:
        raise errors.NotFound("No prepared upload has this signed_id (unknown, of another key, or its namespace "
                              "was reset)")
    if direct.upload_id is not None:
        raise errors.Conflict("This signed_id was confirmed already", code="upload_already_confirmed")
    if direct.data is None:
        raise errors.Conflict("Nothing was uploaded for this signed_id yet: PUT the bytes to its upload_url "
                              "first", code="upload_not_received")
    upload = await store(request, ns, key, direct.data, direct.file_name, arriving=False)
    direct.upload_id, direct.data = upload.id, None
    ns.upload_sessions.tokens.pop(direct.token, None)
    return JSON(uploads.upload_body(upload, endpoints.image_origin(request)))


# -- serving, and the admin view -------------------------------------------------------------------------------

def live_upload(engine: TaskEngine, ns: Namespace | None, upload_id: str) -> Upload:
    """The upload, or 404 (unknown or deleted) / 410 (past its expiry on the namespace's clock)."""
    upload = ns.uploads.get(upload_id) if ns is not None else None
    if ns is None or upload is None:
        raise errors.NotFound("No such upload (unknown, or deleted)")
    if upload.expired(engine.now(ns)):
        raise errors.Gone(f"This upload has expired; uploads are kept {engine.settings.file_ttl_seconds:g} seconds",
                          code="file_expired")
    return upload


async def serve(request: Request) -> Response:
    """GET /uploads/{namespace}/{upload_id}/{file_name}: an upload's bytes, as its storage would serve them."""
    engine, _ = endpoints._engine(request)
    ns = engine.find_namespace(request.path_params["namespace"])
    upload = live_upload(engine, ns, request.path_params["upload_id"])
    if upload.file_name != request.path_params["file_name"]:
        raise errors.NotFound("No such upload (unknown, or deleted)")
    context(request).namespace = ns
    return Response(upload.data, media_type=upload.mime_type,
                    headers={"Cache-Control": "private, max-age=3600", **uploads.served_headers(upload)})


def _admin_namespace(request: Request) -> Namespace:
    engine, _ = endpoints._engine(request)
    return engine.namespace(request.headers.get(NAMESPACE_HEADER) or request.query_params.get("namespace"))


def admin_view(upload: Upload, origin: str, now: float) -> dict[str, Any]:
    return {"id": upload.id, "key": upload.key, "file_name": upload.file_name, "mime_type": upload.mime_type,
            "size_bytes": upload.size, "purpose": upload.purpose, "url": upload.url(origin),
            "created_at": upload.created_at, "expires_at": upload.expires_at, "expired": upload.expired(now)}


async def admin_list(request: Request) -> Response:
    """GET /_mock/uploads: the namespace's uploads, oldest first, expired ones too (marked)."""
    ns = _admin_namespace(request)
    now, origin = ns.clock.now(), endpoints.image_origin(request)
    return JSON({"uploads": [admin_view(u, origin, now) for u in list(ns.uploads.values())]})


async def admin_delete(request: Request) -> Response:
    """DELETE /_mock/uploads/{upload_id}: forget an upload (its URL then answers 404; tasks reading it fail)."""
    ns = _admin_namespace(request)
    upload_id = request.path_params["upload_id"]
    if await delete(request, ns, upload_id) is None:
        raise errors.NotFound(f"No upload {upload_id}")
    return JSON({"deleted": upload_id})
