"""Scenarios: by header and by admin rule, every named outcome, and the rule book's matching."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from runapi_mock import errors, scenarios
from runapi_mock.scenarios import SCENARIOS, Rule, RuleBook, lookup

AUTH = {"Authorization": "Bearer test-key"}
JSON_TYPE = {"Content-Type": "application/json"}  # admin writes must say JSON
PATH = "/api/v1/flux_kontext/text_to_image"
BODY = {"model": "flux-kontext-pro", "prompt": "a red bicycle"}


def create(client: TestClient, scenario: str | None = None, **headers: str) -> Any:
    extra = {"X-Mock-Scenario": scenario} if scenario else {}
    return client.post(PATH, json=BODY, headers={**AUTH, "X-Mock-Progression": "polls:1", **extra, **headers})


def read(client: TestClient, task_id: str, **headers: str) -> Any:
    return client.get(f"{PATH}/{task_id}", headers={**AUTH, **headers})


def final_body(client: TestClient, task_id: str) -> dict[str, Any]:
    for _ in range(3):
        body = read(client, task_id).json()
    return body  # type: ignore[no-any-return]


# -- unit: the scenario table and the rule book --------------------------------------------------------


def test_every_issue_scenario_is_known() -> None:
    expected = {"success", "failed", "content_policy", "stuck", "insufficient_credits", "rate_limited",
                "unavailable", "unavailable_455", "server_error", "unauthorized", "flaky"}
    assert set(SCENARIOS) == expected


@pytest.mark.parametrize("name", ["Failed", " stuck ", "RATE_LIMITED"])
def test_lookup_ignores_case_and_spaces(name: str) -> None:
    assert lookup(name).name == name.strip().lower()


@pytest.mark.parametrize("name", ["", "nope", "fail", "success!"])
def test_lookup_of_unknown_scenario_is_a_bad_request_naming_it(name: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        lookup(name)
    assert repr(name) in caught.value.message and caught.value.code == "unknown_scenario"


@pytest.mark.parametrize(
    ("data", "method", "path", "model", "key", "matches"),
    [({"scenario": "failed"}, "GET", "/x", None, None, True),
     ({"scenario": "failed", "method": "post"}, "POST", "/x", None, None, True),
     ({"scenario": "failed", "method": "post"}, "GET", "/x", None, None, False),
     ({"scenario": "failed", "path": "/api/v1/*/text_to_image"}, "POST", "/api/v1/flux_2/text_to_image", None,
      None, True),
     ({"scenario": "failed", "path": "/api/v1/*/text_to_image"}, "POST", "/api/v1/flux_2/remix_image", None,
      None, False),
     ({"scenario": "failed", "model": "gpt-image-2"}, "POST", "/x", "gpt-image-2", None, True),
     ({"scenario": "failed", "model": "gpt-image-2"}, "POST", "/x", None, None, False),
     ({"scenario": "failed", "key": "a"}, "POST", "/x", None, "a", True),
     ({"scenario": "failed", "key": "a"}, "POST", "/x", None, "b", False)],
)
def test_rule_matching(data: dict[str, Any], method: str, path: str, model: str | None, key: str | None,
                       matches: bool) -> None:
    assert Rule.from_dict(1, data).matches(method, path, model, key) is matches


def test_rule_book_uses_up_counts_in_order() -> None:
    book = RuleBook()
    book.add({"scenario": "failed", "count": 2})
    book.add({"scenario": "stuck"})
    taken = [book.take("POST", "/x", None, None) for _ in range(4)]
    assert taken == ["failed", "failed", "stuck", "stuck"]
    assert book.to_list()[0]["used"] == 2


@pytest.mark.parametrize("data", [{}, {"scenario": 1}, {"scenario": "nope"}, {"scenario": "failed", "count": 0},
                                  {"scenario": "failed", "count": True}, {"scenario": "failed", "count": "2"},
                                  {"scenario": "failed", "path": 5}, {"scenario": "failed", "colour": "red"}])
def test_malformed_rules_are_rejected(data: dict[str, Any]) -> None:
    with pytest.raises(errors.BadRequest):
        scenarios.Rule.from_dict(1, data)


# -- by header ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "status", "error"),
    [("success", "completed", None), ("failed", "failed", "Image generation failed"),
     ("content_policy", "failed", "Content policy violation"), ("stuck", "processing", None)],
)
def test_outcome_scenarios_decide_the_task_end(client: TestClient, scenario: str, status: str,
                                               error: str | None) -> None:
    created = create(client, scenario)
    assert created.status_code == 200 and created.json()["status"] == "pending"
    body = final_body(client, created.json()["id"])
    assert body["status"] == status
    assert body.get("error") == error


@pytest.mark.parametrize(
    ("scenario", "status", "code", "retry_after"),
    [("insufficient_credits", 402, "insufficient_credits", None), ("rate_limited", 429, "rate_limited", "2"),
     ("unavailable", 503, "service_unavailable", "2"), ("unavailable_455", 455, None, None),
     ("server_error", 500, "internal_error", None), ("unauthorized", 401, "unauthorized", None)],
)
def test_error_scenarios_answer_the_create_with_their_status(client: TestClient, scenario: str, status: int,
                                                            code: str | None, retry_after: str | None) -> None:
    response = create(client, scenario)
    assert response.status_code == status
    body = response.json()
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    assert response.headers.get("retry-after") == retry_after
    assert response.headers["x-request-id"]
    assert client.get("/_mock/tasks").json()["total"] == 0


@pytest.mark.parametrize("scenario", ["rate_limited", "unavailable", "unavailable_455", "server_error",
                                      "insufficient_credits", "unauthorized"])
def test_error_scenarios_on_a_status_read_keep_the_task_id_header(client: TestClient, scenario: str) -> None:
    task_id = create(client).json()["id"]
    response = read(client, task_id, **{"X-Mock-Scenario": scenario})
    assert response.status_code >= 400
    assert response.headers["x-runapi-task-id"] == task_id
    assert client.get(f"/_mock/tasks/{task_id}").json()["reads"] == 0  # the failed read was not a poll


@pytest.mark.parametrize(("value", "header"), [("5", "5"), ("0", "0"), ("1.2", "2"), ("86400", "86400")])
def test_mock_retry_after_overrides_the_default(client: TestClient, value: str, header: str) -> None:
    for scenario in ("rate_limited", "unavailable"):
        response = create(client, scenario, **{"X-Mock-Retry-After": value})
        assert response.headers["retry-after"] == header


@pytest.mark.parametrize("value", ["-1", "abc", "nan", "inf", "86401", ""])
def test_bad_mock_retry_after_is_a_400(client: TestClient, value: str) -> None:
    response = create(client, "rate_limited", **{"X-Mock-Retry-After": value})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_header"


def test_flaky_fails_the_first_two_attempts_of_the_same_request(client: TestClient) -> None:
    statuses = [create(client, "flaky").status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    assert create(client, "flaky").headers.get("x-runapi-task-id")


def test_flaky_counts_attempts_per_request(client: TestClient) -> None:
    assert create(client, "flaky").status_code == 503
    other_body = client.post(PATH, json={**BODY, "prompt": "something else"},
                             headers={**AUTH, "X-Mock-Scenario": "flaky"})
    assert other_body.status_code == 503  # a different request starts its own count
    assert create(client, "flaky").status_code == 503
    assert create(client, "flaky").status_code == 200


def test_flaky_status_read_recovers_on_the_third_attempt(client: TestClient) -> None:
    task_id = create(client).json()["id"]
    statuses = [read(client, task_id, **{"X-Mock-Scenario": "flaky"}).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


@pytest.mark.parametrize("name", ["nope", "FAILED!", "success,failed"])
def test_unknown_scenario_header_is_a_400_naming_it(client: TestClient, name: str) -> None:
    response = create(client, name)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_scenario" and name in response.json()["error"]["message"]


@pytest.mark.parametrize("value", ["polls:0", "fast", "polls:x", "manual:2"])
def test_malformed_progression_header_is_a_400_naming_it(client: TestClient, value: str) -> None:
    response = create(client, None, **{"X-Mock-Progression": value})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_progression" and value in response.json()["error"]["message"]


# -- by admin rule ------------------------------------------------------------------------------------


def add_rule(client: TestClient, **rule: Any) -> dict[str, Any]:
    response = client.post("/_mock/rules", json=rule)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_rule_with_count_applies_to_that_many_requests(client: TestClient) -> None:
    add_rule(client, scenario="unavailable", count=2, method="POST")
    assert [create(client).status_code for _ in range(3)] == [503, 503, 200]
    assert client.get("/_mock/rules").json()["rules"][0]["used"] == 2


def test_rule_path_glob_and_model_pick_requests(client: TestClient) -> None:
    add_rule(client, scenario="failed", path="/api/v1/flux_kontext/*", model="flux-kontext-max")
    pro = create(client).json()["id"]
    max_id = client.post(PATH, json={**BODY, "model": "flux-kontext-max"},
                         headers={**AUTH, "X-Mock-Progression": "polls:1"}).json()["id"]
    assert final_body(client, pro)["status"] == "completed"
    assert final_body(client, max_id)["status"] == "failed"


def test_rule_for_one_key_leaves_other_keys_alone(client: TestClient) -> None:
    add_rule(client, scenario="insufficient_credits", key="test-key")
    assert create(client).status_code == 402
    other = client.post(PATH, json=BODY, headers={"Authorization": "Bearer other"})
    assert other.status_code == 200


def test_rule_on_status_reads(client: TestClient) -> None:
    task_id = create(client).json()["id"]
    add_rule(client, scenario="rate_limited", method="GET", path="/api/v1/*", count=1)
    assert read(client, task_id).status_code == 429
    assert read(client, task_id).status_code == 200


def test_header_wins_over_a_rule(client: TestClient) -> None:
    add_rule(client, scenario="server_error")
    assert create(client, "success").status_code == 200
    assert create(client).status_code == 500


def test_rules_can_be_deleted_one_by_one_or_all(client: TestClient) -> None:
    first = add_rule(client, scenario="server_error")
    add_rule(client, scenario="unavailable")
    assert client.delete(f"/_mock/rules/{first['id']}", headers=JSON_TYPE).status_code == 200
    assert create(client).status_code == 503
    assert client.delete(f"/_mock/rules/{first['id']}", headers=JSON_TYPE).status_code == 404
    assert client.delete("/_mock/rules", headers=JSON_TYPE).json() == {"rules": []}
    assert create(client).status_code == 200


@pytest.mark.parametrize("rule", [{"scenario": "nope"}, {"count": 1}, {"scenario": "failed", "count": -1},
                                  {"scenario": "failed", "extra": 1}])
def test_admin_rejects_malformed_rules(client: TestClient, rule: dict[str, Any]) -> None:
    response = client.post("/_mock/rules", json=rule)
    assert response.status_code == 400 and response.json()["error"]["message"]
    assert client.get("/_mock/rules").json()["rules"] == []


def test_rule_scenario_is_journaled(client: TestClient) -> None:
    add_rule(client, scenario="failed", count=1)
    task_id = create(client).json()["id"]
    entries = client.get("/_mock/journal", params={"scenario": "failed"}).json()["entries"]
    assert [e["task_id"] for e in entries] == [task_id]
