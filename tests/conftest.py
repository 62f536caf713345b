"""Shared fixtures: the app in-process, a TestClient on it, and the app served on a real loopback port."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings
from starlette.applications import Starlette
from starlette.testclient import TestClient

from runapi_mock import Settings, create_app
from runapi_mock.serving.server import RunningServer, serve_in_thread

settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("dev", max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile("ci")

pytest_plugins = ("pytester",)

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
