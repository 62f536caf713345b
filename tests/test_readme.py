"""The Python examples of the README and of every page of the site (docs/) run, so they cannot rot: each
```python block says how it is tested.

The line before every block is a marker comment (`docs-test:` or, the older spelling, `readme-test:`):
`<!-- docs-test: script -->` runs the block as a program
against a served mock (its URL in place of http://127.0.0.1:8787), `<!-- readme-test: pytest -->` runs it as a
test file in a project of its own (pytester, in a subprocess, as a user's `pytest` would), and
`<!-- docs-test: skip (why) -->` leaves it out, saying why. A block without a marker fails the suite.
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
from runapi_mock.serving.server import RunningServer, serve_in_thread

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
PAGES = (README, *sorted((ROOT / "docs").rglob("*.md")))
README_URL = "http://127.0.0.1:8787"
_MARKER = re.compile(r"<!-- (?:docs|readme)-test: (?P<how>script|pytest|skip)\b(?P<why>.*?)-->\s*$")


@dataclass(frozen=True)
class Example:
    source: str  # the file, relative to the repository
    line: int
    how: str  # script | pytest | skip | "" (no marker)
    why: str
    code: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}"


def examples(text: str, source: str = "README.md") -> list[Example]:
    found = []
    for match in re.finditer(r"^```python\n(.*?)^```$", text, re.MULTILINE | re.DOTALL):
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.search(before)
        line = text.count("\n", 0, match.start()) + 1
        found.append(Example(source, line, marker["how"] if marker else "",
                             marker["why"].strip(" ()") if marker else "", match.group(1)))
    return found


EXAMPLES = [example for page in PAGES
            for example in examples(page.read_text(encoding="utf-8"), str(page.relative_to(ROOT)))]


def _of(how: str) -> list[Example]:
    return [example for example in EXAMPLES if example.how == how]


def test_every_python_block_says_how_it_is_tested() -> None:
    assert EXAMPLES, "no ```python blocks found in README.md or docs/"
    unmarked = [str(example) for example in EXAMPLES if not example.how]
    assert unmarked == [], f"add a <!-- docs-test: script|pytest|skip (why) --> line before {unmarked}"
    assert all(example.why for example in _of("skip")), "a skipped block says why"


def test_the_marker_reader_sees_a_missing_marker() -> None:
    text = ("Intro\n\n```python\nprint(1)\n```\n\n<!-- readme-test: skip (mine) -->\n```python\nx\n```\n"
            "<!-- docs-test: script -->\n```python\ny\n```\n")
    found = examples(text, "docs/page.md")
    assert [(e.how, e.why) for e in found] == [("", ""), ("skip", "mine"), ("script", "")]
    assert [str(e) for e in found] == ["docs/page.md:3", "docs/page.md:8", "docs/page.md:12"]


def test_every_page_of_the_site_is_read() -> None:
    read = {str(page.relative_to(ROOT)) for page in PAGES}
    assert {"README.md", "docs/pytest-plugin.md", "docs/getting-started.md"} <= read


@pytest.fixture(scope="module")
def served() -> Iterator[RunningServer]:
    running = serve_in_thread(Settings(port=0, progression="immediate"))
    yield running
    running.stop()


@pytest.mark.parametrize("example", _of("script"), ids=str)
def test_a_script_example_runs(example: Example, served: RunningServer) -> None:
    code = example.code.replace(README_URL, served.base_url)
    for run in ("first", "second"):  # a reader runs an example again against the server still running
        # -W error: as a reader whose warnings are errors runs it (a DeprecationWarning from the kit fails it)
        done = subprocess.run([sys.executable, "-W", "error", "-c", code], check=False, capture_output=True,
                              text=True, timeout=120)
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
