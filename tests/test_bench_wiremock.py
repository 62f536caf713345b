"""The bench's WireMock stub (bench/wiremock.py) mocks the mock's real create route with the mock's answer.

Otherwise `make bench` would compare WireMock answering a route or a body the mock does not serve.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import wiremock
from drivers import BODY


def test_the_stub_file_answers_what_the_mock_answers_a_create(client: TestClient, tmp_path: Path) -> None:
    stub = json.loads(wiremock.write_root(tmp_path).read_text())  # the file WireMock reads, as written
    request, response = stub["request"], stub["response"]
    assert request["method"] == "POST"
    answer = client.post(request["urlPath"], json=BODY, headers={"Authorization": "Bearer bench-key"})
    assert answer.status_code == response["status"] == 200
    sent = json.loads(response["body"])
    assert {k: type(v) for k, v in sent.items()} == {k: type(v) for k, v in answer.json().items()}
    assert {k: v for k, v in sent.items() if k not in ("id", "task_id")} == \
        {k: v for k, v in answer.json().items() if k not in ("id", "task_id")}
    assert response["headers"]["X-RunAPI-Task-Id"] == sent["id"]
    assert response["headers"]["Content-Type"] == answer.headers["content-type"]
