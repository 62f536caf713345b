"""Installing the kit from a clone: the build leaves the clone as it was, and the extras say what they give.

pip builds a local path in place, so setuptools used to leave build/ and runapi_mock.egg-info in the clone;
tools/build_backend.py removes what it created. The build runs offline (--no-build-isolation --no-index).
"""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "MANIFEST.in", "tools", "mockserver", "contracts")


def clone(tmp_path: Path) -> Path:
    """The files a clone has that a build reads (no .venv, no build/ or egg-info from this checkout)."""
    copy = tmp_path / "clone"
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            copy.mkdir(exist_ok=True)
            shutil.copy2(source, copy / name)
    return copy


def build_wheel(copy: Path, out: Path) -> Path:
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "--verbose", "--wheel-dir", str(out), str(copy)],
                          check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (out / "build.log").write_text(done.stdout + done.stderr)  # the backend's warnings, for the test below
    [wheel] = out.glob("runapi_mock-*.whl")
    return wheel


def tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*") if "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[str], set[str], Path]:
    """(the clone's files before, after, the wheel): one offline build for the tests below."""
    tmp_path = tmp_path_factory.mktemp("install")
    copy = clone(tmp_path)
    before = tree(copy)
    wheel = build_wheel(copy, tmp_path / "wheels")
    return before, tree(copy), wheel


def test_building_from_a_clone_leaves_no_build_folder_behind(built: tuple[set[str], set[str], Path]) -> None:
    before, after, wheel = built
    assert after == before, after ^ before  # no build/, no runapi_mock.egg-info
    names = zipfile.ZipFile(wheel).namelist()
    assert {"runapi_mock/cli.py", "runapi_mock/media/video.py", "runapi_contracts/signing.py",
            "runapi_contracts/catalog.json"} <= set(names)


def test_the_build_warns_of_no_package_left_out(built: tuple[set[str], set[str], Path]) -> None:
    # setuptools boxed a BuildBackendWarning per data folder not named in `packages` (ui/, schemas/).
    log = (built[2].parent / "build.log").read_text()
    assert "running bdist_wheel" in log  # the backend's output is there to read
    assert "absent from the `packages` configuration" not in log, log
    names = set(zipfile.ZipFile(built[2]).namelist())
    assert {"runapi_mock/ui/index.html", "runapi_mock/ui/app.js", "runapi_contracts/schemas/task.json"} <= names


def test_a_build_folder_that_was_there_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    import build_backend

    monkeypatch.chdir(tmp_path)  # a backend's hooks run in the source tree
    (tmp_path / "build").mkdir()
    with build_backend._tidy():  # what every wrapped hook runs in
        (tmp_path / "build" / "lib").mkdir()
        (tmp_path / "runapi_mock.egg-info").mkdir()
    assert (tmp_path / "build" / "lib").is_dir()  # not ours to remove
    assert not (tmp_path / "runapi_mock.egg-info").exists()


def requirements(wheel: Path, extra: str) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        message = email.message_from_bytes(archive.read(name))
    found = set()
    for line in message.get_all("Requires-Dist") or []:
        requirement, _, condition = line.partition(";")
        if f'extra == "{extra}"' in condition:
            found.add(requirement.split("[")[0].split(">")[0].split("=")[0].strip().lower())
    return found


@pytest.mark.parametrize(("extra", "needs"), [
    ("pytest", {"pytest", "respx", "hypothesis"}),  # the plugin (runapi_respx needs respx) and the strategies
    ("sdks", {"runapi-flux-kontext", "runapi-flux-2", "runapi-gpt-image-2"}),  # the official SDKs
    ("test", {"runapi-mock", "schemathesis"}),  # the suite: runapi-mock[pytest,sdks] and what else it runs
])
def test_the_extras_give_what_the_readme_says(built: tuple[set[str], set[str], Path], extra: str,
                                              needs: set[str]) -> None:
    assert needs <= requirements(built[2], extra)
