"""Hypothesis strategies for RunAPI messages, built from catalog data (a new model needs no code change)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .catalog import Catalog, load_catalog
from .invalid_requests import InvalidRequest, invalid_create_requests
from .plans import CreateRequest, image_urls, result_urls, select_plans, texts, valid_bodies
from .upload_strategies import (
    InvalidUpload,
    PrepareRequest,
    UploadRequest,
    invalid_upload_requests,
    prepare_requests,
    upload_requests,
)
from .vocabulary import STATUSES, TERMINAL

__all__ = [
    "CreateRequest",
    "InvalidRequest",
    "InvalidUpload",
    "PrepareRequest",
    "UploadRequest",
    "callback_payloads",
    "create_requests",
    "error_envelopes",
    "invalid_create_requests",
    "invalid_upload_requests",
    "prepare_requests",
    "quote_requests",
    "task_statuses",
    "upload_requests",
]

TASK_STATUSES: tuple[str, ...] = STATUSES
CALLBACK_STATUSES = tuple(status for status in STATUSES if status in TERMINAL)  # a callback comes at the end
ERROR_CODES = ("validation_failed", "unauthorized", "insufficient_credits", "forbidden", "not_found",
               "request_conflict", "rate_limited", "service_unavailable", "internal_error")


# --- valid requests ---


def create_requests(
    family: str | None = None,
    action: str | None = None,
    model: str | None = None,
    *,
    catalog: Catalog | None = None,
) -> st.SearchStrategy[CreateRequest]:
    """Valid create requests for any catalog model, or only those of the given family, action and model.

    Args:
        model: a canonical model name (not a docs alias) of the selected actions.
        catalog: the catalog to draw from (default: the packaged one).
    """
    plans = select_plans(catalog, family, action, model)
    return st.one_of([valid_bodies(plan).map(plan.request) for plan in plans])


def quote_requests(family: str | None = None, action: str | None = None, model: str | None = None, *,
                   catalog: Catalog | None = None) -> st.SearchStrategy[tuple[CreateRequest, dict[str, Any]]]:
    """(a valid create request, the `POST /api/v1/price_quotes` body that quotes it): `model` top-level or in
    `params`, the service in either spelling (``flux_2``, ``flux-2``); no `callback_url` (a quote needs none)."""

    @st.composite
    def quotes(draw: st.DrawFn) -> tuple[CreateRequest, dict[str, Any]]:
        request = draw(create_requests(family, action, model, catalog=catalog))
        body = {key: value for key, value in request.body.items() if key != "callback_url"}
        request = CreateRequest(request.family, request.action, request.model, body)
        service = request.family.replace("_", "-") if draw(st.booleans()) else request.family
        if draw(st.booleans()):
            return request, {"service": service, "action": request.action, "params": body}
        params = {key: value for key, value in body.items() if key != "model"}
        return request, {"service": service, "action": request.action, "model": request.model, "params": params}

    return quotes()


# --- responses ---


def _model_names() -> st.SearchStrategy[str]:
    return st.sampled_from(sorted({model.name for model in load_catalog().models()}))


@st.composite
def _task_bodies(draw: st.DrawFn, status: str, optional_keys: tuple[str, ...]) -> dict[str, Any]:
    task_id = str(draw(st.uuids()))
    body: dict[str, Any] = {"id": task_id, "status": status}
    if "task_id" in optional_keys and draw(st.booleans()):
        body["task_id"] = task_id
    if draw(st.booleans()):
        body["model"] = draw(_model_names())
    if "task_replayed" in optional_keys and draw(st.booleans()):
        body["task_replayed"] = draw(st.booleans())
    if status == "processing" and draw(st.booleans()):
        body["progress"] = draw(st.one_of(st.integers(0, 100), st.integers(0, 100).map(lambda p: f"{p}%")))
    if status == "completed":
        images = draw(st.lists(st.builds(lambda url: {"url": url}, result_urls()), min_size=1, max_size=4))
        for image in images:
            if draw(st.booleans()):
                image["origin_url"] = draw(image_urls())
        body["images"] = images
        usage: dict[str, Any] = {"cost": draw(st.integers(0, 10_000)) / 1000}
        if draw(st.booleans()):
            usage["generated_images"] = len(images)
        if "usage" not in optional_keys or draw(st.booleans()):
            body["usage"] = usage
    if status == "failed":
        body["error"] = draw(st.one_of(st.sampled_from(("Content policy violation", "Generation failed")),
                                       texts(1, 60)))
        if "error_code" in optional_keys and draw(st.booleans()):
            body["error_code"] = draw(st.sampled_from(("content_policy", "generation_failed", "timeout")))
    return body


def task_statuses(status: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Task status bodies (``GET .../{id}``) that satisfy the ``task`` schema; UUID ids, ``task_id == id``."""
    if status is not None and status not in TASK_STATUSES:
        raise InvalidArgument(f"status={status!r} must be one of {TASK_STATUSES} or None")
    statuses = TASK_STATUSES if status is None else (status,)
    return st.one_of([_task_bodies(s, ("task_id", "task_replayed", "error_code")) for s in statuses])


def callback_payloads(status: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies RunAPI POSTs to ``callback_url`` when a task ends, per the ``callback_payload`` schema."""
    if status is not None and status not in CALLBACK_STATUSES:
        raise InvalidArgument(f"status={status!r} must be one of {CALLBACK_STATUSES} or None")
    statuses = CALLBACK_STATUSES if status is None else (status,)
    return st.one_of([_task_bodies(s, ("task_id", "usage")) for s in statuses])


@st.composite
def _error_envelopes(draw: st.DrawFn) -> dict[str, Any]:
    code = draw(st.one_of(st.sampled_from(ERROR_CODES), st.from_regex(r"[a-z0-9_]{1,24}", fullmatch=True)))
    body: dict[str, Any] = {"error": {"code": code, "message": draw(texts(1, 60))}}
    if code == "validation_failed" and draw(st.booleans()):
        names = sorted({name for model in load_catalog().models() for name in model.fields})
        messages = st.lists(texts(1, 40), min_size=1, max_size=2)
        body["errors"] = draw(st.dictionaries(st.sampled_from(names), messages, min_size=1, max_size=3))
    return body


def error_envelopes() -> st.SearchStrategy[dict[str, Any]]:
    """Error bodies ``{"error": {"code", "message"}}``, with per-field ``errors`` on validation_failed."""
    return _error_envelopes()
