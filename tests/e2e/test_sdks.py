"""The official RunAPI Python SDKs, unmodified, against a served mock (`base_url=`).

Three module-scoped servers: the main one (immediate progression, one accepted API key), a poor one (a
balance too small for two tasks) and a slow one (`polls:2` with a short poll Retry-After). Tests sharing
a server are isolated by `X-Mock-Namespace`, sent through the SDKs' own `RequestOptions(headers=...)`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from runapi.core import (
    AuthenticationError,
    ConflictError,
    Error,
    InsufficientCreditsError,
    NotFoundError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    TaskFailedError,
    ValidationError,
)
from runapi.flux_2 import Flux2Client
from runapi.flux_kontext import FluxKontextClient
from runapi.gpt_image_2 import GptImage2Client

from runapi_mock.engine.lifecycle import Progression
from runapi_mock.serving.server import RunningServer
from tests.e2e import sdk_support
from tests.e2e.sdk_support import KEY
from tests.e2e.sdk_support import options as opts

SOURCE = "https://example.com/source.png"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


# -- servers, clients, helpers (`server` and `ns` are tests/e2e/conftest.py's) --------------------------------


@pytest.fixture(scope="module")
def poor_server() -> Iterator[RunningServer]:
    """6 cents per account: one 5-cent Flux 2 Pro task fits, a second one overdraws."""
    yield from sdk_support.serve(progression=Progression.parse("immediate"), balance_cents=6)


@pytest.fixture(scope="module")
def slow_server() -> Iterator[RunningServer]:
    """Two status reads per step, with a 10 ms Retry-After so the SDK's poll loop stays fast."""
    yield from sdk_support.serve(progression=Progression.parse("polls:2"), poll_retry_after=0.01)


def kontext(base_url: str, api_key: str = KEY, **overrides: Any) -> FluxKontextClient:
    return sdk_support.client(FluxKontextClient, base_url, api_key, **overrides)


def flux2(base_url: str, api_key: str = KEY, **overrides: Any) -> Flux2Client:
    return sdk_support.client(Flux2Client, base_url, api_key, **overrides)


def gpt2(base_url: str, api_key: str = KEY, **overrides: Any) -> GptImage2Client:
    return sdk_support.client(GptImage2Client, base_url, api_key, **overrides)


def fetch_image(url: str, base_url: str) -> tuple[str, tuple[int, int], str]:
    """Download a generated image; (Pillow format, (width, height), Content-Type)."""
    assert url.startswith(base_url + "/"), f"image URL {url!r} is not served by the mock at {base_url}"
    response = sdk_support.download(url)
    image = sdk_support.image(response.content)
    return image.format, image.size, response.headers.get("content-type", "")


def assert_single_image(result: Any, base_url: str, fmt: str, size: tuple[int, int]) -> None:
    assert result.status == "completed"
    assert len(result.images) == 1
    url = result.images[0].url
    assert isinstance(url, str) and url
    got_format, got_size, content_type = fetch_image(url, base_url)
    assert got_format == fmt
    assert got_size == size
    assert content_type == {"JPEG": "image/jpeg", "PNG": "image/png"}[fmt]
    assert url.endswith({"JPEG": ".jpg", "PNG": ".png"}[fmt])


def journal(base_url: str, namespace: str) -> list[dict[str, Any]]:
    """The namespace's journal, oldest first."""
    response = httpx.get(f"{base_url}/_mock/journal", headers={"X-Mock-Namespace": namespace},
                         params={"limit": 1000})
    assert response.status_code == 200, response.text
    entries = response.json()["entries"]
    return sorted(entries, key=lambda e: e["seq"])


# -- Flux Kontext --------------------------------------------------------------------------------------------


