"""What a request's fields make: how many images, their size and format, read from the action's output spec.

Each catalog action carries an ``output`` object (from catalog_overlay.json) naming the fields that shape
its result, so the engine, the image renderer and pricing never name a field or a family:

- ``count`` / ``aspect_ratio`` / ``resolution`` / ``format``: the body fields for the image count, shape,
  long-side resolution and encoding (absent: the model's default, then ``default_*``);
- ``sizes``: long-side pixels for resolution values outside the catalog's table (``"1.5K": 1536``);
- ``upscale_factor`` / ``source_long_side``: an upscaler's factor field and the size assumed for its source
  when the mock cannot read it (a source elsewhere is never fetched);
- ``source``: the image field the output is derived from (its primary source). When that image is on the
  mock's own files its real size is known: an aspect ratio the request leaves unset, or sets to one of
  ``match_source`` (``auto``, ``match_input_image``), follows the source, and an upscaler scales its long side;
- ``max_long_side``: no output side grows past it (a source-derived upscale is cut down to it);
- ``result``: the member a completed task lists its files under (``images``, ``segments``, ``layers``);
- ``result_layout``: where a result has more than one member or numbered items, the members in order, each
  ``{"member", "take", "single", "index", "first_index"}``: ``take`` files (absent: all that are left), one
  object instead of a list when ``single``, each item numbered under the key ``index`` from ``first_index``
  (absent: the bare ``result`` member lists every file as ``{"url": ...}``);
- ``max_count``: a ceiling on the count the mock renders (a guard, not a validation rule);
- ``kind``: image (this module's shaping) | video | audio | data (media_output.py's; data makes no file);
- in a ``result_layout`` member, ``item`` maps each item key to a fact of its file (``url``, ``file_id``,
  ``index``, ``resolution``, ``width``, ``height``, ``duration``, ``has_audio``, ``format``, ``mime_type``,
  ``size_bytes``; absent: ``{"url": ...}``), ``bare`` lists one file as a bare URL string, and ``from`` fills a
  member that is not files: ``field:<name>`` echoes the request's field (left out when not sent),
  ``sources`` lists the request's source URLs as ``[{"url"}]``, ``file_ids`` / ``file_id`` the files' ids
  (all, or the first), ``const:<json>`` a constant, ``files`` the task's files again (one file under two
  members: ``take``, ``single`` and ``item`` as for files), ``data:<name>`` a generated member (the server's
  generators: transcripts, lyrics, MIDI notes, stems...), left out when the server generated none,
  ``frame:last`` the URL of the first file's last frame as a PNG (a video's ``last_frame_url`` fact);
- in a ``result_layout`` member, ``when`` names a boolean request field: the member is listed only when the
  request sets it true (Seedance's ``last_frame_image_url`` when ``return_last_frame``);
- ``formats``: the encodings the mock renders; any other value (a free-text field) gets ``default_format``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Output", "count_of", "dimensions", "follows_source", "format_of", "result_body", "result_layout",
           "result_urls", "shape"]


@dataclass(frozen=True)
class Output:
    """The files one task produces."""

    count: int
    width: int
    height: int
    format: str
    result: str = "images"
    layout: tuple[Mapping[str, Any], ...] = ({"member": "images"},)
    kind: str = "image"  # image | video | audio | data
    duration_seconds: float | None = None  # video and audio
    fps: int = 0  # video: the rate rendered
    has_audio: bool = False  # video: an AAC track
    resolution: str | None = None  # video: the size's label (720p), what an item's `resolution` says

    def body(self, urls: Sequence[str], facts: Sequence[Mapping[str, Any]] = (),
             request: Mapping[str, Any] | None = None, sources: Sequence[str] = (),
             data: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The completed task's result members, listing `urls` (one per file, with its `facts`) as the layout
        says; `request` and `sources` fill the echo members, `data` the generated ones."""
        return result_body(self.layout, urls, facts, request or {}, sources, data)


