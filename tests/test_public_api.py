"""Each package's `__all__` is its public API: every name in it exists, and every name the README and the
site's pages (docs/) import is in it."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("runapi_mock", "runapi_mock.media", "runapi_contracts", "runapi_contracts.conformance")
_README_IMPORT = re.compile(r"^from (runapi_mock|runapi_contracts(?:\.conformance)?) import ([\w, ]+)$", re.M)


def readme_imports(text: str) -> dict[str, set[str]]:
    """Names the README's examples import straight from a package (not from its modules)."""
    found: dict[str, set[str]] = {}
    for package, names in _README_IMPORT.findall(text):
        found.setdefault(package, set()).update(name.strip() for name in names.split(","))
    return found


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exist_once(name: str) -> None:
    package = importlib.import_module(name)
    public = package.__all__
    assert len(public) == len(set(public)), f"{name}.__all__ repeats a name"
    missing = [item for item in public if not hasattr(package, item)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"


@pytest.mark.parametrize("name", PACKAGES)
def test_star_import_gives_exactly_all(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {name} import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(importlib.import_module(name).__all__)


def test_every_name_the_readme_imports_from_a_package_is_public() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]  # the README and the site's pages
    found = readme_imports("\n".join(page.read_text("utf-8") for page in pages))
    assert found, "the README and docs/ import nothing from the packages: the pattern no longer matches them"
    for package, names in found.items():
        public = set(importlib.import_module(package).__all__)
        assert names <= public, f"README imports {sorted(names - public)} from {package}, not in its __all__"


def test_the_readme_check_sees_a_private_name() -> None:
    # The guard above on a README that imports a name a package does not publish.
    found = readme_imports("from runapi_mock import create_app, engine\n")
    assert found == {"runapi_mock": {"create_app", "engine"}}
    assert not found["runapi_mock"] <= set(importlib.import_module("runapi_mock").__all__)
