"""MkDocs hooks (mkdocs.yml `hooks:`): the site's pages that must never drift are generated at build time.

- `families/<modality>.md`, one page per modality the catalog serves (image today; video, audio and music
  are a catalog change away): every family, action, model, route, field and result member, read from
  `contracts/catalog.json` and the server's own route table. The pages are added to the nav after
  `families/index.md`.
- A hand-written page may hold a marker line `<!-- generated: NAME -->`, replaced by NAME's text:
  `families` (the overview table), `cli` (every command's `--help`), `options` (every flag and variable),
  `bench` (bench/RESULTS.md). An unknown name stops the build.

Nothing here reaches the network. The functions below are plain (text in, text out) and tests/docs test them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from runapi_contracts.catalog import Action, Catalog, Model, parse_catalog
from runapi_contracts.output import result_layout

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "contracts" / "catalog.json"
RESULTS = ROOT / "bench" / "RESULTS.md"
FAMILIES_INDEX = "families/index.md"
HELP_WIDTH = 78  # the width --help wraps at on the page: a code block shows about 80 columns
_MARKER = re.compile(r"^<!-- generated: (?P<name>[\w-]+) -->$", re.MULTILINE)


# --- the catalog ---


def read_catalog(path: Path = CATALOG) -> Catalog:
    """The catalog file as it is now (not the process's cached copy: `make docs` rebuilds on a change)."""
    return parse_catalog(json.loads(path.read_text(encoding="utf-8")))


def modalities(catalog: Catalog) -> list[str]:
    """The modalities served, image first, then in name order."""
    return sorted({action.modality for action in catalog.actions.values()}, key=lambda m: (m != "image", m))


def page_path(modality: str) -> str:
    return f"families/{modality}.md"


def page_title(modality: str) -> str:
    return f"{modality.capitalize()} families"


def _cell(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("|", "\\|").replace("\n", " ")


def _code(value: object) -> str:
    return f"`{_cell(value)}`"


def _actions_of(catalog: Catalog, family: str, modality: str) -> list[Action]:
    return [action for (f, _), action in sorted(catalog.actions.items()) if f == family and action.modality == modality]


def served_routes(catalog: Catalog) -> dict[tuple[str, str], list[str]]:
    """(family, action) -> "`METHOD path`" of every route the server mounts for it, read from its route table."""
    from runapi_mock.api.routes import catalog_routes  # the server's own table: a route it adds shows up here

    by_action: dict[tuple[str, str], list[str]] = {key: [] for key in catalog.actions}
    for route in catalog_routes(catalog):
        kind, _, target = (route.name or "").partition(":")
        family, slash, action = target.partition("/")
        keys = [(family, action)] if slash else [k for k in catalog.actions if k[1] == target]
        for key in keys:
            for method in sorted(route.methods or (), key=lambda m: (m != "POST", m)):
                if method != "HEAD":
                    note = "" if "/" in target else " (public docs route: the family comes from `model`)"
                    by_action[key].append(f"`{method} {route.path}`{note}")
        if kind not in ("create", "get"):
            raise ValueError(f"the route table has a catalog route this page cannot place: {route.name}")
    return by_action


def _values(spec: Mapping[str, Any]) -> str:
    parts = []
    if "enum" in spec:
        parts.append(", ".join(_code(v) for v in spec["enum"]))
    items = spec.get("items")
    if isinstance(items, Mapping) and "enum" in items:
        parts.append("each of " + ", ".join(_code(v) for v in items["enum"]))
    for key, label in (("minimum", "≥"), ("maximum", "≤")):
        if key in spec:
            parts.append(f"{label} {spec[key]}")
    for key, label in (("min_length", "≥ {} characters"), ("max_length", "≤ {} characters"),
                       ("min_items", "≥ {} items"), ("max_items", "≤ {} items")):
        if key in spec:
            parts.append(label.format(spec[key]))
    if "format" in spec:
        parts.append(f"format {spec['format']}")
    if "pattern" in spec:
        parts.append(f"pattern {_code(spec['pattern'])}")
    if spec.get("media"):
        parts.append(f"{spec['media']} input")
    return "; ".join(parts)


def _field_rows(action: Action) -> list[str]:
    """One row per field and distinct spec; the Models column names who has it when not every model does."""
    models = list(action.models.values())
    groups: dict[tuple[str, str, bool], list[str]] = {}
    for model in models:
        for name, spec in model.fields.items():
            key = (name, json.dumps(spec, sort_keys=True), name in model.required)
            groups.setdefault(key, []).append(model.name)
    rows = []
    for (name, raw, required), names in groups.items():
        spec = json.loads(raw)
        who = "all" if len(names) == len(models) else ", ".join(_code(n) for n in names)
        item_type = spec.get("items", {}).get("type") if isinstance(spec.get("items"), Mapping) else None
        kind = str(spec.get("type", "")) + (f" of {item_type}" if item_type else "")
        default = _code(spec["default"]) if "default" in spec else ""
        rows.append(f"| `{name}` | {kind} | {'yes' if required else ''} | {default} | {_values(spec)} | {who} | "
                    f"{_cell(spec.get('description', ''))} |")
    return rows


def _price(model: Model) -> str:
    return ", ".join(f"{resolution}: {cents:g}" for resolution, cents in model.price_cents.items())


def _members(action: Action) -> str:
    shown = []
    for member in result_layout(action.output_spec):
        item = "{url" + (f", {member['index']}" if member.get("index") else "") + "}"
        text = f"`{member['member']}: {item if member.get('single') else '[' + item + ', …]'}`"
        notes = []
        if member.get("index"):
            notes.append(f"`{member['index']}` from {member.get('first_index', 0)}")
        if isinstance(member.get("take"), int):
            notes.append(f"{member['take']} file{'s' if member['take'] != 1 else ''}")
        shown.append(text + (f" ({', '.join(notes)})" if notes else ""))
    return ", ".join(shown)


def _action_section(catalog: Catalog, action: Action, routes: Sequence[str]) -> Iterator[str]:
    yield f"### `{action.family}/{action.name}` {{#{action.family}-{action.name}}}"
    yield ""
    if action.contract_key:
        yield f"Contract key `{action.contract_key}`; modality **{action.modality}**."
    else:
        yield f"Not in the contract (from the SDKs); modality **{action.modality}**."
    yield ""
    yield "Routes:"
    yield ""
    yield from (f"- {route}" for route in routes)
    yield ""
    yield f"A completed task lists its files as {_members(action)}, next to `usage` (its cost in USD)."
    aliases = sorted(name for name, alias in catalog.model_aliases.items()
                     if (alias.family, alias.action) == (action.family, action.name))
    if aliases:
        yield ""
        yield "Older names the docs use: " + ", ".join(
            f"`{name}` → `{catalog.model_aliases[name].model}`" for name in aliases) + "."
    yield ""
    yield "| Model | Price per file (cents, by resolution) | Price | Required | Refused |"
    yield "|---|---|---|---|---|"
    for model in action.models.values():
        yield (f"| `{model.name}` | {_price(model)} | {model.price_source} | "
               f"{', '.join(_code(f) for f in model.required)} | {', '.join(_code(f) for f in model.forbidden)} |")
    yield ""
    rules: dict[str, list[str]] = {}
    for model in action.models.values():
        for rule in model.rules:
            message = str(rule.get("message") or rule.get("field") or "")
            if message and model.name not in rules.setdefault(message, []):
                rules[message].append(model.name)
    if rules:
        yield "Rules across fields (a request that breaks one is a 422 naming it):"
        yield ""
        for message, names in rules.items():
            who = "" if len(names) == len(action.models) else " (" + ", ".join(_code(n) for n in names) + ")"
            yield f"- {_cell(message)}{who}"
        yield ""
    yield "| Field | Type | Required | Default | Values | Models | Description |"
    yield "|---|---|---|---|---|---|---|"
    yield from _field_rows(action)
    yield ""


def family_page(catalog: Catalog, modality: str) -> str:
    """The page of one modality: a section per family, a subsection per action."""
    routes = served_routes(catalog)
    families = [f for f in catalog.families() if _actions_of(catalog, f, modality)]
    lines = [f"# {page_title(modality)}", "",
             "<!-- Generated at build time by docs/gen_pages.py from contracts/catalog.json: never edited. -->", "",
             f"Every {modality} family the mock serves, generated from the catalog "
             f"(contract v{catalog.contract.get('version', '?')} plus `contracts/catalog_overlay.json`) and the "
             "server's route table when the site is built. Prices are the catalog's: `public` where RunAPI "
             "publishes a figure, else `assumed`. Each model's exact request schema is "
             "`request/<family>/<action>/<model>` in `runapi_contracts` ([Contracts](../contracts.md)); the routes "
             "every task shares (`/api/v1/{family}/{id}`, `/api/v1/tasks/{id}`, `/v1/tasks/{id}`) are on "
             "[Routes](../routes.md).", ""]
    for family in families:
        actions = _actions_of(catalog, family, modality)
        timing = actions[0].timing_seconds
        lines += [f"## {catalog.titles.get(family, family)} {{#{family}}}", "",
                  f"Family `{family}`: {len(actions)} action{'s' if len(actions) != 1 else ''}, "
                  f"{len({m for a in actions for m in a.models})} model(s). Under `--progression auto` a task is "
                  f"pending {timing.get('pending', 0):g} s, then processing {timing.get('processing', 0):g} s "
                  "(divided by `--speed`).", ""]
        for action in actions:
            lines += list(_action_section(catalog, action, routes[(action.family, action.name)]))
    return "\n".join(lines)


def families_overview(catalog: Catalog) -> str:
    """The table of every family and action, each linked to its section on its modality's page."""
    rows = ["| Modality | Family | Actions | Models |", "|---|---|---|---|"]
    for modality in modalities(catalog):
        for family in catalog.families():
            actions = _actions_of(catalog, family, modality)
            if not actions:
                continue
            page = page_path(modality).removeprefix("families/")
            links = "<br>".join(f"[`{family}/{a.name}`]({page}#{family}-{a.name})" for a in actions)
            models = "<br>".join(", ".join(f"`{m}`" for m in a.models) for a in actions)
            rows.append(f"| {modality} | [{catalog.titles.get(family, family)}]({page}#{family}) | {links} | "
                        f"{models} |")
    return "\n".join(rows) + "\n"


# --- the CLI ---


def commands(command: click.Command, parent: click.Context | None = None) -> Iterator[click.Context]:
    """A context for `command` and for each of its subcommands, depth first, serve first."""
    ctx = click.Context(command, info_name=command.name if parent else "runapi-mock", parent=parent,
                        terminal_width=HELP_WIDTH, max_content_width=HELP_WIDTH)
    yield ctx
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx), key=lambda n: (n != "serve", n)):  # serve first
            sub = command.get_command(ctx, name)
            if sub is not None:
                yield from commands(sub, ctx)