def test_flux_kontext_create_then_get(server: RunningServer, ns: str) -> None:
    client = kontext(server.base_url)
    task = client.text_to_image.create(model="flux-kontext-pro", prompt="A lighthouse at dusk",
                                       options=opts(ns))
    assert isinstance(task.id, str) and task.id
    assert task.status == "pending"
    assert task.images is None
    assert task.response_headers.get("X-RunAPI-Task-Id") == task.id

    done = client.text_to_image.get(task.id, options=opts(ns))
    assert done.id == task.id
    assert done.status == "completed"
    assert len(done.images) == 1 and done.images[0].url
    # Flux Kontext Pro is 2.5 cents per image (seed pages 000/002); usage.cost is in USD.
    assert done.usage.cost == pytest.approx(0.025)
    assert done.usage.generated_images == 1
    again = client.text_to_image.get(task.id, options=opts(ns))
    assert again.status == "completed"
    assert again.images[0].url == done.images[0].url


def test_flux_kontext_run_generation_default_is_jpeg_16_9(server: RunningServer, ns: str) -> None:
    result = kontext(server.base_url).text_to_image.run(
        model="flux-kontext-pro", prompt="A futuristic cityscape at night", options=opts(ns))
    # Defaults: output_format jpeg, aspect_ratio 16:9, long side 1024, short side 576.
    assert_single_image(result, server.base_url, "JPEG", (1024, 576))


def test_flux_kontext_run_png_square(server: RunningServer, ns: str) -> None:
    result = kontext(server.base_url).text_to_image.run(
        model="flux-kontext-max", prompt="A red apple", aspect_ratio="1:1", output_format="png",
        options=opts(ns))
    assert_single_image(result, server.base_url, "PNG", (1024, 1024))


def test_flux_kontext_run_editing_with_source_image_url(server: RunningServer, ns: str) -> None:
    client = kontext(server.base_url)
    result = client.text_to_image.run(
        model="flux-kontext-pro", prompt="Make the sky purple", source_image_url=SOURCE,
        aspect_ratio="9:16", options=opts(ns))
    # 9:16 at 1k: 1024 * 9 / 16 = 576 wide.
    assert_single_image(result, server.base_url, "JPEG", (576, 1024))
    creates = [e for e in journal(server.base_url, ns) if e["method"] == "POST"]
    assert creates[-1]["request_body"]["source_image_url"] == SOURCE


# -- Flux 2 --------------------------------------------------------------------------------------------------


def test_flux_2_pro_text_create_get(server: RunningServer, ns: str) -> None:
    client = flux2(server.base_url)
    task = client.text_to_image.create(model="flux-2-pro-text-to-image", prompt="A ceramic vase",
                                       options=opts(ns))
    assert task.id and task.status == "pending"
    done = client.text_to_image.get(task.id, options=opts(ns))
    assert (done.id, done.status) == (task.id, "completed")
    assert len(done.images) == 1


def test_flux_2_pro_text_run_3_4_at_2k(server: RunningServer, ns: str) -> None:
    result = flux2(server.base_url).text_to_image.run(
        model="flux-2-pro-text-to-image", prompt="A ceramic vase with dried flowers",
        aspect_ratio="3:4", output_resolution="2k", options=opts(ns))
    assert_single_image(result, server.base_url, "PNG", (1536, 2048))
    assert result.usage.cost == pytest.approx(0.07)  # Flux 2 Pro at 2k: 7 cents (seed page 001)


def test_flux_2_pro_text_run_defaults_square_1k(server: RunningServer, ns: str) -> None:
    result = flux2(server.base_url).text_to_image.run(
        model="flux-2-flex-text-to-image", prompt="A linen tablecloth", options=opts(ns))
    assert_single_image(result, server.base_url, "PNG", (1024, 1024))


def test_flux_2_max_text_run_with_aspect_ratio(server: RunningServer, ns: str) -> None:
    result = flux2(server.base_url).text_to_image.run(
        model="flux-2-max-text-to-image", prompt="A mountain lake", aspect_ratio="16:9", options=opts(ns))
    assert_single_image(result, server.base_url, "PNG", (1024, 576))


