"""Every example in fixtures/ is checked: requests against validate_request, messages against their schema."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator
from starlette.testclient import TestClient

from runapi_contracts import load_catalog, schema_names, validate_request, validate_response
from runapi_contracts.openapi import files_paths
from runapi_contracts.upload_strategies import md5_base64
from runapi_mock import Settings, create_app

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
REQUESTS = sorted((FIXTURES / "requests").glob("*.json"))  # creates, named <family>.<action>.*
FILE_REQUESTS = sorted((FIXTURES / "requests" / "files").glob("*.json"))  # the files API, <upload|prepare|confirm>.*
MESSAGES = sorted(
    path for folder in ("responses", "callbacks", "errors") for path in (FIXTURES / folder).glob("*.json")
)
ALLOWED_HOSTS = {"127.0.0.1", "file.runapi.ai", "example.com", "example.test"}
REQUEST_KEYS = {"family", "action", "body", "valid", "expect_violations", "source", "note"}
FILE_REQUEST_KEYS = {"operation", "body", "valid", "expect_violations", "content_base64", "source", "note"}
FILE_OPERATIONS = {"upload": "/api/v1/files", "prepare": "/api/v1/files/prepare", "confirm": "/api/v1/files/confirm"}


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _urls(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if "://" in value else []
    if isinstance(value, list):
        return [url for item in value for url in _urls(item)]
    if isinstance(value, dict):
        return [url for item in value.values() for url in _urls(item)]
    return []


@pytest.mark.parametrize("path", REQUESTS, ids=[p.name for p in REQUESTS])
def test_request_fixture_yields_exactly_its_expected_violations(path: Path) -> None:
    fixture = _load(path)
    assert set(fixture) <= REQUEST_KEYS and path.name.startswith(f"{fixture['family']}.{fixture['action']}.")
    expected = {(v["field"], v["rule"]) for v in fixture["expect_violations"]}
    assert fixture["valid"] is (not expected)
    violations = validate_request(fixture["family"], fixture["action"], fixture["body"])
    assert {(v.field, v.rule) for v in violations} == expected


def _content(fixture: dict[str, Any]) -> bytes:
    return base64.b64decode(fixture["content_base64"])


@pytest.mark.parametrize("path", FILE_REQUESTS, ids=[p.name for p in FILE_REQUESTS])
def test_files_request_fixture_yields_exactly_its_expected_violations(path: Path) -> None:
    """Checked against its operation's request body schema in the OpenAPI document; its bytes (content_base64)
    are the ones the body carries or declares."""
    fixture = _load(path)
    route = FILE_OPERATIONS[path.name.split(".")[0]]
    assert set(fixture) <= FILE_REQUEST_KEYS and fixture["operation"] == f"POST {route}"
    schema = files_paths()[route]["post"]["requestBody"]["content"]["application/json"]["schema"]
    errors = Draft202012Validator(schema).iter_errors(fixture["body"])
    found = {(str(e.absolute_path[0]) if e.absolute_path else "", str(e.validator)) for e in errors}
    assert found == {(v["field"], v["rule"]) for v in fixture["expect_violations"]}
    assert fixture["valid"] is (not found)
    if fixture["valid"] and "content_base64" in fixture:
        body = fixture["body"]
        if route == FILE_OPERATIONS["upload"]:
            assert base64.b64decode(body["source"]["data"].rsplit(",", 1)[-1]) == _content(fixture)
        else:
            assert (body["byte_size"], body["checksum"]) == (len(_content(fixture)), md5_base64(_content(fixture)))


def test_files_fixtures_are_what_the_mock_takes_and_answers() -> None:
    """The valid upload and prepare fixtures are taken (prepare's bytes PUT and confirmed), the invalid ones
    refused; the Java smoke upload is answered as its response fixture says (RunAPI's smoke test)."""
    client = TestClient(create_app(Settings()), base_url="http://127.0.0.1:8787")
    headers = {"Authorization": "Bearer fixture-key"}
    answers = {}
    for path in FILE_REQUESTS:
        fixture = _load(path)
        if path.name.startswith("confirm."):
            continue  # its signed_id is one issued by a prepare
        response = client.post(fixture["operation"].split(" ", 1)[1], json=fixture["body"], headers=headers)
        assert response.status_code == (200 if fixture["valid"] else 422), (path.name, response.text)
        answers[path.name] = response.json()
    prepared = answers["prepare.java-smoke.json"]
    content = _content(_load(FIXTURES / "requests" / "files" / "prepare.java-smoke.json"))
    assert client.put(prepared["upload_url"], content=content, headers=prepared["headers"]).status_code == 204
    confirmed = client.post("/api/v1/files/confirm", json={"signed_id": prepared["signed_id"]}, headers=headers)
    expected = _load(FIXTURES / "responses" / "upload.java-smoke.json")["body"]
    for upload in (answers["upload.java-smoke.json"], confirmed.json()):
        assert {k: upload[k] for k in ("file_name", "size_bytes", "mime_type")} == \
            {"file_name": "java-smoke.txt", "size_bytes": 19, "mime_type": "text/plain"} == \
            {k: expected[k] for k in ("file_name", "size_bytes", "mime_type")}
    assert answers["upload.data-url.json"]["mime_type"] == "image/png"


def test_every_files_answer_has_a_fixture() -> None:
    schemas = {_load(path)["schema"] for path in MESSAGES}
    assert {"upload", "upload_prepare", "file_object", "file_list", "deleted_file", "upload_object",
            "upload_part"} <= schemas
    assert any(_load(path)["body"]["error"]["code"] == "upload_integrity_error"
               for path in MESSAGES if path.parent.name == "errors")


# validate_response names a missing top-level member "" with pointer "/" (validate_request names the member).
MISSING_MEMBER_BUG = pytest.mark.xfail(
    strict=True,
    reason="validate_response reports a missing required top-level "
    "member as field '' pointer '/', not field '<member>' pointer '/<member>'",
)
MESSAGE_PARAMS = [
    pytest.param(
        p,
        id=f"{p.parent.name}/{p.name}",
        marks=[],
    )
    for p in MESSAGES
]


@pytest.mark.parametrize("path", MESSAGE_PARAMS)
def test_message_fixture_matches_its_schema(path: Path) -> None:
    fixture = _load(path)
    assert fixture["schema"] in schema_names()
    violations = validate_response(fixture["schema"], fixture["body"])
    if fixture.get("valid", True):
        assert violations == []
    else:
        expected = {(v["field"], v["rule"]) for v in fixture["expect_violations"]}
        assert {(v.field, v.rule) for v in violations} == expected


@pytest.mark.parametrize("path", REQUESTS + FILE_REQUESTS + MESSAGES,
                         ids=[f"{p.parent.name}/{p.name}" for p in REQUESTS + FILE_REQUESTS + MESSAGES])
def test_fixture_urls_use_loopback_or_example_hosts(path: Path) -> None:
    body = _load(path)["body"]
    if isinstance(body, dict) and isinstance(body.get("callback_url"), str):
        assert urlsplit(body["callback_url"]).hostname == "127.0.0.1"  # nothing may call out of the machine
    for url in _urls(body):
        host = urlsplit(url).hostname or ""
        assert host in ALLOWED_HOSTS or host.endswith(".example.com"), url


def test_every_model_has_a_valid_request_fixture() -> None:
    covered = set()
    for path in REQUESTS:
        fixture = _load(path)
        if fixture["valid"]:
            target = load_catalog().action(fixture["family"], fixture["action"])
            assert target is not None
            covered.add(
                (
                    fixture["family"],
                    fixture["action"],
                    load_catalog().canonical_model(target.family, target.name, fixture["body"]["model"]),
                )
            )
    models = {(m.family, m.action, m.name) for m in load_catalog().models()}
    assert models <= covered, sorted(models - covered)


@pytest.mark.parametrize(
    "docs_spelling", ["image_url", "input_image", "gpt-image-2-text-to-image", "gpt-image-2-image-to-image"]
)
def test_docs_spellings_have_valid_fixtures(docs_spelling: str) -> None:
    valid = [_load(path)["body"] for path in REQUESTS if _load(path)["valid"]]
    assert any(docs_spelling in body or body.get("model") == docs_spelling for body in valid)


@pytest.mark.parametrize("status", ["pending", "processing", "completed", "failed"])
@pytest.mark.parametrize("family", sorted({family for (family, _), action in load_catalog().actions.items()
                                            if "sync" not in action.output_spec}))  # a task to poll
def test_every_family_has_a_task_fixture_per_status(family: str, status: str) -> None:
    fixture = _load(FIXTURES / "responses" / f"task.{family}.{status}.json")
    assert fixture["schema"] == "task" and fixture["body"]["status"] == status


def test_seed_curl_bodies_are_kept_verbatim() -> None:
    seeds = {path.name: _load(path) for path in REQUESTS if ".seed-" in path.name}
    assert len(seeds) == 4 and all(
        fixture["valid"] and "curl" in fixture["source"] for fixture in seeds.values()
    )
