"""GET /api/v1/prompts: the prompt library as RunAPI's MCP server calls it (no key; mcp-core's query string)."""

from __future__ import annotations

from starlette.testclient import TestClient

from runapi_contracts import validate_response
from runapi_contracts.openapi import runapi_openapi


def test_search_answers_a_page_and_its_pagination_without_a_key(client: TestClient) -> None:
    # The query mcp-core's searchPrompts builds: tags joined by commas, featured and numbers as text.
    response = client.get("/api/v1/prompts", params={"modality": "image", "tags": "product,studio",
                                                     "featured": "true", "page": "1", "per_page": "1"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert validate_response("prompts", body) == []
    assert body["pagination"] == {"page": 1, "per_page": 1, "total": 2, "pages": 2}
    first = body["prompts"][0]
    assert (first["id"], first["runapi_model"], first["featured"]) == (1, "flux-kontext-pro", True)
    second = client.get("/api/v1/prompts?modality=image&tags=product,studio&featured=true&page=2&per_page=1")
    assert [p["id"] for p in second.json()["prompts"]] == [2]


def test_a_sent_key_is_checked_as_on_every_route(client: TestClient) -> None:
    assert client.get("/api/v1/prompts", headers={"Authorization": "Bearer test-key"}).status_code == 200
    assert client.get("/api/v1/prompts", headers={"Authorization": "Bearer "}).json()["error"]["code"] == \
        "unauthorized"


def test_a_malformed_query_is_a_400_envelope(client: TestClient) -> None:
    response = client.get("/api/v1/prompts?per_page=500")
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "invalid_parameter",
                                        "message": "per_page must be an integer from 1 to 100"}
    assert client.post("/api/v1/prompts").status_code == 405


def test_the_route_is_in_the_openapi_document_with_its_schema(client: TestClient) -> None:
    operation = runapi_openapi()["paths"]["/api/v1/prompts"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Prompts"}
    assert {p["name"] for p in operation["parameters"]} == {
        "modality", "category", "tags", "q", "model", "featured", "page", "per_page"}
    assert "/api/v1/prompts" in client.get("/openapi.json").json()["paths"]
