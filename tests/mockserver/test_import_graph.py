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
CORE = ("engine.tasks", "engine.core", "engine.namespaces", "engine.upload_book", "background.state",
        "background.callbacks", "engine.model", "engine.events", "engine.delivery")
ENGINE = "engine."  # the engine's package: none of it imports the store, the dispatcher or the app
BACKGROUND = {"background.state", "background.callbacks", "serving.app"}
# The engine's operations; the store and the dispatcher may read its data (model, events), never call it.
OPERATIONS = {"engine", "engine.tasks", "engine.core", "engine.namespaces", "engine.upload_book"}


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name under the package ("engine.tasks"; "" for the package itself) -> file."""
    found: dict[str, Path] = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The package modules `module` imports: relative, absolute (`runapi_mock.x`), deferred or TYPE_CHECKING
    ones alike; `from pkg import sub` counts as importing pkg.sub."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                target = ".".join(p for p in (base, node.module or "") if p)
            elif node.module is not None and node.module.split(".")[0] == NAME:
                target = node.module.partition(".")[2]
            else:
                continue
            found.update(f"{target}.{a.name}".strip(".") if f"{target}.{a.name}".strip(".") in known else target
                         for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.partition(".")[2] for a in node.names if a.name.split(".")[0] == NAME)
    return {name for name in found if name in known and name != module}


def graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    known = modules(package)
    return {name: imports(name, path, set(known)) for name, path in known.items()}


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
    engine = [name for name in edges if name.startswith(ENGINE) or name == "engine"]
    assert len(engine) > 5
    assert not {target for name in engine for target in edges[name]} & BACKGROUND
    assert not edges["background.state"] & (OPERATIONS | {"background.callbacks", "serving.app"})
    assert not edges["background.callbacks"] & (OPERATIONS | {"background.state", "serving.app"})
    assert not {"httpx"} & _third_party("engine.delivery") and not {"httpx"} & _third_party("background.state")


def _third_party(module: str) -> set[str]:
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    names = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    names |= {node.module.split(".")[0] for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module}
    return names


@pytest.mark.parametrize("broken", [
    {"engine.tasks": {"background.state"}, "background.state": {"background.callbacks"},
     "background.callbacks": {"engine.tasks"}},  # issue 10's circle
    {"engine.model": {"engine.events"}, "engine.events": {"engine.model"}},
])
def test_the_check_finds_a_circle(broken: dict[str, set[str]]) -> None:
    found = cycle(broken)
    assert found is not None and found[0] == found[-1] and set(found) == set(broken)


if __name__ == "__main__":
    edges = graph(Path(sys.argv[1]) if len(sys.argv) > 1 else PACKAGE)
    for name, targets in edges.items():
        print(f"{name:24} -> {', '.join(sorted(targets)) or '-'}")
    core = {name: edges.get(name, set()) & set(CORE) for name in CORE}
    print("cycle among", ", ".join(CORE) + ":", " -> ".join(cycle(core) or []) or "none")
    print("cycle in the package (every edge):", " -> ".join(cycle(edges) or []) or "none")
