"""orjson where it gives exactly what the stdlib json module would, and a sign to use the stdlib where it may not.

Why: on the create path the stdlib's decoder was a few microseconds per request (issue 24), and the --state
committer's record encoding most of its work. orjson is several times faster, but it differs at the
edges: it reads integers past 64 bits as floats, refuses lone surrogates and integer keys, and serializes
dataclasses. Each function here returns None in those cases, and the caller does what it did before with the
stdlib, so every answer, message and stored record means what it meant.

NaN and infinity are the one difference left to the callers: orjson writes them as null where the stdlib
writes NaN (or refuses them, with allow_nan=False: so responses keep the stdlib encoder, whose refusal a test
pins). The records --state writes hold none: the mock's doors refuse them (api.parsing for bodies, settings
for options).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

# orjson reads an integer past 64 bits as a float; any run of 19 digits (2**63 has 19) goes the stdlib's way.
_LONG_DIGITS = re.compile(rb"[0-9]{19}")
# What orjson serializes and the stdlib refuses goes to `default`, which refuses it too.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def _refuse(value: object) -> None:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def loads(raw: bytes) -> Any | None:
    """The JSON value in UTF-8 `raw` as json.loads reads it; None when orjson cannot say (the caller decodes
    with the stdlib then: its value, or its error). A body that is JSON `null` is None too: decoded again."""
    if _LONG_DIGITS.search(raw) is not None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def dumps(value: Any) -> bytes | None:
    """Compact UTF-8 JSON of `value` (as json.dumps(separators=(",", ":"), ensure_ascii=False) gives, up to
    the spelling of some floats: 1e-07 is 1e-7), or None where the stdlib encoder must write or refuse it
    (integers past 64 bits, non-string keys, lone surrogates, objects it cannot encode)."""
    try:
        return orjson.dumps(value, default=_refuse, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError included
        return None
