"""GET /api/v1/prompts: RunAPI's prompt library, as RunAPI's MCP server searches it (`search_prompts`).

No key is needed (mcp-core sends none); a request that sends one gets the key checks of every route, as the
pricing routes do. The library and its search are runapi_contracts.prompt_library's.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runapi_contracts.prompt_library import parse_query, search_prompts

from .. import errors
from .admission import admit
from .responses import JSON


async def prompts(request: Request) -> Response:
    """GET /api/v1/prompts?modality=&category=&tags=&q=&model=&featured=&page=&per_page=: one page of matches."""
    await admit(request, key_optional=True)
    try:
        query = parse_query(request.query_params)
    except ValueError as exc:
        raise errors.BadRequest(str(exc), code="invalid_parameter") from None
    return JSON(search_prompts(query))
