"""`runapi-mock serve` starts without importing what its first request does not need (issue 24, item 4).

httpx is needed only to send a callback or fetch an upload by URL, jsonschema only to word the violations of a
body jsonschema-rs did not accept, PyAV and Pillow only to render, probe or decode a file; importing them cost
about half of the start-up's imports. This checks
which modules a fresh interpreter loads for the serve path, never how long it takes.
"""

from __future__ import annotations

import json
import subprocess
import sys

LAZY = ("httpx", "jsonschema", "av", "PIL")


def test_the_serve_path_imports_neither_httpx_jsonschema_pyav_nor_pillow() -> None:
    code = ("import json, sys; import runapi_mock.serving.cli, runapi_mock.serving.server; "
            "from runapi_mock.serving.app import create_app; "
            f"create_app(); print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {LAZY!r})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_lazily_built_format_checker_still_checks_http_urls() -> None:
    from runapi_contracts.validate import format_checker, validator_for

    assert format_checker.conforms("https://example.com/a.png", "http-url")
    assert not format_checker.conforms("ftp://example.com/a.png", "http-url")
    assert validator_for("task").format_checker is format_checker


def test_the_version_constant_is_the_installed_version() -> None:
    """pyproject.toml reads mockserver/version.py, so the constant /healthz answers is the one pip installed."""
    from importlib import metadata

    import runapi_contracts
    import runapi_mock

    assert runapi_mock.__version__ == metadata.version("runapi-mock") == runapi_contracts.__version__
