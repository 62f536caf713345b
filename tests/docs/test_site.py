"""The documentation site builds with `mkdocs build --strict`, loads nothing from another host, and its
generated pages (docs/gen_pages.py) follow the catalog, the route table and the CLI, whatever they hold."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

import click
import pytest

from runapi_contracts.catalog import load_catalog, parse_catalog
from runapi_mock.api.routes import catalog_routes
from runapi_mock.serving.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_gen_pages", ROOT / "docs" / "gen_pages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built as `make test` builds it: strict, so any warning (a broken link or anchor) fails.
    Never with --quiet: mkdocs then drops its warnings before counting them, and --strict passes anything."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's notice about its successor, not a warning of ours
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    return out


class _Loads(HTMLParser):
    """What a page makes the browser fetch: scripts, stylesheets, icons, images, frames."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "audio", "video"):
            self.urls.append(found.get("src") or "")
        if tag == "link" and found.get("rel") != "canonical":
            self.urls.append(found.get("href") or "")


def _off_site(html: str) -> list[str]:
    parser = _Loads()
    parser.feed(html)
    return [url for url in parser.urls if re.match(r"^(https?:)?//", url)]


def _pages(site: Path) -> Iterator[Path]:
    yield from sorted(site.rglob("*.html"))


def test_the_site_builds_strict_and_every_page_loads_only_its_own_assets(site: Path) -> None:
    pages = list(_pages(site))
    assert len(pages) > 15
    fetched = {str(page.relative_to(site)): urls for page in pages
               if (urls := _off_site(page.read_text(encoding="utf-8")))}
    assert fetched == {}, f"pages load from other hosts: {fetched}"


def test_the_off_site_check_sees_a_font_from_another_host() -> None:
    html = '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto"><script src="a.js"></script>'
    assert _off_site(html) == ["https://fonts.googleapis.com/css?family=Roboto"]


def test_every_action_model_and_route_of_the_catalog_is_on_its_modality_page(site: Path) -> None:
    catalog = load_catalog()
    routes = catalog_routes(catalog)
    assert routes
    for (family, name), action in catalog.actions.items():
        page = (site / gen.page_path(action.modality).removesuffix(".md") / "index.html").read_text("utf-8")
        assert f'id="{family}"' in page and f'id="{family}-{name}"' in page
        section = page.split(f'id="{family}-{name}"', 1)[1].split("<h3", 1)[0]
        for model in action.models:
            assert f"<code>{model}</code>" in section, f"{model} missing from {family}/{name}"
    every_page = "".join(page.read_text("utf-8") for page in (site / "families").rglob("index.html"))
    for route in routes:
        assert route.path in every_page, route.path


def test_the_families_overview_links_every_family() -> None:
    catalog = load_catalog()
    overview = gen.families_overview(catalog)
    for (family, name), action in catalog.actions.items():
        assert f"[`{family}/{name}`]({action.modality}.md#{family}-{name})" in overview


def _with_a_video_action() -> Any:
    raw = json.loads(gen.CATALOG.read_text("utf-8"))
    family = copy.deepcopy(raw["families"]["flux"])
    action = family["actions"]["text_to_image"]
    action["modality"] = "hologram"  # a modality the catalog does not serve yet
    action["output"] = {**action.get("output", {}), "result_layout": [{"member": "hologram", "single": True}]}
    family["actions"] = {"text_to_hologram": action}
    family["title"] = "Holo"
    raw["families"]["holo"] = family
    return parse_catalog(raw)


def test_a_new_modality_gets_its_own_page_and_nav_entry() -> None:
    catalog = _with_a_video_action()
    assert "hologram" in gen.modalities(catalog) and gen.modalities(catalog)[0] == "image"
    page = gen.family_page(catalog, "hologram")
    assert "# Hologram families" in page and "## Holo {#holo}" in page and "{#holo-text_to_hologram}" in page
    assert "`hologram: {url}`" in page and "`POST /api/v1/holo/text_to_hologram`" in page
    assert "{#flux}" not in page  # image families stay on the image page
    overview = gen.families_overview(catalog)
    assert "[`holo/text_to_hologram`](hologram.md#holo-text_to_hologram)" in overview

    nav: list[Any] = [{"Home": "index.md"}, {"API": [{"Families": "families/index.md"}, {"Files": "files.md"}]}]
    gen.add_to_nav(nav, catalog)
    pages = [{gen.page_title(m): gen.page_path(m)} for m in gen.modalities(catalog)]
    assert nav[1]["API"] == [{"Families": "families/index.md"}, *pages, {"Files": "files.md"}]
    assert {"Hologram families": "families/hologram.md"} in pages


