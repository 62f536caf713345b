"""Both packages import without circles, and the contracts never import the server.

Every import counts: module level, under TYPE_CHECKING and inside functions. Run it as a script to print
each package's edges and its cycle check: `python tests/test_import_graph.py`.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"runapi_mock": ROOT / "mockserver", "runapi_contracts": ROOT / "contracts"}


def modules(name: str, folder: Path) -> dict[str, Path]:
    """Dotted module name -> file, for a package folder installed as `name`."""
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*.py")):
        parts = [name, *path.relative_to(folder).with_suffix("").parts]
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The modules among `known` that `module` imports (`from pkg import sub` counts as importing pkg.sub)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.update(f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target
                         for alias in node.names)
    return {name for name in found if name in known and name != module}


def graph(*names: str) -> dict[str, set[str]]:
    every = {module: path for name in names for module, path in modules(name, PACKAGES[name]).items()}
    return {module: imports(module, path, set(every)) for module, path in every.items()}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as module names around the circle, or None when there is none."""
    try:
        tuple(graphlib.TopologicalSorter(edges).static_order())
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_the_package_imports_no_circle(name: str) -> None:
    edges = graph(name)
    assert len(edges) > 10, "the graph found too few modules to mean anything"
    assert cycle(edges) is None, f"import cycle: {' -> '.join(cycle(edges) or [])}"


def test_the_contracts_import_nothing_from_the_server() -> None:
    edges = graph("runapi_mock", "runapi_contracts")
    back = {(source, target) for source, targets in edges.items() if source.startswith("runapi_contracts")
            for target in targets if target.startswith("runapi_mock")}
    assert not back, f"runapi_contracts imports the server: {sorted(back)}"
    assert any(target.startswith("runapi_contracts") for targets in edges.values() for target in targets)


def test_the_reader_sees_relative_absolute_and_deferred_imports(tmp_path: Path) -> None:
    # A package with a circle through a function-level import and a parent-relative one: both are edges.
    (tmp_path / "sub").mkdir()
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "a.py").write_text("def f():\n    from .sub import b\n")
    (tmp_path / "sub" / "__init__.py").write_text("")
    (tmp_path / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import a\n")
    known = modules("demo", tmp_path)
    edges = {module: imports(module, path, set(known)) for module, path in known.items()}
    assert edges["demo.a"] == {"demo.sub.b"} and edges["demo.sub.b"] == {"demo.a"}
    found = cycle(edges)
    assert found is not None and set(found) == {"demo.a", "demo.sub.b"}


if __name__ == "__main__":
    for name in sorted(PACKAGES):
        edges = graph(name)
        for module, targets in sorted(edges.items()):
            print(f"{module:40} -> {', '.join(sorted(targets)) or '-'}")
        print(f"{name}: {len(edges)} modules, cycle:", " -> ".join(cycle(edges) or []) or "none", "\n")
