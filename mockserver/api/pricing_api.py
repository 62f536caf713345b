"""RunAPI's pricing and model-listing routes, answered from the catalog (runapi_contracts.pricing holds the data).

`GET /api/v1/price_schedules` (ETag; `If-None-Match` → 304), `POST /api/v1/price_quotes` and `GET /v1/models`
need no key, as the SDK's standalone `PricingClient` and the MCP client send none; a request that does send
one gets the key checks of every other route (401 for a malformed or unknown key, the per-minute limit).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from runapi_contracts import Violation, load_catalog
from runapi_contracts.pricing import AS_OF, find_action, find_family, model_list, price_quote, price_schedules
from runapi_contracts.validate import check_request

from .. import errors
from .admission import admit, validation_failed
from .parsing import header
from .responses import JSON

_FILTERS = ("service", "action", "model")
_QUOTE_FIELDS = ("service", "action", "model", "params")
_MAX_FILTER = 200


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@lru_cache(maxsize=256)
def _schedules_answer(service: str | None, action: str | None, model: str | None) -> tuple[bytes, str]:
    """The schedules' body and its ETag: the catalog does not change while the server runs, so once per filter."""
    body = {"as_of": AS_OF, "price_schedules": price_schedules(service, action, model)}
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return raw, _etag(raw)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110's weak comparison, as a GET's If-None-Match uses: `*`, or any listed tag, W/ or not."""
    if if_none_match is None:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


async def schedules(request: Request) -> Response:
    """GET /api/v1/price_schedules?service=&action=&model=: every schedule matching the filters."""
    await admit(request, key_optional=True)
    filters: dict[str, str | None] = {}
    for name in _FILTERS:
        value = request.query_params.get(name)
        if value is not None and len(value) > _MAX_FILTER:
            raise errors.BadRequest(f"{name} must be at most {_MAX_FILTER} characters", code="invalid_parameter")
        filters[name] = (value.strip() or None) if value is not None else None  # the SDK drops blank ones
    raw, etag = _schedules_answer(filters["service"], filters["action"], filters["model"])
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if _matches(header(request, "if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(raw, media_type="application/json", headers=headers)


def _quote_request(body: Any) -> tuple[Any, dict[str, Any], str, list[Violation]]:
    """The action, create body and estimate basis a quote request names, or its violations."""
    if not isinstance(body, dict):
        return None, {}, "", [Violation("", "type", "request body must be a JSON object")]
    violations = [Violation(name, "unknown_field", f"{name} is not a field of a price quote (service, action, "
                            "model, params)", f"/{name}") for name in body if name not in _QUOTE_FIELDS]
    violations += [Violation(name, "type", f"{name} must be a string", f"/{name}")
                   for name in ("service", "action", "model") if name in body and not isinstance(body[name], str)]
    violations += [Violation(name, "required", f"{name} is required", f"/{name}")
                   for name in ("service", "action") if name not in body]
    params = body.get("params", {})
    if not isinstance(params, dict):
        violations.append(Violation("params", "type", "params must be an object", "/params"))
    if violations:
        return None, {}, "", violations
    catalog = load_catalog()
    target = find_action(catalog, body["service"], body["action"])
    if target is None:
        family = find_family(catalog, body["service"])
        field = "service" if family is None else "action"
        choices = catalog.families() if family is None else sorted(a for f, a in catalog.actions if f == family)
        return None, {}, "", [Violation(field, "enum", f"{field} must be one of: {', '.join(choices)}",
                                        f"/{field}")]
    create = dict(params)
    model = body.get("model")
    if model is not None and create.get("model", model) != model:
        return None, {}, "", [Violation("model", "conflict", "model and params.model differ; send one", "/model")]
    if model is not None:
        create["model"] = model
    elif "model" not in create and len(target.models) == 1:
        create["model"] = next(iter(target.models))  # one model: nothing to choose
    return target, create, "request" if "params" in body else "defaults", []


async def quotes(request: Request) -> Response:
    """POST /api/v1/price_quotes {service, action, model?, params?}: what a create with params reserves.

    `params`, when sent, is validated as the create's body (same 422); without it, the quote is for a request
    that leaves every priced field at its default (`estimate_basis: defaults`).
    """
    admitted = await admit(request, body="json", key_optional=True, flaky_by_body=True)
    target, create, basis, violations = _quote_request(admitted.body)
    normalized = create
    if not violations:
        normalized, violations = check_request(target.family, target.name, create)
        if basis == "defaults":  # no params to check: only the model must be right
            violations = [v for v in violations if v.field == "model"]
    if violations:
        raise validation_failed(request, violations)
    model = target.models[normalized["model"]]
    return JSON({"price_quote": price_quote(model, normalized, basis=basis)})


async def models(request: Request) -> Response:
    """GET /v1/models: every catalog model, the routes it serves and their prices (RunAPI's MCP `listModels`)."""
    await admit(request, key_optional=True)
    return JSON(model_list())
