"""fast_json gives what the stdlib json module gives, or None where it might not (the callers then use the stdlib),
and never None for a plain value; state_records.dump, which falls back on the stdlib, stores every record.

Shown failing: with the 19-digit guard removed, an integer past 64 bits decodes as a float; with dumps
taking what orjson serializes and the stdlib refuses (no `default`), a dataclass encodes; with dump falling back
on orjson's OPT_NON_STR_KEYS, integer keys and integers past 64 bits fail."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from runapi_mock import fast_json
from runapi_mock.background import state_records

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
_VALUES = st.recursive(_SCALARS, lambda children: st.lists(children, max_size=4)
                       | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=25)


def _plain(value: Any) -> bool:
    """Whether orjson takes `value` as the stdlib does: string keys, integers within 64 bits, strings that are
    UTF-8 text."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(k) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, str):
        return all(not "\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**64
    return True


def _same(a: Any, b: Any) -> bool:
    """Equal, with types: 1 and 1.0 (and True) are different JSON values to a client that checks types."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and (a == b or (isinstance(a, float) and repr(a) == repr(b)))


@settings(max_examples=400, deadline=None)
@given(_VALUES)
@example(2**63)
@example(-(2**63) - 1)
@example(12345678901234567890123)
@example(2**64)
@example({"a": [0.1, 1e-7, 1e22, -0.0, 5e-324]})
def test_loads_reads_what_the_stdlib_reads(value: Any) -> None:
    raw = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    read = fast_json.loads(raw)
    if read is not None:  # None: the caller asks the stdlib
        assert _same(read, json.loads(raw))
    elif value is not None and _plain(value) and not re.search(rb"[0-9]{19}", raw):
        raise AssertionError(f"orjson was not used for {raw!r}")


@given(st.from_regex(r"-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,24})?([eE][-+]?[0-9]{1,3})?", fullmatch=True))
def test_loads_reads_numbers_as_the_stdlib_does(number: str) -> None:
    raw = number.encode()
    expected = json.loads(raw)
    if expected in (float("inf"), float("-inf")):
        assert fast_json.loads(raw) is None  # the stdlib path refuses it with its message
        return
    read = fast_json.loads(raw)
    if read is not None:
        assert _same(read, expected)


def test_loads_leaves_to_the_stdlib_what_orjson_reads_otherwise_or_refuses() -> None:
    assert fast_json.loads(b'{"n": 123456789012345678901234567890}') is None  # orjson: a float
    assert fast_json.loads(b'{"a": "\\ud800"}') is None  # a lone surrogate: the stdlib path names it
    assert fast_json.loads('{"a": 1}'.encode("utf-16")) is None  # not UTF-8: the stdlib detects the encoding
    assert fast_json.loads(b'{"a": NaN}') is None
    assert fast_json.loads(b'{"a": 1e400}') is None
    assert fast_json.loads(b'{"n": 9223372036854775807}') is None  # 19 digits: the stdlib's, to be sure
    assert fast_json.loads(b'{"n": 922337203685477580}') == {"n": 922337203685477580}


@settings(max_examples=400, deadline=None)
@given(_VALUES)
def test_dumps_writes_what_the_stdlib_writes(value: Any) -> None:
    written = fast_json.dumps(value)
    stdlib = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if written is None:
        assert not _plain(value), f"orjson was not used for {value!r}"
        return
    assert _same(json.loads(written), json.loads(stdlib))
    if not _has_float(value):  # only floats may be spelled otherwise (1e-07 / 1e-7)
        assert written.decode("utf-8") == stdlib


def _has_float(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return isinstance(value, float)


@dataclasses.dataclass
class _Thing:
    name: str


def test_dumps_leaves_to_the_stdlib_what_it_refuses_or_writes_otherwise() -> None:
    assert fast_json.dumps({"big": 2**64}) is None
    assert fast_json.dumps({1: "a"}) is None
    assert fast_json.dumps({"a": "\ud800"}) is None
    assert fast_json.dumps({"thing": _Thing("x")}) is None  # the stdlib refuses a dataclass: so does the caller
    assert fast_json.dumps({"a": [1, 2.5, None, True, "caf\u00e9"]}) == '{"a":[1,2.5,null,true,"caf\u00e9"]}'.encode()


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _VALUES, max_size=6) | st.dictionaries(st.integers(), _VALUES, max_size=3))
def test_a_stored_record_reads_back_as_the_stdlib_encoder_would_write_it(record: dict[Any, Any]) -> None:
    """state_records.dump (fast_json, else the stdlib encoder: integers past 64 bits, integer keys, lone
    surrogates) writes every record, as text that reads back as the stdlib encoder's does."""
    assert json.loads(state_records.dump(record)) == json.loads(state_records._ENCODER.encode(record))


def test_dump_writes_what_orjson_refuses_with_the_stdlib_encoder() -> None:
    assert state_records.dump({"big": 2**70, "text": "caf\u00e9 \u2028"}) == \
        '{"big":1180591620717411303424,"text":"caf\u00e9 \u2028"}'
    assert state_records.dump({1: "a"}) == '{"1":"a"}'