def cli_reference(group: click.Command) -> str:
    """Every command's `--help`, as the terminal shows it, under a heading of its own."""
    sections = []
    for ctx in commands(group):
        sections += [f"## `{ctx.command_path}`", "", "```text", ctx.get_help(), "```", ""]
    return "\n".join(sections)


def options_table(group: click.Command) -> str:
    """Every option of every command that reads an environment variable, with the variables and the default."""
    lines = []
    for ctx in commands(group):
        options = [p for p in ctx.command.params if isinstance(p, click.Option) and p.envvar]
        if not options:
            continue
        lines += [f"### `{ctx.command_path}`", "", "| Flag | Variable | Default | Meaning |", "|---|---|---|---|"]
        for option in options:
            names = [option.envvar] if isinstance(option.envvar, str) else list(option.envvar or ())
            variables = "<br>".join(f"`{n}`" + (" (older name)" if i and ctx.command.name == "serve" else "")
                                    for i, n in enumerate(names))
            default = option.default if option.show_default or option.is_flag else None
            shown = _code(default) if default not in (None, (), "") else ""
            lines.append(f"| `{option.opts[0]}` | {variables} | {shown} | {_cell(option.help or '')} |")
        lines.append("")
    return "\n".join(lines)


# --- the benchmark report ---


