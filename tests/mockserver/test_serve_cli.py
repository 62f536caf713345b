"""`runapi-mock serve`: flags become Settings, the banner names the bound URL, errors are one line and exit 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, Callable

import pytest

from runapi_mock import Settings, cli, server
from runapi_mock.lifecycle import Progression

ROOT = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> Any:
    return cli.build_parser().parse_args(["serve", *argv])


@pytest.fixture(autouse=True)
def _no_secret_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNAPI_CALLBACK_SECRET", raising=False)


def test_serve_defaults_are_the_settings_defaults() -> None:
    assert cli.settings_from_args(parse()) == Settings()


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
     (["--state", "mock.sqlite"], "state_path", "mock.sqlite")],
)
def test_serve_flags_become_settings(argv: list[str], field: str, value: Any) -> None:
    assert getattr(cli.settings_from_args(parse(*argv)), field) == value


def test_callback_secret_falls_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNAPI_CALLBACK_SECRET", "ZW52")
    assert cli.settings_from_args(parse()).callback_secret == "ZW52"
    assert cli.settings_from_args(parse("--callback-secret", "ZmxhZw==")).callback_secret == "ZmxhZw=="


@pytest.mark.parametrize("argv", [["--progression", "polls:0"], ["--progression", "sometimes"], ["--port", "x"],
                                  ["--speed", "fast"], ["--balance", "1.5"], ["--bogus"]])
def test_bad_serve_flags_exit_2_naming_the_problem(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        parse(*argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and ("invalid" in err or "unrecognized" in err)


def test_a_subcommand_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main([])
    assert caught.value.code == 2
    assert "serve" in capsys.readouterr().err


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


def test_python_m_mockserver_serves_until_terminated() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("RUNAPI_CALLBACK_SECRET", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "runapi_mock", "serve", "--port", "0", "--progression", "immediate"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith("runapi-mock serving on http://127.0.0.1:"), banner
        base_url = banner.split()[3]
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=10) as response:
            assert response.status == 200 and json.load(response)["status"] == "ok"
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert process.returncode is not None
