"""`Settings` parses every value where it is given: text as from the environment, or typed; bad ones are refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from runapi_mock import Settings
from runapi_mock.lifecycle import Progression
from runapi_mock.settings import InvalidSetting, parse_setting

AUTH = {"Authorization": "Bearer test-key"}
CREATE = "/api/v1/flux_kontext/text_to_image"
BODY = {"model": "flux-kontext-pro", "prompt": "a red bicycle"}


def test_a_progression_given_as_text_serves_tasks(make_client: Callable[..., TestClient]) -> None:
    client = make_client(progression="immediate")  # as a `runapi_settings` override writes it
    assert client.app.state.settings.progression == Progression(mode="immediate")  # type: ignore[attr-defined]

    created = client.post(CREATE, json=BODY, headers=AUTH)
    assert created.status_code == 200, created.text
    task = client.get(f"{CREATE}/{created.json()['id']}", headers=AUTH).json()
    assert task["status"] == "completed"


@pytest.mark.parametrize(("changes", "field", "value"), [
    ({"progression": "polls:3"}, "progression", Progression(mode="polls", polls=3)),
    ({"progression": Progression(mode="manual")}, "progression", Progression(mode="manual")),
    ({"port": "0"}, "port", 0), ({"speed": "2.5"}, "speed", 2.5), ({"seed": ""}, "seed", None),
    ({"api_keys": "k1, k2,"}, "api_keys", ("k1", "k2")), ({"api_keys": ["k1"]}, "api_keys", ("k1",)),
    ({"frozen_clock": "yes"}, "frozen_clock", True), ({"frozen_clock": "0"}, "frozen_clock", False),
    ({"callback_schedule": "0.5,1"}, "callback_schedule", (0.5, 1.0)),
    ({"poll_retry_after": "1"}, "poll_retry_after", 1.0),
    ({"public_url": "https://mock.example:8443/"}, "public_url", "https://mock.example:8443"),
    ({"public_url": ""}, "public_url", None),
])
def test_text_and_typed_values_are_parsed_into_the_field_type(changes: dict[str, Any], field: str,
                                                              value: Any) -> None:
    assert getattr(Settings(**changes), field) == value
    assert getattr(Settings().replace(**changes), field) == value  # replace() goes through the same parsing


@pytest.mark.parametrize(("changes", "message"), [
    ({"progression": "sometimes"}, "Settings.progression: invalid progression 'sometimes'"),
    ({"progression": 3}, "Settings.progression: must be a Progression"),
    ({"port": "x"}, "Settings.port: must be a whole number, got 'x'"),
    ({"port": 70000}, "Settings.port: must be at most 65535"),
    ({"port": True}, "Settings.port: must be a whole number"),
    ({"balance_cents": 1.5}, "Settings.balance_cents: must be a whole number"),
    ({"balance_cents": -1}, "Settings.balance_cents: must be at least 0"),
    ({"speed": 0}, "Settings.speed: must be above 0"),
    ({"speed": "nan"}, "Settings.speed: must be a number"),
    ({"frozen_clock": "maybe"}, "Settings.frozen_clock: must be true or false"),
    ({"api_keys": 5}, "Settings.api_keys: must be a list or a comma-separated string"),
    ({"host": None}, "Settings.host: must be a string"),
    ({"callback_schedule": (1, -2)}, "Settings.callback_schedule: delays must be at least 0"),
    ({"public_url": "mock.example"}, "Settings.public_url: must be an absolute http(s) URL"),
    ({"public_url": "ftp://mock.example"}, "Settings.public_url: must be an absolute http(s) URL"),
    ({"public_url": "http://mock.example:x"}, "Settings.public_url: must be an absolute http(s) URL"),
    ({"public_url": "http://mock.example/?a=1"}, "Settings.public_url: must be an absolute http(s) URL"),
])
def test_a_bad_value_is_refused_naming_the_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidSetting) as caught:
        Settings(**changes)
    assert str(caught.value).startswith(message), caught.value


def test_from_env_names_the_variable_and_overrides_win() -> None:
    env = {"RUNAPI_MOCK_PROGRESSION": "manual", "RUNAPI_MOCK_PORT": "9140", "RUNAPI_MOCK_SEED": ""}
    settings = Settings.from_env(env, port=0)
    assert (settings.progression, settings.port, settings.seed) == (Progression(mode="manual"), 0, None)
    with pytest.raises(InvalidSetting, match="^RUNAPI_MOCK_PORT: must be a whole number, got 'x'$"):
        Settings.from_env({"RUNAPI_MOCK_PORT": "x"})


def test_the_secret_variable_of_the_signing_tools_still_configures_the_server() -> None:
    assert Settings.from_env({"RUNAPI_CALLBACK_SECRET": "c2VjcmV0"}).callback_secret == "c2VjcmV0"
    both = {"RUNAPI_CALLBACK_SECRET": "b2xk", "RUNAPI_MOCK_CALLBACK_SECRET": "bmV3"}
    assert Settings.from_env(both).callback_secret == "bmV3"


def test_every_field_has_a_parser() -> None:
    for name, value in vars(Settings()).items():
        assert parse_setting(name, value) == value


@pytest.mark.parametrize(("changes", "says"), [
    ({"allowed_hosts": "http://mock"}, "Settings.allowed_hosts: must be host names such as runapi-mock"),
    ({"allowed_hosts": ("ok", "a/b")}, "got 'a/b'"),
    ({"allow_source_hosts": "images.internal/x"}, "Settings.allow_source_hosts: must be host names"),
])
def test_host_lists_take_host_names_only(changes: dict[str, object], says: str) -> None:
    with pytest.raises(InvalidSetting, match=re.escape(says)):
        Settings(**changes)  # type: ignore[arg-type]


def test_host_lists_take_names_domains_addresses_and_ports() -> None:
    settings = Settings(allowed_hosts="runapi-mock, .example.test, all, [::1], 10.0.0.5",
                        allow_source_hosts="images.internal, 127.0.0.1:9000, [::1]:8080")
    assert settings.allowed_hosts == ("runapi-mock", ".example.test", "all", "[::1]", "10.0.0.5")
    assert settings.allow_source_hosts == ("images.internal", "127.0.0.1:9000", "[::1]:8080")
