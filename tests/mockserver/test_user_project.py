"""Installed into a project that has its own `contracts` and `mockserver` packages, the kit stays out of the way.

Those are common package names (PyPI has a `contracts` project). The kit installs as `runapi_mock` and
`runapi_contracts`, so a user's packages of those names keep working and the plugin still loads.
"""

from __future__ import annotations

import pytest

USER_TEST = '''
import contracts
import mockserver

BODY = {"model": "flux-2-pro-text-to-image", "prompt": "a red bicycle"}


def test_the_users_own_packages_are_the_ones_imported():
    assert contracts.OWNER == "user" and mockserver.OWNER == "user"


def test_the_plugin_fixtures_work(runapi_mock):
    created = runapi_mock.post("/api/v1/flux_2/text_to_image", json=BODY)
    assert created.status_code == 200
    assert runapi_mock.get(f"/api/v1/flux_2/text_to_image/{created.json()['id']}").json()["status"] == "completed"


def test_the_served_mock_works(runapi_server):
    import httpx
    answer = httpx.post(runapi_server.namespaced_url + "/api/v1/flux_2/text_to_image", json=BODY,
                        headers={"Authorization": "Bearer k"})
    assert answer.status_code == 200
'''


def test_a_project_with_its_own_contracts_and_mockserver_packages(pytester: pytest.Pytester) -> None:
    for name in ("contracts", "mockserver"):
        package = pytester.mkpydir(name)
        (package / "__init__.py").write_text('OWNER = "user"\n')
        (package / "plugin.py").write_text('raise ImportError("the kit must not import the user\'s modules")\n')
    pytester.makepyfile(test_app=USER_TEST)
    # A subprocess, as a user's `python -m pytest` runs: the project's folder comes first on sys.path and the
    # kit's pytest11 entry point is loaded from the installed distribution, not from this test session.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
