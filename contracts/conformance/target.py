"""The server under test: base URL, API key, a sync HTTP client, and what the kit knows about the target."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..admin import MockAdmin, MockAdminError, Requester
from ..receiver import is_loopback_host
from ..vocabulary import NAMESPACE_HEADER, PROGRESSION_HEADER

__all__ = ["LIVE_BASE_URL", "Exchange", "Requester", "StopConformance", "Target"]

LIVE_BASE_URL = "https://runapi.ai"
DEFAULT_TIMEOUT = 30.0


class StopConformance(Exception):
    """A create guard refused to send a request (e.g. a budget): the run ends here, its report is kept."""


@dataclass(frozen=True)
class Exchange:
    """One request and its answer as observers see it; `schema` names the contract of a 2xx body."""

    operation: str
    schema: str | None
    request_body: Any
    response: httpx.Response


Observer = Callable[[Exchange], None]
CreateGuard = Callable[[str, str, str, Mapping[str, Any]], None]


@dataclass
class Target:
    """A RunAPI-compatible server to check.

    Args:
        client: any `Requester`; a plain `httpx.Client` is made when omitted (and closed by `close()`).
        has_admin: whether the mock's admin API (`/_mock/`) is there; None detects it with `GET /_mock/`.
            Pass False to treat a mock as an unknown remote.
        namespace: sent as `X-Mock-Namespace` when the target has the admin API (default: a fresh one),
            so a run never sees another run's tasks.
        callback_secret: base64 secret to verify callbacks with; read from `/_mock/callback-secret` when None
            and the target has the admin API.
    """

    base_url: str
    api_key: str = "conformance-key"
    client: Requester | None = None
    has_admin: bool | None = None
    namespace: str = field(default_factory=lambda: f"conformance-{uuid.uuid4().hex[:12]}")
    callback_secret: str | None = None
    observers: list[Observer] = field(default_factory=list)
    create_guards: list[CreateGuard] = field(default_factory=list)
    _owned: httpx.Client | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"target base URL must be http(s)://…, got {self.base_url!r}")
        if self.client is None:
            self._owned = self.client = httpx.Client(timeout=DEFAULT_TIMEOUT, trust_env=False)
        if self.has_admin is None:
            self.has_admin = MockAdmin(self.client, self.base_url).available()
        if self.has_admin and self.callback_secret is None:
            try:
                self.callback_secret = self.mock_admin.callback_secret()
            except (MockAdminError, ValueError, KeyError):
                self.callback_secret = None

    @classmethod
    def from_client(cls, client: httpx.Client, **options: Any) -> Target:
        """A target over an existing client (e.g. Starlette's TestClient), at the client's base URL."""
        return cls(base_url=str(client.base_url), client=client, **options)

    @property
    def on_loopback(self) -> bool:
        """True when the target runs on this machine, so it can reach a local `CallbackReceiver`."""
        return is_loopback_host(urlsplit(self.base_url).hostname or "")

    @property
    def can_verify_callbacks(self) -> bool:
        return self.on_loopback and self.callback_secret is not None

    def headers(self, *, api_key: str | None = None, progression: str | None = None) -> dict[str, str]:
        """Request headers: the bearer key (`api_key=""` sends none), the mock's namespace/progression."""
        key = self.api_key if api_key is None else api_key
        headers = {"Accept": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if self.has_admin:
            headers[NAMESPACE_HEADER] = self.namespace
            if progression is not None:
                headers[PROGRESSION_HEADER] = progression
        return headers

    def request(self, method: str, path: str, *, operation: str, schema: str | None = None, json: Any = None,
                api_key: str | None = None, progression: str | None = None) -> httpx.Response:
        """Send one API request and tell the observers; `schema` is the contract of a 2xx body."""
        assert self.client is not None
        kwargs: dict[str, Any] = {"headers": self.headers(api_key=api_key, progression=progression)}
        if json is not None:
            kwargs["json"] = json
        response = self.client.request(method, self.base_url + path, **kwargs)
        exchange = Exchange(operation, schema, json, response)
        for observe in self.observers:
            observe(exchange)
        return response

    def guard_create(self, family: str, action: str, model: str, body: Mapping[str, Any]) -> None:
        """Run the create guards (a budget) before a create is sent; a guard raises to stop it."""
        for guard in self.create_guards:
            guard(family, action, model, body)

    @property
    def mock_admin(self) -> MockAdmin:
        """The mock's admin API in this target's current namespace (only when `has_admin`)."""
        if not self.has_admin:
            raise RuntimeError("this target has no /_mock/ admin API")
        assert self.client is not None
        return MockAdmin(self.client, self.base_url, self.namespace)

    def admin(self, method: str, path: str, json: Any = None) -> httpx.Response:
        """Call the mock's admin API in this target's namespace, answered as it came (only when `has_admin`)."""
        return self.mock_admin.request(method, path, json=json)

    def admin_config(self) -> dict[str, Any]:
        try:
            return self.mock_admin.config()
        except MockAdminError:
            return {}

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