def result_layout(spec: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    """An output spec's result members: its ``result_layout``, else one list under ``result``."""
    layout = spec.get("result_layout")
    if isinstance(layout, list) and layout:
        return tuple(layout)
    return ({"member": str(spec.get("result", "images"))},)


def result_body(layout: Sequence[Mapping[str, Any]], urls: Sequence[str], facts: Sequence[Mapping[str, Any]] = (),
                request: Mapping[str, Any] | None = None, sources: Sequence[str] = (),
                data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The result members of a completed task: the files in order, dealt out to the layout's members (each
    file's `facts` fill an `item` map), and the members `from` names (see the module docstring)."""
    body: dict[str, Any] = {}
    files = [{**(facts[i] if i < len(facts) else {}), "url": url} for i, url in enumerate(urls)]
    rest = list(files)
    for member in layout:
        source = member.get("from")
        when = member.get("when")
        if isinstance(when, str) and (request or {}).get(when) is not True:
            continue  # asked for by a request field the request left unset or false
        if source == "files":  # the files again, under a second member
            _list(body, member, files[:member["take"]] if isinstance(member.get("take"), int) else files)
            continue
        if isinstance(source, str):
            _fill(body, member["member"], source, files, request or {}, sources, data or {})
            continue
        take = 1 if member.get("bare") else member.get("take")
        taken, rest = (rest[:take], rest[take:]) if isinstance(take, int) else (rest, [])
        _list(body, member, taken)
    return body


def _list(body: dict[str, Any], member: Mapping[str, Any], taken: Sequence[Mapping[str, Any]]) -> None:
    # Files under one member: items by the `item` map (else {url}), numbered by `index`, one when `single`,
    # a bare URL when `bare`.
    key, first, item = member.get("index"), member.get("first_index", 0), member.get("item")
    items = [{**({k: fact.get(name) for k, name in item.items() if fact.get(name) is not None}
                 if isinstance(item, Mapping) else {"url": fact["url"]}),
              **({key: first + i} if isinstance(key, str) else {})} for i, fact in enumerate(taken)]
    if member.get("bare"):
        body[member["member"]] = taken[0]["url"] if taken else None
    else:
        body[member["member"]] = (items[0] if items else None) if member.get("single") else items


def _fill(body: dict[str, Any], name: str, source: str, files: Sequence[Mapping[str, Any]],
          request: Mapping[str, Any], sources: Sequence[str], data: Mapping[str, Any]) -> None:
    # A member that is not files: an echo of the request, its sources, the files' ids, a constant, generated.
    kind, _, arg = source.partition(":")
    if kind == "data":
        if arg in data:
            body[name] = data[arg]
    elif kind == "field":
        if request.get(arg) is not None:
            body[name] = request[arg]
    elif kind == "sources":
        body[name] = [{"url": url} for url in sources]
    elif kind == "file_ids":
        body[name] = [str(f.get("file_id")) for f in files]
    elif kind == "file_id":
        body[name] = str(files[0].get("file_id")) if files else None
    elif kind == "const":
        body[name] = json.loads(arg)
    elif kind == "frame":  # a still of the first file: `frame:last` reads its `last_frame_url` fact
        url = files[0].get(f"{arg}_frame_url") if files else None
        if url is not None:
            body[name] = url


def result_urls(layout: Sequence[Mapping[str, Any]], body: Mapping[str, Any]) -> list[str]:
    """The file URLs a completed body lists under the layout's members, in file order (result_body's inverse)."""
    urls: list[str] = []
    for member in layout:
        value = body.get(member["member"])
        if "from" in member:
            continue
        if member.get("bare"):
            urls += [value] if isinstance(value, str) else []
            continue
        items = [value] if member.get("single") else list(value or [])
        item = member.get("item")
        key = next((k for k, fact in item.items() if fact == "url"), "url") if isinstance(item, Mapping) else "url"
        urls += [item[key] for item in items if isinstance(item, Mapping) and isinstance(item.get(key), str)]
    return urls


def ratio(aspect_ratio: object) -> tuple[float, float] | None:
    """(W, H) of a positive "W:H" aspect ratio, else None."""
    # Anything that is not a positive "W:H" (including "auto") means square.
    if not isinstance(aspect_ratio, str) or ":" not in aspect_ratio:
        return None
    left, _, right = aspect_ratio.partition(":")
    try:
        w, h = float(left), float(right)
    except ValueError:
        return None
    if not (math.isfinite(w) and math.isfinite(h) and w > 0 and h > 0):
        return None
    return w, h


def dimensions(aspect_ratio: object, long_side: int) -> tuple[int, int]:
    """(width, height): the long side given, the short one from the ratio rounded half-up to a multiple of 8."""
    found = ratio(aspect_ratio)
    if found is None or found[0] == found[1]:
        return long_side, long_side
    w, h = found
    short_side = max(8, math.floor(long_side * min(w, h) / max(w, h) / 8 + 0.5) * 8)
    return (long_side, short_side) if w > h else (short_side, long_side)


def _positive_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def value_of(spec: Mapping[str, Any], key: str, body: Mapping[str, Any],
             fields: Mapping[str, Mapping[str, Any]]) -> Any:
    """The value of the field `spec[key]` names: the body's, else the model's default, else ``default_<key>``."""
    name = spec.get(key)
    if isinstance(name, str):
        if body.get(name) not in (None, ""):
            return body[name]
        if fields.get(name, {}).get("default") is not None:
            return fields[name]["default"]
    return spec.get(f"default_{key}")


def count_of(spec: Mapping[str, Any], body: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]]) -> int:
    """How many files one request makes (pricing needs only this, so it is not the whole `shape`)."""
    count = _positive_int(value_of(spec, "count", body, fields)) or 1
    return min(count, _positive_int(spec.get("max_count")) or count)


