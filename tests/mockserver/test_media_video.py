"""The video renderer: real H.264 files of the asked size and exact length, captioned and moving on every
frame, the same bytes for the same spec, and derived from their sources (image, audio, video)."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from itertools import pairwise

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from runapi_mock.media import VideoSpec, caption, derive, frame_at, images, poster, probe, render_speech, render_video
from tests.mockserver.media_helpers import correlation, rms, samples

LABEL = caption("kling-v3", 640, 360, 3.0, "task-v1", "A cat surfing a wave at sunset", has_audio=True)
PICTURE = (0.0, 0.3, 1.0, 0.85)  # below the caption panel and above the moving strip


def _frames(data: bytes) -> list[Image.Image]:
    with av.open(io.BytesIO(data)) as container:
        return [frame.to_image() for frame in container.decode(video=0)]


def _image(seed: str, size: tuple[int, int] = (800, 600)) -> bytes:
    return images.render(seed, size[0], size[1], "png", images.caption("m", size, "png", seed, seed))


@pytest.mark.parametrize(
    ("width", "height", "seconds", "fps", "audio", "container"),
    [(640, 360, 3.0, 2, False, "mp4"), (1280, 720, 5.3, 3, True, "mp4"), (480, 854, 2.25, 1, True, "mov"),
     (3840, 2160, 2.0, 2, False, "mp4")],
)
def test_a_video_is_h264_of_the_asked_size_container_and_exact_length(
        width: int, height: int, seconds: float, fps: int, audio: bool, container: str) -> None:
    spec = VideoSpec("task-v1", width, height, seconds, fps, LABEL, with_audio=audio, container=container)
    info = probe(render_video(spec))
    assert (info.container, info.codec, info.width, info.height) == (container, "h264", width, height)
    assert info.duration_seconds == pytest.approx(seconds, abs=0.002)
    assert info.fps == fps
    assert info.has_audio is audio and info.audio_codec == ("aac" if audio else None)


def test_odd_sizes_round_down_to_even_and_bad_specs_are_refused() -> None:
    info = probe(render_video(VideoSpec("task-v1", 321, 181, 1.0)))
    assert (info.width, info.height) == (320, 180)
    with pytest.raises(ValueError, match="size"):
        render_video(VideoSpec("task-v1", 8192, 4320, 1.0))
    with pytest.raises(ValueError, match="duration"):
        render_video(VideoSpec("task-v1", 64, 64, None))
    with pytest.raises(ValueError, match="container"):
        render_video(VideoSpec("task-v1", 64, 64, 1.0, container="avi"))
    with pytest.raises(ValueError):
        probe(b"not a video at all")


def test_the_same_spec_gives_the_same_bytes_and_another_seed_others() -> None:
    spec = VideoSpec("task-v1", 640, 360, 2.0, label=LABEL, with_audio=True)
    assert render_video(spec) == render_video(spec)
    assert render_video(replace(spec, seed="task-v2")) != render_video(spec)


def test_every_frame_is_captioned_and_something_moves() -> None:
    spec = VideoSpec("task-v1", 640, 360, 3.0, 2, LABEL)
    labelled, bare = _frames(render_video(spec)), _frames(render_video(replace(spec, label=())))
    assert len(labelled) == len(bare) == 6
    top = (0, 0, 640, 60)  # the caption panel
    for with_caption, without in zip(labelled, bare, strict=True):
        assert ImageStat.Stat(ImageChops.difference(with_caption.crop(top), without.crop(top))).mean[0] > 10
    bottom = (0, 330, 640, 360)  # the strip: progress bar, marker, timestamp
    for before, after in pairwise(labelled):
        assert ImageStat.Stat(ImageChops.difference(before.crop(bottom), after.crop(bottom))).mean[0] > 2


def test_image_to_video_starts_from_the_source_image() -> None:
    source, other = _image("img-source"), _image("img-other")
    first = frame_at(render_video(VideoSpec("task-i2v", 1280, 720, 2.0, label=LABEL, first_frame=source)))
    fitted = Image.open(io.BytesIO(source)).convert("RGB").resize((1280, 960)).crop((0, 120, 1280, 840))
    assert correlation(first, fitted, PICTURE) > 0.9
    other_fitted = Image.open(io.BytesIO(other)).convert("RGB").resize((1280, 960)).crop((0, 120, 1280, 840))
    assert correlation(first, other_fitted, PICTURE) < 0.6


def test_a_pillow_image_and_a_last_frame_are_sources_too() -> None:
    start = Image.open(io.BytesIO(_image("img-start", (640, 360))))
    end = Image.open(io.BytesIO(_image("img-end", (640, 360))))
    frames = _frames(render_video(VideoSpec("task-t", 640, 360, 3.0, 2, LABEL, first_frame=start, last_frame=end)))
    assert correlation(frames[0], start, PICTURE) > 0.9
    assert correlation(frames[-1], end, PICTURE) > 0.9
    assert correlation(frames[-1], start, PICTURE) < correlation(frames[-1], end, PICTURE) - 0.3


def test_extend_adds_seconds_and_keeps_the_source_frames() -> None:
    source = render_video(VideoSpec("task-src", 640, 360, 3.0, 2, LABEL, first_frame=_image("img-a")))
    extended = render_video(derive(source, "task-ext", LABEL, added_seconds=2.5))
    info = probe(extended)
    assert info.duration_seconds == pytest.approx(5.5, abs=0.002)
    assert (info.width, info.height, info.fps) == (640, 360, 2.0)
    assert correlation(frame_at(extended, 1.0), frame_at(source, 1.0), PICTURE) > 0.95


def test_upscale_multiplies_the_size_and_keeps_the_length() -> None:
    source = render_video(VideoSpec("task-src", 640, 360, 3.0, 2, LABEL, with_audio=True))
    upscaled = render_video(derive(source, "task-up", LABEL, scale=2))
    info = probe(upscaled)
    assert (info.width, info.height, info.has_audio) == (1280, 720, True)
    assert info.duration_seconds == pytest.approx(3.0, abs=0.002)
    assert correlation(frame_at(upscaled), frame_at(source), PICTURE) > 0.95


def test_lip_sync_lasts_as_long_as_its_audio_and_carries_it() -> None:
    speech = render_speech("a short line to lip sync over a still portrait", "mp3")
    source = render_video(VideoSpec("task-src", 640, 360, 2.0, 2, LABEL))
    synced = render_video(derive(source, "task-lip", LABEL, audio=speech))
    info = probe(synced)
    assert info.has_audio
    assert info.duration_seconds == pytest.approx(len(samples(speech)) / 44100, abs=0.002)
    assert rms(samples(synced)) > 500


def test_the_generated_sound_track_is_audible() -> None:
    data = render_video(VideoSpec("task-v1", 320, 180, 2.0, with_audio=True))
    assert rms(samples(data)) > 1000


def test_the_poster_is_the_first_frame_as_png() -> None:
    spec = VideoSpec("task-v1", 640, 360, 2.0, label=LABEL, first_frame=_image("img-a"))
    picture = poster(spec)
    assert picture.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(picture)) as image:
        assert image.size == (640, 360)
        assert correlation(image, frame_at(render_video(spec))) > 0.98


def test_a_derived_video_keeps_at_most_four_frames_a_second_of_a_fast_source() -> None:
    source = render_video(VideoSpec("task-src", 320, 180, 2.0, fps=30))  # as an uploaded 30 fps clip
    extended = probe(render_video(derive(source, "task-ext", added_seconds=1.0)))
    assert (extended.fps, extended.duration_seconds) == (4.0, pytest.approx(3.0, abs=0.002))


def test_another_process_renders_the_same_bytes() -> None:
    # One x264 thread and bit-exact muxing: nothing in the file depends on the process, the clock or the threads.
    code = ("import hashlib, sys; from runapi_mock.media import VideoSpec, render_video; "
            "sys.stdout.write(hashlib.sha256(render_video(VideoSpec('task-v1', 640, 360, 2.0, "
            "label=('a', 'b'), with_audio=True))).hexdigest())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    here = render_video(VideoSpec("task-v1", 640, 360, 2.0, label=("a", "b"), with_audio=True))
    assert other == hashlib.sha256(here).hexdigest()


def test_renders_in_threads_give_the_bytes_of_renders_in_turn() -> None:
    # The server renders in worker threads: each render owns its codec contexts, so none disturbs another.
    specs = [VideoSpec(f"task-{i}", 320, 180, 2.0, label=("thread", str(i)), with_audio=i % 2 == 0) for i in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(render_video, specs))
    assert together == [render_video(spec) for spec in specs]
