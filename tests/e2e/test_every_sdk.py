"""Every official RunAPI image and video SDK, unmodified (`base_url=`), through every catalog action and model.

Nothing here names a family. The SDKs are the `[sdks]` extra's requirements; each client's resources say
their route (`ENDPOINT = "/api/v1/{family}/{action}"`) and pass their keyword arguments through as the JSON
body, so a catalog action is driven by the resource whose route it is. Per action and model: `create`
then `get` with the model's minimal fixture body (fixtures/requests), and `run` with a body that moves
every output field the model has off its default; the files the result lists (under the members its
output spec lays out) are downloaded and checked against `Model.output(body)`: an image with Pillow
(format, size), a video with PyAV (container, H.264, size, duration within 10 %, an AAC track when the
output has sound). Per action: its first invalid fixture must surface as the SDK's `ValidationError`,
naming the fixture's field. A field `*_task_id` names an earlier task of the same family (the catalog
action its description names, else the family's first action making that kind of file), which the test
creates first in the same namespace.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from runapi.core import ProviderClient, RequestOptions, Resource, ValidationError

from runapi_contracts import load_catalog
from runapi_contracts.catalog import Action, Model
from runapi_contracts.media_output import SourceFacts
from runapi_contracts.output import result_layout, result_urls
from runapi_contracts.registry import model_schema
from runapi_contracts.validate import format_checker, validate_response
from runapi_mock.media import FORMATS as AUDIO_FORMATS
from runapi_mock.media import probe, probe_audio
from runapi_mock.serving.server import RunningServer
from tests.e2e import sdk_support

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "requests"
MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
PILLOW_FORMAT = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}
LARGEST_LONG_SIDE = 2048  # the varied body never asks for more (4k renders cost seconds each)
VIDEO_MIME = {"mp4": "video/mp4", "mov": "video/quicktime"}


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


@lru_cache(maxsize=1)
def sdk_resources() -> dict[tuple[str, str], tuple[type[ProviderClient], str, type[Resource]]]:
    """(family, action) -> (client class, attribute, resource class) for every task resource of every SDK."""
    routes: dict[tuple[str, str], tuple[type[ProviderClient], str, type[Resource]]] = {}
    for distribution in sdk_distributions():
        cls = client_class(distribution)
        for attribute, value in vars(sdk_support.client(cls, "http://127.0.0.1:9")).items():
            endpoint = getattr(value, "ENDPOINT", None) if isinstance(value, Resource) else None
            if isinstance(endpoint, str) and endpoint.count("/") == 4 and endpoint.startswith("/api/v1/"):
                _, _, _, family, action = endpoint.split("/")
                routes[(family, action)] = (cls, attribute, type(value))
    return routes


def sdk_routes() -> dict[tuple[str, str], tuple[type[ProviderClient], str]]:
    return {route: (cls, attribute) for route, (cls, attribute, _) in sdk_resources().items()}


def resource(server: RunningServer, family: str, action: str) -> Any:
    cls, attribute = sdk_routes()[(family, action)]
    return getattr(sdk_support.client(cls, server.base_url), attribute)


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
        return [2] if fits and default != 2 and model.kind == "image" else []
    if key == "audio":  # a sound track asked for: the file must have one
        return [True] if default is not True else []
    values = [value for value in spec.get("enum", ()) if value != default]
    if key == "duration":  # the shortest the contract allows: videos are checked, not watched
        low = spec.get("minimum", 1) if spec.get("type") in ("integer", "number") else None
        numbers = sorted(v for v in values if isinstance(v, int | float) and not isinstance(v, bool) and v > 0)
        return numbers[:1] or ([low] if low is not None and low != default else [])
    if key == "format":
        return [value for value in values if value in model.output_spec.get("formats", ())]
    if key == "aspect_ratio":  # a ratio that is not square shows the shape is followed
        return [value for value in values if isinstance(value, str) and len(set(value.split(":"))) == 2]
    if key == "resolution":
        shapes = {value: model.output({"model": model.name, name: value}) for value in values}
        fitting = [value for value, out in shapes.items() if max(out.width, out.height) <= LARGEST_LONG_SIDE]
        return sorted(fitting, key=lambda value: shapes[value].width * shapes[value].height)
    return values


def varied_body(model: Model, base: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with each output field the model accepts moved off its default, as long as the body stays valid."""
    body = dict(base)
    for key in ("aspect_ratio", "resolution", "format", "count", "duration", "audio"):
        name = model.output_spec.get(key)
        if not isinstance(name, str) or name not in model.fields or name in model.forbidden:
            continue
        for value in _candidates(model, key, name):
            if is_valid(model, {**body, name: value}):
                body[name] = value
                break
    return body


