"""Suno's voice routes (runapi-suno's `Voices` resource): a voice of the account, created, listed and read back.

`POST /api/v1/voices` {source_audio_url, name?} makes a voice at once (the SDK reads the answer as final:
{voice: {id, name}}); `GET /api/v1/voices/{id}` answers {voice, status: available} or 404; `GET
/api/v1/voices` lists the account's voices (the mock's own listing: the SDK has none). A completed
`suno/generate_voice` task makes a voice too. Voices are the account's resources (resources.py): the same
key in the same namespace sees them, `--state` keeps them, and a persona_id naming one is accepted.
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response

from .. import errors
from .admission import admit
from .responses import JSON

KIND = "voice"
_MAX_NAME = 200


async def create(request: Request) -> Response:
    admitted = await admit(request, body="json")
    engine, ns, key, body = admitted.engine, admitted.namespace, admitted.key, admitted.body
    if not isinstance(body, dict):
        raise errors.ValidationFailed("the body must be a JSON object", code="validation_failed")
    url = body.get("source_audio_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise errors.ValidationFailed("source_audio_url: an http(s) URL of the recording is required",
                                      code="validation_failed")
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > _MAX_NAME):
        raise errors.ValidationFailed(f"name: a string of at most {_MAX_NAME} characters",
                                      code="validation_failed")
    digest = hashlib.sha256(f"{ns.name}/{key}/{url}/{name}/{engine.new_id()}".encode()).hexdigest()
    record = engine.add_resource(ns, key, KIND, {"id": f"voice_{digest[:24]}", "name": name,
                                                "source_audio_url": url})
    return JSON({"voice": {"id": record["id"], "name": record["name"]}})


async def read(request: Request) -> Response:
    admitted = await admit(request)
    engine, ns, key = admitted.engine, admitted.namespace, admitted.key
    voice_id = request.path_params["voice_id"]
    record = engine.find_resource(ns, key, KIND, voice_id)
    if record is None:
        raise errors.NotFound(f"no voice {voice_id} in this account", code="voice_not_found")
    return JSON({"voice": {"id": record["id"], "name": record.get("name")}, "status": "available"})


async def listing(request: Request) -> Response:
    admitted = await admit(request)
    engine, ns, key = admitted.engine, admitted.namespace, admitted.key
    voices = [{"id": r["id"], "name": r.get("name")} for r in engine.list_resources(ns, key, KIND)]
    return JSON({"voices": voices, "total": len(voices)})
