"""Every official RunAPI image SDK, unmodified (`base_url=`), through every catalog action and model it exposes.

Nothing here names a family. The SDKs are the `[sdks]` extra's requirements; each client's resources say
their route (`ENDPOINT = "/api/v1/{family}/{action}"`) and pass their keyword arguments through as the JSON
body, so a catalog action is driven by the resource whose route it is. Per action and model: `create`
then `get` with the model's minimal fixture body (fixtures/requests), and `run` with a body that moves
every output field the model has off its default; the files the result lists (under the members its
output spec lays out) are downloaded and checked against `Model.output(body)`. Per action: its first
invalid fixture must surface as the SDK's `ValidationError`, naming the fixture's field. A field
`*_task_id` names an earlier task of the same family (the catalog action its description names), which
the test creates first in the same namespace.
"""

from __future__ import annotations

import importlib
import io
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft7Validator
from PIL import Image
from runapi.core import ProviderClient, RequestOptions, Resource, ValidationError

from runapi_contracts import load_catalog
from runapi_contracts.catalog import Action, Model
from runapi_contracts.output import result_layout, result_urls
from runapi_contracts.registry import model_schema
from runapi_contracts.validate import format_checker, validate_response
from runapi_mock import Settings
from runapi_mock.engine.lifecycle import Progression
from runapi_mock.serving.server import RunningServer, serve_in_thread

KEY = "test-key"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "requests"
MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
PILLOW_FORMAT = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}
LARGEST_LONG_SIDE = 2048  # the varied body never asks for more (4k renders cost seconds each)


# -- the SDKs and their resources, discovered ----------------------------------------------------------------


def sdk_distributions() -> list[str]:
    """The `[sdks]` extra of runapi-mock, as installed."""
    names = []
    for text in metadata.requires("runapi-mock") or ():
        requirement, _, marker = text.partition(";")
        if re.search(r"""extra\s*==\s*["']sdks["']""", marker):
            names.append(re.split(r"[\s<>=!~\[(]", requirement.strip(), maxsplit=1)[0])
    return names


def client_class(distribution: str) -> type[ProviderClient]:
    """The one ProviderClient a `runapi-<name>` distribution's `runapi.<name>` package exports."""
    module = importlib.import_module("runapi." + distribution.removeprefix("runapi-").replace("-", "_"))
    found = [value for value in vars(module).values()
             if isinstance(value, type) and issubclass(value, ProviderClient) and value is not ProviderClient]
    assert len(found) == 1, f"{distribution} exports {found}"
    return found[0]


def make_client(cls: type[ProviderClient], base_url: str) -> ProviderClient:
    return cls(api_key=KEY, base_url=base_url, retry_base_delay=0.01, retry_max_delay=0.05)  # type: ignore[call-arg]


@lru_cache(maxsize=1)
def sdk_resources() -> dict[tuple[str, str], tuple[type[ProviderClient], str, type[Resource]]]:
    """(family, action) -> (client class, attribute, resource class) for every task resource of every SDK."""
    routes: dict[tuple[str, str], tuple[type[ProviderClient], str, type[Resource]]] = {}
    for distribution in sdk_distributions():
        cls = client_class(distribution)
        for attribute, value in vars(make_client(cls, "http://127.0.0.1:9")).items():
            endpoint = getattr(value, "ENDPOINT", None) if isinstance(value, Resource) else None
            if isinstance(endpoint, str) and endpoint.count("/") == 4 and endpoint.startswith("/api/v1/"):
                _, _, _, family, action = endpoint.split("/")
                routes[(family, action)] = (cls, attribute, type(value))
    return routes


def sdk_routes() -> dict[tuple[str, str], tuple[type[ProviderClient], str]]:
    return {route: (cls, attribute) for route, (cls, attribute, _) in sdk_resources().items()}


def resource(server: RunningServer, family: str, action: str) -> Any:
    cls, attribute = sdk_routes()[(family, action)]
    return getattr(make_client(cls, server.base_url), attribute)


# -- bodies from the contracts -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def fixtures() -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(FIXTURES.glob("*.json"))]


