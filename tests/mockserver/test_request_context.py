"""The per-request context lives as long as its request: a kept-alive connection must not pin a namespace."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from typing import Any

import httpx

AUTH = {"Authorization": "Bearer test-key"}


def test_a_reset_namespace_is_freed_while_a_connection_stays_open(make_server: Callable[..., Any]) -> None:
    server = make_server()
    engine = server.app.state.engine
    with httpx.Client(base_url=server.base_url, headers=AUTH) as client:
        created = client.post("/api/v1/flux_kontext/text_to_image",
                              json={"model": "flux-kontext-pro", "prompt": "a fox"})
        assert created.status_code == 200  # this connection's last scope is a create's
        namespace = weakref.ref(engine.find_namespace("default"))
        gc.disable()  # freed by reference counting, not by a later full collection
        try:
            assert httpx.post(server.base_url + "/_mock/reset?all=1", json={}).status_code == 200
            assert namespace() is None
        finally:
            gc.enable()
