"""The create path's shortcuts give what the code they replace gives: task ids as uuid.UUID writes them, and
JSON responses with JSONResponse's bytes and headers."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import pytest
from starlette.responses import JSONResponse

from runapi_mock.api.responses import _ENCODER, JSON
from runapi_mock.engine import core
from runapi_mock.engine.tasks import uuid4_text


def test_task_ids_are_what_uuid_writes_for_a_version_4_uuid() -> None:
    rng = random.Random(7)
    samples = ["0" * 32, "f" * 32, *(f"{rng.getrandbits(128):032x}" for _ in range(2000))]
    for hex32 in samples:
        assert uuid4_text(hex32) == str(uuid.UUID(hex=hex32, version=4))


def test_the_entropy_pool_hands_out_urandom_once_each(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every 32 hex digits the pool reads from os.urandom go to one id, and a forked child reads anew."""
    reads: list[bytes] = []

    def urandom(size: int) -> bytes:
        reads.append(bytes(random.getrandbits(8) for _ in range(size)))
        return reads[-1]

    monkeypatch.setattr(core.os, "urandom", urandom)
    pool = core.EntropyPool()
    per_read = core.EntropyPool.BYTES // 16
    handed = [pool.hex32() for _ in range(per_read + 1)]
    assert len(reads) == 2 and "".join(handed[:per_read]) == reads[0].hex() and handed[-1] == reads[1][:16].hex()
    pool.drop()  # what a forked child does first
    assert pool.hex32() == reads[2][:16].hex()


class _Reference(JSONResponse):
    """What responses.JSON was: Starlette's JSONResponse with the mock's encoder."""

    def render(self, content: Any) -> bytes:
        return _ENCODER.encode(content).encode("ascii")


@pytest.mark.parametrize(("content", "status", "headers"), [
    ({"id": "t", "status": "pending", "n": [1, 2.5, None, True], "s": "\u00e9\ud800"}, 200, {"X-RunAPI-Task-Id": "t"}),
    ({"error": {"code": "x"}}, 429, {"Retry-After": "3", "X-A": "b"}),
    ([1, {"a": {}}], 201, None),
    ("text", 200, {"Content-Type": "application/problem+json"}),
    ({"a": 1}, 204, {}),
    ({"a": 1}, 304, {"Content-Length": "7"}),
])
def test_json_responses_are_what_jsonresponse_makes(content: Any, status: int, headers: Any) -> None:
    fast, reference = JSON(content, status, headers), _Reference(content, status, headers)
    assert (fast.body, fast.raw_headers, fast.status_code) == (reference.body, reference.raw_headers, status)
    assert json.loads(fast.body) == json.loads(reference.body)


def test_a_json_response_refuses_what_the_encoder_refuses() -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        JSON({"x": float("nan")})
