"""The OpenAI-style /v1/files and /v1/uploads that runapi-core's FilesClient and Uploads call.

A /v1/files file is an upload like any other (`ns.uploads`, served at its URL, usable as a task source); its
object carries that `url` as an extra member. Times are integer epoch seconds on the namespace's clock.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from runapi_contracts import Violation

from . import endpoints, errors, uploads
from .files_api import check_room, delete, form_body_limit, invalid, json_request, live_upload, store
from .model import MultipartUpload, Namespace, Upload
from .parsing import context, query_int, read_body
from .responses import JSON

UPLOAD_TTL_SECONDS = 3600.0  # an OpenAI upload must be completed within an hour of its creation
LIST_ORDERS = ("asc", "desc")
LIST_PARAMETERS = ("after", "limit", "order", "purpose")
MAX_LIST_LIMIT = 10_000


async def _form(request: Request, fields: dict[str, type]) -> tuple[Namespace, str, FormData]:
    """Admit the request and read its multipart body (bounded like an upload), checking the fields it has:
    `fields` maps each name to `str` (a plain field) or `UploadFile` (a file part)."""
    engine, settings = request.app.state.engine, request.app.state.settings
    ns, key = endpoints._admit(request, engine, settings)
    raw = await read_body(request, form_body_limit(settings))
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media != "multipart/form-data":
        raise errors.UnsupportedMediaType(f"Content-Type must be multipart/form-data, got {media or 'nothing'}")
    sent = False

    async def replay() -> Message:  # the body read once (and bounded), handed to Starlette's parser
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=4, max_fields=16)
    except HTTPException as exc:
        raise errors.BadRequest(f"Malformed multipart body: {exc.detail}", code="invalid_multipart") from None
    context(request).body = {name: (f"<file {value.filename!r}>" if isinstance(value, UploadFile) else value)
                             for name, value in form.multi_items()}
    endpoints._scenario(request, engine, ns, key, None, b"")
    violations = [Violation(name, "unknown", f"{name} is not a field of this request; known fields: "
                            f"{', '.join(fields)}") for name in form if name not in fields]
    for name, kind in fields.items():
        value = form.get(name)
        if value is None:
            violations.append(Violation(name, "required", f"{name} is required"))
        elif kind is UploadFile and not isinstance(value, UploadFile):
            violations.append(Violation(name, "type", f"{name} must be a file part (with a filename)"))
        elif kind is str and not isinstance(value, str):
            violations.append(Violation(name, "type", f"{name} must be a plain field, not a file"))
    if violations:
        raise invalid(request, violations)
    return ns, key, form


async def _file_data(request: Request, part: UploadFile, field: str) -> tuple[bytes, str]:
    data = await part.read()
    name = part.filename or "upload"
    problems = uploads.check_file_name(name, field)
    try:
        uploads.check_size(data, request.app.state.settings.max_upload_bytes)
    except uploads.BadUpload as exc:
        problems.append(Violation(field, "file", f"{field}: {exc}"))
    if problems:
        raise invalid(request, problems)
    return data, name


def _owned(request: Request, ns: Namespace, key: str) -> Upload:
    """The key's upload named by the path, or 404; 410 once expired."""
    upload = live_upload(request.app.state.engine, ns, request.path_params["file_id"])
    if upload.key != key:
        raise errors.NotFound("No such file (unknown, deleted, or of another key)")
    return upload


# -- /v1/files ---------------------------------------------------------------------------------------------------

async def files(request: Request) -> Response:
    """POST /v1/files (multipart `purpose` and `file`) creates a file; GET lists the key's files."""
    if request.method == "POST":
        ns, key, form = await _form(request, {"purpose": str, "file": UploadFile})
        part = form["file"]
        assert isinstance(part, UploadFile)  # checked by _form
        data, name = await _file_data(request, part, "file")
        upload = await store(request, ns, key, data, name, purpose=str(form["purpose"]))
        return JSON(uploads.file_object(upload, endpoints.image_origin(request)))
    engine, settings = request.app.state.engine, request.app.state.settings
    ns, key = endpoints._admit(request, engine, settings)
    return JSON(_file_list(request, ns, key))


def _file_list(request: Request, ns: Namespace, key: str) -> dict[str, Any]:
    query = request.query_params
    unknown = sorted(set(query) - set(LIST_PARAMETERS))
    if unknown:
        raise errors.BadRequest(f"Unknown query parameter {unknown[0][:50]!r}: this list takes "
                                f"{', '.join(LIST_PARAMETERS)}", code="invalid_parameter")
    limit, order = query_int(request, "limit", MAX_LIST_LIMIT, 1, MAX_LIST_LIMIT), query.get("order", "desc")
    if order not in LIST_ORDERS:
        raise errors.BadRequest("order must be asc or desc", code="invalid_parameter")
    now, purpose = ns.clock.now(), query.get("purpose")
    found = [u for u in ns.uploads.values()
             if u.key == key and not u.expired(now) and (purpose is None or u.purpose == purpose)]
    if order == "desc":
        found.reverse()  # uploads are kept in creation order
    after = query.get("after")
    if after is not None:
        ids = [u.id for u in found]
        if after not in ids:  # a 404 as for any unknown file id: the request is well formed, the file is not there
            raise errors.NotFound(f"after names no file of this list: {after[:100]!a}")
        found = found[ids.index(after) + 1:]
    page, origin = found[:limit], endpoints.image_origin(request)
    return {"object": "list", "data": [uploads.file_object(u, origin) for u in page],
            "first_id": page[0].id if page else None, "last_id": page[-1].id if page else None,
            "has_more": len(found) > len(page)}


