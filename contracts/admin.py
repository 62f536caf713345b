"""`MockAdmin`: the one client of the mock's admin API (`/_mock/`), for one namespace, over any HTTP client.

The test handle (`runapi_mock.testing.MockHandle`), the conformance `Target` and the client-conformance
harness all drive the mock through it. It speaks HTTP only, so it works against an in-process app or a
served mock alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from .vocabulary import NAMESPACE_HEADER, JournalEntry

__all__ = ["MockAdmin", "MockAdminError", "Requester"]


class Requester(Protocol):
    """What the kit needs of an HTTP client: `httpx.Client`, a TestClient, or an `AsyncClientAdapter`.

    Only the keyword arguments the kit passes are named, so `httpx.Client.request` fits.
    """

    def request(self, method: str, url: str, *, json: Any = ..., params: Any = ...,
                headers: Mapping[str, str] | None = ...) -> httpx.Response: ...


class MockAdminError(AssertionError):
    """An admin call answered an error (an AssertionError, so a test that drives the mock fails plainly)."""

    def __init__(self, method: str, path: str, response: httpx.Response) -> None:
        self.method, self.path, self.response = method, path, response
        self.status_code = response.status_code
        super().__init__(f"runapi-mock: {method} /_mock{path} answered {response.status_code}: "
                         f"{response.text[:300]}")


class MockAdmin:
    """The admin API of one namespace of a mock.

    Args:
        client: any `Requester`.
        base_url: the mock's base URL; "" sends paths relative to the client's own base URL.
        namespace: sent as `X-Mock-Namespace` on every call.
    """

    def __init__(self, client: Requester, base_url: str = "", namespace: str = "default") -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.namespace = namespace

    def for_namespace(self, namespace: str) -> MockAdmin:
        """The same mock, another namespace."""
        return MockAdmin(self.client, self.base_url, namespace)

    def request(self, method: str, path: str, *, json: Any = None,
                params: Mapping[str, Any] | None = None) -> httpx.Response:
        """One call (`path` under `/_mock`), answered as it came: for callers that judge the status."""
        headers = {NAMESPACE_HEADER: self.namespace}
        if method.upper() not in ("GET", "HEAD"):  # the mock takes admin writes as JSON only, even without a body
            headers["Content-Type"] = "application/json"
        kwargs: dict[str, Any] = {"headers": headers}
        if json is not None:
            kwargs["json"] = json
        if params is not None:
            kwargs["params"] = {k: v for k, v in params.items() if v is not None}
        return self.client.request(method, f"{self.base_url}/_mock{path}", **kwargs)

    def call(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        """One call's JSON answer; `MockAdminError` when it answered 4xx or 5xx."""
        response = self.request(method, path, json=json, params=params)
        if response.status_code >= 400:
            raise MockAdminError(method, path, response)
        return response.json()

    # -- namespace, clock, config ------------------------------------------------------------------------

    def available(self) -> bool:
        """Whether the server has this admin API (`GET /_mock/` lists its routes); False when unreachable."""
        try:
            answer = self.client.request("GET", f"{self.base_url}/_mock/", headers={"Accept": "application/json"})
        except httpx.HTTPError:
            return False
        if answer.status_code != 200:
            return False
        try:
            return isinstance(answer.json().get("routes"), list)
        except ValueError:
            return False

    def reset(self, *, every_namespace: bool = False) -> None:
        self.call("POST", "/reset", params={"all": "1"} if every_namespace else None)

    def now(self) -> float:
        return float(self.call("GET", "/clock")["now"])

    def advance(self, seconds: float) -> float:
        """Move the namespace's clock forward; due status changes and callback retries happen at once."""
        return float(self.call("POST", "/clock/advance", json={"seconds": seconds})["now"])

    def freeze(self) -> float:
        return float(self.call("POST", "/clock/freeze")["now"])

    def unfreeze(self) -> float:
        return float(self.call("POST", "/clock/unfreeze")["now"])

    def config(self) -> dict[str, Any]:
        return dict(self.call("GET", "/config"))

    def set_progression(self, progression: str | None) -> None:
        """`auto`, `immediate`, `manual`, `polls:N` for new tasks of the namespace (None: server default)."""
        self.call("PUT", "/config", json={"progression": progression})

    def set_callback_mode(self, mode: str | None) -> None:
        self.call("PUT", "/config", json={"callback_mode": mode})

    # -- scenario rules ----------------------------------------------------------------------------------

    def add_rule(self, scenario: str, *, count: int | None = None, method: str | None = None,
                 path: str | None = None, model: str | None = None, key: str | None = None) -> dict[str, Any]:
        """The next `count` matching requests (all, when None) get `scenario`."""
        rule = {"scenario": scenario, "count": count, "method": method, "path": path, "model": model, "key": key}
        return dict(self.call("POST", "/rules", json={k: v for k, v in rule.items() if v is not None}))

    def clear_rules(self) -> None:
        self.call("DELETE", "/rules")

    # -- journal and tasks -------------------------------------------------------------------------------

    def journal(self, limit: int = 1000, **filters: Any) -> list[JournalEntry]:
        """Requests the namespace received, newest first (filters: `vocabulary.JOURNAL_FILTERS`)."""
        return list(self.call("GET", "/journal", params={"limit": limit, **filters})["entries"])

    def tasks(self, limit: int = 1000, **filters: Any) -> list[dict[str, Any]]:
        return list(self.call("GET", "/tasks", params={"limit": limit, **filters})["tasks"])

    def task(self, task_id: str) -> dict[str, Any]:
        """One task with its history; not counted as a status read."""
        return dict(self.call("GET", f"/tasks/{task_id}"))

    def force(self, task_id: str, status: str, *, error: str | None = None) -> dict[str, Any]:
        body = {"status": status, **({"error": error} if error else {})}
        return dict(self.call("POST", f"/tasks/{task_id}/status", json=body))

    def step(self, task_id: str) -> dict[str, Any]:
        return dict(self.call("POST", f"/tasks/{task_id}/step"))

    # -- credits and callbacks ---------------------------------------------------------------------------

    def balance(self, key: str) -> dict[str, Any]:
        return dict(self.call("GET", "/balance", params={"key": key}))

    def set_balance(self, key: str, cents: int) -> dict[str, Any]:
        return dict(self.call("PUT", "/balance", json={"key": key, "balance_cents": cents}))

    def set_every_balance(self, cents: int) -> dict[str, Any]:
        """`cents` available to every key of the namespace: the known ones, and the start of keys not seen yet."""
        return dict(self.call("PUT", "/balance", json={"balance_cents": cents}))

    def account(self, key: str) -> dict[str, Any]:
        """`key`'s user (id, name, email, account) and its `balance`, as `GET /api/v1/me` and `/me/balance` show."""
        return dict(self.call("GET", f"/accounts/{quote(key, safe='')}"))

    def set_account(self, key: str, *, name: str | None = None, email: str | None = None,
                    balance_cents: int | None = None) -> dict[str, Any]:
        """Give `key` its own user name, email and/or balance (what is left out stays as it is)."""
        change = {"name": name, "email": email, "balance_cents": balance_cents}
        return dict(self.call("PUT", f"/accounts/{quote(key, safe='')}",
                              json={k: v for k, v in change.items() if v is not None}))

    def callbacks(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self.call("GET", "/callbacks", params=filters)["deliveries"])

    def callback_secret(self) -> str:
        return str(self.call("GET", "/callback-secret")["secret"])

    def rotate_callback_secret(self) -> str:
        return str(self.call("POST", "/callback-secret/rotate")["secret"])

    # -- uploads (the files API) -------------------------------------------------------------------------

    def uploads(self) -> list[dict[str, Any]]:
        """The namespace's uploads, oldest first, each with its `url` and whether it has `expired`."""
        return list(self.call("GET", "/uploads")["uploads"])

    def delete_upload(self, upload_id: str) -> None:
        """Forget an upload: its URL answers 404 from then on (a deleted source, for tests)."""
        self.call("DELETE", f"/uploads/{upload_id}")
