"""The OpenAPI documents: generated from the same schemas, loadable by schemathesis, covering every route."""

from __future__ import annotations

import schemathesis

from runapi_contracts import load_catalog, load_schema
from runapi_contracts.openapi import runapi_openapi
from runapi_mock.api.admin_routes import mock_openapi


def _operations(doc: dict) -> set[str]:
    schema = schemathesis.openapi.from_dict(doc)
    return {op.ok().label for op in schema.get_all_operations()}


def test_runapi_document_loads_in_schemathesis_with_every_route() -> None:
    labels = _operations(runapi_openapi("http://127.0.0.1:8787"))
    for (family, action), entry in load_catalog().actions.items():
        assert f"POST /api/v1/{family}/{action}" in labels
        # a synchronous action answers its result: no status route of its own
        assert (f"GET /api/v1/{family}/{action}/{{id}}" in labels) is ("sync" not in entry.output_spec)
        assert f"GET /api/v1/{family}/{{id}}" in labels  # the status route without an action (MCP server)
    for route in load_catalog().sdk_routes:  # the routes only an SDK calls
        assert f"{route['method']} {route['path']}" in labels
    for route in ("POST /v1/text_to_image", "POST /v1/remix_image", "POST /v1/edit_image",
                  "GET /v1/tasks/{task_id}", "GET /api/v1/tasks/{id}", "GET /api/v1/me", "GET /api/v1/me/balance"):
        assert route in labels


def test_request_bodies_are_the_contract_schemas() -> None:
    doc = runapi_openapi()
    component = doc["components"]["schemas"]["Create_flux_2_remix_image"]
    contract = load_schema("request/flux_2/remix_image")
    assert [m["title"] for m in component["oneOf"]] == [m["title"] for m in contract["oneOf"]]
    assert "$id" not in component and "$schema" not in component


def test_runapi_document_has_no_mock_only_routes() -> None:
    paths = runapi_openapi()["paths"]
    assert not any(path.startswith(("/_mock", "/files", "/healthz")) for path in paths)
    assert "X-Mock-Scenario" not in str(paths)


def test_mock_document_describes_the_control_surface() -> None:
    labels = _operations(mock_openapi())
    assert {"POST /_mock/clock/advance", "POST /_mock/rules", "GET /_mock/journal",
            "POST /_mock/callbacks/{delivery_id}/redeliver"} <= labels


def test_served_documents_use_the_server_origin(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/openapi.json").json()["servers"] == [{"url": "http://127.0.0.1:8787"}]
    assert client.get("/_mock/openapi.json").status_code == 200