def fixture_body(family: str, action: str, model: Model) -> dict[str, Any]:
    """The model's first valid fixture body its own schema accepts (no docs aliases), less its callback_url.

    Callbacks are tested elsewhere; here they would only queue deliveries to a port nobody listens on.
    """
    for fixture in fixtures():
        body = {k: v for k, v in fixture["body"].items() if k != "callback_url"}
        if (fixture["family"], fixture["action"], fixture["valid"]) == (family, action, True) \
                and body.get("model") == model.name and is_valid(model, body):
            return body
    raise AssertionError(f"no valid fixture for {family}/{action} {model.name}")


def is_valid(model: Model, body: Mapping[str, Any]) -> bool:
    return bool(Draft7Validator(model_schema(model), format_checker=format_checker).is_valid(body))


def _candidates(model: Model, key: str, name: str) -> list[Any]:
    """Values of the field `name` (the output spec's `key`) other than its default, cheapest to render first."""
    spec = model.fields[name]
    default = model.default(name)
    if default is None:
        default = model.output_spec.get(f"default_{key}")
    if key == "count":
        fits = spec.get("type") == "integer" and spec.get("minimum", 1) <= 2 <= spec.get("maximum", 2)
        return [2] if fits and default != 2 else []
    values = [value for value in spec.get("enum", ()) if value != default]
    if key == "format":
        return [value for value in values if value in model.output_spec.get("formats", ())]
    if key == "aspect_ratio":  # a ratio that is not square shows the shape is followed
        return [value for value in values if isinstance(value, str) and len(set(value.split(":"))) == 2]
    if key == "resolution":
        shapes = {value: model.output({"model": model.name, name: value}) for value in values}
        return [value for value, out in shapes.items() if max(out.width, out.height) <= LARGEST_LONG_SIDE]
    return values


