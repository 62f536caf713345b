"""Sources on the mock's own files: checked when a task is created, and kept for the output derived from them.

Every source field has a media kind in the catalog (`media`: image, video, audio, or `task:<kind>` for a
field naming an earlier task of the same account, such as `source_task_id`). What follows says images; a
video or audio URL is resolved the same way, its length and size probed (an upload) or read from the task
that made it, and kept as a SourceMedia on the task (sources_media.py); a task id must name a completed
task of that kind.

A create's image-input URLs (the catalog's fields marked `media: image`) that point at the mock's own files, an
upload (`/uploads/{namespace}/{id}/{name}`) or an earlier task's image (`/files/{namespace}/{task}/{n}.{ext}`),
on a loopback host, the creating request's host or the --public-url, behind any /ns/<name> prefix, are resolved
as the mock's own routes would serve them. One that is missing, deleted, expired or not an image makes the task
end `failed` on its normal clock: the create is still accepted, as the real service's is, which fetches its
sources while it processes. The primary source's pixels (the catalog's output `source`) are kept on the task,
bounded, so its output is derived from them however long the upload lives. URLs elsewhere are never fetched.
An extension that starts past the end of a source the mock read (the output spec's `window_start`, Grok's
`start_seconds`) fails the same way, its error_code `<field>_out_of_range`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from runapi_contracts.catalog import Model
from runapi_contracts.media_output import window_error
from runapi_contracts.receiver import is_loopback_host

from ..media import images
from ..settings import Settings
from .model import Namespace, SourceImage, SourceMedia, Task
from .sources_media import Unusable, completed_task, read_media, song_ref, task_ref
from .uploads import own_path

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["ERROR_CODE", "KEPT_LONG_SIDE", "Resolved", "error_code", "resolve", "task_picture"]

ERROR_CODE = "source_image_unavailable"
KEPT_LONG_SIDE = 512  # what a task keeps of its source: enough to see it in any output, a few KB to ~100 KB
_LOOPBACK = ("http://127.", "https://127.", "http://localhost", "https://localhost", "http://[::1]",
             "https://[::1]", "http://[0:0:0:0:0:0:0:1]", "https://[0:0:0:0:0:0:0:1]")
_ORIENTATION = 0x0112  # EXIF: 5-8 turn the picture a quarter, so width and height swap

Refresh = Callable[[Namespace, Task], None]


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a create's own-file sources came to: the first one that cannot be used, or the primary's pixels."""

    failure: tuple[str, str] | None = None  # (message, error_code) the task ends `failed` with
    source: SourceImage | None = None
    media: tuple[SourceMedia, ...] = ()

    def apply(self, task: Task) -> None:
        """Make `task` fail for its source, unless a scenario already chose another end for it; or keep it."""
        if self.failure is None:
            task.source, task.media = self.source, self.media
        elif task.outcome == "completed":
            task.outcome, task.failure = "failed", self.failure


_Unusable = Unusable


def error_code(media: str) -> str:
    """The error_code of a task whose source of this kind cannot be used: source_image_unavailable, ..."""
    return f"source_{media.partition(':')[0]}_unavailable"


