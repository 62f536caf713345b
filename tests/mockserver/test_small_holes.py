"""Issue 19 item 9: query integers, the clock's range, namespace names and a corrupt state file each get a 4xx
envelope (or one CLI line), never a 500 or a traceback."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from runapi_mock import Settings, cli, create_app, server
from runapi_mock.state import StateError, StateStore

AUTH = {"Authorization": "Bearer holes-key"}
CREATE = "/api/v1/flux_kontext/text_to_image"
BODY = {"model": "flux-kontext-pro", "prompt": "a red bicycle"}
LISTS = ["/_mock/journal", "/_mock/tasks", "/_mock/callbacks", "/v1/files"]
BAD_INTEGERS = ["%C2%B2", "\u00b2", "1" * 5000, "-1", "+5", " 5", "5 ", "0x10", "1e3", "", "\u0661"]


def envelope(response: Any, status: int | tuple[int, ...]) -> dict[str, Any]:
    expected = (status,) if isinstance(status, int) else status
    assert response.status_code in expected, f"{response.status_code}: {response.text[:300]}"
    body: dict[str, Any] = response.json()
    assert body["error"]["code"] and body["error"]["message"], body
    return body


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("name", ["limit", "offset"])
@pytest.mark.parametrize("value", BAD_INTEGERS)
def test_query_integers_are_strict_and_a_bad_one_is_a_400(client: TestClient, path: str, name: str,
                                                          value: str) -> None:
    if path == "/v1/files" and name == "offset":
        pytest.skip("the OpenAI files list pages with `after`, not `offset`")
    query = f"{name}={value}" if value.startswith("%") else {name: value}
    response = client.get(path, params=query, headers=AUTH)  # type: ignore[arg-type]
    assert envelope(response, 400)["error"]["code"] == "invalid_parameter"


@pytest.mark.parametrize("path", LISTS)
def test_a_good_limit_still_pages(client: TestClient, path: str) -> None:
    assert client.get(path, params={"limit": "1"}, headers=AUTH).status_code == 200


def test_the_clock_cannot_be_advanced_past_the_range_dates_can_be_written_in(client: TestClient) -> None:
    ns = {"X-Mock-Namespace": "far-future", **AUTH}
    refused = None
    for _ in range(300):  # 300e9 s: past year 9999, where datetime stops
        answer = client.post("/_mock/clock/advance", json={"seconds": 10 ** 9}, headers=ns)
        if answer.status_code != 200:
            refused = answer
            break
    assert refused is not None, "the clock went past year 9999"
    assert "year" in envelope(refused, 400)["error"]["message"]
    upload = client.post("/api/v1/files", json={"source": {"type": "base64", "data": "aGVsbG8="}}, headers=ns)
    assert upload.status_code == 200, upload.text
    assert upload.json()["expires_at"].startswith(tuple(str(year) for year in range(2000, 10000)))


@pytest.mark.parametrize("name", ["abc%0A", "abc%0D", "%2E", "%2E%2E", "a%00"])
def test_namespace_names_are_matched_whole_and_dot_names_are_refused(client: TestClient, name: str) -> None:
    response = client.get(f"/ns/{name}/api/v1/me/balance", headers=AUTH)
    assert envelope(response, (400, 404))["error"]["code"] in ("invalid_namespace", "not_found")
    names = [row["name"] for row in client.get("/_mock/namespaces").json()["namespaces"]]
    assert all(n.strip() == n and n not in (".", "..") for n in names), names


@pytest.mark.parametrize("name", ["abc\n", ".", ".."])
def test_the_namespace_header_is_matched_whole_too(client: TestClient, name: str) -> None:
    response = client.get("/api/v1/me/balance", headers={**AUTH, "X-Mock-Namespace": name})
    assert envelope(response, 400)["error"]["code"] == "invalid_namespace"


# -- a corrupt state file -------------------------------------------------------------------------------------


def _stored(tmp_path: Path) -> Path:
    path = tmp_path / "state.sqlite"
    with TestClient(create_app(Settings(state_path=str(path))), headers=AUTH) as client:
        for _ in range(3):
            assert client.post(CREATE, json=BODY).status_code == 200
    return path


def _serve_error(path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    def started(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the server started on a corrupt state file")

    monkeypatch.setattr(server, "serve_forever", started)
    logger = logging.getLogger("runapi_mock")  # serve logs to this test's stderr, and leaves no handler behind
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "propagate", logger.propagate)
    assert cli.main(["serve", "--port", "0", "--state", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("runapi-mock: error: ") and "Traceback" not in err, err
    assert err.count("\n") == 1, err
    assert str(path) in err, err
    return err


@pytest.mark.parametrize(("record", "says"), [("{not json", "bad JSON"), ('{"id": "x"}', "missing")])
def test_a_bad_record_names_the_file_table_and_row(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch, record: str, says: str) -> None:
    path = _stored(tmp_path)
    with sqlite3.connect(path) as db:
        rowid = db.execute("SELECT rowid FROM tasks ORDER BY rowid LIMIT 1 OFFSET 1").fetchone()[0]
        db.execute("UPDATE tasks SET record = ? WHERE rowid = ?", (record, rowid))
    err = _serve_error(path, capsys, monkeypatch)
    assert "table tasks" in err and f"row {rowid}" in err and says in err, err
    with pytest.raises(StateError):
        StateStore(path).load()


def test_garbage_mid_file_is_one_line_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = _stored(tmp_path)
    with sqlite3.connect(path) as db:  # fold the WAL in, then make the file long enough to have a middle
        db.execute("CREATE TABLE padding (x TEXT)")
        db.executemany("INSERT INTO padding VALUES (?)", [("p" * 500,) for _ in range(200)])
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 8192] = b"\xde\xad\xbe\xef" * 2048
    path.write_bytes(bytes(data))
    _serve_error(path, capsys, monkeypatch)
