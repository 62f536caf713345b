"""`create_app(settings)`: the engine, routes, middleware, error rendering and the background scheduler."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp

from . import access_log, dashboard, errors, images
from .callbacks import Dispatcher
from .engine import TaskEngine
from .events import NullStore, Store
from .hosts import HostGuard, HostPolicy
from .media.cache import RenderCache
from .middleware import RequestContextMiddleware
from .routes import routes
from .routing import ExactRouter
from .scheduler import Scheduler
from .settings import Settings
from .state import StateStore

logger = logging.getLogger("runapi_mock")


class _App(Starlette):
    """Starlette without its ExceptionMiddleware: RequestContextMiddleware answers every exception itself.

    Starlette puts an ExceptionMiddleware (a Request and a send wrapper per request) inside the user middleware
    for MockError and HTTPException, and the handler for Exception in its outermost ServerErrorMiddleware, which
    re-raises. The mock renders all of them with errors.respond inside RequestContextMiddleware (so each gets
    its request id and journal entry); ServerErrorMiddleware keeps that handler for a crash in the middleware.
    """

    def build_middleware_stack(self) -> ASGIApp:
        app: ASGIApp = self.router
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return ServerErrorMiddleware(app, handler=self.exception_handlers.get(Exception), debug=self.debug)


def create_app(settings: Settings | None = None) -> Starlette:
    """A mock server app; its engine is `app.state.engine` for tests that drive it from Python."""
    settings = settings or Settings()
    # The one place that wires them: the engine publishes, the dispatcher subscribes, both write to the store.
    store: Store = StateStore(settings.state_path) if settings.state_path else NullStore()
    engine = TaskEngine(settings, store)
    dispatcher = Dispatcher(settings, store)
    engine.subscribe(dispatcher.handle)
    changes = dashboard.Changes()  # what open dashboards wait on
    engine.subscribe(changes)
    dispatcher.subscribe(changes)
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

    request_listeners: list[access_log.Listener] = []  # serve's request log, when it prints one
    # errors.respond renders every error, inside RequestContextMiddleware (see _App).
    # HostGuard runs inside RequestContextMiddleware, which renders its refusals (see hosts.py).
    app = _App(middleware=[Middleware(RequestContextMiddleware, listeners=request_listeners),
                           Middleware(HostGuard, policy=HostPolicy(settings.allowed_hosts, settings.public_url))],
               exception_handlers={Exception: errors.respond})
    # Starlette takes no router; ours is set before the first request builds the middleware stack.
    app.router = ExactRouter(routes, redirect_slashes=False, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.store = store
    app.state.scheduler = scheduler
    app.state.dispatcher = dispatcher
    app.state.changes = changes
    app.state.request_listeners = request_listeners
    app.state.image_cache = images.ImageCache()
    app.state.render_cache = RenderCache(settings.render_cache_bytes)  # videos and audio (file_serving.py)
    return app
