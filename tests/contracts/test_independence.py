"""`runapi_contracts` imports nothing from the server: every module of it loads where `runapi_mock` cannot."""

from __future__ import annotations

import subprocess
import sys

# Runs in a fresh interpreter: a meta path finder refuses the server package, then every module of the
# contracts package (the conformance kit included) is imported.
SCRIPT = """
import importlib, pkgutil, sys

class NoServer:
    def find_spec(self, name, path=None, target=None):
        if name == "runapi_mock" or name.startswith("runapi_mock."):
            raise ImportError(f"runapi_contracts imported the server: {name}")
        return None

sys.meta_path.insert(0, NoServer())
import runapi_contracts
names = sorted(m.name for m in pkgutil.walk_packages(runapi_contracts.__path__, "runapi_contracts."))
for name in names:
    importlib.import_module(name)
EXTRA
assert not [m for m in sys.modules if m.startswith("runapi_mock")]
print(len(names), "modules")
"""


def _run(extra: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT.replace("EXTRA", extra)], capture_output=True,
                          text=True, check=False, timeout=120)


def test_every_contracts_module_imports_without_the_server() -> None:
    result = _run()
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[0]) >= 20  # the walk found the package's modules, conformance included


def test_the_guard_catches_a_server_import() -> None:
    # What a module of the contracts package importing the server would do.
    result = _run("import runapi_contracts.admin; import runapi_mock.engine.lifecycle")
    assert result.returncode != 0
    assert "runapi_contracts imported the server: runapi_mock" in result.stderr
