"""The OpenAI-style /v1/files and /v1/uploads that runapi-core's FilesClient and Uploads call.

A /v1/files file is an upload like any other (`ns.uploads`, served at its URL, usable as a task source); its
object carries that `url` as an extra member. Times are integer epoch seconds on the namespace's clock.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from runapi_contracts import Violation

from .. import errors
from ..engine import uploads
from ..engine.model import Namespace, Upload
from ..engine.upload_book import UPLOAD_TTL_SECONDS
from .admission import Admission, admit, engine_of, image_origin, settings_of
from .files_api import form_body_limit, invalid, json_request, kept, live_upload
from .parsing import query_int
from .responses import JSON

__all__ = ["UPLOAD_TTL_SECONDS", "add_part", "cancel", "complete", "content", "create_upload", "file", "files"]
LIST_ORDERS = ("asc", "desc")
LIST_PARAMETERS = ("after", "limit", "order", "purpose")
MAX_LIST_LIMIT = 10_000


async def _form(request: Request, fields: dict[str, type]) -> Admission:
    """Admit the request with its multipart body (bounded like an upload) and check the fields it has:
    `fields` maps each name to `str` (a plain field) or `UploadFile` (a file part)."""
    admitted = await admit(request, body="form", limit=form_body_limit(settings_of(request)))
    form = admitted.form
    violations = [Violation(name, "unknown", f"{name} is not a field of this request; known fields: "
                            f"{', '.join(fields)}") for name in form if name not in fields]
    for name, kind in fields.items():
        value = form.get(name)
        if value is None:
            violations.append(Violation(name, "required", f"{name} is required"))
        elif len(form.getlist(name)) > 1:  # one value each: which of several was meant is anyone's guess
            violations.append(Violation(name, "type", f"{name} must be given once, not {len(form.getlist(name))} "
                                        "times"))
        elif kind is UploadFile and not isinstance(value, UploadFile):
            violations.append(Violation(name, "type", f"{name} must be a file part (with a filename)"))
        elif kind is str and not isinstance(value, str):
            violations.append(Violation(name, "type", f"{name} must be a plain field, not a file"))
        elif isinstance(value, str) and not value.strip():  # as the JSON bodies' texts (uploads.check_fields)
            violations.append(Violation(name, "blank", f"{name} must not be blank"))
    if violations:
        raise invalid(request, violations)
    return admitted


async def _file_data(request: Request, part: UploadFile, field: str) -> tuple[bytes, str]:
    """A file part's bytes and name. It may be empty: an OpenAI-style file object counts `bytes` from 0 (a part
    of an upload too; complete still needs the parts to add up to the upload's `bytes`, at least 1)."""
    data = await part.read()
    name = part.filename or "upload"
    problems = uploads.check_file_name(name, field)
    try:
        uploads.check_size(data, settings_of(request).max_upload_bytes, empty=True)
    except uploads.BadUpload as exc:
        problems.append(Violation(field, "file", f"{field}: {exc}"))
    if problems:
        raise invalid(request, problems)
    return data, name


def _owned(request: Request, ns: Namespace, key: str) -> Upload:
    """The key's upload named by the path, or 404; 410 once expired."""
    upload = live_upload(engine_of(request), ns, request.path_params["file_id"])
    if upload.key != key:
        raise errors.NotFound("No such file (unknown, deleted, or of another key)")
    return upload


# -- /v1/files ---------------------------------------------------------------------------------------------------

async def files(request: Request) -> Response:
    """POST /v1/files (multipart `purpose` and `file`) creates a file; GET lists the key's files."""
    if request.method == "POST":
        admitted = await _form(request, {"purpose": str, "file": UploadFile})
        part = admitted.form["file"]
        assert isinstance(part, UploadFile)  # checked by _form
        data, name = await _file_data(request, part, "file")
        upload, pending = engine_of(request).store_upload(admitted.namespace, admitted.key, data, name,
                                                          mime_type=uploads.sniff_mime(data, name),
                                                          purpose=str(admitted.form["purpose"]))
        await kept(pending)
        return JSON(uploads.file_object(upload, image_origin(request)))
    admitted = await admit(request, apply_scenario=False)
    return JSON(_file_list(request, admitted.namespace, admitted.key))


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
    found = [u for u in engine_of(request).uploads(ns)
             if u.key == key and not u.expired(now) and (purpose is None or u.purpose == purpose)]
    if order == "desc":
        found.reverse()  # uploads are kept in creation order
    after = query.get("after")
    if after is not None:
        ids = [u.id for u in found]
        if after not in ids:  # a 404 as for any unknown file id: the request is well formed, the file is not there
            raise errors.NotFound(f"after names no file of this list: {after[:100]!a}")
        found = found[ids.index(after) + 1:]
    page, origin = found[:limit], image_origin(request)
    return {"object": "list", "data": [uploads.file_object(u, origin) for u in page],
            "first_id": page[0].id if page else None, "last_id": page[-1].id if page else None,
            "has_more": len(found) > len(page)}


