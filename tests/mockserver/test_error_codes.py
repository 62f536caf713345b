"""One vocabulary of errors: every code in one table (code -> status -> default message), every raise using it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runapi_mock import errors

PACKAGE = Path(__file__).resolve().parents[2] / "mockserver"
CLASSES = [cls for cls in vars(errors).values()
           if isinstance(cls, type) and issubclass(cls, errors.MockError) and cls is not errors.MockError]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_each_error_class_answers_with_its_codes_row(cls: type[errors.MockError]) -> None:
    status, message = errors.CODES[cls.code]
    assert cls.status == status
    error = cls()
    assert (error.status, error.code, error.message) == (status, cls.code, message)


def test_a_code_brings_its_status_whatever_the_class() -> None:
    assert errors.Conflict(code="upload_not_received").status == 409
    assert errors.RateLimited("full", code="too_many_tasks").body() == {
        "error": {"code": "too_many_tasks", "message": "full"}}


def test_every_code_the_server_raises_is_in_the_table() -> None:
    used = {code for path in PACKAGE.rglob("*.py")
            for code in re.findall(r'\bcode="([a-z_]+)"', path.read_text(encoding="utf-8"))}
    assert used and used <= set(errors.CODES) | set(errors.FAILURES)


def raises_with_codes() -> list[tuple[str, str, str]]:
    """(where, class, code) of every `errors.Cls(..., code="...")` in the server."""
    import ast
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "errors":
                for keyword in node.keywords:
                    if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                        found.append((f"{path.name}:{node.lineno}", node.func.attr, str(keyword.value.value)))
    return found


def test_each_raise_names_a_code_of_its_class_status() -> None:
    """A raise's class (what `except errors.NotFound` catches) and its code's row agree on the status."""
    found = raises_with_codes()
    assert len(found) > 20
    wrong = [f"{where}: {cls} code={code} ({errors.CODES[code][0]})" for where, cls, code in found  # type: ignore[index]
             if getattr(errors, cls).status != errors.CODES[code][0]]  # type: ignore[index]
    assert wrong == []