def test_flux_2_remix_create_get_run(server: RunningServer, ns: str) -> None:
    client = flux2(server.base_url)
    task = client.remix_image.create(
        model="flux-2-pro-remix-image", prompt="Blend into a watercolor",
        source_image_urls=[SOURCE, "https://example.com/second.jpg"], options=opts(ns))
    assert task.id and task.status == "pending"
    done = client.remix_image.get(task.id, options=opts(ns))
    assert (done.id, done.status) == (task.id, "completed")

    result = client.remix_image.run(
        model="flux-2-pro-remix-image", prompt="Blend into a watercolor", source_image_urls=[SOURCE],
        aspect_ratio="4:3", output_resolution="2k", options=opts(ns))
    assert result.id != task.id
    assert_single_image(result, server.base_url, "PNG", (2048, 1536))


def test_flux_2_get_through_the_wrong_action_is_404(server: RunningServer, ns: str) -> None:
    client = flux2(server.base_url)
    task = client.text_to_image.create(model="flux-2-pro-text-to-image", prompt="A ceramic vase",
                                       options=opts(ns))
    with pytest.raises(NotFoundError) as caught:
        client.remix_image.get(task.id, options=opts(ns))
    assert caught.value.status == 404


# -- GPT Image 2 ---------------------------------------------------------------------------------------------


def test_gpt_image_2_text_create_get(server: RunningServer, ns: str) -> None:
    client = gpt2(server.base_url)
    task = client.text_to_image.create(model="gpt-image-2", prompt="A glass perfume bottle", options=opts(ns))
    assert task.id and task.status == "pending"
    assert task.task_replayed is False
    done = client.text_to_image.get(task.id, options=opts(ns))
    assert (done.id, done.status) == (task.id, "completed")


def test_gpt_image_2_text_run_16_9_at_4k(server: RunningServer, ns: str) -> None:
    result = gpt2(server.base_url).text_to_image.run(
        model="gpt-image-2", prompt="A wide desert panorama", aspect_ratio="16:9", output_resolution="4k",
        options=opts(ns))
    assert_single_image(result, server.base_url, "PNG", (4096, 2304))


def test_gpt_image_2_text_run_default_auto_1k(server: RunningServer, ns: str) -> None:
    result = gpt2(server.base_url).text_to_image.run(model="gpt-image-2", prompt="A cat", options=opts(ns))
    assert_single_image(result, server.base_url, "PNG", (1024, 1024))


def test_gpt_image_2_edit_create_get_run(server: RunningServer, ns: str) -> None:
    client = gpt2(server.base_url)
    task = client.edit_image.create(model="gpt-image-2", prompt="Add a gold label",
                                    source_image_urls=[SOURCE], options=opts(ns))
    assert task.id and task.status == "pending"
    done = client.edit_image.get(task.id, options=opts(ns))
    assert (done.id, done.status) == (task.id, "completed")

    result = client.edit_image.run(model="gpt-image-2", prompt="Add a gold label", source_image_urls=[SOURCE],
                                   aspect_ratio="2:3", output_resolution="2k", options=opts(ns))
    # 2:3 at 2k: 2048 * 2 / 3 = 1365.3 -> nearest multiple of 8 is 1368.
    assert_single_image(result, server.base_url, "PNG", (1368, 2048))


# -- errors as the SDKs' exception classes -------------------------------------------------------------------


def test_401_unknown_key_when_keys_are_restricted(server: RunningServer, ns: str) -> None:
    client = kontext(server.base_url, api_key="not-a-known-key", max_retries=0)
    with pytest.raises(AuthenticationError) as caught:
        client.text_to_image.create(model="flux-kontext-pro", prompt="A lighthouse", options=opts(ns))
    assert caught.value.status == 401
    assert caught.value.request_id  # from X-Request-Id
    with pytest.raises(AuthenticationError):
        client.text_to_image.get(UNKNOWN_ID, options=opts(ns))


def test_401_unauthorized_scenario(server: RunningServer, ns: str) -> None:
    client = gpt2(server.base_url)
    with pytest.raises(AuthenticationError) as caught:
        client.text_to_image.create(model="gpt-image-2", prompt="A cat",
                                    options=opts(ns, X_Mock_Scenario="unauthorized"))
    assert caught.value.status == 401
    assert caught.value.message == "Invalid API key"


