"""pytest plugin: fixtures that put the mock, its clock and a callback receiver one argument away.

Registered through the `pytest11` entry point, so installing runapi-mock is enough. The mock itself is
imported lazily, inside fixtures, so loading the plugin costs a test session nothing until one is used.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import respx

    from runapi_contracts.receiver import CallbackReceiver
    from runapi_mock.server import RunningServer
    from runapi_mock.settings import Settings
    from runapi_mock.testing import InProcessMock, MockHandle

PRODUCTION_HOST = "runapi.ai"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("runapi", "runapi-mock contract kit")
    group.addoption("--runapi-target", default="mock",
                    help="where conformance tests run: mock (in-process), a base URL, or live")
    group.addoption("--runapi-live-budget-cents", type=float, default=25.0,
                    help="live mode stops before spending more than this (default 25 cents)")
    group.addoption("--runapi-examples", type=int, default=None,
                    help="Hypothesis examples per property in the conformance suites")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "runapi(progression=None, scenario=None, balance_cents=None, callback_mode=None): "
        "configure this test's runapi_mock / runapi_server namespace",
    )


def _apply_marker(request: pytest.FixtureRequest, handle: MockHandle) -> None:
    marker = request.node.get_closest_marker("runapi")
    if marker is None:
        return
    options: dict[str, Any] = dict(marker.kwargs)
    unknown = set(options) - {"progression", "scenario", "balance_cents", "callback_mode"}
    if unknown:
        raise pytest.UsageError(f"runapi marker: unknown options {sorted(unknown)}")
    if options.get("progression") is not None:
        handle.set_progression(options["progression"])
    if options.get("scenario") is not None:
        handle.add_rule(options["scenario"])
    if options.get("balance_cents") is not None:  # every key: an SDK client may use any api_key
        handle.set_every_balance(options["balance_cents"])
    if options.get("callback_mode") is not None:
        handle.set_callback_mode(options["callback_mode"])


@pytest.fixture(scope="session")
def runapi_settings() -> Settings:
    """Settings for the plugin's mocks; override this fixture in a conftest to change them."""
    from runapi_mock.lifecycle import Progression
    from runapi_mock.settings import Settings

    return Settings(port=0, progression=Progression.parse("immediate"))


@pytest.fixture(scope="session")
def runapi_inprocess(runapi_settings: Settings) -> Iterator[InProcessMock]:
    from runapi_mock.testing import InProcessMock

    with InProcessMock(runapi_settings) as mock:
        yield mock


@pytest.fixture
def runapi_mock(request: pytest.FixtureRequest, runapi_inprocess: InProcessMock) -> Iterator[MockHandle]:
    """The mock in-process (no port): `.client`, `.async_client`, and the clock/scenario/ledger/journal handles."""
    handle = runapi_inprocess.handle()
    _apply_marker(request, handle)
    yield handle
    handle.reset()


@pytest.fixture(scope="session")
def runapi_served(runapi_settings: Settings) -> Iterator[RunningServer]:
    from runapi_mock.server import serve_in_thread

    running = serve_in_thread(runapi_settings)
    yield running
    running.stop()


@pytest.fixture
def runapi_server(request: pytest.FixtureRequest, runapi_served: RunningServer) -> Iterator[MockHandle]:
    """The mock on a real loopback port, one per session; this test's namespace is `.namespaced_url`."""
    import httpx

    from runapi_mock.testing import MockHandle

    with httpx.Client(base_url=runapi_served.base_url) as client:
        handle = MockHandle(client)
        _apply_marker(request, handle)
        yield handle
        handle.reset()


@pytest.fixture
def runapi_sdk(runapi_server: MockHandle) -> Iterator[Callable[..., Any]]:
    """Make official SDK clients on this test's served namespace: `runapi_sdk(Flux2Client, max_retries=0)`
    (api_key defaults to the handle's; any option may be given); each is closed after the test."""
    from runapi_mock.testing import close_sdk_client

    made: list[Any] = []

    def make(client_class: Callable[..., Any], /, **options: Any) -> Any:
        options.setdefault("base_url", runapi_server.namespaced_url)
        options.setdefault("api_key", runapi_server.api_key)
        client = client_class(**options)
        made.append(client)
        return client

    yield make
    for client in made:
        close_sdk_client(client)


@pytest.fixture
def runapi_respx(runapi_server: MockHandle) -> Iterator[respx.MockRouter]:
    """A respx router sending https://runapi.ai/... to the served mock (sync and async httpx clients)."""
    import httpx

    if importlib.util.find_spec("respx") is None:  # it comes with the [pytest] extra, not with runapi-mock
        pytest.fail("runapi_respx needs respx, which is not installed: pip install 'runapi-mock[pytest]'",
                    pytrace=False)
    import respx

    from runapi_contracts.vocabulary import NAMESPACE_HEADER

    target = httpx.URL(runapi_server.base_url)

    def forward(request: httpx.Request) -> httpx.Response:
        url = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in ("host", "content-length")]
        headers.append((NAMESPACE_HEADER, runapi_server.namespace))
        with httpx.Client() as client:
            answer = client.request(request.method, url, headers=headers, content=request.content)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    with respx.mock(assert_all_called=False) as router:
        router.route(host=target.host, port=target.port).pass_through()
        router.route(host=PRODUCTION_HOST).mock(side_effect=forward)
        yield router


@pytest.fixture(scope="session")
def _runapi_receiver() -> Iterator[CallbackReceiver]:
    from runapi_contracts.receiver import CallbackReceiver

    with CallbackReceiver() as receiver:
        yield receiver


@pytest.fixture
def callback_receiver(_runapi_receiver: CallbackReceiver) -> CallbackReceiver:
    """A local HTTP server recording raw callback bodies and headers; `.url`, `.respond_with()`, `.wait_for(n)`."""
    _runapi_receiver.clear()
    return _runapi_receiver
