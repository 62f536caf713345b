"""What a request to a video, audio or data action makes: file count, size, duration, rate, sound, format.

The image actions' shaping is output.py's; this module reads the same output spec's keys for the other kinds
(``kind``: video | audio | data), so the engine and pricing never name a field or a family:

- ``duration`` / ``default_duration``: the body field giving the length in seconds, and the length when the
  request and the model are silent (a value <= 0, Seedance's "model chooses", also means the default);
- ``duration_from``: a source field whose file's length is the output's (extend, edit, lip sync, audio-driven
  video); ``extend`` / ``default_extend`` add the seconds an extend asks for (a field, else a fixed number).
  When the mock cannot read that source (a URL elsewhere), ``default_duration`` stands for its length;
  ``window_start``: the field giving where in that source the extension begins (Grok's ``start_seconds``,
  Suno's ``continue_at``): the source is cut there (0 keeps none of it), then the extension added; a start
  past the source's end is `window_error`'s (the task fails naming the field);
- ``resolution`` / ``default_resolution``: a label of the catalog's ``video_sizes`` (the short side: 720p is
  1280 x 720 at 16:9, 720 x 1280 at 9:16). A source video's size is kept unless the request names a
  resolution (or ``resolution_over_source``: the label, even a default, is the target, as Veo's upscale);
- ``upscale_factor`` / ``default_upscale_factor``: the source's size times the factor (Topaz, Grok upscale);
- ``aspect_ratio`` / ``default_aspect_ratio`` / ``match_source``: as for images; with a readable source
  (``source``, the primary) the ratio follows it when the request leaves it unset or says ``match_source``;
- ``fps`` / ``default_fps``: the frame-rate field and the rate rendered;
- ``audio`` / ``default_audio``: the boolean field that asks for a sound track; ``audio_from``: a source field
  whose audio becomes the track (lip sync, avatars: the video then has sound);
- ``format`` / ``formats`` / ``default_format``: the container (mp4, mov) or audio encoding;
- ``count`` / ``default_count`` / ``max_count``: as for images;
- ``max_duration``: a ceiling on the seconds the mock renders and bills (a guard, not a validation rule);
- ``price_per``: ``second`` when the price table is per second of output (``billed_seconds``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .audio_output import reading_seconds, speech_speed, spoken_text, stem_names
from .output import Output, count_of, follows_source, format_of, ratio, result_layout, value_of

__all__ = ["SourceFacts", "billed_seconds", "duration_of", "shape_media", "video_dimensions", "window_error",
           "window_start"]

_DEFAULT_SIZES: Mapping[str, int] = {"480p": 480, "720p": 720, "1080p": 1080, "4k": 2160}
MAX_LONG_SIDE = 4096  # the renderer's bound (H.264 level limits beyond it)


@dataclass(frozen=True)
class SourceFacts:
    """What the mock knows of one source field's file (its own upload or task output): the kind of file, its
    size (images, videos), its length (videos, audio) and whether a video has sound."""

    kind: str  # image | video | audio
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    has_audio: bool = False
    text: str | None = None  # audio: the words it speaks or sings, when the mock made it ("" none: instrumental)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _seconds(spec: Mapping[str, Any], key: str, body: Mapping[str, Any],
             fields: Mapping[str, Mapping[str, Any]]) -> float | None:
    value = _number(value_of(spec, key, body, fields))
    return value if value is not None and value > 0 else _number(spec.get(f"default_{key}"))


def window_start(spec: Mapping[str, Any], body: Mapping[str, Any]) -> float | None:
    """Where in the source an extension begins (the ``window_start`` field's seconds, 0 or more), else None."""
    cut = _number(body.get(str(spec.get("window_start"))))
    return cut if cut is not None and cut >= 0 else None


def _source_names(spec: Mapping[str, Any]) -> list[str]:
    source = spec.get("duration_from")
    return [source] if isinstance(source, str) else [str(s) for s in source] if isinstance(source, list) else []


def _source_seconds(spec: Mapping[str, Any], facts: Mapping[str, SourceFacts]) -> float | None:
    """The length of the first of ``duration_from``'s sources the mock could read."""
    return next((f.duration_seconds for n in _source_names(spec) if (f := facts.get(n)) and f.duration_seconds),
                None)


def window_error(spec: Mapping[str, Any], body: Mapping[str, Any],
                 facts: Mapping[str, SourceFacts]) -> tuple[str, str] | None:
    """(field, why) when the request starts its extension past the end of a source the mock could read: the
    contract bounds the field below only (the source's length is known once it is read), so a create is
    accepted and the task fails, as for a source that cannot be used."""
    cut, length = window_start(spec, body), _source_seconds(spec, facts)
    if cut is None or length is None or cut <= length + 1e-6:
        return None
    field = str(spec["window_start"])
    return field, f"{field} ({cut:g}) is past the end of the source, which lasts {length:g} s"


def duration_of(spec: Mapping[str, Any], body: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]],
                facts: Mapping[str, SourceFacts]) -> float:
    """Seconds of output: the reading time of the words spoken (``speech_text``), else the source's length (the
    first of ``duration_from``'s fields the mock could read; cut at ``window_start``) plus any extension, else
    the duration field, else the default."""
    base: float | None
    text = spoken_text(spec, body)
    if text is not None:
        base = reading_seconds(text, speech_speed(spec, body))
    elif _source_names(spec):
        known = _source_seconds(spec, facts)
        base = known if known is not None else _number(spec.get("default_duration")) or 5.0
        cut = window_start(spec, body)
        if cut is not None:
            base = min(base, cut)
        base += _seconds(spec, "extend", body, fields) or 0.0
    else:
        base = _seconds(spec, "duration", body, fields)
    seconds = base if base is not None and base > 0 else 5.0
    bound = _number(spec.get("max_duration"))
    return round(min(seconds, bound) if bound is not None and bound > 0 else seconds, 3)


