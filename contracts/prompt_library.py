"""RunAPI's prompt library (`GET /api/v1/prompts`): the built-in prompts, searched and paged as mcp-core asks.

The prompts are data (prompt_library.json: the example prompts of RunAPI's public docs, its MCP server's
examples and the official SDKs' READMEs, with categories and tags). The query is mcp-core's `searchPrompts`
(runapi-ai/mcp-core src/runapi-client.ts): `modality`, `category`, `tags` (comma-separated, every one must be
on the prompt), `q` (every word in the title or the prompt text), `model`, `featured`, `page`, `per_page`
(at most 100). Text matches ignore case; the answer is one page in id order and the pagination of the match.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["DEFAULT_PER_PAGE", "MAX_PER_PAGE", "PromptQuery", "load_prompts", "parse_query", "search_prompts"]

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100  # the MCP tool's own bound (search_prompts: per_page .max(100))
_MAX_TEXT = 200


@dataclass(frozen=True)
class PromptQuery:
    modality: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    q: str | None = None
    model: str | None = None
    featured: bool | None = None
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE


@cache
def load_prompts() -> tuple[Mapping[str, Any], ...]:
    """The library shipped with the package, in id order."""
    text = resources.files("runapi_contracts").joinpath("prompt_library.json").read_text(encoding="utf-8")
    prompts: list[Mapping[str, Any]] = json.loads(text)["prompts"]
    return tuple(sorted(prompts, key=lambda prompt: int(prompt["id"])))


def parse_query(params: Mapping[str, str]) -> PromptQuery:
    """The query string as a PromptQuery; a ValueError names the parameter that is not of its shape.

    Blank values count as absent (mcp-core never sends one); unknown parameters are ignored.
    """
    text = {name: _text(params, name) for name in ("modality", "category", "tags", "q", "model", "featured")}
    featured = text["featured"]
    if featured is not None and featured.lower() not in ("true", "false"):
        raise ValueError("featured must be true or false")
    tags = tuple(tag.strip() for tag in (text["tags"] or "").split(",") if tag.strip())
    return PromptQuery(modality=text["modality"], category=text["category"], tags=tags, q=text["q"],
                       model=text["model"], featured=None if featured is None else featured.lower() == "true",
                       page=_positive(params, "page", 1, None),
                       per_page=_positive(params, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE))


def search_prompts(query: PromptQuery, prompts: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """`{prompts: [...], pagination: {page, per_page, total, pages}}` for `query` over `prompts` (the library)."""
    matched = [prompt for prompt in (load_prompts() if prompts is None else prompts) if _matches(prompt, query)]
    start = (query.page - 1) * query.per_page
    pages = -(-len(matched) // query.per_page)
    return {"prompts": [dict(prompt) for prompt in matched[start:start + query.per_page]],
            "pagination": {"page": query.page, "per_page": query.per_page, "total": len(matched), "pages": pages}}


def _matches(prompt: Mapping[str, Any], query: PromptQuery) -> bool:
    def same(value: Any, wanted: str | None) -> bool:
        return wanted is None or str(value or "").casefold() == wanted.casefold()

    tags = {str(tag).casefold() for tag in prompt.get("tags") or ()}
    words = f"{prompt.get('title') or ''} {prompt['prompt']}".casefold()
    return (same(prompt.get("modality"), query.modality) and same(prompt.get("category"), query.category)
            and same(prompt.get("runapi_model"), query.model)
            and all(tag.casefold() in tags for tag in query.tags)
            and all(word in words for word in (query.q or "").casefold().split())
            and (query.featured is None or bool(prompt.get("featured")) is query.featured))


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None or not value.strip():
        return None
    if len(value) > _MAX_TEXT:
        raise ValueError(f"{name} must be at most {_MAX_TEXT} characters")
    return value.strip()


def _positive(params: Mapping[str, str], name: str, default: int, most: int | None) -> int:
    value = _text(params, name)
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or int(value) < 1 or (most is not None and int(value) > most):
        raise ValueError(f"{name} must be an integer from 1{f' to {most}' if most else ''}")
    return int(value)