def upstream_action(action: Action, field: str, model: Model) -> Action:
    """The action of the same family whose task a `*_task_id` field takes: the one its description names
    (Grok Imagine: an Image 2.0 edit's source_task_id is a "Completed Image 2.0 segment-map Task ID"), else
    the family's first action making the kind of file the field's media names (`task:video`) from no task.
    """
    descriptions = " ".join(m.fields[field].get("description", "") for m in action.models.values()
                            if field in m.fields)
    family = [a for (f, name), a in load_catalog().actions.items() if f == action.family and name != action.name]
    named = [a for a in family if a.name.replace("_", "-") in descriptions]
    kind = str(model.media(field) or "").partition(":")[2]
    if len(named) != 1 and kind:
        named = [a for a in family if next(iter(a.models.values())).kind == kind
                 and not any(f.endswith("_task_id") and f in m.required for m in a.models.values() for f in m.fields)]
    assert named, f"{action.family}/{action.name}.{field}: {descriptions!r} names no action"
    return named[0]


def chain(server: RunningServer, opts: RequestOptions, action: Action, model: Model, body: dict[str, Any],
          facts: dict[str, SourceFacts] | None = None) -> dict[str, Any]:
    """`body` with every `*_task_id` field set to the id of a task created (and completed) just now; what
    that task made goes into `facts` (by field), as the mock knows it when it shapes the output."""
    for field in [f for f in body if f.endswith("_task_id") or str(model.media(f)).startswith("task:")]:
        upstream = upstream_action(action, field, model)
        upstream_model = upstream.models.get(model.name) or next(iter(upstream.models.values()))
        known: dict[str, SourceFacts] = {}
        upstream_body = chain(server, opts, upstream, upstream_model,
                              fixture_body(upstream.family, upstream.name, upstream_model), known)
        done = resource(server, upstream.family, upstream.name).run(options=opts, **upstream_body)
        assert done.status == "completed"
        body[field] = done.id
        made = upstream_model.output(upstream_body, facts=known)
        made_facts = SourceFacts(made.kind, made.width, made.height, made.duration_seconds, made.has_audio)
        if facts is not None:
            facts[field] = made_facts
        for song in [f for f in body if model.media(f) == f"song:{field}"]:  # a song of that task: its first
            body[song] = first_item_id(upstream_model, done.to_dict())
            if facts is not None:
                facts[song] = made_facts
    return body


def first_item_id(model: Model, result: Mapping[str, Any]) -> str:
    """The id of the first item a result lists under a member whose items carry one (a Suno song's id)."""
    for member in result_layout(model.output_spec):
        item = member.get("item")
        key = next((k for k, fact in item.items() if fact == "audio_id"), None) if isinstance(item, Mapping) else None
        value = result.get(member["member"])
        if key is not None and value:
            return str((value[0] if isinstance(value, list) else value)[key])
    raise AssertionError(f"{model.family}/{model.action}: no item with an id in {result}")


