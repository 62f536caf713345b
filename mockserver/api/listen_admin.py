"""The admin side of `runapi listen`: the namespace's listeners and their queues, and the actions that reach the
statuses the CLI reacts to (a disabled key: 410; a revoked session: 403)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..engine.model import Namespace
from ..engine.tasks import TaskEngine
from .admin import namespace_of
from .admission import engine_of
from .responses import JSON


def _engine_and_namespace(request: Request) -> tuple[TaskEngine, Namespace]:
    return engine_of(request), namespace_of(request)


async def listeners(request: Request) -> Response:
    """GET /_mock/listeners."""
    engine, ns = _engine_and_namespace(request)
    return JSON(engine.listen_summary(ns))


async def set_key(request: Request, *, enabled: bool) -> Response:
    """POST /_mock/listeners/keys/{key_id}/disable (its sessions' polls get 410) or .../enable."""
    engine, ns = _engine_and_namespace(request)
    key = engine.set_listen_key_enabled(ns, request.path_params["key_id"], enabled)
    return JSON(key.summary())


async def revoke(request: Request) -> Response:
    """POST /_mock/listeners/sessions/{token}/revoke: its polls and acks answer 403 from then on."""
    engine, ns = _engine_and_namespace(request)
    session = engine.revoke_listen_session(ns, request.path_params["token"])
    return JSON(session.summary(engine.settings.listen_session_ttl))
