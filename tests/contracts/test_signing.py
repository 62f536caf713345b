from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runapi_contracts import signing
from runapi_contracts.signing import (
    FutureTimestamp,
    InvalidSecret,
    MalformedHeader,
    MissingHeader,
    SignatureError,
    SignatureMismatch,
    StaleTimestamp,
    callback_headers,
    generate_secret,
    sign,
    verify,
)

VECTORS = json.loads((Path(__file__).parents[2] / "fixtures" / "signing-vectors.json").read_text())
SECRET: str = VECTORS["secret"]
CALLBACK_ID: str = VECTORS["callback_id"]
TS: int = VECTORS["timestamp"]
BODY = VECTORS["vectors"][0]["body"].encode()


def headers_for(body: bytes = BODY, *, secret: str = SECRET, ts: int = TS) -> dict[str, str]:
    return callback_headers(secret, CALLBACK_ID, ts, body)


def independent_signature(secret: str, callback_id: str, ts: int, body: bytes) -> str:
    key = base64.b64decode(secret)
    message = callback_id.encode() + b"." + str(ts).encode() + b"." + body
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_fixture_vectors_match_sign(vector: dict[str, object]) -> None:
    signature = sign(SECRET, CALLBACK_ID, TS, str(vector["body"]).encode())
    assert (signature == vector["signature"]) is vector["valid"]


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_fixture_vectors_verify_or_mismatch(vector: dict[str, object]) -> None:
    headers = {**headers_for(), "X-Callback-Signature": str(vector["signature"])}
    body = str(vector["body"]).encode()
    if vector["valid"]:
        verify(SECRET, headers, body, now=TS)  # type: ignore[arg-type]
    else:
        with pytest.raises(SignatureMismatch):
            verify(SECRET, headers, body, now=TS)  # type: ignore[arg-type]


def test_sign_agrees_with_an_independent_implementation() -> None:
    secret = generate_secret()
    body = b'{"id":"t","status":"completed","images":[]}'
    assert sign(secret, "cb-1", 1700000000, body) == independent_signature(secret, "cb-1", 1700000000, body)


def test_timestamp_as_int_or_str_signs_the_same() -> None:
    assert sign(SECRET, CALLBACK_ID, TS, BODY) == sign(SECRET, CALLBACK_ID, str(TS), BODY)


def test_generate_secret_is_32_random_bytes_in_base64() -> None:
    first, second = generate_secret(), generate_secret()
    assert len(base64.b64decode(first, validate=True)) == 32
    assert first != second


def test_callback_headers_carry_all_three_and_json_content_type() -> None:
    headers = headers_for()
    assert headers == {
        "Content-Type": "application/json",
        "X-Callback-Id": CALLBACK_ID,
        "X-Callback-Timestamp": str(TS),
        "X-Callback-Signature": VECTORS["vectors"][0]["signature"],
    }


def test_valid_callback_verifies() -> None:
    assert verify(SECRET, headers_for(), BODY, now=TS + 1.5) is None


@pytest.mark.parametrize("transform", [str.lower, str.upper, str.swapcase])
def test_header_names_match_in_any_case(transform: object) -> None:
    headers = {transform(name): value for name, value in headers_for().items()}  # type: ignore[operator]
    verify(SECRET, headers, BODY, now=TS)


def test_wrong_secret_is_a_mismatch() -> None:
    with pytest.raises(SignatureMismatch, match="does not match"):
        verify(generate_secret(), headers_for(), BODY, now=TS)


def test_tampered_body_is_a_mismatch() -> None:
    with pytest.raises(SignatureMismatch):
        verify(SECRET, headers_for(), BODY.replace(b"a.png", b"b.png"), now=TS)


def test_reserialised_body_is_a_mismatch() -> None:
    reserialised = json.dumps(json.loads(BODY)).encode()
    with pytest.raises(SignatureMismatch):
        verify(SECRET, headers_for(), reserialised, now=TS)


def test_stale_timestamp_is_rejected() -> None:
    with pytest.raises(StaleTimestamp, match="301s old"):
        verify(SECRET, headers_for(), BODY, now=TS + 301)


def test_future_timestamp_is_rejected() -> None:
    with pytest.raises(FutureTimestamp, match="301s ahead"):
        verify(SECRET, headers_for(), BODY, now=TS - 301)


@pytest.mark.parametrize("offset", [-300, 300])
def test_exactly_at_tolerance_is_accepted(offset: int) -> None:
    verify(SECRET, headers_for(), BODY, now=TS + offset)


def test_custom_tolerance_applies() -> None:
    verify(SECRET, headers_for(), BODY, now=TS + 1000, tolerance=1000)
    with pytest.raises(StaleTimestamp):
        verify(SECRET, headers_for(), BODY, now=TS + 11, tolerance=10)


@pytest.mark.parametrize("header", ["X-Callback-Id", "X-Callback-Timestamp", "X-Callback-Signature"])
def test_each_missing_header_is_named(header: str) -> None:
    headers = headers_for()
    del headers[header]
    with pytest.raises(MissingHeader, match=header) as info:
        verify(SECRET, headers, BODY, now=TS)
    assert info.value.header == header


@pytest.mark.parametrize(
    "timestamp", ["", "1767225600.0", "-1767225600", " 1767225600", "1767225600\n", "1e9", "١٢٣", "9" * 16]
)
def test_malformed_timestamp_is_rejected(timestamp: str) -> None:
    headers = {**headers_for(), "X-Callback-Timestamp": timestamp}
    with pytest.raises(MalformedHeader, match="X-Callback-Timestamp"):
        verify(SECRET, headers, BODY, now=TS)


