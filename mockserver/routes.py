"""The route table: SDK routes, the public docs' routes, account, files, and the admin mount."""

from __future__ import annotations

from starlette.routing import Mount, Route

from . import admin, endpoints

routes = [
    Route("/healthz", endpoints.healthz, methods=["GET"]),
    Route("/openapi.json", endpoints.openapi, methods=["GET"]),
    Route("/api/v1/me", endpoints.me, methods=["GET"]),
    Route("/api/v1/me/balance", endpoints.balance, methods=["GET"]),
    Route("/api/v1/tasks/{task_id}", endpoints.get_task_result, methods=["GET"]),
    Route("/api/v1/{family}/{action}", endpoints.create_task, methods=["POST"]),
    Route("/api/v1/{family}/{action}/{task_id}", endpoints.get_task, methods=["GET"]),
    Route("/v1/tasks/{task_id}", endpoints.get_docs_task, methods=["GET"]),
    Route("/v1/{action}", endpoints.create_docs_task, methods=["POST"]),
    Route("/v1/{action}/{task_id}", endpoints.get_docs_task, methods=["GET"]),
    Route("/files/{namespace}/{task_id}/{name}", endpoints.file, methods=["GET"]),
    Mount("/_mock", routes=admin.routes),
]
