"""`MockAdmin`, the one client of the /_mock admin API: namespaced, over any httpx client, errors that say what."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from runapi_contracts.admin import MockAdmin, MockAdminError
from runapi_contracts.conformance import Target
from runapi_mock.serving.server import RunningServer

BODY = {"model": "flux-2-pro-text-to-image", "prompt": "a red bicycle"}
PATH = "/api/v1/flux_2/text_to_image"


@pytest.fixture
def served(make_server: Callable[..., RunningServer]) -> RunningServer:
    return make_server()


def _create(http: httpx.Client, base_url: str, namespace: str) -> str:
    answer = http.post(f"{base_url}{PATH}", json=BODY,
                       headers={"Authorization": "Bearer k", "X-Mock-Namespace": namespace})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def test_each_namespace_sees_only_its_own(served: RunningServer) -> None:
    with httpx.Client() as http:
        one = MockAdmin(http, served.base_url, "one")
        two = one.for_namespace("two")
        task_id = _create(http, served.base_url, "one")
        assert [t["id"] for t in one.tasks()] == [task_id] and two.tasks() == []
        one.set_progression("manual")
        assert one.config()["progression"] == "manual" and two.config()["progression"] == "auto"
        assert one.step(task_id)["status"] == "processing"
        assert one.force(task_id, "failed", error="no")["status"] == "failed"
        assert [e["path"] for e in one.journal()] == [PATH] and two.journal() == []
        one.freeze()
        before = one.now()
        assert one.advance(5) == before + 5 and two.now() < before + 5  # only this namespace's clock moved
        one.reset()
        assert one.tasks() == []


def test_a_refused_call_raises_with_its_status_and_answer(served: RunningServer) -> None:
    with httpx.Client() as http:
        admin = MockAdmin(http, served.base_url, "errors")
        with pytest.raises(MockAdminError) as caught:
            admin.force("no-such-task", "completed")
        assert caught.value.status_code == 404
        assert "POST /_mock/tasks/no-such-task/status answered 404" in str(caught.value)
        assert admin.request("GET", "/tasks/no-such-task").status_code == 404  # the raw answer, unjudged


def test_relative_to_the_clients_base_url_and_detects_the_admin_api(served: RunningServer) -> None:
    with httpx.Client(base_url=served.base_url) as http:
        admin = MockAdmin(http, namespace="relative")
        assert admin.available()
        assert admin.set_balance("k", 7)["balance_cents"] == 7 == admin.balance("k")["balance_cents"]


def test_not_available_on_a_server_without_it() -> None:
    def plain(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404)

    with httpx.Client(transport=httpx.MockTransport(plain)) as http:
        assert not MockAdmin(http, "http://127.0.0.1:9").available()


def test_the_handle_and_the_target_drive_the_mock_through_it(runapi_mock: Any, served: RunningServer) -> None:
    assert isinstance(runapi_mock.admin, MockAdmin) and runapi_mock.admin.namespace == runapi_mock.namespace
    with Target(served.base_url) as target:
        assert target.has_admin and isinstance(target.mock_admin, MockAdmin)
        target.namespace = "moved"
        assert target.mock_admin.namespace == "moved"  # follows the target's current namespace
        assert target.callback_secret == target.mock_admin.callback_secret()
