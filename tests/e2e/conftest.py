"""Fixtures the end-to-end tests share (their plain functions are in sdk_support.py).

`server` is the common mock; a module that needs other settings defines its own `server` fixture
(`yield from sdk_support.serve(...)`), which pytest uses instead of this one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from runapi.core import RequestOptions

from runapi_mock.engine.lifecycle import Progression
from runapi_mock.serving.server import RunningServer
from tests.e2e import sdk_support


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    """Immediate progression (a task completes on its first status read); only `test-key` is accepted."""
    yield from sdk_support.serve(progression=Progression.parse("immediate"), api_keys=(sdk_support.KEY,))


@pytest.fixture
def ns(request: pytest.FixtureRequest) -> str:
    """A fresh namespace per test, named after its module (`video_chain-<12 hex>`)."""
    return f"{request.path.stem.removeprefix('test_')}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def opts(ns: str) -> RequestOptions:
    """The SDKs' RequestOptions that send this test's namespace."""
    return sdk_support.options(ns)


@pytest.fixture(autouse=True)
def _close_sdk_clients() -> Iterator[None]:
    """The SDK clients a test made through sdk_support are closed when it ends, not whenever collected."""
    yield
    sdk_support.close_clients()
