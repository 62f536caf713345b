"""The walk of one create through the project's modules: how often control moves between them.

Runs one POST /api/v1/flux_kontext/text_to_image through the in-process app (an httpx.AsyncClient on the
ASGI app, one event loop in this thread) after a warm-up create, with sys.setprofile counting every Python
call whose code lives in `mockserver/` or `contracts/`. Control is "in" a module from the moment one of its
functions is called until that call returns; each change of module is a hop, and a hop into a module that
control had already been in and left (not the one it comes from) is a return; of those, the ones made by
calling into that module again (rather than by a callee returning to its caller) are counted apart.

    .venv/bin/python tools/create_walk.py            # the figures
    .venv/bin/python tools/create_walk.py --walk     # and the modules in the order control visits them

The figures count calls of the project's own functions, not the libraries' (Starlette, httpx) in between.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from runapi_mock import Settings, create_app

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {ROOT / "mockserver": "runapi_mock", ROOT / "contracts": "runapi_contracts"}
BODY = {"model": "flux-kontext-pro", "prompt": "a kettle on a stove"}
PATH = "/api/v1/flux_kontext/text_to_image"


def module_of(filename: str) -> str | None:
    """The project module a code object belongs to, as its import name; None outside the project."""
    path = Path(filename).resolve()
    for folder, name in PACKAGES.items():
        if path.is_relative_to(folder):
            parts = path.relative_to(folder).with_suffix("").parts
            return ".".join((name, *parts)).removesuffix(".__init__")
    return None


class Walk:
    """The stack of project modules control is in, and the counts of one traced request."""

    def __init__(self) -> None:
        self.stack: list[str | None] = []
        self.current: str | None = None
        self.visited: set[str] = set()
        self.calls = 0
        self.hops = 0
        self.returns = 0
        self.calls_back = 0  # of the returns: by a call into the module (not by a callee returning to it)
        self.order: list[str] = []

    def _enter(self, module: str | None, *, by_call: bool) -> None:
        if module is None or module == self.current:
            return
        if self.current is not None:
            self.hops += 1
            if module in self.visited:
                self.returns += 1
                self.calls_back += by_call
        self.visited.add(module)
        self.order.append(module)
        self.current = module

    def profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            module = module_of(frame.f_code.co_filename)
            self.stack.append(module)
            if module is not None:
                self.calls += 1
                self._enter(module, by_call=True)
        elif event == "return" and self.stack:
            self.stack.pop()
            caller = next((m for m in reversed(self.stack) if m is not None), None)
            if caller is not None:
                self._enter(caller, by_call=False)


async def main() -> Walk:
    app = create_app(Settings(seed=1))
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": "Bearer sk-walk"}
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
        warm = await client.post(PATH, json=BODY, headers=headers)  # caches filled, the namespace opened
        assert warm.status_code == 200, warm.text
        walk = Walk()
        sys.setprofile(walk.profile)
        try:
            answer = await client.post(PATH, json=BODY, headers=headers)
        finally:
            sys.setprofile(None)
        assert answer.status_code == 200, answer.text
    return walk


if __name__ == "__main__":
    walk = asyncio.run(main())
    print(f"project calls: {walk.calls}; modules: {len(walk.visited)}; hops between modules: {walk.hops}; "
          f"returns to a module already left: {walk.returns} ({walk.calls_back} of them by a call into it)")
    if "--walk" in sys.argv:
        print(" -> ".join(m.removeprefix("runapi_mock.") for m in walk.order))
