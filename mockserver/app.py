"""`create_app(settings)`: the engine, routes, middleware, error rendering and the background scheduler."""

from __future__ import annotations

import contextlib
import logging
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware

from . import errors, images
from .callbacks import Dispatcher
from .engine import TaskEngine
from .middleware import RequestContextMiddleware
from .routes import routes
from .routing import ExactRouter
from .scheduler import Scheduler
from .settings import Settings
from .state import StateStore

logger = logging.getLogger("runapi_mock")


def create_app(settings: Settings | None = None) -> Starlette:
    """A mock server app; its engine is `app.state.engine` for tests that drive it from Python."""
    settings = settings or Settings()
    store = StateStore(settings.state_path) if settings.state_path else None
    engine = TaskEngine(settings, store)
    dispatcher = Dispatcher(engine, settings)
    if store is not None:
        restored = store.restore(engine, dispatcher)
        logger.info("restored %d tasks from %s", restored, store.path)
    scheduler = Scheduler([engine.tick, dispatcher.tick])
    engine.on_change.append(scheduler.wake)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await dispatcher.start()
        scheduler.start()
        try:
            yield
        finally:
            await scheduler.stop()
            owed = await dispatcher.stop()
            if store is not None:
                store.close()
            if owed:
                kept = f"kept in {store.path}; they resume at the next start" if store is not None \
                    else "not kept (no --state): they are lost"
                logger.warning("stopped with %d callback deliveries pending, %s: %s", len(owed), kept,
                               ", ".join(f"{d.id} ({d.state}, task {d.task_id}, {d.url})" for d in owed[:20])
                               + (f" and {len(owed) - 20} more" if len(owed) > 20 else ""))

    # errors.respond renders every error. Starlette hands the handlers for MockError and HTTPException to its
    # innermost ExceptionMiddleware, but one for Exception to its outermost ServerErrorMiddleware, which sits
    # outside ours and re-raises: so an ExceptionMiddleware of our own, inside ours, answers unexpected
    # exceptions (with the request id and a journal entry), and ServerErrorMiddleware only a crash in ours.
    app = Starlette(
        middleware=[Middleware(RequestContextMiddleware),
                    Middleware(ExceptionMiddleware, handlers={Exception: errors.respond})],
        exception_handlers={errors.MockError: errors.respond, HTTPException: errors.respond,
                            Exception: errors.respond},
    )
    # Starlette takes no router; ours is set before the first request builds the middleware stack.
    app.router = ExactRouter(routes, redirect_slashes=False, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.scheduler = scheduler
    app.state.dispatcher = dispatcher
    app.state.image_cache = images.ImageCache()
    return app
