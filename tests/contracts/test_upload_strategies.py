"""Property tests: the files API strategies make what they promise, and the mock takes or refuses them so."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import InvalidArgument
from jsonschema import Draft202012Validator
from PIL import Image
from starlette.testclient import TestClient

from runapi_contracts.openapi import files_paths
from runapi_contracts.strategies import (
    InvalidUpload,
    PrepareRequest,
    UploadRequest,
    invalid_upload_requests,
    prepare_requests,
    upload_requests,
)
from runapi_contracts.upload_strategies import FILES, JAVA_SMOKE, PREPARE, PUT
from runapi_mock import Settings, create_app

FEW = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCHEMA_RULES = {"type", "required", "enum", "range", "format"}  # what the OpenAPI request schema states


def _schema_errors(route: str, body: Any) -> list[str]:
    schema = files_paths()[route]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return [error.message for error in Draft202012Validator(schema).iter_errors(body)]


def _decoded(body: dict[str, Any]) -> bytes:
    return base64.b64decode(body["source"]["data"].rsplit(",", 1)[-1], validate=True)


@FEW
@given(upload_requests())
def test_upload_requests_carry_their_bytes(request: UploadRequest) -> None:
    assert _schema_errors("/api/v1/files", request.body) == []
    assert _decoded(request.body) == request.data and 0 < len(request.data) <= 2048
    if request.mime_type is not None and request.mime_type.startswith("image/"):
        with Image.open(io.BytesIO(request.data)) as image:
            assert Image.MIME[image.format or ""] == request.mime_type
    if request.mime_type == "text/plain":
        request.data.decode("utf-8")


@FEW
@given(prepare_requests())
def test_prepare_requests_declare_their_bytes(request: PrepareRequest) -> None:
    body = request.body
    assert _schema_errors("/api/v1/files/prepare", body) == []
    assert body["byte_size"] == len(request.data)
    assert base64.b64decode(body["checksum"]) == hashlib.md5(request.data).digest()


@FEW
@given(invalid_upload_requests())
def test_invalid_upload_requests_break_the_rule_they_name(request: InvalidUpload) -> None:
    if request.operation == PUT:
        assert request.data is not None and _schema_errors("/api/v1/files/prepare", request.body) == []
        same_size = len(request.data) == request.body["byte_size"]
        same_md5 = base64.b64decode(request.body["checksum"]) == hashlib.md5(request.data).digest()
        assert (same_size, same_md5) == ((False, False) if request.field == "byte_size" else (True, False))
    elif request.rule in SCHEMA_RULES:
        assert _schema_errors(request.path, request.body), request
    else:
        assert request.rule == "base64"
        with pytest.raises((binascii.Error, ValueError)):
            _decoded(request.body)


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Settings()), base_url="http://127.0.0.1:8787")


@FEW
@given(invalid_upload_requests((FILES, PREPARE)))
def test_the_mock_refuses_each_invalid_body_naming_its_field(client: TestClient, request: InvalidUpload) -> None:
    response = client.post(request.path, json=request.body, headers={"Authorization": "Bearer k"})
    assert response.status_code == 422, (request, response.text)
    assert (request.field.split(".")[0] or "body") in response.json()["errors"], (request, response.text)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(upload_requests())
def test_the_mock_takes_each_upload_as_its_type(client: TestClient, request: UploadRequest) -> None:
    response = client.post("/api/v1/files", json=request.body, headers={"Authorization": "Bearer k"})
    assert response.status_code == 200, response.text
    assert response.json()["size_bytes"] == len(request.data)
    if request.mime_type is not None:
        assert response.json()["mime_type"] == request.mime_type


def test_java_smoke_is_the_smoke_tests_upload() -> None:
    assert (JAVA_SMOKE.data, len(JAVA_SMOKE.data), JAVA_SMOKE.file_name) == \
        (b"hello from java sdk", 19, "java-smoke.txt")
    assert _decoded(JAVA_SMOKE.body) == JAVA_SMOKE.data


@pytest.mark.parametrize("make", [lambda: upload_requests(["video"]), lambda: prepare_requests([]),
                                  lambda: invalid_upload_requests(["GET /v1/files"])])
def test_unknown_selections_are_refused(make: Any) -> None:
    with pytest.raises(InvalidArgument):
        make()