def test_402_scenario(server: RunningServer, ns: str) -> None:
    with pytest.raises(InsufficientCreditsError) as caught:
        flux2(server.base_url).text_to_image.create(
            model="flux-2-pro-text-to-image", prompt="A ceramic vase",
            options=opts(ns, X_Mock_Scenario="insufficient_credits"))
    assert caught.value.status == 402
    assert caught.value.code == "insufficient_credits"


def test_402_real_overdraw(poor_server: RunningServer, ns: str) -> None:
    client = flux2(poor_server.base_url)
    first = client.text_to_image.run(model="flux-2-pro-text-to-image", prompt="A ceramic vase",
                                     options=opts(ns))
    assert first.status == "completed"
    with pytest.raises(InsufficientCreditsError) as caught:
        client.text_to_image.create(model="flux-2-pro-text-to-image", prompt="A second vase",
                                    options=opts(ns))
    assert caught.value.status == 402
    # 1 cent is left: even the 2.5-cent Flux Kontext Pro no longer fits.
    with pytest.raises(InsufficientCreditsError):
        kontext(poor_server.base_url).text_to_image.create(
            model="flux-kontext-pro", prompt="A lighthouse", options=opts(ns))


def test_404_unknown_task_id(server: RunningServer, ns: str) -> None:
    for get in (kontext(server.base_url).text_to_image.get, flux2(server.base_url).remix_image.get,
                gpt2(server.base_url).edit_image.get):
        with pytest.raises(NotFoundError) as caught:
            get(UNKNOWN_ID, options=opts(ns))
        assert caught.value.status == 404


def test_404_task_of_another_namespace(server: RunningServer, ns: str) -> None:
    client = kontext(server.base_url)
    task = client.text_to_image.create(model="flux-kontext-pro", prompt="A lighthouse", options=opts(ns))
    with pytest.raises(NotFoundError):
        client.text_to_image.get(task.id, options=opts(ns + "-other"))


def test_idempotency_key_replays_then_409_on_a_different_body(server: RunningServer, ns: str) -> None:
    client = gpt2(server.base_url, max_retries=0)
    key = f"idem-{uuid.uuid4()}"
    first = client.text_to_image.create(model="gpt-image-2", prompt="A cat",
                                        options=opts(ns, Idempotency_Key=key))
    replay = client.text_to_image.create(model="gpt-image-2", prompt="A cat",
                                         options=opts(ns, Idempotency_Key=key))
    assert replay.id == first.id
    assert first.task_replayed is False
    assert replay.task_replayed is True
    with pytest.raises(ConflictError) as caught:
        client.text_to_image.create(model="gpt-image-2", prompt="A dog",
                                    options=opts(ns, Idempotency_Key=key))
    assert caught.value.status == 409
    assert caught.value.runapi_task_id == first.id


