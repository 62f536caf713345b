"""`create_app(settings)`: the engine, routes, middleware, error rendering and the background scheduler."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette._utils import get_route_path
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from . import errors, images
from .callbacks import Dispatcher
from .engine import TaskEngine
from .events import NullStore, Store
from .middleware import RequestContextMiddleware
from .responses import JSON
from .routes import routes
from .scheduler import Scheduler
from .settings import Settings
from .state import StateStore

logger = logging.getLogger("runapi_mock")
_HTTP_ERRORS: dict[int, type[errors.MockError]] = {
    400: errors.BadRequest, 404: errors.NotFound, 405: errors.MethodNotAllowed, 413: errors.PayloadTooLarge,
}


async def _http_error(request: Request, exc: Exception) -> Response:
    # Router 404/405 arrive as Starlette HTTPExceptions; answer them with the API's envelope too.
    assert isinstance(exc, HTTPException)
    kind = _HTTP_ERRORS.get(exc.status_code, errors.BadRequest)
    if exc.status_code == 404:
        error = kind(f"No such route: {request.method} {get_route_path(request.scope)}")
    elif exc.status_code == 405:
        error = kind(f"{request.method} is not allowed on {get_route_path(request.scope)}")
    else:
        error = kind(str(exc.detail))
    headers = {**error.headers(), **(exc.headers or {})}
    ctx = request.scope.get("runapi.context")
    if ctx is not None:
        ctx.error_code = error.code
    return JSON(error.body(), status_code=exc.status_code, headers=headers)


def create_app(settings: Settings | None = None) -> Starlette:
    """A mock server app; its engine is `app.state.engine` for tests that drive it from Python."""
    settings = settings or Settings()
    # The one place that wires them: the engine publishes, the dispatcher subscribes, both write to the store.
    store: Store = StateStore(settings.state_path) if settings.state_path else NullStore()
    engine = TaskEngine(settings, store)
    dispatcher = Dispatcher(settings, store)
    engine.subscribe(dispatcher.handle)
    snapshot = store.load()
    engine.restore(snapshot)
    dispatcher.restore(snapshot.deliveries, engine.clock)
    if settings.state_path:
        logger.info("restored %d tasks from %s", len(snapshot.tasks), settings.state_path)
    scheduler = Scheduler([engine.tick, dispatcher.tick])
    engine.on_change.append(scheduler.wake)
    dispatcher.on_change.append(scheduler.wake)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await dispatcher.start()
        scheduler.start()
        try:
            yield
        finally:
            await scheduler.stop()
            owed = await dispatcher.stop()
            store.close()
            if owed:
                kept = f"kept in {settings.state_path}; they resume at the next start" if settings.state_path \
                    else "not kept (no --state): they are lost"
                logger.warning("stopped with %d callback deliveries pending, %s: %s", len(owed), kept,
                               ", ".join(f"{d.id} ({d.state}, task {d.task_id}, {d.url})" for d in owed[:20])
                               + (f" and {len(owed) - 20} more" if len(owed) > 20 else ""))

    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestContextMiddleware)],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.store = store
    app.state.scheduler = scheduler
    app.state.dispatcher = dispatcher
    app.state.image_cache = images.ImageCache()
    return app
