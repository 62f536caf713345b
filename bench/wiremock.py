"""WireMock for the bench: the `wiremock` npm package (it bundles the standalone jar) installed into
bench/.node, a stub mapping for the mock's create route, and the server started as users start it.

`npx wiremock --port N` runs `java -jar <the bundled jar> --port N` as a child of node; the bench runs that
java command itself, so the server's CPU time read from /proc is the JVM's own (a parent's /proc counts a
child's time only once it exits). Defaults as users run it: the request journal on, no JVM options.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from drivers import CREATE_PATH
from reference_app import TASK
from servers import BENCH, HOST, Server, free_port

NODE_DIR = BENCH / ".node"
WIREMOCK_VERSION = "3.13.2"
PACKAGE = NODE_DIR / "node_modules" / "wiremock"
HEALTH = "/__admin/health"


def stub_mapping() -> dict[str, Any]:
    """POST on the create route answers what the mock answers to a create: its JSON task (a fixed id, as the
    reference's) with the same compact bytes and the X-RunAPI-Task-Id header."""
    body = json.dumps(TASK, separators=(",", ":"))
    return {"request": {"method": "POST", "urlPath": CREATE_PATH},
            "response": {"status": 200, "body": body,
                         "headers": {"Content-Type": "application/json", "X-RunAPI-Task-Id": TASK["id"]}}}


def write_root(root: Path) -> Path:
    """A WireMock root directory (`--root-dir`) holding the one stub mapping; returns the mapping's file."""
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    (root / "__files").mkdir(exist_ok=True)
    mapping = root / "mappings" / "create.json"
    mapping.write_text(json.dumps(stub_mapping(), indent=1))
    return mapping


def installed_jar() -> Path | None:
    """The bundled standalone jar when bench/.node holds wiremock at WIREMOCK_VERSION."""
    pkg = PACKAGE / "package.json"
    if not pkg.exists() or json.loads(pkg.read_text()).get("version") != WIREMOCK_VERSION:
        return None
    jars = sorted((PACKAGE / "build").glob("wiremock-standalone-*.jar"))
    return jars[0] if len(jars) == 1 else None


def install(npm: str) -> tuple[Path | None, str]:
    """npm-install wiremock@WIREMOCK_VERSION into bench/.node; the jar, or None and why not."""
    NODE_DIR.mkdir(exist_ok=True)
    done = subprocess.run([npm, "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", "--loglevel=error",
                           f"wiremock@{WIREMOCK_VERSION}"], capture_output=True, text=True, timeout=600)
    jar = installed_jar()
    if done.returncode != 0 or jar is None:
        return None, f"npm install wiremock@{WIREMOCK_VERSION} failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return jar, ""


def java_version(java: str) -> str:
    done = subprocess.run([java, "-version"], capture_output=True, text=True)
    lines = (done.stderr or done.stdout).splitlines()
    return lines[0].strip() if lines else "java"


def wiremock_server(java: str, jar: Path, root: Path) -> Server:
    port = free_port()
    return Server("wiremock", [java, "-jar", str(jar), "--port", str(port), "--bind-address", HOST,
                               "--root-dir", str(root), "--disable-banner"], port, health=HEALTH)


def tools() -> tuple[str | None, str | None]:
    """(java, npm) on PATH, each None when missing."""
    return shutil.which("java"), shutil.which("npm")
