"""GET /api/v1/{family}/{task_id}: the status route without an action, as RunAPI's MCP server reads a task.

mcp-core's `getTask(service, taskId)` (runapi-ai/mcp-core src/runapi-client.ts) omits the action when it does
not know it, and sends only canonical UUIDs. One literal-family route per catalog family, whose task id must
be a UUID, so it never takes a path another route owns: `GET /api/v1/flux_2/text_to_image` stays that
create route's 405, `/api/v1/me/balance` and `/api/v1/files/…` stay theirs (no family is named so).
"""

from __future__ import annotations

import re
from functools import partial

from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import Route

from runapi_contracts import Catalog

from . import endpoints

__all__ = ["TaskIdConvertor", "family_status_routes"]


class TaskIdConvertor(Convertor[str]):
    """A canonical UUID (any case, as mcp-core's TASK_ID_PATTERN), kept as the text sent."""

    regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    _full = re.compile(regex)

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        if not self._full.fullmatch(value):
            raise ValueError(f"not a task id: {value!r}")
        return value


register_url_convertor("task_uuid", TaskIdConvertor())


def family_status_routes(catalog: Catalog) -> list[Route]:
    """One `GET /api/v1/{family}/{task_id}` per family: the family's task by id, whatever its action."""
    return [Route(f"/api/v1/{family}/{{task_id:task_uuid}}", partial(endpoints.get_task, family=family, action=None),
                  methods=["GET"], name=f"get:{family}")
            for family in sorted({family for family, _ in catalog.actions})]