def resolve(model: Model, body: Mapping[str, Any], origin: str, settings: Settings,
            namespaces: Mapping[str, Namespace], refresh: Refresh, namespace: str | None = None,
            key: str | None = None) -> Resolved | None:
    """Check every source of `body` that is on the mock's own files (or names one of its tasks); None when
    there is none. `namespaces` are the engine's open ones (never opened here); `refresh` brings a task up
    to date on its clock; `namespace` and `key` are the creating request's (task ids are theirs)."""
    for name in model.source_fields:
        if body.get(name) is not None:
            break
    else:  # the commonest create: no source sent (each check below needs a value in one of these fields)
        return None
    sent = _file_like_urls(model, body)
    refs = [(name, body[name]) for name in model.source_fields
            if str(model.media(name)).startswith("task:") and isinstance(body.get(name), str)]
    songs = [(name, str(model.media(name))[len("song:"):]) for name in model.source_fields
             if str(model.media(name)).startswith("song:") and body.get(name) is not None]
    if not sent and not refs and not songs:  # the common case: no source, or none on a path the mock serves
        return None
    ttl = settings.file_ttl_seconds
    kept: SourceImage | None = None
    media: list[SourceMedia] = []
    for name, task_id in refs:
        kind = str(model.media(name))
        try:
            media.append(task_ref(name, kind, task_id, namespaces.get(namespace or ""), key, refresh, ttl,
                                  task_picture))
        except Unusable as unusable:
            return Resolved(failure=(f"Cannot use {name} ({task_id}): {unusable}", error_code(kind)))
    for name, task_field in songs:  # a song of an earlier task: task_id + audio_id
        try:
            media.append(song_ref(name, task_field, body, namespaces.get(namespace or ""), key, refresh, ttl))
        except Unusable as unusable:
            return Resolved(failure=(f"Cannot use {name} ({body.get(name)}): {unusable}", error_code("audio")))
    prefixes = _prefixes(origin, settings.public_url)
    for field, index, url in sent:
        file = _own_file(url, origin, settings.public_url) if _on_own_host(url, prefixes) else None
        if file is None:
            continue  # elsewhere: never fetched
        kind = model.media(field) or "image"
        try:
            if kind == "image":
                picture, label = _read(file, namespaces, refresh, ttl)
            else:
                found = read_media(field, kind, file, namespaces, refresh, ttl, task_picture)
                if not index:
                    media.append(found)
                continue
        except Unusable as unusable:
            where = field if index is None else f"{field}[{index}]"
            return Resolved(failure=(f"Cannot read {where} ({url}): {unusable}", error_code(kind)))
        if kept is None and field == model.source_field and not index:
            kept = _bounded(picture, label)
        if model.kind != "image" and not index:  # a video's first or last frame, an avatar's face
            bounded = kept if kept is not None and field == model.source_field else _bounded(picture, label)
            media.append(SourceMedia(field, "image", bounded.width, bounded.height, data=bounded.data,
                                     label=label))
    late = window_error(model.output_spec, body, {m.field: m.facts() for m in reversed(media)})
    if late is not None:  # an extension that starts past the end of its source (Grok's start_seconds)
        field, why = late
        return Resolved(failure=(f"Cannot extend from {field}: {why}", f"{field}_out_of_range"))
    return Resolved(source=kept if model.kind == "image" else None, media=tuple(media))


def _file_like_urls(model: Model, body: Mapping[str, Any]) -> list[tuple[str, int | None, str]]:
    """(field, list index or None, url) of the image-input URLs whose text names a files or uploads path: the
    cheap test before any parsing, a substring search per URL."""
    found: list[tuple[str, int | None, str]] = []
    for field in model.source_fields:
        value = body.get(field)
        if isinstance(value, str):
            if "/files/" in value or "/uploads/" in value:
                found.append((field, None, value))
        elif isinstance(value, list):
            found += [(field, index, url) for index, url in enumerate(value)
                      if isinstance(url, str) and ("/files/" in url or "/uploads/" in url)]
    return found


@lru_cache(maxsize=64)
def _prefixes(origin: str, public_url: str | None) -> tuple[str, ...]:
    own = [_scheme_host(origin)] + ([_scheme_host(public_url)] if public_url else [])
    return (*_LOOPBACK, *own)


def _scheme_host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _on_own_host(url: str, prefixes: tuple[str, ...]) -> bool:
    """Does the URL start with a host the mock may answer on (loopback, the request's, the public URL's)?"""
    return url.startswith(prefixes) or url[:256].lower().startswith(prefixes)


