"""Every example in fixtures/ is checked: requests against validate_request, messages against their schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from runapi_contracts import load_catalog, schema_names, validate_request, validate_response

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
REQUESTS = sorted((FIXTURES / "requests").glob("*.json"))
MESSAGES = sorted(
    path for folder in ("responses", "callbacks", "errors") for path in (FIXTURES / folder).glob("*.json")
)
ALLOWED_HOSTS = {"127.0.0.1", "file.runapi.ai", "example.com", "example.test"}
REQUEST_KEYS = {"family", "action", "body", "valid", "expect_violations", "source", "note"}


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


@pytest.mark.parametrize("path", REQUESTS + MESSAGES, ids=[p.name for p in REQUESTS + MESSAGES])
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
@pytest.mark.parametrize("family", sorted({family for family, _ in load_catalog().actions}))
def test_every_family_has_a_task_fixture_per_status(family: str, status: str) -> None:
    fixture = _load(FIXTURES / "responses" / f"task.{family}.{status}.json")
    assert fixture["schema"] == "task" and fixture["body"]["status"] == status


def test_seed_curl_bodies_are_kept_verbatim() -> None:
    seeds = {path.name: _load(path) for path in REQUESTS if ".seed-" in path.name}
    assert len(seeds) == 4 and all(
        fixture["valid"] and "curl" in fixture["source"] for fixture in seeds.values()
    )
