"""Shared fixtures: the app in-process, a TestClient on it, and the app served on a real loopback port."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from starlette.applications import Starlette
from starlette.testclient import TestClient

from runapi_mock import Settings, create_app
from runapi_mock.server import RunningServer, serve_in_thread

settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("dev", max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile("ci")

pytest_plugins = ("pytester",)


def _close_sdk_clients_when_collected() -> None:
    """The official SDK clients have no close(): each leaves two httpx.Clients open, whose sockets warn
    (PytestUnraisableExceptionWarning, an error here) in whichever test runs when it is collected. Users close
    theirs with the plugin's `runapi_sdk` (or `close_sdk_client`); the suite's hundreds of SDK clients are
    closed as they are collected, so no warning is ignored. Only the kit's own suite does this."""
    try:
        from runapi.core.http_client import HttpClient
    except ImportError:
        return
    made = HttpClient.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        weakref.finalize(self, _close_both, self._client, self._upload_client)

    HttpClient.__init__ = init  # type: ignore[method-assign]


def _close_both(*clients: Any) -> None:
    for client in clients:
        client.close()


_close_sdk_clients_when_collected()

AUTH = {"Authorization": "Bearer test-key"}


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    """Build a TestClient over a fresh app with the given Settings fields (lifespan runs)."""
    clients: list[TestClient] = []

    def make(**changes: object) -> TestClient:
        app = create_app(Settings(**changes))  # type: ignore[arg-type]
        client = TestClient(app, base_url="http://127.0.0.1:8787")
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def app(client: TestClient) -> Starlette:
    return client.app  # type: ignore[return-value]


@pytest.fixture
def make_server() -> Iterator[Callable[..., RunningServer]]:
    """Serve a fresh app on 127.0.0.1 with a free port; stopped at teardown."""
    servers: list[RunningServer] = []

    def make(**changes: object) -> RunningServer:
        running = serve_in_thread(Settings(port=0, **changes))  # type: ignore[arg-type]
        servers.append(running)
        return running

    yield make
    for running in servers:
        running.stop()