def bench_results(path: Path = RESULTS) -> str:
    """bench/RESULTS.md, its headings one level down (the page has its own title)."""
    text = path.read_text(encoding="utf-8")
    return re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", text, flags=re.MULTILINE)


# --- MkDocs hooks ---


def generated(name: str) -> str:
    """The text of a `<!-- generated: NAME -->` marker."""
    if name == "families":
        return families_overview(read_catalog())
    if name in ("cli", "options"):
        from runapi_mock.serving.cli import cli

        return cli_reference(cli) if name == "cli" else options_table(cli)
    if name == "bench":
        return bench_results()
    raise ValueError(f"unknown generated block {name!r} (families, cli, options, bench)")


def expand(markdown: str) -> str:
    return _MARKER.sub(lambda match: generated(match["name"]), markdown)


def add_to_nav(nav: Any, catalog: Catalog) -> None:
    """Put a page per modality into the nav (mkdocs.yml's list), after families/index.md."""
    pages = [{page_title(m): page_path(m)} for m in modalities(catalog)]

    def insert(items: Any) -> bool:
        if not isinstance(items, list):
            return False
        for i, item in enumerate(items):
            if item == FAMILIES_INDEX or (isinstance(item, dict) and FAMILIES_INDEX in item.values()):
                items[i + 1:i + 1] = pages
                return True
            if isinstance(item, dict) and any(insert(value) for value in item.values()):
                return True
        return False

    if not insert(nav):
        raise ValueError(f"mkdocs.yml's nav has no {FAMILIES_INDEX} to put the family pages after")


def on_config(config: Any) -> Any:
    add_to_nav(config["nav"], read_catalog())
    return config


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    catalog = read_catalog()
    for modality in modalities(catalog):
        files.append(File.generated(config, page_path(modality), content=family_page(catalog, modality)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return expand(markdown)
