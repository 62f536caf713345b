"""Uploads as the engine keeps them: files kept, deleted and expiring, and the uploads still on their way in.

The files routes (files_api.py, openai_files.py) read and check the request; every change to a namespace's
uploads happens here, under the engine's lock, and reaches the state store only as the engine's events. A
change that a --state file keeps returns the store's Pending, which the route awaits outside the lock.
"""

from __future__ import annotations

import secrets
import uuid

from .. import errors
from . import events, uploads
from .core import EngineCore, locked
from .model import DirectUpload, MultipartUpload, Namespace, Upload

UPLOAD_TTL_SECONDS = 3600.0  # an OpenAI upload must be completed within an hour of its creation

Kept = tuple[Upload, events.Pending | None]


class UploadBook(EngineCore):
    """A namespace's uploads (`ns.uploads`) and its upload sessions (`ns.upload_sessions`)."""

    # -- kept files -----------------------------------------------------------------------------------

    @locked
    def upload(self, ns: Namespace, upload_id: str) -> Upload | None:
        return ns.uploads.get(upload_id)

    @locked
    def uploads(self, ns: Namespace) -> list[Upload]:
        """The namespace's uploads, oldest first, expired ones too."""
        return list(ns.uploads.values())

    def store_upload(self, ns: Namespace, key: str, data: bytes, file_name: str, *, mime_type: str,
                     purpose: str = "user_data") -> Kept:
        """Keep `data` (bytes new to the mock: they must fit, see check_room) as a new upload of `key`, on the
        namespace's clock, expiring like generated files (the ones past the retention are forgotten first);
        the Pending is the store writing it."""

        def store() -> Upload:
            self._check_room(len(data))
            return self._keep(ns, key, data, file_name, mime_type, purpose)

        return self._submitted(store)

    @locked
    def check_room(self, adding: int) -> None:
        """A 507 when `adding` more bytes would take every namespace's uploads past --max-upload-total-bytes."""
        self._check_room(adding)

    def _check_room(self, adding: int) -> None:
        """Uploads on their way in that have expired are dropped first, in every namespace."""
        held = 0
        for each in self._namespaces.values():
            uploads.prune_sessions(each, each.clock.now())
            held += uploads.held_bytes(each)
        bound = self.settings.max_upload_total_bytes
        if held + adding > bound:
            raise errors.InsufficientStorage(
                f"the mock holds {held} bytes of uploads; {adding} more would pass its bound of {bound} "
                "(--max-upload-total-bytes, RUNAPI_MOCK_MAX_UPLOAD_TOTAL_BYTES): delete files, reset a namespace "
                "or raise the bound")

    def _keep(self, ns: Namespace, key: str, data: bytes, file_name: str, mime_type: str, purpose: str) -> Upload:
        for gone in uploads.prune(ns, self.settings.retention_seconds):
            self._publish(events.UploadDeleted(ns, gone))
        now = ns.clock.now()
        upload = Upload(id=self.new_id(), namespace=ns.name, key=key, file_name=file_name, mime_type=mime_type,
                        data=data, created_at=now, expires_at=now + self.settings.file_ttl_seconds,
                        purpose=purpose)
        ns.uploads[upload.id] = upload
        self._publish(events.UploadStored(ns, upload))
        return upload

    def delete_upload(self, ns: Namespace, upload_id: str) -> tuple[Upload | None, events.Pending | None]:
        """Delete an upload (its URL answers 404 from then on); None when there was none."""

        def delete() -> Upload | None:
            upload = ns.uploads.pop(upload_id, None)
            if upload is not None:
                self._publish(events.UploadDeleted(ns, upload_id))
            return upload

        return self._submitted(delete)

    # -- direct uploads: prepare, PUT, confirm --------------------------------------------------------

    @locked
    def prepare_direct(self, ns: Namespace, key: str, file_name: str, byte_size: int, checksum: str,
                       content_type: str) -> DirectUpload:
        """A prepared direct upload: its bytes come by PUT to its token's URL (the token is the authorization).
        Expired sessions of the namespace are dropped first."""
        uploads.prune_sessions(ns, ns.clock.now())
        direct = DirectUpload(signed_id=secrets.token_urlsafe(24), token=secrets.token_urlsafe(32), key=key,
                              file_name=file_name, byte_size=byte_size, checksum=checksum,
                              content_type=content_type, created_at=ns.clock.now())
        ns.upload_sessions.direct[direct.signed_id] = direct
        ns.upload_sessions.tokens[direct.token] = direct.signed_id
        return direct

    @locked
    def direct_by_token(self, ns: Namespace, token: str) -> DirectUpload | None:
        signed_id = ns.upload_sessions.tokens.get(token)
        return ns.upload_sessions.direct.get(signed_id) if signed_id else None

    @locked
    def receive_direct(self, direct: DirectUpload, data: bytes, problems: list[str]) -> None:
        """The PUT's bytes: they must fit (507, see check_room); a second PUT is a 409; bytes the route found
        `problems` with (size, MD5, type differing from what was prepared) a 422."""
        self._check_room(len(data))
        if direct.data is not None:
            raise errors.Conflict("These bytes were uploaded already: an upload URL takes one PUT",
                                  code="upload_already_received")
        if problems:
            raise errors.ValidationFailed("Upload refused: " + "; ".join(problems), code="upload_integrity_error")
        direct.data = data

    def confirm_direct(self, ns: Namespace, key: str, signed_id: str) -> Kept:
        """The uploaded bytes of `signed_id` become an upload of `key`."""

        def confirm() -> Upload:
            direct = ns.upload_sessions.direct.get(signed_id)
            if direct is None or direct.key != key:
                raise errors.NotFound("No prepared upload has this signed_id (unknown, of another key, or its "
                                      "namespace was reset)")
            if direct.upload_id is not None:
                raise errors.Conflict("This signed_id was confirmed already", code="upload_already_confirmed")
            if direct.data is None:
                raise errors.Conflict("Nothing was uploaded for this signed_id yet: PUT the bytes to its "
                                      "upload_url first", code="upload_not_received")
            upload = self._keep(ns, key, direct.data, direct.file_name, uploads.sniff_mime(direct.data,
                                direct.file_name), "user_data")
            direct.upload_id, direct.data = upload.id, None
            ns.upload_sessions.tokens.pop(direct.token, None)
            return upload

        return self._submitted(confirm)

    # -- OpenAI-style uploads: create, parts, complete, cancel ----------------------------------------

    @locked
    def open_multipart(self, ns: Namespace, key: str, filename: str, size: int, mime_type: str,
                       purpose: str) -> MultipartUpload:
        now = ns.clock.now()
        uploads.prune_sessions(ns, now)
        session = MultipartUpload(id=f"upload_{uuid.UUID(self.new_id()).hex}", key=key, filename=filename,
                                  size=size, mime_type=mime_type, purpose=purpose, created_at=now,
                                  expires_at=now + UPLOAD_TTL_SECONDS)
        ns.upload_sessions.multipart[session.id] = session
        return session

    @locked
    def multipart(self, ns: Namespace, key: str, upload_id: str, *, pending: bool = True) -> MultipartUpload:
        """The key's upload `upload_id` (404 otherwise); with `pending`, 409 unless parts may still come."""
        session = ns.upload_sessions.multipart.get(upload_id)
        if session is None or session.key != key:
            raise errors.NotFound("No such upload (unknown, or of another key)")
        if session.status == "pending" and ns.clock.now() > session.expires_at:
            session.status = "expired"
        if pending and session.status != "pending":
            raise errors.Conflict(f"This upload is {session.status}: it takes no more parts and cannot complete",
                                  code="upload_not_pending")
        return session

    @locked
    def add_part(self, ns: Namespace, key: str, upload_id: str, data: bytes) -> tuple[str, float]:
        """One part of a pending upload's bytes (they must fit, see check_room): its id and when it came."""
        session = self.multipart(ns, key, upload_id)
        self._check_room(len(data))
        part_id = f"part_{uuid.UUID(self.new_id()).hex}"
        now = ns.clock.now()
        session.parts[part_id] = (now, data)
        return part_id, now

    def complete_multipart(self, ns: Namespace, key: str, upload_id: str, part_ids: list[str],
                           mime_type: str) -> Kept:
        """The parts `part_ids` (checked by the route), in that order, become a file of `mime_type`."""

        def complete() -> Upload:
            session = self.multipart(ns, key, upload_id)
            data = b"".join(session.parts[p][1] for p in part_ids)
            upload = self._keep(ns, key, data, session.filename, mime_type, session.purpose)
            session.status, session.file_id, session.parts = "completed", upload.id, {}
            return upload

        return self._submitted(complete)

    @locked
    def cancel_multipart(self, ns: Namespace, key: str, upload_id: str) -> MultipartUpload:
        """No part may be added after, and it never completes."""
        session = self.multipart(ns, key, upload_id)
        session.status, session.parts = "cancelled", {}
        return session
