"""JSON responses that never fail to encode (lone surrogates from hostile input are escaped)."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse

# One encoder for every response: json.dumps() with options builds a new JSONEncoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"))


class JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return _ENCODER.encode(content).encode("ascii")