def test_the_nav_must_name_the_families_index() -> None:
    with pytest.raises(ValueError, match="families/index.md"):
        gen.add_to_nav([{"Home": "index.md"}], load_catalog())


def test_the_cli_page_has_every_command_and_option() -> None:
    page = gen.cli_reference(cli)
    contexts = list(gen.commands(cli))
    assert {ctx.command_path for ctx in contexts} >= {"runapi-mock", "runapi-mock serve", "runapi-mock catalog",
                                                      "runapi-mock catalog diff", "runapi-mock check-webhook"}
    for ctx in contexts:
        assert f"## `{ctx.command_path}`" in page
        for param in ctx.command.params:
            if isinstance(param, click.Option):
                assert param.opts[0] in page, f"{ctx.command_path} {param.opts[0]}"


def test_the_options_table_has_every_variable() -> None:
    table = gen.options_table(cli)
    variables = [name for ctx in gen.commands(cli) for param in ctx.command.params
                 if isinstance(param, click.Option) and param.envvar
                 for name in ([param.envvar] if isinstance(param.envvar, str) else param.envvar)]
    assert "RUNAPI_MOCK_PORT" in variables and "RUNAPI_CALLBACK_SECRET" in variables
    for name in variables:
        assert f"`{name}`" in table


def test_markers_are_expanded_and_an_unknown_one_stops_the_build() -> None:
    assert "| `--port` | `RUNAPI_MOCK_PORT` | `8787` |" in gen.expand("x\n<!-- generated: options -->\ny")
    assert gen.expand("<!-- generated: bench -->").startswith("## runapi-mock benchmark")
    with pytest.raises(ValueError, match="unknown generated block 'nope'"):
        gen.expand("<!-- generated: nope -->")


# --- the README: short, and every link into the site lands ---

README_LIMIT = 10 * 1024
_LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def _slug(heading: str) -> str:
    """The anchor a heading gets (python-markdown's toc and GitHub agree on these headings)."""
    text = re.sub(r"\{#[^}]*\}\s*$", "", heading).strip().lower().replace("`", "")
    return re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", text))


def broken_links(text: str, base: Path) -> list[str]:
    """Relative links in `text` (a file in `base`) whose file is missing, or whose #anchor no heading of it has."""
    broken = []
    for match in _LINK.finditer(text):
        target = match["target"]
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (base / path) if path else None
        if file is not None and not file.exists():
            broken.append(target)
        elif anchor:
            page = file.read_text("utf-8") if file is not None and file.is_file() else text
            headings = {_slug(m[1]) for m in re.finditer(r"^#+ (.*)$", page, re.MULTILINE)}
            headings |= set(re.findall(r"\{#([\w-]+)\}", page))
            if anchor not in headings:
                broken.append(target)
    return broken


def test_the_readme_is_short_and_its_links_land() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    size = len(readme.encode())
    assert size <= README_LIMIT, (f"README.md is {size} bytes (at most {README_LIMIT}): put the details in a page "
                                  "of docs/ (the site) and link it from the README")
    assert "make serve" in readme and "make test" in readme
    assert broken_links(readme, ROOT) == []
    assert "docs/families/index.md" in readme


def test_the_link_check_sees_a_missing_page_and_anchor() -> None:
    text = ("[a](docs/nowhere.md) [b](docs/callbacks.md#no-such-heading) "
            "[c](docs/callbacks.md#verify-callbacks-in-production) [d](https://x) [e](#the-readme)")
    assert broken_links(text + "\n# The README\n", ROOT) == ["docs/nowhere.md", "docs/callbacks.md#no-such-heading"]
