"""JSON responses that never fail to encode (lone surrogates from hostile input are escaped)."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse


class JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")
