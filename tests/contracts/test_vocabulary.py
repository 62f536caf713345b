"""The vocabulary is defined once: the parser and the published pattern agree, and the server, its OpenAPI
document and the conformance kit use the vocabulary's names rather than their own."""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from runapi_contracts import vocabulary as v
from runapi_contracts.conformance.lifecycle import PROGRESSIONS
from runapi_contracts.conformance.matrix import SCENARIOS as CLIENT_SCENARIOS
from runapi_contracts.vocabulary import InvalidProgression, Progression
from runapi_mock.api.admin_routes import mock_openapi
from runapi_mock.api.openapi import REQUEST_HEADERS
from runapi_mock.engine import scenarios

EDGE_VALUES = [
    "auto", "immediate", "manual", "polls:1", "polls:2", "polls:999999", "polls:1000000", " Auto ", "POLLS:7",
    "\tmanual", "polls:0", "polls:00", "polls:01", "polls:1000001", "polls:-1", "polls:1.5", "polls:", "polls",
    "polls: 2", "polls :2", "auto:2", "manual:1", "fast", "", " ", "polls:\u0663", "polls:\uff13", "autoo",
    "polls:10000000", "im mediate", "polls:1 ", "\u00a0auto",
]


def _published_schema() -> dict[str, Any]:
    header = next(h for h in mock_openapi()["components"]["parameters"].values()
                  if h["name"] == v.PROGRESSION_HEADER)
    return dict(header["schema"])


def _parses(value: str) -> bool:
    try:
        Progression.parse(value)
    except InvalidProgression:
        return False
    return True


@pytest.mark.parametrize("value", EDGE_VALUES)
def test_the_parser_and_the_published_pattern_accept_the_same_values(value: str) -> None:
    published = Draft202012Validator(_published_schema())
    assert _parses(value) == published.is_valid(value) == bool(re.fullmatch(v.PROGRESSION_PATTERN, value))


def test_polls_zero_is_refused_by_the_parser_and_by_the_document() -> None:
    # The document used to publish ^(auto|immediate|manual|polls:[0-9]+)$, which accepted polls:0.
    assert not _parses("polls:0")
    assert not Draft202012Validator(_published_schema()).is_valid("polls:0")


@given(st.text(alphabet="autoimedinalps:0123456789 \tAUTOPLS", max_size=16))
def test_parser_and_pattern_agree_on_generated_text(value: str) -> None:
    assert _parses(value) == bool(re.fullmatch(v.PROGRESSION_PATTERN, value))


@given(st.from_regex(v.PROGRESSION_PATTERN, fullmatch=True).filter(lambda s: "\n" not in s))
def test_every_value_the_pattern_describes_parses_and_round_trips(value: str) -> None:
    parsed = Progression.parse(value)
    assert Progression.parse(str(parsed)) == parsed


@given(st.sampled_from(["immediate", "polls:1", "polls:2", "polls:3", "polls:17"]), st.integers(1, 2))
def test_reads_to_step_is_the_first_read_that_shows_the_step(text: str, step: int) -> None:
    progression = Progression.parse(text)
    first = progression.reads_to_step(step)
    assert first is not None

    def at(reads: int) -> int:
        return progression.step_at(elapsed=0.0, reads=reads, manual_steps=0, durations=(2.0, 10.0))

    assert at(first) >= step and at(first - 1) < step


def test_reads_do_not_move_auto_or_manual() -> None:
    assert Progression.parse("auto").reads_to_step(2) is None
    assert Progression.parse("manual").reads_to_step(2) is None


def test_status_order_follows_the_paths() -> None:
    for path in v.PATHS.values():
        assert list(path) == sorted(path, key=v.rank)
        assert all(v.moves_forward(a, b) for a, b in pairwise(path))
        assert not any(v.moves_forward(b, a) for a, b in pairwise(path))
    assert {path[-1] for outcome, path in v.PATHS.items() if outcome != "stuck"} == v.TERMINAL
    assert not v.moves_forward("completed", "failed") and v.moves_forward("failed", "failed")


def test_the_server_knows_exactly_the_vocabularys_scenarios() -> None:
    assert list(scenarios.SCENARIOS) == list(v.SCENARIO_NAMES) == list(v.SCENARIOS)
    assert all(s.description == v.SCENARIOS[s.name] for s in scenarios.SCENARIOS.values())


def test_the_kit_names_only_the_vocabularys_scenarios_and_samples_every_mode() -> None:
    named = {s.rule["scenario"] for s in CLIENT_SCENARIOS if s.rule is not None}
    assert named <= set(v.SCENARIO_NAMES)
    assert {Progression.parse(p).mode for p in PROGRESSIONS} == set(v.PROGRESSION_MODES)


def test_the_document_publishes_the_vocabulary() -> None:
    document = mock_openapi()
    assert [h["name"] for h in REQUEST_HEADERS] == list(v.MOCK_HEADERS)
    scenario = next(h for h in REQUEST_HEADERS if h["name"] == v.SCENARIO_HEADER)
    assert scenario["schema"]["enum"] == list(v.SCENARIO_NAMES)
    journal = document["paths"]["/_mock/journal"]["get"]
    assert [p["name"] for p in journal["parameters"] if p["in"] == "query"] == [*v.JOURNAL_FILTERS, "limit", "offset"]
    assert document["components"]["schemas"]["JournalEntry"]["properties"] == v.JOURNAL_ENTRY_SCHEMA["properties"]
    force = document["paths"]["/_mock/tasks/{task_id}/status"]["post"]["requestBody"]
    assert force["content"]["application/json"]["schema"]["properties"]["status"]["enum"] == \
        list(v.FORCEABLE_STATUSES)


def test_journal_entries_have_the_vocabularys_shape(runapi_mock: Any) -> None:
    runapi_mock.post("/api/v1/flux_2/text_to_image", json={"model": "flux-2-pro-text-to-image", "prompt": "a"})
    runapi_mock.get("/api/v1/flux_2/text_to_image/no-such-task")
    entries = runapi_mock.journal()
    assert len(entries) == 2
    validator = Draft202012Validator(v.JOURNAL_ENTRY_SCHEMA)
    for entry in entries:
        assert list(entry) == list(v.JOURNAL_FIELDS)
        assert not list(validator.iter_errors(entry)), entry


def test_the_entry_schema_refuses_a_drifted_entry() -> None:
    validator = Draft202012Validator(v.JOURNAL_ENTRY_SCHEMA)
    entry = dict.fromkeys(v.JOURNAL_FIELDS)
    entry.update(seq=1, at=0.0, wall=0.0, method="GET", path="/", status=200, duration_ms=0.0, violations=[])
    assert validator.is_valid(entry)
    assert not validator.is_valid({**entry, "renamed": 1})
    assert not validator.is_valid({k: value for k, value in entry.items() if k != "task_id"})