@pytest.mark.parametrize(
    ("family", "params", "field"),
    [
        ("flux_2", {"model": "flux-2-max-text-to-image", "prompt": "A mountain lake"}, "aspect_ratio"),
        ("flux_2", {"model": "flux-2-pro-text-to-image", "prompt": "hi"}, "prompt"),
        ("flux_2_remix", {"model": "flux-2-pro-remix-image", "prompt": "Blend these"}, "source_image_urls"),
        ("kontext", {"model": "flux-kontext-pro", "prompt": "A lighthouse", "aspect_ratio": "5:1"},
         "aspect_ratio"),
        ("kontext", {"model": "flux-kontext-ultra", "prompt": "A lighthouse"}, "model"),
        ("kontext", {"model": "flux-kontext-pro", "prompt": "Make it purple", "source_image_url": SOURCE,
                     "safety_tolerance": 5}, "safety_tolerance"),
        ("flux_2", {"model": "flux-2-pro-text-to-image", "prompt": "A mountain lake", "output_count": 1},
         "output_count"),
        ("flux_2_remix", {"model": "flux-2-max-remix-image", "prompt": "Blend these", "aspect_ratio": "1:1",
                          "source_image_urls": [SOURCE, SOURCE]}, "source_image_urls"),
        ("gpt2_edit", {"model": "gpt-image-2", "prompt": "Add a label"}, "source_image_urls"),
        ("gpt2", {"model": "gpt-image-2", "prompt": "A cat", "aspect_ratio": "1:1",
                  "output_resolution": "4k"},
         "output_resolution"),
    ],
    ids=["flux2-max-without-aspect-ratio", "flux2-prompt-too-short", "flux2-remix-without-sources",
         "kontext-bad-aspect-ratio", "kontext-unknown-model", "kontext-edit-safety-tolerance-over-2",
         "flux2-pro-output-count-forbidden", "flux2-max-remix-two-sources", "gpt2-edit-without-sources",
         "gpt2-1x1-at-4k"],
)
def test_422_invalid_params(server: RunningServer, ns: str, family: str, params: dict[str, Any],
                            field: str) -> None:
    resource = {
        "flux_2": lambda: flux2(server.base_url).text_to_image,
        "flux_2_remix": lambda: flux2(server.base_url).remix_image,
        "kontext": lambda: kontext(server.base_url).text_to_image,
        "gpt2": lambda: gpt2(server.base_url).text_to_image,
        "gpt2_edit": lambda: gpt2(server.base_url).edit_image,
    }[family]()
    with pytest.raises(ValidationError) as caught:
        resource.create(options=opts(ns), **params)
    assert caught.value.status == 422
    assert isinstance(caught.value.details, dict)
    assert field in caught.value.details.get("errors", {}), caught.value.details
    assert not [e for e in journal(server.base_url, ns) if e["status"] == 200], "no task may be created"


def test_429_scenario_parses_retry_after(server: RunningServer, ns: str) -> None:
    client = kontext(server.base_url, max_retries=0)
    with pytest.raises(RateLimitError) as caught:
        client.text_to_image.create(model="flux-kontext-pro", prompt="A lighthouse",
                                    options=opts(ns, X_Mock_Scenario="rate_limited", X_Mock_Retry_After="7"))
    assert caught.value.status == 429
    assert caught.value.retry_after == 7.0
    # The scenario's default Retry-After is 2 s; on a GET (retryable) with max_retries=0 per request.
    with pytest.raises(RateLimitError) as caught:
        client.text_to_image.get(UNKNOWN_ID, options=opts(ns, max_retries=0, X_Mock_Scenario="rate_limited"))
    assert caught.value.retry_after == 2.0
    assert len([e for e in journal(server.base_url, ns) if e["status"] == 429]) == 2


def test_503_scenario(server: RunningServer, ns: str) -> None:
    client = flux2(server.base_url, max_retries=0)
    with pytest.raises(ServiceUnavailableError) as caught:
        client.text_to_image.create(model="flux-2-pro-text-to-image", prompt="A ceramic vase",
                                    options=opts(ns, X_Mock_Scenario="unavailable"))
    assert caught.value.status == 503
    assert caught.value.message == "No active channel available"


def test_500_scenario_is_server_error(server: RunningServer, ns: str) -> None:
    client = gpt2(server.base_url, max_retries=0)
    with pytest.raises(ServerError) as caught:
        client.text_to_image.create(model="gpt-image-2", prompt="A cat",
                                    options=opts(ns, X_Mock_Scenario="server_error"))
    assert caught.value.status == 500


def test_455_is_the_base_error_class(server: RunningServer, ns: str) -> None:
    client = gpt2(server.base_url, max_retries=0)
    with pytest.raises(Error) as caught:
        client.text_to_image.create(model="gpt-image-2", prompt="A cat",
                                    options=opts(ns, X_Mock_Scenario="unavailable_455"))
    assert type(caught.value) is Error  # no SDK maps 455 to a subclass
    assert caught.value.status == 455


