"""What the end-to-end tests with the official SDKs share: a served mock, a namespace's RequestOptions, SDK
clients closed at the end of the test that made them, and downloads read back with Pillow.

Plain functions; tests/e2e/conftest.py turns them into the `server`, `ns` and client-closing fixtures.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, TypeVar

import httpx
from PIL import Image
from runapi.core import RequestOptions

from runapi_mock import Settings
from runapi_mock.serving.server import RunningServer, serve_in_thread
from runapi_mock.testing import close_sdk_client

KEY = "test-key"
FAST_RETRIES = {"retry_base_delay": 0.01, "retry_max_delay": 0.05}  # a retried request waits milliseconds

Client = TypeVar("Client")
_open: list[Any] = []  # the SDK clients made since the last close_clients()


def serve(**changes: Any) -> Iterator[RunningServer]:
    """A mock on a free loopback port (Settings with `changes`), stopped when the generator ends: the body of a
    module-scoped `server` fixture (`yield from serve(...)`)."""
    running = serve_in_thread(Settings(port=0, **changes))
    try:
        yield running
    finally:
        running.stop()


def options(namespace: str, max_retries: int | None = None, **headers: str) -> RequestOptions:
    """RequestOptions: the namespace header plus extra headers (`X_Mock_Scenario` -> `X-Mock-Scenario`)."""
    all_headers = {"X-Mock-Namespace": namespace}
    all_headers.update({name.replace("_", "-"): value for name, value in headers.items()})
    return RequestOptions(headers=all_headers, max_retries=max_retries)


def closed_after_test(client: Client) -> Client:
    """`client`, closed (`runapi_mock.testing.close_sdk_client`) when the test that made it ends."""
    _open.append(client)
    return client


def client(cls: type[Client], base_url: str, api_key: str = KEY, **changes: Any) -> Client:
    """An official SDK client on the mock at `base_url`, with fast retries unless `changes` say otherwise."""
    return closed_after_test(cls(api_key=api_key, base_url=base_url, **{**FAST_RETRIES, **changes}))


def close_clients() -> None:
    """Close every client made since the last call: their sockets would otherwise warn (an error under
    `filterwarnings = error`) in whichever later test runs when they are collected."""
    while _open:
        close_sdk_client(_open.pop())


def download(url: str, timeout: float = 60) -> httpx.Response:
    """GET a file the mock serves; it must answer 200."""
    response = httpx.get(url, timeout=timeout)
    assert response.status_code == 200, response.text
    return response


def image(data: bytes) -> Image.Image:
    """The picture in `data`, read whole; its `format` is the one the bytes are in."""
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture
