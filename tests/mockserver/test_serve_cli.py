"""`runapi-mock serve`: flags and RUNAPI_MOCK_* variables become Settings, the banner names the bound URL,
errors are one line and exit 1 (usage errors exit 2)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runapi_mock import Settings, cli, server
from runapi_mock.lifecycle import Progression
from runapi_mock.settings import SERVE_OPTIONS

ROOT = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> Settings:
    return cli.settings_from_args(argv)


@pytest.fixture(autouse=True)
def _no_settings_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for option in SERVE_OPTIONS:
        for name in option.env:
            monkeypatch.delenv(name, raising=False)


def test_serve_defaults_are_the_settings_defaults() -> None:
    assert parse() == Settings()


@pytest.mark.parametrize(
    ("argv", "field", "value"),
    [(["--host", "0.0.0.0"], "host", "0.0.0.0"), (["--port", "0"], "port", 0),
     (["--progression", "polls:3"], "progression", Progression(mode="polls", polls=3)),
     (["--progression", "MANUAL"], "progression", Progression(mode="manual")),
     (["--speed", "10"], "speed", 10.0), (["--balance", "42"], "balance_cents", 42),
     (["--api-key", "a", "--api-key", "b"], "api_keys", ("a", "b")), (["--rate-limit", "5"], "rate_limit", 5),
     (["--max-concurrent", "2"], "max_concurrent", 2), (["--seed", "7"], "seed", 7),
     (["--poll-retry-after", "0.5"], "poll_retry_after", 0.5), (["--journal-size", "9"], "journal_size", 9),
     (["--retention", "60"], "retention_seconds", 60.0), (["--file-ttl", "30"], "file_ttl_seconds", 30.0),
     (["--frozen-clock"], "frozen_clock", True), (["--callback-secret", "c2VjcmV0"], "callback_secret", "c2VjcmV0"),
     (["--allow-callback-host", "h1", "--allow-callback-host", "h2"], "allow_callback_hosts", ("h1", "h2")),
     (["--state", "mock.sqlite"], "state_path", "mock.sqlite"), (["--log-format", "json"], "log_format", "json"),
     (["--quiet"], "quiet", True), (["--user-name", "Ada"], "user_name", "Ada"),
     (["--user-email", "ada@example.com"], "user_email", "ada@example.com")],
)
def test_serve_flags_become_settings(argv: list[str], field: str, value: Any) -> None:
    assert getattr(parse(*argv), field) == value


def test_callback_secret_falls_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNAPI_CALLBACK_SECRET", "ZW52")
    assert parse().callback_secret == "ZW52"
    assert parse("--callback-secret", "ZmxhZw==").callback_secret == "ZmxhZw=="


@pytest.mark.parametrize(("argv", "says"), [
    (["--progression", "polls:0"], "Invalid value for '--progression': invalid progression 'polls:0'"),
    (["--progression", "sometimes"], "Invalid value for '--progression'"),
    (["--port", "x"], "Invalid value for '--port': must be a whole number, got 'x'"),
    (["--port", "65536"], "Invalid value for '--port': must be at most 65535"),
    (["--speed", "fast"], "Invalid value for '--speed': must be a number"),
    (["--speed", "0"], "Invalid value for '--speed': must be above 0"),
    (["--balance", "1.5"], "Invalid value for '--balance': must be a whole number"),
    (["--log-format", "yaml"], "Invalid value for '--log-format': must be one of text, json, got 'yaml'"),
    (["--bogus"], "No such option '--bogus'"),
])
def test_bad_serve_flags_exit_2_naming_the_problem(argv: list[str], says: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["serve", *argv])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "Usage: runapi-mock serve" in err and says in err, err
    assert "Traceback" not in err


def test_a_subcommand_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main([])
    assert caught.value.code == 2
    assert "serve" in capsys.readouterr().err


# --- the environment: every option has a RUNAPI_MOCK_* variable; flag > variable > default ---

ENV_CASES = [("RUNAPI_MOCK_HOST", "0.0.0.0", "host", "0.0.0.0"), ("RUNAPI_MOCK_PORT", "9140", "port", 9140),
             ("RUNAPI_MOCK_PROGRESSION", "immediate", "progression", Progression(mode="immediate")),
             ("RUNAPI_MOCK_SPEED", "10", "speed", 10.0), ("RUNAPI_MOCK_BALANCE", "42", "balance_cents", 42),
             ("RUNAPI_MOCK_USER_NAME", "Ada", "user_name", "Ada"),
             ("RUNAPI_MOCK_USER_EMAIL", "ada@example.com", "user_email", "ada@example.com"),
             ("RUNAPI_MOCK_API_KEYS", "a, b", "api_keys", ("a", "b")),
             ("RUNAPI_MOCK_RATE_LIMIT", "5", "rate_limit", 5), ("RUNAPI_MOCK_MAX_CONCURRENT", "2", "max_concurrent", 2),
             ("RUNAPI_MOCK_SEED", "7", "seed", 7), ("RUNAPI_MOCK_POLL_RETRY_AFTER", "0.5", "poll_retry_after", 0.5),
             ("RUNAPI_MOCK_JOURNAL_SIZE", "9", "journal_size", 9),
             ("RUNAPI_MOCK_RETENTION", "60", "retention_seconds", 60.0),
             ("RUNAPI_MOCK_FILE_TTL", "30", "file_ttl_seconds", 30.0),
             ("RUNAPI_MOCK_MAX_UPLOAD_BYTES", "1024", "max_upload_bytes", 1024),
             ("RUNAPI_MOCK_RENDER_CACHE_BYTES", "1048576", "render_cache_bytes", 1048576),
             ("RUNAPI_MOCK_MAX_NAMESPACES", "9", "max_namespaces", 9),
             ("RUNAPI_MOCK_MAX_UPLOAD_TOTAL_BYTES", "4096", "max_upload_total_bytes", 4096),
             ("RUNAPI_MOCK_JOURNAL_BODY_BYTES", "100", "journal_body_bytes", 100),
             ("RUNAPI_MOCK_MAX_API_KEY_LENGTH", "64", "max_api_key_length", 64),
             ("RUNAPI_MOCK_FROZEN_CLOCK", "true", "frozen_clock", True),
             ("RUNAPI_MOCK_CALLBACK_SECRET", "c2VjcmV0", "callback_secret", "c2VjcmV0"),
             ("RUNAPI_MOCK_ALLOW_CALLBACK_HOSTS", "h1,h2", "allow_callback_hosts", ("h1", "h2")),
             ("RUNAPI_MOCK_ALLOWED_HOSTS", "mock, .example.test", "allowed_hosts", ("mock", ".example.test")),
             ("RUNAPI_MOCK_ALLOW_SOURCE_HOSTS", "127.0.0.1:9000", "allow_source_hosts", ("127.0.0.1:9000",)),
             ("RUNAPI_MOCK_STATE", "mock.sqlite", "state_path", "mock.sqlite"),
             ("RUNAPI_MOCK_PUBLIC_URL", "https://mock.example/", "public_url", "https://mock.example"),
             ("RUNAPI_MOCK_LOG_FORMAT", "json", "log_format", "json"), ("RUNAPI_MOCK_QUIET", "yes", "quiet", True),
             # older names, still read
             ("RUNAPI_MOCK_STATE_PATH", "old.sqlite", "state_path", "old.sqlite"),
             ("RUNAPI_MOCK_BALANCE_CENTS", "43", "balance_cents", 43)]


@pytest.mark.parametrize(("name", "text", "field", "value"), ENV_CASES)
def test_every_serve_option_comes_from_its_variable(name: str, text: str, field: str, value: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, text)
    assert getattr(parse(), field) == value
    assert getattr(Settings.from_env(), field) == value  # code reads the same variables the same way


def test_the_cases_cover_every_serve_option() -> None:
    assert {option.env[0] for option in SERVE_OPTIONS} <= {name for name, *_ in ENV_CASES}


def test_a_flag_beats_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNAPI_MOCK_PORT", "9140")
    monkeypatch.setenv("RUNAPI_MOCK_PROGRESSION", "immediate")
    settings = parse("--port", "9141")
    assert (settings.port, settings.progression) == (9141, Progression(mode="immediate"))
    monkeypatch.setenv("RUNAPI_MOCK_STATE", "new.sqlite")
    monkeypatch.setenv("RUNAPI_MOCK_STATE_PATH", "old.sqlite")
    assert parse().state_path == "new.sqlite"  # the documented name beats the older one


@pytest.mark.parametrize(("name", "text", "says"), [
    ("RUNAPI_MOCK_PORT", "x", "environment variable RUNAPI_MOCK_PORT: must be a whole number, got 'x'"),
    ("RUNAPI_MOCK_PROGRESSION", "sometimes", "environment variable RUNAPI_MOCK_PROGRESSION: invalid progression"),
    ("RUNAPI_MOCK_SPEED", "-1", "environment variable RUNAPI_MOCK_SPEED: must be above 0"),
    ("RUNAPI_MOCK_FROZEN_CLOCK", "maybe", "RUNAPI_MOCK_FROZEN_CLOCK"),
])
def test_a_bad_variable_exits_2_naming_it(name: str, text: str, says: str, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(name, text)
    with pytest.raises(SystemExit) as caught:
        cli.main(["serve"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err, err


def test_serve_help_shows_every_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # click wraps long lines
    for option in SERVE_OPTIONS:
        assert option.flag in out and option.env[0] in out


def test_serve_help_names_text_options_by_what_they_take(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--user-name NAME" in out and "--user-email EMAIL" in out
    for option in SERVE_OPTIONS:  # a text setting is never labelled NUMBER
        if isinstance(getattr(Settings(), option.field), str):
            assert f"{option.flag} NUMBER" not in out, option.flag


def test_serve_takes_its_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[Settings] = []
    monkeypatch.setattr(server, "serve_forever", lambda settings, on_ready, **_: seen.append(settings))
    monkeypatch.setenv("RUNAPI_MOCK_PORT", "0")
    monkeypatch.setenv("RUNAPI_MOCK_PROGRESSION", "immediate")
    assert cli.main(["serve"]) == 0
    assert seen[0].port == 0 and seen[0].progression == Progression(mode="immediate")


def test_serve_prints_the_bound_url_and_examples(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[Settings] = []

    def fake_serve_forever(settings: Settings, on_ready: Callable[[str], None], **_: Any) -> None:
        seen.append(settings)
        on_ready("http://127.0.0.1:4321")

    monkeypatch.setattr(server, "serve_forever", fake_serve_forever)
    assert cli.main(["serve", "--port", "0", "--progression", "immediate"]) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:4321" in out and "progression immediate" in out
    assert "http://127.0.0.1:4321/_mock/" in out and "curl" in out
    assert seen[0].port == 0 and seen[0].progression == Progression(mode="immediate")


def test_the_banner_curl_uses_a_key_the_server_accepts(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(server, "serve_forever", lambda settings, on_ready, **_: on_ready("http://127.0.0.1:1"))
    assert cli.main(["serve", "--api-key", "good", "--api-key", "other"]) == 0
    out = capsys.readouterr().out
    assert "Bearer good" in out and "Bearer test-key" not in out
    assert cli.main(["serve"]) == 0
    assert "Bearer test-key" in capsys.readouterr().out  # no --api-key: any key is accepted


def test_serve_exits_0_on_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(settings: Settings, on_ready: Callable[[str], None], **_: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(server, "serve_forever", interrupted)
    assert cli.main(["serve"]) == 0


def test_serve_reports_a_busy_port_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    def busy(settings: Settings, on_ready: Callable[[str], None], **_: Any) -> None:
        raise OSError(98, "Address already in use")

    monkeypatch.setattr(server, "serve_forever", busy)
    assert cli.main(["serve", "--port", "8787"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("runapi-mock: error:") and "Address already in use" in err
    assert "Traceback" not in err


def test_a_port_in_use_is_one_error_line_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:  # a real busy port, not a stubbed serve_forever
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["serve", "--port", str(port), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == f"runapi-mock: error: [Errno 98] cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_an_unknown_host_is_one_error_line_naming_it(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    def unknown(*args: Any, **kwargs: Any) -> Any:  # no resolver query leaves the machine
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    assert cli.main(["serve", "--host", "notahost", "--port", "8799", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("runapi-mock: error:") and "notahost:8799" in err and "Name or service" in err
    assert err.count("\n") == 1


def test_python_m_mockserver_serves_until_terminated() -> None:
    # Configured as a container or CI job does it: by the environment alone.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RUNAPI_MOCK_PORT": "0", "RUNAPI_MOCK_PROGRESSION": "immediate"}
    env.pop("RUNAPI_CALLBACK_SECRET", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "runapi_mock", "serve"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith("runapi-mock serving on http://127.0.0.1:"), banner
        assert "(progression immediate)" in banner and ":8787 " not in banner, banner
        base_url = banner.split()[3]
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=10) as response:
            assert response.status == 200 and json.load(response)["status"] == "ok"
    finally:
        process.terminate()
        process.wait(timeout=15)
        for pipe in (process.stdout, process.stderr):  # an open pipe warns when collected (-W error)
            if pipe is not None:
                pipe.close()
    assert process.returncode is not None


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_serve_takes_port_and_host_from_its_command_line() -> None:
    def recipe(*args: str, **env: str) -> list[str]:  # the last line: `make -n` lists install steps first
        # Run as a user would, not as a sub-make of `make test` (whose MAKEFLAGS/MAKELEVEL add "make[1]:" lines).
        outer = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
        done = subprocess.run(["make", "-n", "serve", *args], cwd=ROOT, env={**outer, **env},
                              capture_output=True, text=True, check=True, timeout=30)
        return done.stdout.splitlines()[-1].split()

    assert recipe("PORT=9140", "HOST=0.0.0.0")[-5:] == ["serve", "--host", "0.0.0.0", "--port", "9140"]
    assert recipe("ARGS=--progression immediate")[-3:] == ["serve", "--progression", "immediate"]
    assert recipe(HOST="a-shells-hostname", PORT="80")[-1] == "serve"  # left to RUNAPI_MOCK_* and defaults


@pytest.mark.parametrize(("argv", "hint"), [
    (["--host", "0.0.0.0"], "other host names (a docker-compose service name) need --allowed-host NAME"),
    (["--host", "0.0.0.0", "--allowed-host", "runapi-mock"], "and runapi-mock"),
    (["--host", "127.0.0.1"], None),
])
def test_serving_beyond_loopback_says_which_host_names_are_answered(
        argv: list[str], hint: str | None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(server, "serve_forever", lambda settings, on_ready, **_: on_ready("http://0.0.0.0:4321"))
    assert cli.main(["serve", "--port", "0", *argv]) == 0
    hosts = [line for line in capsys.readouterr().out.splitlines() if line.startswith("hosts:")]
    assert (hosts == []) if hint is None else (len(hosts) == 1 and hint in hosts[0]), hosts
