"""The admin API under /_mock/: journal, tasks, clock, reset, config, balance, and namespace isolation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from runapi_mock.journal import Entry, Journal

AUTH = {"Authorization": "Bearer test-key"}
PATH = "/api/v1/flux_kontext/text_to_image"
BODY = {"model": "flux-kontext-pro", "prompt": "a red bicycle"}
GPT_PATH = "/api/v1/gpt_image_2/text_to_image"
GPT_BODY = {"model": "gpt-image-2", "prompt": "x"}


def create(client: TestClient, namespace: str | None = None, **headers: str) -> str:
    extra = {"X-Mock-Namespace": namespace} if namespace else {}
    response = client.post(PATH, json=BODY, headers={**AUTH, **extra, **headers})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def journal(client: TestClient, namespace: str | None = None, **params: Any) -> list[dict[str, Any]]:
    headers = {"X-Mock-Namespace": namespace} if namespace else {}
    response = client.get("/_mock/journal", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["entries"]  # type: ignore[no-any-return]


# -- journal (unit) -------------------------------------------------------------------------------------


def entry(method: str = "GET", path: str = "/x", status: int = 200, **fields: Any) -> Entry:
    return Entry(seq=0, at=0.0, wall=0.0, method=method, path=path, status=status, **fields)


def test_journal_keeps_the_newest_entries_only() -> None:
    book = Journal(3)
    for index in range(5):
        book.append(entry(path=f"/{index}"))
    assert len(book) == 3
    assert [e.path for e in book.query()] == ["/4", "/3", "/2"]
    assert [e.seq for e in book.query()] == [5, 4, 3]


@pytest.mark.parametrize(
    ("filters", "paths"),
    [({"method": "post"}, ["/api/b"]), ({"path": "/api"}, ["/api/b", "/api/a"]), ({"status": "404"}, ["/other"]),
     ({"status": 200}, ["/api/b", "/api/a"]), ({"key": "k2"}, ["/api/b"]), ({"model": "m"}, ["/api/a"]),
     ({"task_id": "t"}, ["/api/a"]), ({"scenario": "stuck"}, ["/other"]), ({"method": None}, ["/other", "/api/b",
                                                                                                  "/api/a"])],
)
def test_journal_filters(filters: dict[str, Any], paths: list[str]) -> None:
    book = Journal(10)
    book.append(entry(path="/api/a", key="k1", model="m", task_id="t"))
    book.append(entry(method="POST", path="/api/b", key="k2"))
    book.append(entry(path="/other", status=404, scenario="stuck"))
    assert [e.path for e in book.query(**filters)] == paths


def test_journal_query_limit() -> None:
    book = Journal(10)
    for index in range(6):
        book.append(entry(path=f"/{index}"))
    assert [e.path for e in book.query(limit=2)] == ["/5", "/4"]


# -- journal (API) ------------------------------------------------------------------------------------


def test_journal_is_bounded_by_journal_size(make_client: Callable[..., TestClient]) -> None:
    client = make_client(journal_size=3)
    for _ in range(5):
        client.get("/api/v1/me", headers=AUTH)
    client.get("/api/v1/me/balance", headers=AUTH)
    body = client.get("/_mock/journal").json()
    assert body["size"] == 3 and body["capacity"] == 3
    assert [e["path"] for e in body["entries"]] == ["/api/v1/me/balance", "/api/v1/me", "/api/v1/me"]
    assert [e["seq"] for e in body["entries"]] == [6, 5, 4]


def test_journal_records_what_each_request_asked_and_got(client: TestClient) -> None:
    task_id = create(client, **{"X-Client-Request-Id": "cr-1"})
    client.post(PATH, json={"model": "flux-kontext-pro"}, headers=AUTH)
    rejected, created = journal(client)
    assert created["method"] == "POST" and created["status"] == 200 and created["task_id"] == task_id
    assert created["key"] == "test-key" and created["model"] == "flux-kontext-pro"
    assert created["request_body"] == BODY and created["client_request_id"] == "cr-1"
    assert rejected["status"] == 422 and rejected["violations"] and rejected["violations"][0]["field"] == "prompt"


def test_journal_filters_over_http(client: TestClient) -> None:
    first = create(client)
    client.post(GPT_PATH, json=GPT_BODY, headers={**AUTH, "X-Mock-Scenario": "rate_limited"})
    client.get(f"{PATH}/{first}", headers={"Authorization": "Bearer other"})
    client.get(f"{PATH}/{first}", headers=AUTH)
    assert [e["status"] for e in journal(client, status=429)] == [429]
    assert [e["path"] for e in journal(client, scenario="rate_limited")] == [GPT_PATH]
    assert [e["key"] for e in journal(client, key="other")] == ["other"]
    assert [e["method"] for e in journal(client, task_id=first)] == ["GET", "POST"]
    assert len(journal(client, model="gpt-image-2")) == 1
    assert len(journal(client, method="get")) == 2
    assert len(journal(client, path="/api/v1/flux_kontext/")) == 3
    assert len(journal(client, limit=1)) == 1
    assert journal(client, status=418) == []


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "10001", "1.5"])
def test_journal_rejects_a_bad_limit(client: TestClient, limit: str) -> None:
    response = client.get("/_mock/journal", params={"limit": limit})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_parameter"


def test_admin_requests_are_not_journaled(client: TestClient) -> None:
    client.get("/_mock/tasks")
    client.post("/_mock/clock/freeze", json={})
    assert journal(client) == []


def test_journal_survives_a_body_with_an_overflowing_number(client: TestClient) -> None:
    raw = b'{"model": "flux-kontext-pro", "prompt": "x", "safety_tolerance": 1e400}'
    response = client.post(PATH, content=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    assert client.get("/_mock/journal").status_code == 200


# -- tasks ----------------------------------------------------------------------------------------------


def test_tasks_list_newest_first_with_filters(client: TestClient) -> None:
    first = create(client, **{"X-Mock-Progression": "immediate"})
    second = create(client)
    client.post(PATH, json=BODY, headers={"Authorization": "Bearer other"})
    client.get(f"{PATH}/{first}", headers=AUTH)
    listing = client.get("/_mock/tasks").json()
    assert listing["total"] == 3 and [t["id"] for t in listing["tasks"]][1:] == [second, first]
    assert [t["id"] for t in client.get("/_mock/tasks", params={"status": "completed"}).json()["tasks"]] == [first]
    assert len(client.get("/_mock/tasks", params={"key": "test-key"}).json()["tasks"]) == 2
    assert len(client.get("/_mock/tasks", params={"limit": 1}).json()["tasks"]) == 1


def test_task_inspection_shows_the_engine_facts(client: TestClient) -> None:
    task_id = create(client, **{"X-Mock-Progression": "polls:2"})
    client.get(f"{PATH}/{task_id}", headers=AUTH)
    view = client.get(f"/_mock/tasks/{task_id}").json()
    assert view["id"] == task_id and view["family"] == "flux_kontext" and view["action"] == "text_to_image"
    assert view["key"] == "test-key" and view["progression"] == "polls:2" and view["reads"] == 1
    assert view["price_cents"] == 2.5 and view["request"] == BODY
    assert [h["status"] for h in view["history"]] == ["pending"]


def test_inspecting_a_task_is_not_a_poll(client: TestClient) -> None:
    task_id = create(client, **{"X-Mock-Progression": "polls:1"})
    for _ in range(3):
        assert client.get(f"/_mock/tasks/{task_id}").json()["status"] == "pending"


@pytest.mark.parametrize(("method", "path"), [("GET", "/_mock/tasks/nope"), ("POST", "/_mock/tasks/nope/step"),
                                              ("POST", "/_mock/tasks/nope/status")])
def test_unknown_task_in_admin_is_a_404(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, json={"status": "completed"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_admin_404_for_a_missing_task_has_no_task_id_header(client: TestClient) -> None:
    response = client.get("/_mock/tasks/nope")
    assert response.status_code == 404
    assert "x-runapi-task-id" not in response.headers


def test_force_status_walks_forward_and_keeps_a_custom_error(client: TestClient) -> None:
    task_id = create(client, **{"X-Mock-Progression": "manual"})
    forced = client.post(f"/_mock/tasks/{task_id}/status",
                         json={"status": "failed", "error": "boom", "error_code": "custom"})
    assert forced.status_code == 200 and forced.json()["status"] == "failed"
    body = client.get(f"{PATH}/{task_id}", headers=AUTH).json()
    assert body["status"] == "failed" and body["error"] == "boom"


@pytest.mark.parametrize("body", [{}, {"status": 1}, {"status": "done"}, {"status": None}])
def test_force_status_rejects_unknown_statuses(client: TestClient, body: dict[str, Any]) -> None:
    task_id = create(client, **{"X-Mock-Progression": "manual"})
    response = client.post(f"/_mock/tasks/{task_id}/status", json=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_status"


@pytest.mark.parametrize("raw", [b"[1]", b"{", b'"x"', b"{" * 70_000])
def test_admin_bodies_must_be_small_json_objects(client: TestClient, raw: bytes) -> None:
    task_id = create(client)
    response = client.post(f"/_mock/tasks/{task_id}/status", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 413)
    assert response.json()["error"]["code"] in ("invalid_json", "payload_too_large")


# -- clock --------------------------------------------------------------------------------------------


def test_clock_freeze_advance_unfreeze(client: TestClient) -> None:
    frozen = client.post("/_mock/clock/freeze", json={}).json()
    assert frozen["frozen"] is True
    assert client.get("/_mock/clock").json()["now"] == frozen["now"]
    advanced = client.post("/_mock/clock/advance", json={"seconds": 90.5}).json()
    assert advanced["now"] == frozen["now"] + 90.5
    thawed = client.post("/_mock/clock/unfreeze", json={}).json()
    assert thawed["frozen"] is False and thawed["now"] >= advanced["now"]
    assert client.get("/_mock/clock").json()["now"] >= thawed["now"]


@pytest.mark.parametrize("body", [{}, {"seconds": -1}, {"seconds": "5"}, {"seconds": True}, {"seconds": 1e10},
                                  {"seconds": None}])
def test_clock_advance_rejects_bad_seconds(client: TestClient, body: dict[str, Any]) -> None:
    before = client.post("/_mock/clock/freeze", json={}).json()["now"]
    response = client.post("/_mock/clock/advance", json=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_seconds"
    assert client.get("/_mock/clock").json()["now"] == before


def test_clock_advance_rejects_nan_literals(client: TestClient) -> None:
    response = client.post("/_mock/clock/advance", content=b'{"seconds": NaN}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_unknown_clock_action_is_a_404(client: TestClient) -> None:
    assert client.post("/_mock/clock/rewind", json={}).status_code == 404


# -- reset --------------------------------------------------------------------------------------------


def test_reset_forgets_tasks_rules_journal_and_balance_of_one_namespace(client: TestClient) -> None:
    task_id = create(client)
    kept = create(client, "keep")
    client.post("/_mock/rules", json={"scenario": "server_error"})
    client.put("/_mock/balance", json={"key": "test-key", "balance_cents": 1})
    assert client.post("/_mock/reset", json={}).json() == {"reset": "default"}
    assert journal(client) == []
    assert client.get(f"{PATH}/{task_id}", headers=AUTH).status_code == 404
    assert client.get("/_mock/rules").json()["rules"] == []
    assert client.get("/api/v1/me/balance", headers=AUTH).json()["balance_cents"] == 5000
    assert client.get(f"{PATH}/{kept}", headers={**AUTH, "X-Mock-Namespace": "keep"}).status_code == 200


def test_reset_all_forgets_every_namespace(client: TestClient) -> None:
    kept = create(client, "keep")
    assert client.post("/_mock/reset", json={}, params={"all": "1"}).json() == {"reset": "all"}
    assert client.get(f"{PATH}/{kept}", headers={**AUTH, "X-Mock-Namespace": "keep"}).status_code == 404


# -- config -------------------------------------------------------------------------------------------


def test_config_shows_the_settings(make_client: Callable[..., TestClient]) -> None:
    client = make_client(rate_limit=7, journal_size=9, balance_cents=11)
    config = client.get("/_mock/config").json()
    assert config["progression"] == "auto" and config["rate_limit"] == 7
    assert config["journal_size"] == 9 and config["balance_cents"] == 11


def test_config_progression_can_be_set_and_cleared(client: TestClient) -> None:
    assert client.put("/_mock/config", json={"progression": "polls:4"}).json()["progression"] == "polls:4"
    assert client.get("/_mock/config", headers={"X-Mock-Namespace": "b"}).json()["progression"] == "auto"
    assert client.put("/_mock/config", json={"progression": None}).json()["progression"] == "auto"


def test_malformed_config_progression_is_a_400_naming_it(client: TestClient) -> None:
    response = client.put("/_mock/config", json={"progression": "polls:zero"})
    assert response.status_code == 400 and "polls:zero" in response.json()["error"]["message"]


@pytest.mark.parametrize("value", [5, [], {}])
def test_rejected_config_change_changes_nothing(client: TestClient, value: Any) -> None:
    client.put("/_mock/config", json={"progression": "manual"})
    assert client.put("/_mock/config", json={"progression": value}).status_code == 400
    assert client.get("/_mock/config").json()["progression"] == "manual"


def test_config_progression_with_a_superscript_digit_is_a_400(client: TestClient) -> None:
    assert client.put("/_mock/config", json={"progression": "polls:\u00b2"}).status_code == 400


# -- namespaces ---------------------------------------------------------------------------------------


def test_namespaces_isolate_tasks(client: TestClient) -> None:
    task_id = create(client, "a")
    assert client.get(f"{PATH}/{task_id}", headers={**AUTH, "X-Mock-Namespace": "a"}).status_code == 200
    assert client.get(f"{PATH}/{task_id}", headers={**AUTH, "X-Mock-Namespace": "b"}).status_code == 404
    assert client.get(f"{PATH}/{task_id}", headers=AUTH).status_code == 404
    assert client.get("/_mock/tasks", headers={"X-Mock-Namespace": "b"}).json()["total"] == 0
    assert client.get("/_mock/tasks", params={"namespace": "a"}).json()["total"] == 1


def test_namespaces_isolate_rules(client: TestClient) -> None:
    client.post("/_mock/rules", json={"scenario": "server_error"}, headers={"X-Mock-Namespace": "a"})
    assert client.post(PATH, json=BODY, headers={**AUTH, "X-Mock-Namespace": "a"}).status_code == 500
    assert client.post(PATH, json=BODY, headers={**AUTH, "X-Mock-Namespace": "b"}).status_code == 200


def test_namespaces_isolate_clocks(client: TestClient) -> None:
    a = {"X-Mock-Namespace": "a"}
    b = {"X-Mock-Namespace": "b"}
    client.post("/_mock/clock/freeze", json={}, headers=a)
    client.post("/_mock/clock/freeze", json={}, headers=b)
    task_a = create(client, "a")
    task_b = create(client, "b")
    client.post("/_mock/clock/advance", json={"seconds": 100}, headers=a)
    assert client.get(f"{PATH}/{task_a}", headers={**AUTH, **a}).json()["status"] == "completed"
    assert client.get(f"{PATH}/{task_b}", headers={**AUTH, **b}).json()["status"] == "pending"
    assert client.get("/_mock/clock", headers=b).json()["frozen"] is True


def test_namespaces_isolate_ledgers(client: TestClient) -> None:
    client.put("/_mock/balance", json={"key": "test-key", "balance_cents": 0}, headers={"X-Mock-Namespace": "a"})
    assert client.post(PATH, json=BODY, headers={**AUTH, "X-Mock-Namespace": "a"}).status_code == 402
    assert client.get("/api/v1/me/balance", headers={**AUTH, "X-Mock-Namespace": "b"}).json()["balance_cents"] \
        == 5000


def test_namespaces_isolate_journals(client: TestClient) -> None:
    create(client, "a")
    client.get("/api/v1/me", headers={**AUTH, "X-Mock-Namespace": "b"})
    assert [e["path"] for e in journal(client, "a")] == [PATH]
    assert [e["path"] for e in journal(client, "b")] == ["/api/v1/me"]
    assert journal(client) == []


@pytest.mark.parametrize("name", ["a/b", "a b", "x" * 65, "caf\u00e9", "..%", "a\tb"])
def test_bad_namespace_names_are_a_400(client: TestClient, name: str) -> None:
    headers = {"X-Mock-Namespace": name.encode("utf-8")}
    for response in (client.get("/api/v1/me", headers={**AUTH, **headers}),
                     client.get("/_mock/tasks", headers=headers)):
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_namespace"


@pytest.mark.parametrize("name", ["a", "A-b_c.d", "x" * 64, "123", "..."])
def test_good_namespace_names_work(client: TestClient, name: str) -> None:
    assert client.get("/api/v1/me", headers={**AUTH, "X-Mock-Namespace": name}).status_code == 200


def test_past_max_namespaces_an_idle_one_goes_and_one_with_tasks_stays(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_namespaces=2)
    task_id = create(client, "first")
    assert client.get("/_mock/clock", headers={"X-Mock-Namespace": "idle"}).status_code == 200
    create(client, "second")  # evicts "idle", which holds nothing (tests/mockserver/test_namespace_bound.py)
    assert client.get(f"{PATH}/{task_id}", headers={**AUTH, "X-Mock-Namespace": "first"}).status_code == 200
    assert client.post(PATH, json=BODY, headers={**AUTH, "X-Mock-Namespace": "third"}).status_code == 429


# -- listing namespaces and paging (the dashboard's picker and lists) ------------------------------------------


def test_namespaces_lists_the_ones_held_without_creating_any(client: TestClient) -> None:
    create(client, "ns-b")
    create(client, "ns-b")
    create(client, "ns-a")
    listed = client.get("/_mock/namespaces").json()["namespaces"]
    assert [n["name"] for n in listed] == ["ns-a", "ns-b"]
    assert {n["name"]: n["tasks"] for n in listed} == {"ns-a": 1, "ns-b": 2}
    assert {n["name"]: n["journal"] for n in listed} == {"ns-a": 1, "ns-b": 2}
    assert [n["name"] for n in client.get("/_mock/namespaces").json()["namespaces"]] == ["ns-a", "ns-b"]


def test_tasks_page_with_offset_and_more(client: TestClient) -> None:
    ids = [create(client) for _ in range(5)]
    newest_first = list(reversed(ids))
    pages = [client.get("/_mock/tasks", params={"limit": 2, "offset": offset}).json() for offset in (0, 2, 4)]
    assert [[t["id"] for t in page["tasks"]] for page in pages] == [newest_first[:2], newest_first[2:4],
                                                                    newest_first[4:]]
    assert [page["more"] for page in pages] == [True, True, False]
    assert all(page["total"] == 5 for page in pages)
    assert client.get("/_mock/tasks", params={"offset": 5}).json()["tasks"] == []


def test_tasks_offset_counts_matches_of_the_filter(client: TestClient) -> None:
    ids = [create(client) for _ in range(4)]
    for task_id in ids[:3]:
        client.post(f"/_mock/tasks/{task_id}/status", json={"status": "completed"})
    page = client.get("/_mock/tasks", params={"status": "completed", "limit": 1, "offset": 1}).json()
    assert [t["id"] for t in page["tasks"]] == [ids[1]]
    assert page["more"] is True


def test_journal_and_callbacks_page_with_offset(client: TestClient) -> None:
    for _ in range(3):
        create(client)
    seqs = [e["seq"] for e in journal(client)]
    page = client.get("/_mock/journal", params={"limit": 1, "offset": 1}).json()
    assert [e["seq"] for e in page["entries"]] == [seqs[1]]
    assert page["more"] is True
    last = client.get("/_mock/journal", params={"limit": 1, "offset": 2}).json()
    assert last["more"] is False
    listed = client.get("/_mock/callbacks", params={"offset": 0}).json()
    assert (listed["deliveries"], listed["matched"], listed["more"]) == ([], 0, False)


@pytest.mark.parametrize("offset", ["-1", "x", "1.5", "", str(10 ** 9 + 1)])
@pytest.mark.parametrize("path", ["/_mock/tasks", "/_mock/journal", "/_mock/callbacks"])
def test_a_bad_offset_is_a_400(client: TestClient, path: str, offset: str) -> None:
    response = client.get(path, params={"offset": offset})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_parameter"


def test_task_view_shows_the_response_body_a_client_reads(client: TestClient) -> None:
    task_id = create(client)
    client.post(f"/_mock/tasks/{task_id}/status", json={"status": "completed"})
    view = client.get(f"/_mock/tasks/{task_id}").json()
    read = client.get(f"{PATH}/{task_id}", headers=AUTH).json()
    assert view["response"] == {k: v for k, v in read.items() if k in view["response"]}
    assert view["response"]["images"] == read["images"]
