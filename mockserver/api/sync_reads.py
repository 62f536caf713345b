"""What the synchronous actions leave to read: the account's Fish Audio voices and Suno personas, and the
speech files of the text-to-speech answers.

Fish Audio's list and get are reads of the account's resources (no task, no price): `{voices, total,
page_number, page_size}` and `{voice}`, an unknown id a 404 as the SDK expects (NotFoundError). A voice's
`state` follows the task that made it: `trained` once it completed, `training` while it runs, `failed`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import errors
from ..media import audio
from . import speech_files
from .admission import Admission, admit, engine_of, settings_of
from .parsing import context
from .responses import JSON

__all__ = ["READS", "routes"]

_STATE = {"completed": "trained", "failed": "failed"}


def _voice(admitted: Admission, record: Mapping[str, Any]) -> dict[str, Any]:
    task = admitted.engine.find(admitted.namespace, str(record.get("task_id", "")))
    state = _STATE.get(task.status, "training") if task is not None else "trained"
    return {"voice_id": record["id"], "name": record.get("name"), "state": state}


def list_voices(admitted: Admission, body: Mapping[str, Any]) -> Response:
    page, size = int(body.get("page_number", 1)), int(body.get("page_size", 10))
    voices = admitted.engine.list_resources(admitted.namespace, admitted.key, "fish_voice")
    shown = voices[(page - 1) * size:page * size]
    return JSON({"voices": [_voice(admitted, r) for r in shown], "total": len(voices), "page_number": page,
                 "page_size": size})


def get_voice(admitted: Admission, body: Mapping[str, Any]) -> Response:
    voice_id = str(body.get("voice_id", ""))
    record = admitted.engine.find_resource(admitted.namespace, admitted.key, "fish_voice", voice_id)
    if record is None:
        raise errors.NotFound(f"Voice {voice_id} not found")
    return JSON({"voice": _voice(admitted, record)})


READS: Mapping[str, Callable[[Admission, Mapping[str, Any]], Response]] = {
    "fish_voices": list_voices, "fish_voice_read": get_voice,
}


async def persona(request: Request) -> Response:
    """GET /api/v1/personas/{id} (runapi-suno's `personas.get`): {persona, status: available}, or 404."""
    admitted = await admit(request)
    persona_id = request.path_params["persona_id"]
    record = admitted.engine.find_resource(admitted.namespace, admitted.key, "persona", persona_id)
    if record is None:
        raise errors.NotFound(f"Persona {persona_id} not found")
    return JSON({"persona": {"id": record["id"], "name": record.get("name"),
                             "description": record.get("description")}, "status": "available"})


async def speech_file(request: Request) -> Response:
    """GET /files/{namespace}/{task_id}/speech/{name}: a text-to-speech answer's file, as a CDN would serve it."""
    engine, settings = engine_of(request), settings_of(request)
    ns = engine.find_namespace(request.path_params["namespace"])
    task = engine.find(ns, request.path_params["task_id"]) if ns else None
    if ns is None or task is None or task.status != "completed" or not speech_files.is_speech(task) \
            or request.path_params["name"] != speech_files.file_name(task):
        raise errors.NotFound("No such file")
    context(request).namespace, context(request).task_id = ns, task.id
    if task.finished_at is not None and engine.now(ns) - task.finished_at > settings.file_ttl_seconds:
        raise errors.Gone("This file has expired; generated files are kept "
                          f"{settings.file_ttl_seconds:g} seconds")
    data = speech_files.render(task)
    fmt = speech_files.spoken(task)[1]
    return Response(data, media_type=audio.content_type(fmt), headers={"Cache-Control": "private, max-age=3600"})


routes = [
    Route("/api/v1/personas/{persona_id}", persona, methods=["GET"], name="sdk:GET /api/v1/personas/{id}"),
    Route("/files/{namespace}/{task_id}/" + speech_files.SPEECH_DIR + "/{name}", speech_file, methods=["GET"]),
]
