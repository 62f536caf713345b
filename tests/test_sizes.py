"""Modules and classes that fit in a head: no module over 450 lines, no class over 300 (the house rule)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted(path for folder in ("mockserver", "contracts") for path in (ROOT / folder).rglob("*.py"))
MAX_MODULE, MAX_CLASS = 450, 300


def oversized(source: str, name: str) -> list[str]:
    """What in `source` breaks the rule: the module by its lines, each class by the lines it spans."""
    found = []
    lines = source.count("\n")
    if lines > MAX_MODULE:
        found.append(f"{name}: {lines} lines")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
            span = node.end_lineno - node.lineno + 1
            if span > MAX_CLASS:
                found.append(f"{name}: class {node.name} spans {span} lines")
    return found


def test_no_module_or_class_is_over_its_size() -> None:
    assert [problem for path in FILES for problem in oversized(path.read_text("utf-8"), path.name)] == []


def test_the_check_counts_a_long_class() -> None:
    long_class = "class Big:\n" + "    x = 1\n" * MAX_CLASS
    assert oversized(long_class, "big.py") == ["big.py: class Big spans 301 lines"]