async def file(request: Request) -> Response:
    """GET /v1/files/{file_id} retrieves a file; DELETE deletes it (its URL answers 404 from then on)."""
    admitted = await admit(request, apply_scenario=False)
    upload = _owned(request, admitted.namespace, admitted.key)
    if request.method == "DELETE":
        _, pending = engine_of(request).delete_upload(admitted.namespace, upload.id)
        await kept(pending)
        return JSON({"id": upload.id, "object": "file", "deleted": True})
    return JSON(uploads.file_object(upload, image_origin(request)))


async def content(request: Request) -> Response:
    """GET /v1/files/{file_id}/content: the file's bytes."""
    admitted = await admit(request, apply_scenario=False)
    upload = _owned(request, admitted.namespace, admitted.key)
    return Response(upload.data, media_type=upload.mime_type, headers=uploads.served_headers(upload))


# -- /v1/uploads -------------------------------------------------------------------------------------------------

async def create_upload(request: Request) -> Response:
    """POST /v1/uploads `{bytes, filename, mime_type, purpose}`: an upload that parts are then added to."""
    settings = settings_of(request)
    admitted = await json_request(request, uploads.MULTIPART_CREATE_FIELDS, settings.max_body_bytes)
    body = admitted.fields
    violations = uploads.check_file_name(body["filename"], "filename")
    if not 1 <= body["bytes"] <= settings.max_upload_bytes:
        violations.append(Violation("bytes", "range", f"bytes must be from 1 to {settings.max_upload_bytes} "
                                    "(the mock's --max-upload-bytes)"))
    if violations:
        raise invalid(request, violations)
    session = engine_of(request).open_multipart(admitted.namespace, admitted.key, body["filename"],
                                                body["bytes"], body["mime_type"], body["purpose"])
    return JSON(uploads.upload_object(session, None))


async def add_part(request: Request) -> Response:
    """POST /v1/uploads/{upload_id}/parts (multipart `data`): one part of the upload's bytes."""
    admitted = await _form(request, {"data": UploadFile})
    engine, upload_id = engine_of(request), request.path_params["upload_id"]
    session = engine.multipart(admitted.namespace, admitted.key, upload_id)
    part = admitted.form["data"]
    assert isinstance(part, UploadFile)  # checked by _form
    data, _ = await _file_data(request, part, "data")
    part_id, at = engine.add_part(admitted.namespace, admitted.key, upload_id, data)
    return JSON(uploads.part_object(part_id, at, session.id))


async def complete(request: Request) -> Response:
    """POST /v1/uploads/{upload_id}/complete `{part_ids}`: the parts, in that order, become a file; their sizes
    must add up to the `bytes` the upload declared (and their MD5 to `md5`, when given).

    What the document states (at least one part id, none twice) is a 422; the rest hangs on the upload's state,
    a 409: a part it does not have, parts that do not add up to its `bytes` or to `md5` (add or name the right
    parts, then complete). A 404 would say the upload itself is unknown."""
    admitted = await json_request(request, uploads.COMPLETE_FIELDS, settings_of(request).max_body_bytes)
    engine, body, upload_id = engine_of(request), admitted.fields, request.path_params["upload_id"]
    session = engine.multipart(admitted.namespace, admitted.key, upload_id)
    part_ids: list[Any] = body["part_ids"]
    violations = []
    if not part_ids:
        violations.append(Violation("part_ids", "min_items", "part_ids must list at least one part"))
    if any(not isinstance(p, str) for p in part_ids):
        violations.append(Violation("part_ids", "type", "part_ids must be strings"))
    elif len(set(part_ids)) != len(part_ids):
        violations.append(Violation("part_ids", "unique", "part_ids names a part more than once"))
    if violations:
        raise invalid(request, violations)
    unknown = [p for p in part_ids if p not in session.parts]
    if unknown:
        raise errors.Conflict(f"part_ids names parts this upload does not have: {', '.join(unknown[:5])}",
                              code="upload_part_unknown")
    data = b"".join(session.parts[p][1] for p in part_ids)
    if len(data) != session.size:
        raise errors.Conflict(f"the parts add up to {len(data)} bytes, but the upload declared bytes={session.size}",
                              code="upload_size_mismatch")
    if "md5" in body and hashlib.md5(data).hexdigest() != body["md5"].lower():
        raise errors.Conflict("md5 is not the MD5 (hex) of the parts", code="upload_checksum_mismatch")
    sniffed = uploads.sniff_mime(data, session.filename)
    upload, pending = engine.complete_multipart(admitted.namespace, admitted.key, upload_id, part_ids,
                                                session.mime_type if sniffed == uploads.OCTET_STREAM else sniffed)
    await kept(pending)
    return JSON(uploads.upload_object(session, uploads.file_object(upload, image_origin(request))))


async def cancel(request: Request) -> Response:
    """POST /v1/uploads/{upload_id}/cancel: no part may be added after, and it never completes."""
    admitted = await admit(request, apply_scenario=False)
    session = engine_of(request).cancel_multipart(admitted.namespace, admitted.key,
                                                  request.path_params["upload_id"])
    return JSON(uploads.upload_object(session, None))