def varied_body(model: Model, base: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with each output field the model accepts moved off its default, as long as the body stays valid."""
    body = dict(base)
    for key in ("aspect_ratio", "resolution", "format", "count"):
        name = model.output_spec.get(key)
        if not isinstance(name, str) or name not in model.fields or name in model.forbidden:
            continue
        for value in _candidates(model, key, name):
            if is_valid(model, {**body, name: value}):
                body[name] = value
                break
    return body


def upstream_action(action: Action, field: str) -> Action:
    """The action of the same family whose task a `*_task_id` field takes: the one its description names.

    (Grok Imagine: an Image 2.0 edit's source_task_id is a "Completed Image 2.0 segment-map Task ID", a
    segment map's a "Completed Image 2.0 text-to-image Task ID".)
    """
    descriptions = " ".join(m.fields[field].get("description", "") for m in action.models.values()
                            if field in m.fields)
    named = [a for (family, name), a in load_catalog().actions.items()
             if family == action.family and name != action.name and name.replace("_", "-") in descriptions]
    assert len(named) == 1, f"{action.family}/{action.name}.{field}: {descriptions!r} names {named}"
    return named[0]


def chain(server: RunningServer, ns: str, action: Action, model: Model, body: dict[str, Any]) -> dict[str, Any]:
    """`body` with every `*_task_id` field set to the id of a task created (and completed) just now."""
    for field in [f for f in body if f.endswith("_task_id")]:
        upstream = upstream_action(action, field)
        upstream_model = upstream.models.get(model.name) or next(iter(upstream.models.values()))
        upstream_body = chain(server, ns, upstream, upstream_model,
                              fixture_body(upstream.family, upstream.name, upstream_model))
        done = resource(server, upstream.family, upstream.name).run(options=opts(ns), **upstream_body)
        assert done.status == "completed"
        body[field] = done.id
    return body


# -- the server ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    """Immediate progression (a task completes on its first status read); only `test-key` is accepted."""
    running = serve_in_thread(Settings(port=0, progression=Progression.parse("immediate"), api_keys=(KEY,)))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def ns() -> str:
    return f"every-sdk-{uuid.uuid4().hex[:16]}"


def opts(namespace: str) -> RequestOptions:
    return RequestOptions(headers={"X-Mock-Namespace": namespace})


def check_files(server: RunningServer, model: Model, body: Mapping[str, Any], result: Any) -> None:
    """The result lists Model.output(body).count files under its members; each downloads at its shape."""
    output = model.output(body)
    assert validate_response("task", result.to_dict()) == []  # the members and keys the layout promises
    urls = result_urls(result_layout(model.output_spec), result.to_dict())
    assert len(urls) == output.count, result.to_dict()
    for url in urls:
        assert url.startswith(server.base_url + "/"), url
        response = httpx.get(url, timeout=30)
        assert response.status_code == 200, response.text
        with Image.open(io.BytesIO(response.content)) as image:
            assert (image.format, image.size) == (PILLOW_FORMAT[output.format], (output.width, output.height))
        assert response.headers["content-type"] == MIME[PILLOW_FORMAT[output.format]]


# -- the tests -----------------------------------------------------------------------------------------------

CATALOG = load_catalog()
PAIRS = [(family, name, model) for (family, name), action in CATALOG.actions.items() for model in action.models]


@pytest.mark.parametrize(("family", "action_name", "model_name"), PAIRS,
                         ids=[f"{f}/{a}/{m}" for f, a, m in PAIRS])
def test_create_get_run(server: RunningServer, ns: str, family: str, action_name: str, model_name: str) -> None:
    if (family, action_name) not in sdk_routes():
        pytest.skip(f"no SDK exposes {family}/{action_name}")  # test_every_catalog_action_has_an_sdk fails
    action = CATALOG.actions[(family, action_name)]
    model = action.models[model_name]
    sdk = resource(server, family, action_name)

    body = chain(server, ns, action, model, fixture_body(family, action_name, model))
    task = sdk.create(options=opts(ns), **body)
    assert isinstance(task.id, str) and task.id and task.status == "pending"
    done = sdk.get(task.id, options=opts(ns))
    assert (done.id, done.status) == (task.id, "completed")
    urls = result_urls(result_layout(model.output_spec), done.to_dict())
    assert len(urls) == model.output(body).count

    varied = varied_body(model, body)
    assert is_valid(model, varied), varied
    result = sdk.run(options=opts(ns), **varied)
    assert result.id != task.id and result.status == "completed"
    check_files(server, model, varied, result)


INVALID = {}
for _fixture in fixtures():
    if not _fixture["valid"] and _fixture.get("expect_violations"):
        INVALID.setdefault((_fixture["family"], _fixture["action"]), _fixture)


@pytest.mark.parametrize(("family", "action_name"), list(CATALOG.actions),
                         ids=[f"{f}/{a}" for f, a in CATALOG.actions])
def test_invalid_request_is_the_sdks_validation_error(server: RunningServer, ns: str, family: str,
                                                      action_name: str) -> None:
    if (family, action_name) not in sdk_routes():
        pytest.skip(f"no SDK exposes {family}/{action_name}")
    fixture = INVALID[(family, action_name)]
    with pytest.raises(ValidationError) as caught:
        resource(server, family, action_name).create(options=opts(ns), **fixture["body"])
    assert caught.value.status == 422
    fields = {violation["field"] for violation in fixture["expect_violations"]}
    assert fields & set(caught.value.details.get("errors", {})), (fields, caught.value.details)


def test_every_catalog_action_has_an_sdk() -> None:
    assert sorted(set(CATALOG.actions) - set(sdk_routes())) == []


def test_every_sdk_action_that_returns_images_is_in_the_catalog() -> None:
    """An SDK resource whose response declares a result member of the catalog (images, segments, layers...)
    is an image action the catalog must serve; the others (videos, prompts, seeds) are out of scope."""
    members = {member["member"] for action in CATALOG.actions.values()
               for member in result_layout(action.output_spec)}
    missing = []
    for route, (cls, attribute, resource_class) in sorted(sdk_resources().items()):
        response = resource_class.COMPLETED_RESPONSE_CLASS or resource_class.RESPONSE_CLASS
        declared = set(getattr(response, "_fields", {}))
        if declared & members and route not in CATALOG.actions:
            missing.append(f"{cls.__name__}.{attribute} ({'/'.join(route)})")
    assert missing == []
