"""No module reaches into another's private names: `from .x import _y` and `x._y` on a project module fail.

A leading underscore says "this module's business": a handler that needs another module's helper gets it made
public there (as admission.py did for the four copies of admission), so a newcomer copying a route copies one
style. Both packages are checked, the names imported under TYPE_CHECKING and inside functions too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"runapi_mock": ROOT / "mockserver", "runapi_contracts": ROOT / "contracts"}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _project_module(node: ast.ImportFrom) -> bool:
    return node.level > 0 or (node.module or "").split(".")[0] in PACKAGES


def private_uses(source: str) -> list[str]:
    """`module._name` and `from module import _name` where the module is the project's, in `source`."""
    tree = ast.parse(source)
    modules: set[str] = set()  # names bound to project modules: `from . import engine`, `import runapi_mock.x`
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and _project_module(node):
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"line {node.lineno}: from {'.' * node.level}{node.module or ''} import "
                                 f"{alias.name}")
                elif node.module is None or (node.level == 0 and node.module in PACKAGES):
                    modules.add(alias.asname or alias.name)  # `from . import x`: x is a module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name) \
                and node.value.id in modules:
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return found


FILES = sorted(path for folder in PACKAGES.values() for path in folder.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_no_module_imports_another_modules_private_names(path: Path) -> None:
    assert private_uses(path.read_text(encoding="utf-8")) == []


def test_the_check_sees_both_ways_in() -> None:
    planted = "from . import endpoints\nfrom .engine import _fingerprint\nendpoints._admit(1)\n"
    assert private_uses(planted) == ["line 2: from .engine import _fingerprint", "line 3: endpoints._admit"]
    assert private_uses("from runapi_mock import engine\nengine.__name__\nself._lock\n") == []