def file_urls(server: RunningServer, model: Model, result: Mapping[str, Any]) -> list[str]:
    """The files a result lists: under its layout's file members, and inside generated members (a stems
    object's `<stem>_url`, an advanced split's pairs), each once."""
    urls = result_urls(result_layout(model.output_spec), result)
    generated = [result.get(m["member"]) for m in result_layout(model.output_spec)
                 if str(m.get("from", "")).startswith("data:")]
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and value.startswith(server.base_url + "/files/") and value not in found:
            found.append(value)
        elif isinstance(value, Mapping | list):
            for item in value.values() if isinstance(value, Mapping) else value:
                walk(item)

    walk(generated)
    return urls + found


# -- the files (the `server` and `opts` fixtures are tests/e2e/conftest.py's) ---------------------------------


def check_files(server: RunningServer, model: Model, body: Mapping[str, Any], result: Any,
                facts: Mapping[str, Any] | None = None) -> None:
    """The result lists Model.output(body).count files under its members; each downloads at its shape (an
    image: format and size; a video: container, codec, size, duration, sound). `facts` are what the mock
    knows of the body's sources (a chained extend's source video), as the server shaped the output with."""
    output = model.output(body, facts=facts or {})
    assert validate_response("task", result.to_dict()) == []  # the members and keys the layout promises
    urls = file_urls(server, model, result.to_dict())
    assert len(urls) == output.count, result.to_dict()
    for url in urls:
        assert url.startswith(server.base_url + "/"), url
        response = sdk_support.download(url)
        if output.kind == "audio":  # the format asked, as long as asked (speech: as long as reading it)
            heard = probe_audio(response.content, output.format)
            assert heard.format == AUDIO_FORMATS[output.format].muxer.replace("ipod", "mov"), heard
            assert abs(heard.duration_seconds - (output.duration_seconds or 0)) <= 0.1 * (output.duration_seconds or 0)
            assert response.headers["content-type"] == AUDIO_FORMATS[output.format].content_type
            continue
        if output.kind == "video":
            info = probe(response.content)
            assert (info.container, info.codec, info.width, info.height) == \
                (output.format, "h264", output.width, output.height), info
            assert abs(info.duration_seconds - (output.duration_seconds or 0)) <= 0.1 * (output.duration_seconds or 0)
            assert info.has_audio is output.has_audio and (info.audio_codec == "aac" or not output.has_audio)
            assert response.headers["content-type"] == VIDEO_MIME[output.format]
            check_asked(model, body, info)
            continue
        picture = sdk_support.image(response.content)
        assert (picture.format, picture.size) == (PILLOW_FORMAT[output.format], (output.width, output.height))
        assert response.headers["content-type"] == MIME[PILLOW_FORMAT[output.format]]


def check_asked(model: Model, body: Mapping[str, Any], info: Any) -> None:
    """What the request itself asked for, read from the body (not from Model.output): a sound track, the
    seconds of a clip that does not follow a source, the short side of a resolution label."""
    spec = model.output_spec
    audio, duration, resolution = (spec.get(key) for key in ("audio", "duration", "resolution"))
    if isinstance(audio, str) and body.get(audio) is True:
        assert info.has_audio, f"{audio}=true but the file has no sound"
    seconds = body.get(duration) if isinstance(duration, str) else None
    if isinstance(seconds, int | float) and seconds > 0 and "duration_from" not in spec:
        assert abs(info.duration_seconds - seconds) <= 0.1 * seconds, (seconds, info)
    label = body.get(resolution) if isinstance(resolution, str) else None
    if isinstance(label, str) and label.lower() in model.video_sizes and "upscale_factor" not in spec:
        assert min(info.width, info.height) == model.video_sizes[label.lower()], (label, info)


# -- the tests -----------------------------------------------------------------------------------------------

CATALOG = load_catalog()
# The actions that make a task to poll; the synchronous ones answer at once (tests/e2e/test_sdk_sync.py).
ACTIONS = {route: action for route, action in CATALOG.actions.items() if "sync" not in action.output_spec}
PAIRS = [(family, name, model) for (family, name), action in ACTIONS.items() for model in action.models]


