"""The benchmark's reference: a bare Starlette create endpoint on uvicorn, on the stack asked for.

It parses the same JSON body and answers a fixed JSON task, with no validation, state, middleware or
journal, so the mock's figures can be read as "what the mock's own work costs on top of the framework".
With `--static DIR` it also serves DIR's files at /static/ with Starlette's StaticFiles (the media section's
reference for a download: the same bytes, served from a file, nothing rendered).

    python bench/reference_app.py --port 8788 [--loop uvloop --http httptools] [--static DIR]
"""

from __future__ import annotations

import argparse
import json

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

TASK = {"id": "00000000-0000-4000-8000-000000000000", "task_id": "00000000-0000-4000-8000-000000000000",
        "status": "pending", "model": "flux-kontext-pro", "task_replayed": False}


async def create(request: Request) -> JSONResponse:
    body = json.loads(await request.body())
    if not isinstance(body, dict):
        return JSONResponse({"error": {"code": "invalid_json", "message": "send a JSON object"}}, status_code=400)
    return JSONResponse(TASK, headers={"X-RunAPI-Task-Id": TASK["id"]})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/api/v1/{family}/{action}", create, methods=["POST"]),
]
app = Starlette(routes=ROUTES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8788)
    parser.add_argument("--loop", default="auto",
                        help="uvicorn's --loop: auto (uvloop when installed), asyncio, uvloop")
    parser.add_argument("--http", default="auto",
                        help="uvicorn's --http: auto (httptools when installed), h11, httptools")
    parser.add_argument("--static", default=None, metavar="DIR", help="serve DIR's files at /static/")
    args = parser.parse_args()
    served = app if args.static is None else Starlette(
        routes=[*ROUTES, Mount("/static", StaticFiles(directory=args.static))])
    # The same uvicorn settings as `runapi-mock serve` (mockserver/serving/server.py: serve_forever).
    uvicorn.run(served, host=args.host, port=args.port, loop=args.loop, http=args.http, log_level="warning",
                lifespan="on", access_log=False, timeout_graceful_shutdown=10)


if __name__ == "__main__":
    main()
