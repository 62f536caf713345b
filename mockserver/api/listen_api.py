"""`runapi listen`'s routes (/api/v1/cli/...), as RunAPI's CLI calls them (runapi-ai/cli, cmd/runapi/listen.go).

The CLI sends its key as `X-API-Key` (an `Authorization: Bearer` key is taken too) and the session's token as
`X-Session-Token`. A poll's events carry `signed_body` and the `headers` the CLI forwards to the local URL:
the callback headers (X-Callback-Id, -Timestamp, -Signature, Content-Type) signed with the key's listen
signing secret at the time of the poll, so a redelivered event is signed afresh with the same X-Callback-Id.
"""

from __future__ import annotations

import re
import time

from starlette.requests import Request
from starlette.responses import Response

from runapi_contracts.signing import callback_headers

from .. import errors
from ..engine.listen import ListenEvent, ListenKey, key_id
from .admission import Admission, admit
from .responses import JSON

_EVENT_ID = re.compile(r"[0-9]{1,15}")
SESSION_HEADER = "x-session-token"


def _key_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.BadRequest("callback_api_key_id must be a key id from GET /api/v1/cli/keys",
                                code="invalid_parameter")
    return value.strip()


def _event_id(text: str, name: str) -> int:
    if not _EVENT_ID.fullmatch(text):
        raise errors.BadRequest(f"{name} must be a whole number of at most 15 digits", code="invalid_parameter")
    return int(text)


def _token(caller: Admission) -> str:
    token = caller.context.headers.get(SESSION_HEADER, "").strip()
    if not token:
        raise errors.BadRequest("X-Session-Token is missing: POST /api/v1/cli/listen_sessions gives one",
                                code="invalid_header")
    return token


def _secret_body(key: ListenKey) -> dict[str, object]:
    return {"listen_secret": key.secret, "callback_api_key": key.summary()}


def _event(event: ListenEvent, secret: str) -> dict[str, object]:
    # Receivers check the timestamp against their own clock, so it is wall time, as the dispatcher's.
    return {"id": event.id, "signed_body": event.body.decode(),
            "headers": callback_headers(secret, event.callback_id, int(time.time()), event.body)}


async def keys(request: Request) -> Response:
    """GET /api/v1/cli/keys: every key of the namespace as a callback subscription key."""
    caller = await admit(request, cli_key=True)
    found = caller.engine.listen_keys(caller.namespace, caller.key)
    return JSON({"api_keys": [key.summary() for key in found]})


async def listen_secret(request: Request) -> Response:
    """GET (read) or PATCH (rotate) /api/v1/cli/listen_secret?callback_api_key_id=."""
    caller = await admit(request, cli_key=True)
    key_id = _key_id(request.query_params.get("callback_api_key_id"))
    key = caller.engine.listen_secret(caller.namespace, caller.key, key_id, rotate=request.method == "PATCH")
    return JSON(_secret_body(key))


async def create_session(request: Request) -> Response:
    """POST /api/v1/cli/listen_sessions {callback_api_key_id} -> 201 {session_token, listen_secret, ...}."""
    caller = await admit(request, body="json", cli_key=True)
    body = caller.body if caller.body is not None else {}
    if not isinstance(body, dict):
        raise errors.BadRequest("the body must be a JSON object: {\"callback_api_key_id\": \"...\"}",
                                code="invalid_json")
    wanted = _key_id(body["callback_api_key_id"]) if body.get("callback_api_key_id") is not None \
        else key_id(caller.key)
    session, key = caller.engine.open_listen_session(caller.namespace, caller.key, wanted)
    return JSON({"session_token": session.token, **_secret_body(key)}, status_code=201)


async def delete_session(request: Request) -> Response:
    """DELETE /api/v1/cli/listen_sessions/{token}: the CLI's goodbye."""
    caller = await admit(request, cli_key=True)
    caller.engine.close_listen_session(caller.namespace, caller.key, request.path_params["token"])
    return Response(status_code=204)


async def poll(request: Request) -> Response:
    """GET /api/v1/cli/listen_events?last_id=N with X-Session-Token: the queued events after N."""
    caller = await admit(request, cli_key=True)
    last_id = _event_id(request.query_params.get("last_id", "0"), "last_id")
    found, key = caller.engine.poll_listen(caller.namespace, caller.key, _token(caller), last_id)
    return JSON({"events": [_event(event, key.secret) for event in found]})


async def ack(request: Request) -> Response:
    """POST /api/v1/cli/listen_events/{id}/ack with X-Session-Token: 204, the event is no longer queued."""
    caller = await admit(request, cli_key=True)
    event_id = _event_id(request.path_params["event_id"], "the event id")
    caller.engine.ack_listen(caller.namespace, caller.key, _token(caller), event_id)
    return Response(status_code=204)