@pytest.mark.parametrize("callback_id", ["", "id\nwith-newline", "id\x00", "idé"])
def test_malformed_callback_id_is_rejected(callback_id: str) -> None:
    headers = {**headers_for(), "X-Callback-Id": callback_id}
    with pytest.raises(MalformedHeader, match="X-Callback-Id"):
        verify(SECRET, headers, BODY, now=TS)


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_signature_of_wrong_length_is_malformed(size: int) -> None:
    headers = {**headers_for(), "X-Callback-Signature": base64.b64encode(b"x" * size).decode()}
    with pytest.raises(MalformedHeader, match=f"got {size} bytes"):
        verify(SECRET, headers, BODY, now=TS)


@pytest.mark.parametrize(
    "signature",
    [
        "%not-base64%",
        "Q8ayPEQGCOz33pU45216be7KticcIZitTfVlrFktzd8",  # padding dropped
        "Q8ayPEQGCOz33pU45216be7KticcIZitTfVlrFktzd8=é",
        "Q8ayPEQGCOz33pU45216be7KticcIZitTfVlrFktzd8_",  # URL-safe alphabet
    ],
)
def test_non_base64_signature_is_malformed(signature: str) -> None:
    headers = {**headers_for(), "X-Callback-Signature": signature}
    with pytest.raises(MalformedHeader, match="non-base64"):
        verify(SECRET, headers, BODY, now=TS)


@pytest.mark.parametrize("secret", ["not base64!", "cnVuYXBpLW1vY2s", "", "cnVuYXBpLW1vY2s=é"])
def test_invalid_secret_is_rejected_by_verify_and_sign(secret: str) -> None:
    with pytest.raises(InvalidSecret):
        verify(secret, headers_for(), BODY, now=TS)
    with pytest.raises(InvalidSecret):
        sign(secret, CALLBACK_ID, TS, BODY)


@pytest.mark.parametrize("timestamp", ["abc", "", "17e9", "-1", " 1700000000", "1.5", "1" * 16])
def test_sign_refuses_a_timestamp_verify_would_refuse(timestamp: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(MalformedHeader):
        sign(SECRET, CALLBACK_ID, timestamp, BODY)
    from runapi_contracts.cli import main

    assert main(["sign", "--secret", SECRET, "--id", CALLBACK_ID, "--timestamp", timestamp, "--body", "{}"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("runapi-mock: error: X-Callback-Timestamp must be Unix seconds")


def test_undecoded_secret_signature_is_rejected() -> None:
    bug = hmac.new(SECRET.encode(), f"{CALLBACK_ID}.{TS}.".encode() + BODY, hashlib.sha256).digest()
    headers = {**headers_for(), "X-Callback-Signature": base64.b64encode(bug).decode()}
    assert headers["X-Callback-Signature"] == VECTORS["vectors"][2]["signature"]
    with pytest.raises(SignatureMismatch):
        verify(SECRET, headers, BODY, now=TS)


def test_every_failure_is_a_value_error() -> None:
    failures = [InvalidSecret, MissingHeader, MalformedHeader, StaleTimestamp, FutureTimestamp]
    assert all(issubclass(exc, SignatureError) for exc in [*failures, SignatureMismatch])
    assert issubclass(SignatureError, ValueError)


# A webhook handler in production imports this one file (or vendors it): nothing but the standard library.
STDLIB_ONLY = """
import importlib.abc, importlib.util, json, sys

class StdlibOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] not in sys.stdlib_module_names:
            raise ImportError(f"signing.py imported {name}, which is not in the standard library")
        return None

sys.meta_path.insert(0, StdlibOnly())
path, vector = sys.argv[1], json.loads(sys.argv[2])
# The file itself, not the package: runapi_contracts/__init__.py imports jsonschema for validation.
spec = importlib.util.spec_from_file_location("vendored_signing", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
headers = {"X-Callback-Id": vector["id"], "X-Callback-Timestamp": str(vector["ts"]),
           "X-Callback-Signature": vector["signature"]}
module.verify(vector["secret"], headers, vector["body"].encode(), now=vector["ts"])
print("verified")
"""


def test_signing_imports_only_the_standard_library() -> None:
    vector = {"id": CALLBACK_ID, "ts": TS, "secret": SECRET, "body": VECTORS["vectors"][0]["body"],
              "signature": VECTORS["vectors"][0]["signature"]}
    # -I -S: no site-packages, no .pth import hooks, no PYTHONPATH; the finder makes any other import an error.
    done = subprocess.run([sys.executable, "-I", "-S", "-c", STDLIB_ONLY, signing.__file__, json.dumps(vector)],
                          check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "verified\n"


def test_the_readmes_production_handler_passes_check_webhook(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from runapi_contracts.webhook_check import check_webhook

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("### Verify callbacks in production"):]
    code = section[section.index("```python\n") + len("```python\n"):section.index("\n```\n")]
    shutil.copy(signing.__file__, tmp_path / "runapi_signing.py")  # vendored, as the README says
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("RUNAPI_CALLBACK_SECRET", SECRET)
    namespace: dict[str, object] = {}
    try:
        exec(compile(code, "README.md", "exec"), namespace)
    finally:
        sys.modules.pop("runapi_signing", None)

    app = Starlette(routes=[Route("/webhooks/runapi", namespace["runapi_webhook"], methods=["POST"])])
    with TestClient(app, base_url="http://127.0.0.1") as client:
        report = check_webhook("http://127.0.0.1/webhooks/runapi", SECRET, client=client)
    assert report.passed, report.table()
    assert sum(result.accepted for result in report.results) == 2  # the valid callback and its replay