def billed_seconds(spec: Mapping[str, Any], body: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]]) -> float:
    """The seconds a per-second price multiplies: what the request asks for, known at create (an extend's
    added seconds; a length that follows a source counts ``default_duration``)."""
    if isinstance(spec.get("duration_from"), str) and ("extend" in spec or "default_extend" in spec):
        added = _seconds(spec, "extend", body, fields) or 0.0
        bound = _number(spec.get("max_duration"))
        return min(added, bound) if bound is not None and bound > 0 else added
    return duration_of(spec, body, fields, {})


def video_dimensions(aspect_ratio: object, short_side: int) -> tuple[int, int]:
    """(width, height) for a short side and a "W:H" ratio, both even (H.264 4:2:0), the long side at most
    MAX_LONG_SIDE (the short one shrunk with it)."""
    found = ratio(aspect_ratio)
    w, h = found if found is not None else (16.0, 9.0)
    short_px, long_px = float(short_side), short_side * max(w, h) / min(w, h)
    if long_px > MAX_LONG_SIDE:
        short_px, long_px = short_px * MAX_LONG_SIDE / long_px, float(MAX_LONG_SIDE)
    short, long = max(2, round(short_px / 2) * 2), max(2, round(long_px / 2) * 2)
    return (long, short) if w >= h else (short, long)


def _size(spec: Mapping[str, Any], body: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]],
          sizes: Mapping[str, int], facts: Mapping[str, SourceFacts]) -> tuple[int, int, str | None]:
    """(width, height, resolution label or None when it follows the source) of a video."""
    primary = facts.get(str(spec.get("source")))
    known = primary if primary is not None and primary.width and primary.height else None
    factor = _number(value_of(spec, "upscale_factor", body, fields))
    label = value_of(spec, "resolution", body, fields)
    label = label.lower() if isinstance(label, str) else None
    named = isinstance(spec.get("resolution"), str) and body.get(spec["resolution"]) not in (None, "")
    if known is not None and known.kind == "video" and factor is None \
            and not (named or (spec.get("resolution_over_source") and label in sizes)):
        return _even(known.width or 2), _even(known.height or 2), None  # extend, edit, lip sync keep its size
    if factor is not None and factor > 0:
        if known is not None:
            w, h = known.width or 2, known.height or 2
        else:
            w, h = video_dimensions(spec.get("default_aspect_ratio"), sizes.get(str(label), 720))
        scale = min(factor, MAX_LONG_SIDE / max(w, h))
        return _even(w * scale), _even(h * scale), None
    short = sizes.get(str(label)) or sizes.get(str(spec.get("default_resolution"))) or 720
    aspect = value_of(spec, "aspect_ratio", body, fields)
    if known is not None and follows_source(spec, body, fields):
        aspect = f"{known.width}:{known.height}"
    width, height = video_dimensions(aspect, short)
    return width, height, label if label in sizes else None


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def _resolution_label(width: int, height: int, sizes: Mapping[str, int]) -> str:
    """The label of the class nearest a size's short side (what an item's `resolution` says)."""
    short = min(width, height)
    return min(sizes, key=lambda label: (abs(sizes[label] - short), -sizes[label])) if sizes else f"{short}p"


def shape_media(spec: Mapping[str, Any], body: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]],
                video_sizes: Mapping[str, int], facts: Mapping[str, SourceFacts]) -> Output:
    """The Output of one request to a video, audio or data action under its output spec (see the module)."""
    kind = str(spec.get("kind", "video"))
    layout = result_layout(spec)
    stems = stem_names(spec, body)  # a separation: one file per stem
    count = len(stems) if stems else count_of(spec, body, fields) if kind != "data" else 0
    fmt = format_of(spec, body, fields)
    duration = duration_of(spec, body, fields, facts)
    if kind != "video":
        return Output(count=count, width=0, height=0, format=fmt, result=str(spec.get("result", kind)),
                      layout=layout, kind=kind, duration_seconds=duration)
    sizes = video_sizes or _DEFAULT_SIZES
    width, height, label = _size(spec, body, fields, sizes, facts)
    fps = _number(value_of(spec, "fps", body, fields))
    audio_from = spec.get("audio_from")
    primary = facts.get(str(spec.get("source")))
    has_audio = value_of(spec, "audio", body, fields) is True or (
        isinstance(audio_from, str) and (audio_from in facts or body.get(audio_from) not in (None, ""))) or (
        primary is not None and primary.kind == "video" and primary.has_audio)  # an extend keeps its sound
    return Output(count=count, width=width, height=height, format=fmt, result=str(spec.get("result", "videos")),
                  layout=layout, kind="video", duration_seconds=duration,
                  fps=int(min(max(fps or 2, 1), 60)), has_audio=has_audio,
                  resolution=label or _resolution_label(width, height, sizes))
