"""The README's Python examples run, so they cannot rot: each ```python block says how it is tested.

The line before every block is a marker comment: `<!-- readme-test: script -->` runs the block as a program
against a served mock (its URL in place of http://127.0.0.1:8787), `<!-- readme-test: pytest -->` runs it as a
test file in a project of its own (pytester, in a subprocess, as a user's `pytest` would), and
`<!-- readme-test: skip (why) -->` leaves it out, saying why. A block without a marker fails the suite.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runapi_mock import Settings
from runapi_mock.server import RunningServer, serve_in_thread

README = Path(__file__).parents[1] / "README.md"
README_URL = "http://127.0.0.1:8787"
_MARKER = re.compile(r"<!-- readme-test: (?P<how>script|pytest|skip)\b(?P<why>.*?)-->\s*$")


@dataclass(frozen=True)
class Example:
    line: int
    how: str  # script | pytest | skip | "" (no marker)
    why: str
    code: str

    def __str__(self) -> str:
        return f"README.md:{self.line}"


def examples(text: str) -> list[Example]:
    found = []
    for match in re.finditer(r"^```python\n(.*?)^```$", text, re.MULTILINE | re.DOTALL):
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.search(before)
        line = text.count("\n", 0, match.start()) + 1
        found.append(Example(line, marker["how"] if marker else "", marker["why"].strip(" ()") if marker else "",
                             match.group(1)))
    return found


EXAMPLES = examples(README.read_text(encoding="utf-8"))


def _of(how: str) -> list[Example]:
    return [example for example in EXAMPLES if example.how == how]


def test_every_python_block_says_how_it_is_tested() -> None:
    assert EXAMPLES, "no ```python blocks found in README.md"
    unmarked = [str(example) for example in EXAMPLES if not example.how]
    assert unmarked == [], f"add a <!-- readme-test: script|pytest|skip (why) --> line before {unmarked}"
    assert all(example.why for example in _of("skip")), "a skipped block says why"


def test_the_marker_reader_sees_a_missing_marker() -> None:
    text = "Intro\n\n```python\nprint(1)\n```\n\n<!-- readme-test: skip (mine) -->\n```python\nx\n```\n"
    assert [(e.how, e.why) for e in examples(text)] == [("", ""), ("skip", "mine")]


@pytest.fixture(scope="module")
def served() -> Iterator[RunningServer]:
    running = serve_in_thread(Settings(port=0, progression="immediate"))
    yield running
    running.stop()


@pytest.mark.parametrize("example", _of("script"), ids=str)
def test_a_script_example_runs(example: Example, served: RunningServer) -> None:
    code = example.code.replace(README_URL, served.base_url)
    for run in ("first", "second"):  # a reader runs an example again against the server still running
        done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, f"{example} failed on its {run} run:\n{done.stdout}\n{done.stderr}"


@pytest.mark.parametrize("example", _of("pytest"), ids=str)
def test_a_pytest_example_passes(example: Example, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_readme_example=example.code)
    # As a project with `filterwarnings = error` runs it: a leaked socket (PytestUnraisableExceptionWarning) fails.
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-W", "error")
    tests = len(re.findall(r"^def test_", example.code, re.MULTILINE))
    assert tests > 0
    result.assert_outcomes(passed=tests)
