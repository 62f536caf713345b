"""A video file's last frame as a PNG still, served beside it: `{index}.last.png` next to `{index}.mp4`.

Why: Seedance answers `last_frame_image_url` when the request asks (`return_last_frame`): the frame a next clip
can start from. The still is drawn by the video renderer for the file's last frame (video.poster), so it shows
what the decoded last frame shows, up to H.264's loss, and is deterministic per task as the file is. This
module only names it (no codec is loaded): the result's fact `last_frame_url` (output.py's ``frame:last``)
and the file route's reading of the name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["SUFFIX", "file_facts", "index_of", "name_of"]

SUFFIX = ".last.png"


def name_of(index: int) -> str:
    """The file name of the still of file `index`."""
    return f"{index}{SUFFIX}"


def index_of(name: str) -> int | None:
    """The index of the file whose still `name` is, else None."""
    head = name.removesuffix(SUFFIX)
    return int(head) if head != name and head.isascii() and head.isdigit() else None


def file_facts(task: Any, urls: Sequence[str]) -> list[dict[str, Any]]:
    """Each video file's `last_frame_url`: its still, beside it."""
    return [{"last_frame_url": f"{url.rsplit('/', 1)[0]}/{name_of(index)}"} for index, url in enumerate(urls)]