async def file(request: Request) -> Response:
    """GET /v1/files/{file_id} retrieves a file; DELETE deletes it (its URL answers 404 from then on)."""
    engine, settings = request.app.state.engine, request.app.state.settings
    ns, key = endpoints._admit(request, engine, settings)
    upload = _owned(request, ns, key)
    if request.method == "DELETE":
        await delete(request, ns, upload.id)
        return JSON({"id": upload.id, "object": "file", "deleted": True})
    return JSON(uploads.file_object(upload, endpoints.image_origin(request)))


async def content(request: Request) -> Response:
    """GET /v1/files/{file_id}/content: the file's bytes."""
    engine, settings = request.app.state.engine, request.app.state.settings
    ns, key = endpoints._admit(request, engine, settings)
    upload = _owned(request, ns, key)
    return Response(upload.data, media_type=upload.mime_type, headers=uploads.served_headers(upload))


# -- /v1/uploads -------------------------------------------------------------------------------------------------

def _session(request: Request, ns: Namespace, key: str, *, pending: bool = True) -> MultipartUpload:
    """The key's upload named by the path (404 otherwise); with `pending`, 409 unless parts may still come."""
    session = ns.upload_sessions.multipart.get(request.path_params["upload_id"])
    if session is None or session.key != key:
        raise errors.NotFound("No such upload (unknown, or of another key)")
    if session.status == "pending" and ns.clock.now() > session.expires_at:
        session.status = "expired"
    if pending and session.status != "pending":
        raise errors.Conflict(f"This upload is {session.status}: it takes no more parts and cannot complete",
                              code="upload_not_pending")
    return session


async def create_upload(request: Request) -> Response:
    """POST /v1/uploads `{bytes, filename, mime_type, purpose}`: an upload that parts are then added to."""
    engine, settings = request.app.state.engine, request.app.state.settings
    ns, key, body = await json_request(request, uploads.MULTIPART_CREATE_FIELDS, settings.max_body_bytes)
    violations = uploads.check_file_name(body["filename"], "filename")
    if not 1 <= body["bytes"] <= settings.max_upload_bytes:
        violations.append(Violation("bytes", "range", f"bytes must be from 1 to {settings.max_upload_bytes} "
                                    "(the mock's --max-upload-bytes)"))
    if violations:
        raise invalid(request, violations)
    now = ns.clock.now()
    session = MultipartUpload(id=f"upload_{uuid.UUID(engine.new_id()).hex}", key=key, filename=body["filename"],
                              size=body["bytes"], mime_type=body["mime_type"], purpose=body["purpose"],
                              created_at=now, expires_at=now + UPLOAD_TTL_SECONDS)
    uploads.prune_sessions(ns, now)
    ns.upload_sessions.multipart[session.id] = session
    return JSON(uploads.upload_object(session, None))


async def add_part(request: Request) -> Response:
    """POST /v1/uploads/{upload_id}/parts (multipart `data`): one part of the upload's bytes."""
    ns, key, form = await _form(request, {"data": UploadFile})
    session = _session(request, ns, key)
    part = form["data"]
    assert isinstance(part, UploadFile)  # checked by _form
    data, _ = await _file_data(request, part, "data")
    check_room(request, len(data))
    part_id = f"part_{uuid.UUID(request.app.state.engine.new_id()).hex}"
    now = ns.clock.now()
    session.parts[part_id] = (now, data)
    return JSON(uploads.part_object(part_id, now, session.id))


async def complete(request: Request) -> Response:
    """POST /v1/uploads/{upload_id}/complete `{part_ids}`: the parts, in that order, become a file; their sizes
    must add up to the `bytes` the upload declared (and their MD5 to `md5`, when given)."""
    ns, key, body = await json_request(request, uploads.COMPLETE_FIELDS, request.app.state.settings.max_body_bytes)
    session = _session(request, ns, key)
    part_ids: list[Any] = body["part_ids"]
    violations = []
    if not part_ids:
        violations.append(Violation("part_ids", "min_items", "part_ids must list at least one part"))
    unknown = [p for p in part_ids if not isinstance(p, str) or p not in session.parts]
    if unknown:
        violations.append(Violation("part_ids", "unknown", f"part_ids names parts this upload does not have: "
                                    f"{', '.join(map(str, unknown[:5]))}"))
    elif len(set(part_ids)) != len(part_ids):
        violations.append(Violation("part_ids", "unique", "part_ids names a part more than once"))
    data = b"" if violations else b"".join(session.parts[p][1] for p in part_ids)
    if not violations and len(data) != session.size:
        violations.append(Violation("part_ids", "size", f"the parts add up to {len(data)} bytes, but the upload "
                                    f"declared bytes={session.size}"))
    if not violations and "md5" in body and hashlib.md5(data).hexdigest() != body["md5"].lower():
        violations.append(Violation("md5", "checksum", "md5 is not the MD5 (hex) of the parts"))
    if violations:
        raise invalid(request, violations)
    sniffed = uploads.sniff_mime(data, session.filename)
    upload = await store(request, ns, key, data, session.filename, purpose=session.purpose,
                         mime_type=session.mime_type if sniffed == uploads.OCTET_STREAM else sniffed, arriving=False)
    session.status, session.file_id, session.parts = "completed", upload.id, {}
    return JSON(uploads.upload_object(session, uploads.file_object(upload, endpoints.image_origin(request))))


async def cancel(request: Request) -> Response:
    """POST /v1/uploads/{upload_id}/cancel: no part may be added after, and it never completes."""
    engine, settings = request.app.state.engine, request.app.state.settings
    ns, key = endpoints._admit(request, engine, settings)
    session = _session(request, ns, key)
    session.status, session.parts = "cancelled", {}
    return JSON(uploads.upload_object(session, None))
