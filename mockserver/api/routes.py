"""The route table: SDK routes and the public docs' routes from the catalog, account, files, the admin mount.

Every catalog action gets literal routes of its own (no path convertors), so an unknown family or action
is simply no route: 404 from the router, like any other unknown path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, Router

from runapi_contracts import Catalog, load_catalog

from ..serving import dashboard
from . import (
    admin_routes,
    cover_files,
    endpoints,
    files_api,
    listen_api,
    openai_files,
    pricing_api,
    prompts_api,
    sync_api,
    voices_api,
)
from .status_routes import family_status_routes

Endpoint = Callable[[Request], Awaitable[Response]]


def catalog_routes(catalog: Catalog) -> list[Route]:
    """POST /api/v1/{family}/{action} and GET .../{task_id} per action; /v1/{action} per action name."""
    sdk = [route
           for (family, action), spec in sorted(catalog.actions.items())
           for route in (
               Route(spec.path, _create_handler(family, action, spec.output_spec.get("sync")),
                     methods=["POST"], name=f"create:{family}/{action}"),
               Route(spec.path + "/{task_id}", partial(endpoints.get_task, family=family, action=action),
                     methods=["GET"], name=f"get:{family}/{action}"),
           )[:1 if "sync" in spec.output_spec else 2]]  # a synchronous action answers: nothing to poll there
    docs = [route  # the docs' routes resolve a task's family by model: the synchronous actions have none
            for action in sorted({name for (_, name), spec in catalog.actions.items()
                                  if "sync" not in spec.output_spec})
            for route in (
                Route(f"/v1/{action}", partial(endpoints.create_docs_task, action=action),
                      methods=["POST"], name=f"create:{action}"),
                Route(f"/v1/{action}/{{task_id}}", partial(endpoints.get_docs_task, action=action),
                      methods=["GET"], name=f"get:{action}"),
            )]
    return sdk + docs


def _create_handler(family: str, action: str, sync: object) -> Endpoint:
    """A synchronous action answers with its result (sync_api.py); any other action creates a task to poll."""
    if isinstance(sync, str):
        return partial(sync_api.create, family=family, action=action, sync=sync)
    return partial(endpoints.create_task, family=family, action=action)


routes: list[BaseRoute] = [
    Route("/healthz", endpoints.healthz, methods=["GET"]),
    Route("/openapi.json", endpoints.openapi, methods=["GET"]),
    Route("/api/v1/me", endpoints.me, methods=["GET"]),
    Route("/api/v1/me/balance", endpoints.balance, methods=["GET"]),
    Route("/api/v1/price_schedules", pricing_api.schedules, methods=["GET"]),
    Route("/api/v1/price_quotes", pricing_api.quotes, methods=["POST"]),
    Route("/v1/models", pricing_api.models, methods=["GET"]),
    Route("/api/v1/prompts", prompts_api.prompts, methods=["GET"]),
    Route("/api/v1/tasks/{task_id}", sync_api.task_result, methods=["GET"]),
    *sync_api.sync_routes(load_catalog()),  # the routes the SDKs of synchronous actions call instead
    # `runapi listen` (RunAPI's CLI): keys, listen secrets, sessions, polls and acks.
    Route("/api/v1/cli/keys", listen_api.keys, methods=["GET"]),
    Route("/api/v1/cli/listen_secret", listen_api.listen_secret, methods=["GET", "PATCH"]),
    Route("/api/v1/cli/listen_sessions", listen_api.create_session, methods=["POST"]),
    Route("/api/v1/cli/listen_sessions/{token}", listen_api.delete_session, methods=["DELETE"]),
    Route("/api/v1/cli/listen_events", listen_api.poll, methods=["GET"]),
    Route("/api/v1/cli/listen_events/{event_id}/ack", listen_api.ack, methods=["POST"]),
    Route("/v1/tasks/{task_id}", endpoints.get_docs_task, methods=["GET"]),
    *catalog_routes(load_catalog()),
    # Suno's voices (runapi-suno `Voices`): the account's voices, made here or by a generate_voice task.
    Route("/api/v1/voices", voices_api.create, methods=["POST"]),
    Route("/api/v1/voices", voices_api.listing, methods=["GET"]),
    Route("/api/v1/voices/{voice_id}", voices_api.read, methods=["GET"]),
    *family_status_routes(load_catalog()),  # after every literal route: a task id is never an action's name
    Route("/files/{namespace}/{task_id}/{name}", endpoints.file, methods=["GET"]),
    *cover_files.routes,  # a song's cover (its image_url), beside its files
    # The files API (issue 12): RunAPI's uploads, the direct upload's PUT target, OpenAI-style files and uploads.
    Route("/api/v1/files", files_api.create, methods=["POST"]),
    Route("/api/v1/files/prepare", files_api.prepare, methods=["POST"]),
    Route("/api/v1/files/confirm", files_api.confirm, methods=["POST"]),
    Route("/direct-uploads/{namespace}/{token}", files_api.put_direct, methods=["PUT"]),
    Route("/uploads/{namespace}/{upload_id}/{file_name}", files_api.serve, methods=["GET"]),
    Route("/v1/files", openai_files.files, methods=["GET", "POST"]),
    Route("/v1/files/{file_id}", openai_files.file, methods=["GET", "DELETE"]),
    Route("/v1/files/{file_id}/content", openai_files.content, methods=["GET"]),
    Route("/v1/uploads", openai_files.create_upload, methods=["POST"]),
    Route("/v1/uploads/{upload_id}/parts", openai_files.add_part, methods=["POST"]),
    Route("/v1/uploads/{upload_id}/complete", openai_files.complete, methods=["POST"]),
    Route("/v1/uploads/{upload_id}/cancel", openai_files.cancel, methods=["POST"]),
    *dashboard.routes,  # `/` and /_mock/ui/, before the admin mount that would take /_mock/ui
    # Paths take no trailing slash: no redirect (the SDKs do not follow one) but a 404, under /_mock/ too;
    # only the admin index answers both ways, as /_mock/ and /_mock.
    Route("/_mock", admin_routes.index, methods=["GET"]),
    Mount("/_mock", app=Router(admin_routes.routes, redirect_slashes=False)),
]