def test_sdk_retries_a_get_through_503(server: RunningServer, ns: str) -> None:
    """GET is idempotent: with max_retries=2 the SDK retries a 503 twice before giving up."""
    client = kontext(server.base_url, max_retries=2)
    with pytest.raises(ServiceUnavailableError):
        client.text_to_image.get(UNKNOWN_ID, options=opts(ns, X_Mock_Scenario="unavailable",
                                                          X_Mock_Retry_After="0"))
    assert len([e for e in journal(server.base_url, ns) if e["status"] == 503]) == 3


# -- run() outcomes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "message"),
    [("failed", "Image generation failed"), ("content_policy", "Content policy violation")],
)
def test_run_raises_task_failed(server: RunningServer, ns: str, scenario: str, message: str) -> None:
    with pytest.raises(TaskFailedError) as caught:
        kontext(server.base_url).text_to_image.run(
            model="flux-kontext-pro", prompt="A lighthouse", options=opts(ns, X_Mock_Scenario=scenario))
    assert caught.value.message == message
    assert caught.value.details["status"] == "failed"
    assert caught.value.details["id"]


def test_run_raises_task_failed_for_flux_2_and_gpt_image_2(server: RunningServer, ns: str) -> None:
    with pytest.raises(TaskFailedError):
        flux2(server.base_url).remix_image.run(
            model="flux-2-pro-remix-image", prompt="Blend these", source_image_urls=[SOURCE],
            options=opts(ns, X_Mock_Scenario="failed"))
    with pytest.raises(TaskFailedError) as caught:
        gpt2(server.base_url).edit_image.run(
            model="gpt-image-2", prompt="Add a label", source_image_urls=[SOURCE],
            options=opts(ns, X_Mock_Scenario="content_policy"))
    assert caught.value.message == "Content policy violation"


def test_flaky_with_idempotency_key_succeeds_through_sdk_retries(server: RunningServer, ns: str) -> None:
    client = flux2(server.base_url, max_retries=2)
    key = f"flaky-{uuid.uuid4()}"
    result = client.text_to_image.run(
        model="flux-2-pro-text-to-image", prompt="A ceramic vase",
        options=opts(ns, X_Mock_Scenario="flaky", X_Mock_Retry_After="0", Idempotency_Key=key))
    assert result.status == "completed"
    assert_single_image(result, server.base_url, "PNG", (1024, 1024))
    posts = [e["status"] for e in journal(server.base_url, ns) if e["method"] == "POST"]
    assert posts == [503, 503, 200]


def test_flaky_without_idempotency_key_is_not_retried(server: RunningServer, ns: str) -> None:
    client = flux2(server.base_url, max_retries=2)
    with pytest.raises(ServiceUnavailableError):
        client.text_to_image.create(model="flux-2-pro-text-to-image", prompt="A ceramic vase",
                                    options=opts(ns, X_Mock_Scenario="flaky"))
    assert [e["status"] for e in journal(server.base_url, ns) if e["method"] == "POST"] == [503]


def test_polls_progression_completes_via_run(slow_server: RunningServer, ns: str) -> None:
    result = gpt2(slow_server.base_url).text_to_image.run(
        model="gpt-image-2", prompt="A cat", aspect_ratio="4:3", output_resolution="2k", options=opts(ns))
    assert_single_image(result, slow_server.base_url, "PNG", (2048, 1536))
    reads = [e for e in journal(slow_server.base_url, ns) if e["method"] == "GET" and "/api/v1/" in e["path"]]
    # polls:2 moves one step per two status reads: the fourth read sees `completed`.
    assert len(reads) == 4
    assert all(e["retry_after"] == "0.01" for e in reads[:-1])
    assert reads[-1]["retry_after"] is None


def test_polls_progression_statuses_via_get(slow_server: RunningServer, ns: str) -> None:
    client = flux2(slow_server.base_url)
    task = client.text_to_image.create(model="flux-2-pro-text-to-image", prompt="A ceramic vase",
                                       options=opts(ns))
    seen = [client.text_to_image.get(task.id, options=opts(ns)).status for _ in range(5)]
    assert seen[0] == "pending"
    assert seen[3:] == ["completed", "completed"]
    assert "processing" in seen[1:3]
    order = ["pending", "processing", "completed"]
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)