def format_of(spec: Mapping[str, Any], body: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]]) -> str:
    """The encoding one request's files get (a create needs only this, so it is not the whole `shape`)."""
    fmt = value_of(spec, "format", body, fields)
    fmt = fmt.lower() if isinstance(fmt, str) and fmt else "png"
    if spec.get("formats") and fmt not in spec["formats"]:  # a value a free-text field let through
        fmt = str(spec.get("default_format", "png"))
    return fmt


def follows_source(spec: Mapping[str, Any], body: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether the request leaves the output's shape to its source image: no aspect ratio sent (a model default
    is not the client's choice), or one of the spec's ``match_source`` values."""
    name = spec.get("aspect_ratio")
    if not isinstance(name, str) or body.get(name) in (None, ""):
        return True
    return value_of(spec, "aspect_ratio", body, fields) in spec.get("match_source", ())


def shape(spec: Mapping[str, Any], body: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]],
          resolutions: Mapping[str, int], default_resolution: str,
          source_size: tuple[int, int] | None = None) -> Output:
    """The Output of one request under an action's output spec; `source_size` is the (width, height) of its
    primary source when known (see ``source`` above)."""
    count = count_of(spec, body, fields)
    fmt = format_of(spec, body, fields)
    aspect_ratio = value_of(spec, "aspect_ratio", body, fields)
    if source_size is not None and follows_source(spec, body, fields):
        aspect_ratio = f"{source_size[0]}:{source_size[1]}"
    factor = _positive_int(value_of(spec, "upscale_factor", body, fields))
    if factor is not None:
        source_long = max(source_size) if source_size is not None else spec.get("source_long_side")
        long_side = (_positive_int(source_long) or 512) * factor
    else:
        resolution = value_of(spec, "resolution", body, fields)
        sizes = spec.get("sizes", {})
        key = resolution.lower() if isinstance(resolution, str) else ""
        long_side = (sizes.get(resolution) if isinstance(resolution, str) else None) or resolutions.get(key) \
            or resolutions.get(default_resolution, 1024)
    bound = _positive_int(spec.get("max_long_side"))
    long_side = max(8, min(long_side, bound)) if bound is not None else long_side
    width, height = dimensions(aspect_ratio, long_side)
    return Output(count=count, width=width, height=height, format=fmt, result=str(spec.get("result", "images")),
                  layout=result_layout(spec))
