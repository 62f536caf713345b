"""The pytest plugin, end to end: each fixture used from a real test file run by pytester."""

from __future__ import annotations

import pytest

EXAMPLE = '''
import asyncio
import httpx
import pytest
from runapi.flux_2 import Flux2Client
from runapi.core import InsufficientCreditsError

BODY = {"model": "flux-2-pro-text-to-image", "prompt": "a red bicycle"}


def test_in_process_create_and_complete(runapi_mock):
    created = runapi_mock.post("/api/v1/flux_2/text_to_image", json=BODY)
    assert created.status_code == 200
    done = runapi_mock.get(f"/api/v1/flux_2/text_to_image/{created.json()['id']}").json()
    assert done["status"] == "completed"
    assert runapi_mock.journal()[0]["status"] == 200


@pytest.mark.runapi(progression="auto")
def test_clock_drives_auto_progression(runapi_mock):
    runapi_mock.freeze()
    task_id = runapi_mock.post("/api/v1/flux_2/text_to_image", json=BODY).json()["id"]
    path = f"/api/v1/flux_2/text_to_image/{task_id}"
    assert runapi_mock.get(path).json()["status"] == "pending"
    runapi_mock.advance(5)
    assert runapi_mock.get(path).json()["status"] == "processing"
    runapi_mock.advance(60)
    assert runapi_mock.get(path).json()["status"] == "completed"


@pytest.mark.runapi(balance_cents=4)
def test_marker_balance_gives_a_402(runapi_mock):
    answer = runapi_mock.post("/api/v1/flux_2/text_to_image", json=BODY)
    assert answer.status_code == 402


def test_async_client_in_process(runapi_mock):
    async def main():
        answer = await runapi_mock.async_client.post("/api/v1/flux_2/text_to_image", json=BODY)
        return answer.status_code
    assert asyncio.run(main()) == 200


@pytest.mark.runapi(balance_cents=1)
def test_sdk_against_served_namespace(runapi_sdk):
    client = runapi_sdk(Flux2Client, max_retries=0)
    with pytest.raises(InsufficientCreditsError):
        client.text_to_image.create(**BODY)


@pytest.mark.runapi(balance_cents=1)
def test_marker_balance_applies_to_any_key_the_sdk_uses(runapi_sdk):
    client = runapi_sdk(Flux2Client, api_key="k", max_retries=0)
    with pytest.raises(InsufficientCreditsError):
        client.text_to_image.create(**BODY)


def test_namespaces_do_not_share_tasks(runapi_server, runapi_sdk):
    client = runapi_sdk(Flux2Client)
    result = client.text_to_image.run(**BODY)
    assert httpx.get(result.images[0].url).status_code == 200
    assert len(runapi_server.tasks()) == 1


def test_respx_routes_production_host_to_the_mock(runapi_respx):
    with httpx.Client(base_url="https://runapi.ai", headers={"Authorization": "Bearer k"}) as client:
        created = client.post("/api/v1/flux_2/text_to_image", json=BODY)
        assert created.status_code == 200
        url = client.get(f"/api/v1/flux_2/text_to_image/{created.json()['id']}").json()["images"][0]["url"]
        assert client.get(url).headers["content-type"] == "image/png"


def test_async_respx(runapi_respx):
    async def main():
        async with httpx.AsyncClient(headers={"Authorization": "Bearer k"}) as client:
            answer = await client.post("https://runapi.ai/api/v1/flux_2/text_to_image", json=BODY)
            return answer.status_code
    assert asyncio.run(main()) == 200


def test_callback_reaches_the_receiver(runapi_server, callback_receiver):
    body = {**BODY, "callback_url": callback_receiver.url}
    headers = {"Authorization": "Bearer k", "X-Mock-Namespace": runapi_server.namespace}
    created = httpx.post(runapi_server.base_url + "/api/v1/flux_2/text_to_image", json=body, headers=headers)
    task_id = created.json()["id"]
    httpx.get(runapi_server.base_url + f"/api/v1/flux_2/text_to_image/{task_id}", headers=headers)
    (call,) = callback_receiver.wait_for(1, timeout=5)
    assert task_id.encode() in call.body
'''


def test_every_fixture_works_in_a_user_test_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=EXAMPLE)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=10)


def test_every_fixture_works_under_warnings_as_errors(pytester: pytest.Pytester) -> None:
    # Many projects run CI with `filterwarnings = error`; importing starlette.testclient warns on recent
    # Starlette, which made every runapi_mock test error at set-up. Nothing of the plugin's may warn. The SDK
    # clients (no close() of their own) come from runapi_sdk, which closes them: their sockets warn otherwise.
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    pytester.makepyfile(test_user=EXAMPLE)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=10)


def test_runapi_respx_without_respx_names_the_extra(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("import sys\nsys.modules['respx'] = None  # as if respx were not installed\n")
    pytester.makepyfile(test_user="def test_it(runapi_respx):\n    pass\n")
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    assert "runapi_respx needs respx, which is not installed: pip install 'runapi-mock[pytest]'" in result.stdout.str()
    assert "Traceback" not in result.stdout.str() and "During handling" not in result.stdout.str()


def test_unknown_marker_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user='''
import pytest

@pytest.mark.runapi(progresion="manual")
def test_typo(runapi_mock):
    pass
''')
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown options*progresion*"])


def test_marker_and_options_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(["*@pytest.mark.runapi(*"])
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--runapi-target*", "*--runapi-live-budget-cents*", "*--runapi-examples*"])
