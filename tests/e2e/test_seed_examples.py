"""The public docs' curl examples (the seed pages), run verbatim with the real `curl` against a served mock.

Each seed page is read at test time; its `curl -X POST https://runapi.ai/...` block is cut out (HTML entities
unescaped), only the host is swapped for the mock's base URL, and the command runs through `bash -c` so that
`$RUNAPI_API_KEY` expands. The documented response (`task_id`, `status`, `model`) is then checked and the
task polled on `GET /v1/tasks/{task_id}` to completion (immediate progression).
"""

from __future__ import annotations

import html
import io
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from runapi_mock import Settings
from runapi_mock.engine.lifecycle import Progression
from runapi_mock.serving.server import RunningServer, serve_in_thread

SEEDS = Path("/work/shared/seeds")
HOST = "https://runapi.ai"
API_KEY = "test-key"
CURL = shutil.which("curl")


def read_seed(path: Path) -> str:
    return html.unescape(path.read_text(encoding="utf-8"))


def curl_blocks(text: str) -> list[str]:
    """Every `curl ... https://runapi.ai/...` command: continuation lines, and a quoted body to its close."""
    lines = text.splitlines()
    blocks: list[str] = []
    i = 0
    while i < len(lines):
        if not re.match(rf"\s*curl\s.*{re.escape(HOST)}/", lines[i]):
            i += 1
            continue
        command = [lines[i]]
        while (command[-1].rstrip().endswith("\\") or "\n".join(command).count("'") % 2 == 1) \
                and i + 1 < len(lines):
            i += 1
            command.append(lines[i])
        blocks.append("\n".join(command).strip())
        i += 1
    return blocks


def documented_response(text: str, after: str) -> dict[str, Any] | None:
    """The first JSON object with a `task_id` printed after the curl command (the page's sample response)."""
    rest = text[text.index(after) + len(after):]
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", rest):
        try:
            value, _ = decoder.raw_decode(rest, match.start())
        except ValueError:
            continue
        if isinstance(value, dict) and "task_id" in value:
            return value
    return None


def request_body(command: str) -> dict[str, Any]:
    match = re.search(r"-d\s+'(.*?)'", command, re.DOTALL)
    assert match, f"no -d '...' body in {command!r}"
    return json.loads(match.group(1))


SEED_FILES = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
CURL_SEEDS = [path for path in SEED_FILES if curl_blocks(read_seed(path))]

# Pixel size of the first image for a given (aspect_ratio, output_resolution), or per-model defaults.
EXPECTED_SIZES = {
    "flux-kontext-pro": {(None, None): (1024, 576)},  # defaults: 16:9 at 1k
    "flux-2-pro-text-to-image": {("3:4", "2k"): (1536, 2048)},
    "gpt-image-2-text-to-image": {("3:4", "2k"): (1536, 2048)},
}
EXPECTED_FORMATS = {"flux-kontext-pro": "JPEG"}  # Flux Kontext defaults to jpeg; the others serve PNG


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    # Only the key the examples' $RUNAPI_API_KEY expands to is accepted: an unexpanded variable would 401.
    running = serve_in_thread(Settings(port=0, progression=Progression.parse("immediate"),
                                       api_keys=(API_KEY,)))
    try:
        yield running
    finally:
        running.stop()


def run_curl(command: str, base_url: str) -> dict[str, Any]:
    """Run the page's command (host swapped, nothing else changed); the parsed body and the HTTP status.

    The command prints only the body, so the status is read back from the mock's journal entry of the
    request that created the task.
    """
    assert command.count(HOST) == 1
    local = command.replace(HOST, base_url)
    env = {name: value for name, value in os.environ.items() if not name.lower().endswith("_proxy")}
    env.update(RUNAPI_API_KEY=API_KEY, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    done = subprocess.run(["bash", "-c", local], env=env, capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 0, f"curl exited {done.returncode}: {done.stderr}"
    try:
        body = json.loads(done.stdout)
    except ValueError:
        pytest.fail(f"the response is not JSON: {done.stdout!r}")
    assert isinstance(body, dict), body
    assert isinstance(body.get("task_id"), str) and body["task_id"], body
    entries = httpx.get(f"{base_url}/_mock/journal",
                        params={"method": "POST", "task_id": body["task_id"]}).json()["entries"]
    assert len(entries) == 1, entries
    assert entries[0]["key"] == API_KEY
    return {"body": body, "status": entries[0]["status"], "path": entries[0]["path"]}


def test_seed_pages_are_present_and_have_curl_examples() -> None:
    """Guards the parametrisation below: the seed pages exist and the extractor finds their examples."""
    assert len(SEED_FILES) >= 5
    assert len(CURL_SEEDS) >= 4
    for path in CURL_SEEDS:
        (block,) = curl_blocks(read_seed(path))
        assert block.startswith(f"curl -X POST {HOST}/v1/text_to_image")
        assert "$RUNAPI_API_KEY" in block
        assert "&quot;" not in block and "&#39;" not in block
        assert request_body(block)["model"]
    for path in SEED_FILES:
        if path not in CURL_SEEDS:  # pages without an example must not hide one the extractor missed
            assert "curl" not in read_seed(path).lower(), path.name


@pytest.mark.skipif(CURL is None, reason="the curl binary is not installed (shutil.which('curl') is None)")
@pytest.mark.parametrize("seed", CURL_SEEDS, ids=[path.name for path in CURL_SEEDS])
def test_seed_curl_example(server: RunningServer, seed: Path) -> None:
    text = read_seed(seed)
    (command,) = curl_blocks(text)
    sent = request_body(command)

    done = run_curl(command, server.base_url)
    assert done["status"] == 200
    assert done["path"] == "/v1/text_to_image"
    body = done["body"]
    assert body["status"] == "pending"
    assert isinstance(body.get("model"), str) and body["model"]

    headers = {"Authorization": f"Bearer {API_KEY}"}
    task_id = body["task_id"]
    for _ in range(5):
        polled = httpx.get(f"{server.base_url}/v1/tasks/{task_id}", headers=headers)
        assert polled.status_code == 200, polled.text
        task = polled.json()
        assert task["task_id"] == task_id
        if task["status"] == "completed":
            break
        assert task["status"] in ("pending", "processing")
    else:
        pytest.fail(f"task {task_id} did not complete: {task}")

    images = task["images"]
    assert len(images) == 1
    image = httpx.get(images[0]["url"])
    assert image.status_code == 200
    with Image.open(io.BytesIO(image.content)) as decoded:
        assert decoded.format == EXPECTED_FORMATS.get(sent["model"], "PNG")
        expected = EXPECTED_SIZES[sent["model"]]
        assert decoded.size == expected[(sent.get("aspect_ratio"), sent.get("output_resolution"))]


@pytest.mark.skipif(CURL is None, reason="the curl binary is not installed (shutil.which('curl') is None)")
@pytest.mark.parametrize(
    "seed",
    [pytest.param(path, id=path.name) for path in CURL_SEEDS],
)
def test_seed_curl_response_matches_documented_response(server: RunningServer, seed: Path) -> None:
    """The create response's `status` and `model` are the ones the page prints (its task id is a sample)."""
    text = read_seed(seed)
    (command,) = curl_blocks(text)
    documented = documented_response(text, command)
    assert documented is not None, "the page prints no sample response after its curl example"

    done = run_curl(command, server.base_url)
    assert done["status"] == 200
    body = done["body"]
    assert body["status"] == documented["status"]
    assert body["model"] == documented["model"] == request_body(command)["model"]
