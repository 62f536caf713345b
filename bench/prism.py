"""Prism for the bench: `@stoplight/prism-cli` installed with npm into bench/.node, mocking the mock's own
/openapi.json (static examples, request validation on), started as `prism mock` is."""

from __future__ import annotations

import json
import shutil
import subprocess

from drivers import CREATE_PATH
from servers import BENCH, HOST, OUT, Server, free_port

NODE_DIR = BENCH / ".node"
PRISM_VERSION = "5.14.2"
PACKAGE = NODE_DIR / "node_modules" / "@stoplight" / "prism-cli"
CLI = PACKAGE / "dist" / "index.js"


def installed() -> bool:
    pkg = PACKAGE / "package.json"
    return pkg.exists() and json.loads(pkg.read_text()).get("version") == PRISM_VERSION and CLI.exists()


def install(npm: str) -> str:
    """npm-install the pinned prism-cli into bench/.node; '' on success, else why not."""
    NODE_DIR.mkdir(exist_ok=True)
    done = subprocess.run([npm, "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", "--loglevel=error",
                           f"@stoplight/prism-cli@{PRISM_VERSION}"], capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or not installed():
        return f"npm install @stoplight/prism-cli@{PRISM_VERSION} failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return ""


def node_version(node: str) -> str:
    return subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()


def prism_server(node: str, document: object) -> Server:
    """Prism mocking `document` (the mock's /openapi.json, saved to bench/out/openapi.json)."""
    spec = OUT / "openapi.json"
    spec.write_text(json.dumps(document, indent=1))
    port = free_port()
    return Server("prism", [node, str(CLI), "mock", "-h", HOST, "-p", str(port), str(spec)], port,
                  health=CREATE_PATH + "/00000000-0000-4000-8000-000000000000")


def tools() -> tuple[str | None, str | None]:
    """(node, npm) on PATH, each None when missing."""
    return shutil.which("node"), shutil.which("npm")