def _own_file(url: str, origin: str, public_url: str | None) -> tuple[str, str, str, str] | None:
    """(kind, namespace, id, name) of the upload or task file `url` names, if it is on a host of the mock and
    has a path the mock serves files at (uploads.own_path, after any public-URL prefix)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    path = parts.path
    public = urlsplit(public_url) if public_url else None
    if public is not None and host == (public.hostname or "").lower() and public.path.rstrip("/"):
        base = public.path.rstrip("/")
        path = path[len(base):] if path.startswith(base + "/") else path
    elif not (is_loopback_host(host) or host == (urlsplit(origin).hostname or "").lower()
              or (public is not None and host == (public.hostname or "").lower())):
        return None
    # Only the shapes the mock serves: a loopback server of the client's own may have a /files/ of its own.
    return own_path(path)



def _read(file: tuple[str, str, str, str], namespaces: Mapping[str, Namespace], refresh: Refresh,
          ttl: float) -> tuple[Image.Image, str]:
    """The picture of a mock file, and its caption label; raises _Unusable saying why there is none."""
    kind, namespace, owner, name = file
    ns = namespaces.get(namespace)
    if kind == "uploads":
        return _upload(ns, owner)
    return _task_image(ns, owner, name, refresh, ttl)


def _upload(ns: Namespace | None, upload_id: str) -> tuple[Image.Image, str]:
    upload = ns.uploads.get(upload_id) if ns is not None else None
    if ns is None or upload is None:
        raise _Unusable(f"no upload {upload_id} (never uploaded, or deleted)")
    now = ns.clock.now()
    if upload.expired(now):
        raise _Unusable(f"upload {upload_id} expired {now - upload.expires_at:g} s ago")
    if not upload.mime_type.lower().startswith("image/"):
        raise _Unusable(f"upload {upload_id} is {upload.mime_type}, not an image")
    return _decode(upload.data, f"upload {upload_id}"), f"upload {upload.file_name}"


def _task_image(ns: Namespace | None, task_id: str, name: str, refresh: Refresh,
                ttl: float) -> tuple[Image.Image, str]:
    task = completed_task(ns, task_id, refresh, ttl, files="images")
    if task.kind != "image":
        raise _Unusable(f"task {task_id} made {task.kind}, not images")
    names = [url.rsplit("/", 1)[1] for url in task.image_urls()]
    if name not in names:
        raise _Unusable(f"task {task_id} has no image {name} (its images: {', '.join(names)})")
    index = names.index(name)
    return _picture(task, index, name), f"task {task_id[:8]} image {index + 1}"


def _picture(task: Task, index: int, name: str) -> Image.Image:
    width, height = task.image_size()
    # Drawn at the size the task keeps, not at full size (a 4k image took ~100 ms under the engine's lock): the
    # caption is laid out in proportion to the size, so the picture is the one served, only smaller.
    scale = min(1.0, KEPT_LONG_SIDE / max(width, height))
    picture = images.draw(f"{task.id}/{name}", max(1, round(width * scale)), max(1, round(height * scale)),
                          task.caption(index), task.source.data if task.source is not None else None)
    picture.info["real_size"] = (width, height)
    return picture


def task_picture(task: Task, index: int) -> tuple[int, int, bytes]:
    """(width, height, bounded bytes) of image `index` of a completed image task: a task-id source's pixels."""
    name = task.image_urls()[index].rsplit("/", 1)[1]
    kept = _bounded(_picture(task, index, name), "")
    return kept.width, kept.height, kept.data


def _decode(data: bytes, what: str) -> Image.Image:
    """The upload's picture, decoded small where the format allows; its `info["real_size"]` the full size."""
    from PIL import Image, ImageOps  # at first use: see the module docstring
    try:
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
            if opened.getexif().get(_ORIENTATION, 1) in (5, 6, 7, 8):
                width, height = height, width
            opened.draft("RGB", (KEPT_LONG_SIDE, KEPT_LONG_SIDE))  # JPEG decodes at 1/2..1/8 scale
            picture = ImageOps.exif_transpose(opened)
            picture.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise _Unusable(f"{what} is not an image Pillow can read ({type(exc).__name__})") from None
    picture.info["real_size"] = (width, height)
    return picture


def _bounded(picture: Image.Image, label: str) -> SourceImage:
    """What a task keeps: the picture at most KEPT_LONG_SIDE a side, PNG when it has transparency, else JPEG."""
    from PIL import Image  # at first use: see the module docstring
    width, height = picture.info.get("real_size", picture.size)
    copy = picture.copy()
    copy.thumbnail((KEPT_LONG_SIDE, KEPT_LONG_SIDE), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    if copy.mode in ("RGBA", "LA", "PA") or "transparency" in copy.info:
        copy.convert("RGBA").save(out, format="PNG", compress_level=6)
    else:
        copy.convert("RGB").save(out, format="JPEG", quality=90)
    return SourceImage(out.getvalue(), width, height, label)
