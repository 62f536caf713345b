"""The server's own 422 and 401 messages name what is wrong, the same way on every create route (issue 15, 11)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import AUTH


def _error(client: TestClient, path: str, body: object, headers: dict[str, str] = AUTH) -> dict[str, object]:
    answer = client.post(path, json=body, headers=headers)
    assert answer.status_code in (401, 422), answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_the_docs_route_names_the_fields_in_its_message_as_the_sdk_route_does(client: TestClient) -> None:
    body = {"model": "flux-2-pro-text-to-image", "prompt": "hi"}
    sdk = _error(client, "/api/v1/flux_2/text_to_image", body)
    docs = _error(client, "/v1/text_to_image", body)
    assert sdk["error"] == docs["error"]
    assert docs["error"]["message"] == "Validation failed: prompt must be between 3 and 5000 characters"  # type: ignore[index]


def test_a_missing_model_on_the_docs_route_is_required(client: TestClient) -> None:
    answer = _error(client, "/v1/text_to_image", {"prompt": "a red bicycle"})
    assert answer["errors"] == {"model": ["model is required"]}
    assert answer["error"]["message"] == "Validation failed: model is required"  # type: ignore[index]


def test_an_unknown_model_on_the_docs_route_lists_the_choices_in_the_message(client: TestClient) -> None:
    answer = _error(client, "/v1/remix_image", {"model": "nope", "prompt": "a red bicycle"})
    [message] = answer["errors"]["model"]  # type: ignore[index]
    assert message.startswith("model must be one of: ")
    assert answer["error"]["message"] == f"Validation failed: {message}"  # type: ignore[index]


@pytest.mark.parametrize(("authorization", "says"), [
    ("test-key", "Authorization must be 'Bearer <key>': it has no scheme"),
    ("Basic dGVzdDprZXk=", "Authorization must be 'Bearer <key>', not the 'Basic' scheme"),
    ("Bearer ", "Missing API key: send 'Authorization: Bearer <key>'"),
])
def test_an_authorization_header_without_bearer_names_the_scheme(client: TestClient, authorization: str,
                                                                  says: str) -> None:
    answer = _error(client, "/api/v1/flux_2/text_to_image", {"model": "flux-2-pro-text-to-image", "prompt": "a vase"},
                    headers={"Authorization": authorization})
    assert answer["error"]["message"] == says  # type: ignore[index]


def test_no_authorization_header_is_a_missing_key(client: TestClient) -> None:
    answer = client.post("/api/v1/flux_2/text_to_image", json={"model": "flux-2-pro-text-to-image", "prompt": "a vase"})
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == "Missing API key: send 'Authorization: Bearer <key>'"
