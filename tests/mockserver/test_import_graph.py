"""The engine, the store and the dispatcher stay apart: no circle among them, and none imports the others.

Counting every import: module level, under TYPE_CHECKING and inside functions (the usual ways to dodge a
cycle that is still there). tests/test_import_graph.py checks both whole packages.

Run it as a script to print the graph: `python tests/mockserver/test_import_graph.py`.
"""

from __future__ import annotations

import ast
import graphlib
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "mockserver"
NAME = "runapi_mock"
# The modules of issue 10's circle (engine -> state -> callbacks -> engine) and the ones that now sit between.
CORE = ("engine", "state", "callbacks", "model", "events", "delivery")


def imports(path: Path, modules: set[str]) -> set[str]:
    """The package modules `path` imports (a name imported from the package itself counts as `__init__`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module is None:  # from . import a, b
                found.update(alias.name if alias.name in modules else "__init__" for alias in node.names)
            elif node.level == 1 and node.module is not None:  # from .a import b
                found.add(node.module.split(".")[0])
            elif node.level == 0 and node.module is not None and node.module.split(".")[0] == NAME:
                parts = node.module.split(".")
                found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == NAME:
                    found.add(parts[1] if len(parts) > 1 else "__init__")
    found.discard(path.stem)
    return found & modules


def graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    modules = {p.stem for p in package.glob("*.py")}
    return {p.stem: imports(p, modules) for p in sorted(package.glob("*.py"))}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as module names around the circle, or None when there is none."""
    try:
        tuple(graphlib.TopologicalSorter(edges).static_order())
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_the_core_modules_import_no_circle() -> None:
    edges = graph()
    core = {name: edges[name] & set(CORE) for name in CORE}
    assert cycle(core) is None, f"import cycle: {' -> '.join(cycle(core) or [])}"


def test_the_engine_imports_neither_the_store_nor_the_dispatcher() -> None:
    edges = graph()
    assert not edges["engine"] & {"state", "callbacks", "app"}
    assert not edges["state"] & {"engine", "callbacks", "app"}
    assert not edges["callbacks"] & {"engine", "state", "app"}
    assert not {"httpx"} & _third_party("delivery") and not {"httpx"} & _third_party("state")


def _third_party(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    names = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    names |= {node.module.split(".")[0] for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module}
    return names


@pytest.mark.parametrize("broken", [
    {"engine": {"state"}, "state": {"callbacks"}, "callbacks": {"engine"}},  # issue 10's circle
    {"model": {"events"}, "events": {"model"}},
])
def test_the_check_finds_a_circle(broken: dict[str, set[str]]) -> None:
    found = cycle(broken)
    assert found is not None and found[0] == found[-1] and set(found) == set(broken)


if __name__ == "__main__":
    edges = graph(Path(sys.argv[1]) if len(sys.argv) > 1 else PACKAGE)
    for name, targets in edges.items():
        print(f"{name:14} -> {', '.join(sorted(targets)) or '-'}")
    core = {name: edges.get(name, set()) & set(CORE) for name in CORE}
    print("cycle among", ", ".join(CORE) + ":", " -> ".join(cycle(core) or []) or "none")
    print("cycle in the package (every edge):", " -> ".join(cycle(edges) or []) or "none")
