"""GET /api/v1/{family}/{task_id}: the status route without an action (RunAPI's MCP server, mcp-core getTask)."""

from __future__ import annotations

import re

import pytest
from starlette.routing import Match, Route
from starlette.testclient import TestClient

from runapi_contracts import load_catalog
from runapi_mock.api import routes
from runapi_mock.api.status_routes import family_status_routes

AUTH = {"Authorization": "Bearer test-key", "X-Mock-Progression": "immediate"}
BODY = {"model": "flux-2-pro-text-to-image", "prompt": "a red bicycle"}


def _create(client: TestClient) -> str:
    response = client.post("/api/v1/flux_2/text_to_image", json=BODY, headers=AUTH)
    assert response.status_code == 200, response.text
    task_id: str = response.json()["id"]
    return task_id


def test_a_task_reads_by_its_family_alone_as_through_its_action(client: TestClient) -> None:
    task_id = _create(client)
    plain = client.get(f"/api/v1/flux_2/{task_id}", headers=AUTH)
    assert plain.status_code == 200, plain.text
    assert plain.json()["status"] == "completed" and plain.json()["id"] == task_id
    assert plain.headers["x-runapi-task-id"] == task_id
    full = client.get(f"/api/v1/flux_2/text_to_image/{task_id}", headers=AUTH)
    assert full.json() == plain.json()


def test_another_family_or_key_does_not_read_it(client: TestClient) -> None:
    task_id = _create(client)
    assert client.get(f"/api/v1/flux/{task_id}", headers=AUTH).status_code == 404
    assert client.get(f"/api/v1/flux_2/{task_id}", headers={"Authorization": "Bearer other"}).status_code == 404
    assert client.get(f"/api/v1/flux_2/{task_id}").json()["error"]["code"] == "unauthorized"
    assert client.get(f"/api/v1/no_such_family/{task_id}", headers=AUTH).status_code == 404


@pytest.mark.parametrize("path, status", [
    ("/api/v1/flux_2/text_to_image", 405),     # a create route, read with GET
    ("/api/v1/files/prepare", 405),
    ("/api/v1/me/balance", 200),
    ("/api/v1/price_schedules", 200),
])
def test_paths_other_routes_own_answer_as_before(client: TestClient, path: str, status: int) -> None:
    assert client.get(path, headers=AUTH).status_code == status


def test_no_family_status_route_matches_a_path_another_route_owns() -> None:
    # Every other route's path, its parameters filled with a task id: no family status route may take one.
    status_routes = family_status_routes(load_catalog())
    others = [route for route in routes.routes
              if isinstance(route, Route) and route.path not in {r.path for r in status_routes}]
    owned = [re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", route.path) for route in others]
    assert "/api/v1/flux_2/text_to_image" in owned and "/api/v1/tasks/00000000-0000-4000-8000-000000000000" in owned
    scopes = [{"type": "http", "path": path, "root_path": "", "method": "GET"} for path in owned]
    for route in status_routes:
        assert [s["path"] for s in scopes if route.matches(s)[0] is not Match.NONE] == [], route.path