@pytest.mark.parametrize(("family", "action_name", "model_name"), PAIRS,
                         ids=[f"{f}/{a}/{m}" for f, a, m in PAIRS])
def test_create_get_run(server: RunningServer, opts: RequestOptions, family: str, action_name: str,
                        model_name: str) -> None:
    if (family, action_name) not in sdk_routes():
        pytest.skip(f"no SDK exposes {family}/{action_name}")  # test_every_catalog_action_has_an_sdk fails
    action = CATALOG.actions[(family, action_name)]
    model = action.models[model_name]
    sdk = resource(server, family, action_name)

    facts: dict[str, SourceFacts] = {}
    body = chain(server, opts, action, model, fixture_body(family, action_name, model), facts)
    task = sdk.create(options=opts, **body)
    assert isinstance(task.id, str) and task.id and task.status == "pending"
    done = sdk.get(task.id, options=opts)
    assert (done.id, done.status) == (task.id, "completed"), done.to_dict()
    urls = file_urls(server, model, done.to_dict())
    assert len(urls) == model.output(body, facts=facts).count

    varied = varied_body(model, body)
    assert is_valid(model, varied), varied
    result = sdk.run(options=opts, **varied)
    assert result.id != task.id and result.status == "completed"
    check_files(server, model, varied, result, facts)


INVALID = {}
for _fixture in fixtures():
    if not _fixture["valid"] and _fixture.get("expect_violations"):
        INVALID.setdefault((_fixture["family"], _fixture["action"]), _fixture)


@pytest.mark.parametrize(("family", "action_name"), list(ACTIONS), ids=[f"{f}/{a}" for f, a in ACTIONS])
def test_invalid_request_is_the_sdks_validation_error(server: RunningServer, opts: RequestOptions, family: str,
                                                      action_name: str) -> None:
    if (family, action_name) not in sdk_routes():
        pytest.skip(f"no SDK exposes {family}/{action_name}")
    fixture = INVALID[(family, action_name)]
    with pytest.raises(ValidationError) as caught:
        resource(server, family, action_name).create(options=opts, **fixture["body"])
    assert caught.value.status == 422
    fields = {violation["field"] for violation in fixture["expect_violations"]}
    assert fields & set(caught.value.details.get("errors", {})), (fields, caught.value.details)


def test_every_catalog_action_has_an_sdk() -> None:
    assert sorted(set(ACTIONS) - set(sdk_routes())) == []


SYNCHRONOUS = {(key.split("/")[0].replace("-", "_"), action["endpoint"])
               for key, action in json.loads((Path(__file__).resolve().parents[2] / "contracts" / "upstream" /
                                              "runapi-contract-v0.12.2.json").read_text("utf-8"))["actions"].items()
               if action.get("task_type") == "synchronous"}  # served on the synchronous path, not as tasks


def test_every_sdk_action_that_returns_images_is_in_the_catalog() -> None:
    """An SDK resource whose response declares a result member of the catalog (images, segments, layers,
    audios...) is an action the catalog must serve, unless the contract makes it synchronous (gemini_omni's
    create_audio: served with the synchronous path); the others (prompts, seeds) are out of scope."""
    members = {member["member"] for action in CATALOG.actions.values()
               for member in result_layout(action.output_spec)}
    missing = []
    for route, (cls, attribute, resource_class) in sorted(sdk_resources().items()):
        response = resource_class.COMPLETED_RESPONSE_CLASS or resource_class.RESPONSE_CLASS
        declared = set(getattr(response, "_fields", {}))
        if declared & members and route not in CATALOG.actions and route not in SYNCHRONOUS:
            missing.append(f"{cls.__name__}.{attribute} ({'/'.join(route)})")
    assert missing == []
    # The synchronous ones are served, on the synchronous path (overlay/sync.json; test_sdk_sync drives them).
    assert ("gemini_omni", "create_audio") in SYNCHRONOUS
    assert all("sync" in CATALOG.actions[route].output_spec for route in SYNCHRONOUS)
