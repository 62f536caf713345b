"""JSON responses that never fail to encode (lone surrogates from hostile input are escaped)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from json import encoder as _json_encoder
from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import JSONResponse

TASK_ID_HEADER = "X-RunAPI-Task-Id"  # every answer about one task names it, errors included

# One encoder for every response: json.dumps() with options builds a new JSONEncoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _c_encoder() -> Any:
    """The C encoder JSONEncoder.encode builds anew on each call, built once; None where there is none or it
    does not give encode()'s bytes (its constructor is not public API). Without a markers dict: responses are
    built from the mock's own data, never circular."""
    make = getattr(_json_encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        encode = make(None, _ENCODER.default, _json_encoder.encode_basestring_ascii, None, ":", ",", False, False,
                      False)
        probe = {"a": [1, 2.5, None, True, "\u00e9\ud800"], "b": {"c": -0.0}}
        return encode if "".join(encode(probe, 0)) == _ENCODER.encode(probe) else None
    except Exception:
        return None


_C_ENCODE = _c_encoder()
_CONTENT_TYPE = (b"content-type", b"application/json")


class JSON(JSONResponse):
    def __init__(self, content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None,
                 media_type: str | None = None, background: BackgroundTask | None = None) -> None:
        if media_type is not None:
            super().__init__(content, status_code, headers, media_type, background)
            return
        # What Response.__init__ and init_headers make, in their order: the given headers, then length and type.
        self.status_code = status_code
        self.background = background
        self.body = body = self.render(content)
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()] if headers else []
        names = {name for name, _ in raw}
        if b"content-length" not in names and not (status_code < 200 or status_code in (204, 304)):
            raw.append((b"content-length", str(len(body)).encode("latin-1")))
        if b"content-type" not in names:
            raw.append(_CONTENT_TYPE)
        self.raw_headers = raw

    def render(self, content: Any) -> bytes:
        if _C_ENCODE is None or not isinstance(content, (dict, list)):
            return _ENCODER.encode(content).encode("ascii")
        return "".join(_C_ENCODE(content, 0)).encode("ascii")


def task_headers(task_id: str, retry_after: float | None = None) -> dict[str, str]:
    """The headers of an answer about one task: its id, and the poll's Retry-After when one is set."""
    headers = {TASK_ID_HEADER: task_id}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    return headers
