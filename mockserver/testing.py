"""`MockHandle`: drive one namespace of a mock from a test, in-process or over a port, through its admin API."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import httpx
from starlette.applications import Starlette

from runapi_contracts.admin import MockAdmin
from runapi_contracts.vocabulary import NAMESPACE_HEADER

from .app import create_app
from .inprocess import serve_in_portal
from .settings import Settings

DEFAULT_KEY = "test-key"


def close_sdk_client(client: Any) -> None:
    """Close an official RunAPI SDK client's connections (its API and upload `httpx.Client`s).

    The SDK clients (`runapi-core` 0.10) have no `close()` of their own; their `HttpClient` (`client._http`)
    has. Left open, each client's sockets are reported as `PytestUnraisableExceptionWarning` when collected,
    which `-W error` turns into a failure of whichever test is running then. A client without `_http` is
    left alone.
    """
    close = getattr(getattr(client, "_http", None), "close", None)
    if callable(close):
        close()


class MockHandle:
    """One namespace of a mock: a client that speaks for it, plus the clock, scenarios, ledger and journal.

    Args:
        client: an httpx.Client whose base_url is the mock (`InProcessMock.client` for an in-process app).
        namespace: isolates tasks, rules, clock, ledger and journal from other handles on the same mock.
        app: the Starlette app when in-process (for `async_client`).
    """

    def __init__(self, client: httpx.Client, *, namespace: str | None = None, api_key: str = DEFAULT_KEY,
                 app: Starlette | None = None) -> None:
        self.namespace = namespace or f"t-{uuid.uuid4().hex[:12]}"
        self.api_key = api_key
        self.app = app
        self.base_url = str(client.base_url).rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}", NAMESPACE_HEADER: self.namespace}
        self.admin = MockAdmin(client, namespace=self.namespace)
        self.client = client
        self._async_client: httpx.AsyncClient | None = None

    @property
    def namespaced_url(self) -> str:
        """A base URL that selects this namespace by path, for SDKs that cannot add headers."""
        return f"{self.base_url}/ns/{self.namespace}"

    @property
    def async_client(self) -> httpx.AsyncClient:
        """An AsyncClient on the same mock (in-process through ASGI when there is an app)."""
        if self._async_client is None:
            transport = httpx.ASGITransport(app=self.app) if self.app is not None else None
            self._async_client = httpx.AsyncClient(base_url=self.base_url, headers=self.headers,
                                                   transport=transport)
        return self._async_client

    # -- plain API calls, with this handle's key and namespace ----------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    # -- admin: this handle's namespace through `runapi_contracts.admin.MockAdmin` --------------------------

    def reset(self) -> None:
        self.admin.reset()

    def now(self) -> float:
        return self.admin.now()

    def advance(self, seconds: float) -> float:
        """Move this namespace's clock forward; due status changes and callback retries happen at once."""
        return self.admin.advance(seconds)

    def freeze(self) -> float:
        return self.admin.freeze()

    def unfreeze(self) -> float:
        return self.admin.unfreeze()

    def set_progression(self, progression: str | None) -> None:
        """`auto`, `immediate`, `manual`, `polls:N` for new tasks of this namespace (None: server default)."""
        self.admin.set_progression(progression)

    def set_callback_mode(self, mode: str | None) -> None:
        self.admin.set_callback_mode(mode)

    def add_rule(self, scenario: str, *, count: int | None = None, method: str | None = None,
                 path: str | None = None, model: str | None = None, key: str | None = None) -> dict[str, Any]:
        """The next `count` matching requests (all, when None) get `scenario`."""
        return self.admin.add_rule(scenario, count=count, method=method, path=path, model=model, key=key)

    def clear_rules(self) -> None:
        self.admin.clear_rules()

    def journal(self, limit: int = 1000, **filters: Any) -> list[dict[str, Any]]:
        """Requests this namespace received, newest first."""
        return [dict(entry) for entry in self.admin.journal(limit, **filters)]

    def tasks(self, limit: int = 1000, **filters: Any) -> list[dict[str, Any]]:
        return self.admin.tasks(limit, **filters)

    def task(self, task_id: str) -> dict[str, Any]:
        return self.admin.task(task_id)

    def force(self, task_id: str, status: str, *, error: str | None = None) -> dict[str, Any]:
        return self.admin.force(task_id, status, error=error)

    def step(self, task_id: str) -> dict[str, Any]:
        return self.admin.step(task_id)

    def balance(self, key: str | None = None) -> dict[str, Any]:
        return self.admin.balance(key or self.api_key)

    def set_balance(self, cents: int, key: str | None = None) -> dict[str, Any]:
        return self.admin.set_balance(key or self.api_key, cents)

    def set_every_balance(self, cents: int) -> dict[str, Any]:
        """`cents` available to every key of this namespace, this handle's and any other, seen or not yet."""
        return self.admin.set_every_balance(cents)

    def account(self, key: str | None = None) -> dict[str, Any]:
        """This handle's key's (or `key`'s) user name, email and balance."""
        return self.admin.account(key or self.api_key)

    def set_account(self, *, name: str | None = None, email: str | None = None, balance_cents: int | None = None,
                    key: str | None = None) -> dict[str, Any]:
        """Give this handle's key (or `key`) its own user name, email and/or balance."""
        return self.admin.set_account(key or self.api_key, name=name, email=email, balance_cents=balance_cents)

    def callbacks(self, **filters: Any) -> list[dict[str, Any]]:
        return self.admin.callbacks(**filters)

    def callback_secret(self) -> str:
        return self.admin.callback_secret()

    def rotate_callback_secret(self) -> str:
        return self.admin.rotate_callback_secret()

    def uploads(self) -> list[dict[str, Any]]:
        """This namespace's uploads (the files API's), oldest first."""
        return self.admin.uploads()

    def delete_upload(self, upload_id: str) -> None:
        """Forget an upload: its URL answers 404 and a task reading it fails."""
        self.admin.delete_upload(upload_id)


class InProcessMock:
    """An app with its lifespan running on an event-loop thread of its own: no port, real background work.

    `client` is a plain `httpx.Client` on the app (see `runapi_mock.inprocess`), there once entered.
    """

    def __init__(self, settings: Settings | None = None, *, base_url: str = "http://runapi-mock.local") -> None:
        settings = settings or Settings()
        host = httpx.URL(base_url).host  # the Host its client sends: a name the host check must let in
        if host not in settings.allowed_hosts:
            settings = settings.replace(allowed_hosts=(*settings.allowed_hosts, host))
        self.settings = settings
        self.app = create_app(self.settings)
        self.base_url = base_url
        self._stack = contextlib.ExitStack()
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            raise RuntimeError("InProcessMock is not running: use it as a context manager")
        return self._client

    def __enter__(self) -> InProcessMock:
        # follow_redirects as Starlette's TestClient did, which this handle used before.
        self._client = self._stack.enter_context(serve_in_portal(self.app, base_url=self.base_url,
                                                                 follow_redirects=True))
        return self

    def __exit__(self, *exc: object) -> None:
        self._client = None
        self._stack.close()

    def handle(self, *, namespace: str | None = None, api_key: str = DEFAULT_KEY) -> MockHandle:
        return MockHandle(self.client, namespace=namespace, api_key=api_key, app=self.app)
