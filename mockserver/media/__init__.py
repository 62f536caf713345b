"""Media renderers: real video and audio files for completed tasks, pure functions of plain inputs.

Nothing here knows the engine, HTTP or the catalog: a spec (a small frozen dataclass) goes in, file bytes
come out, and the same spec always gives the same bytes. `video` draws captioned H.264 clips, `audio`
writes every audio format RunAPI names, `speech` and `music` compose what the audio plays, `cache` keeps
rendered files within a memory bound. PyAV (FFmpeg inside its wheels) does all encoding and probing.
`kinds`, `renderers`, `video_files`, `audio_files` and `audio_data` are the bridge from a task to those
functions: which kind of output it makes, the spec of its file, and the data members of its result (they read
the engine's Task; the functions above never do). `lyrics` writes a song's words.
"""

from __future__ import annotations

from .audio import FORMATS, AudioFormat, AudioInfo, AudioSpec, audio_format, probe_audio, render_audio
from .cache import RenderCache
from .music import (
    STEMS_SEPARATE_VOCAL,
    STEMS_SPLIT,
    Note,
    SongSpec,
    aligned_words,
    midi_notes,
    render_song,
    render_stem,
    render_stems,
)
from .speech import Word, render_speech, speech_duration, transcript, word_timings
from .video import VideoInfo, VideoSpec, caption, derive, frame_at, poster, probe, render_video

__all__ = [
    "FORMATS",
    "STEMS_SEPARATE_VOCAL",
    "STEMS_SPLIT",
    "AudioFormat",
    "AudioInfo",
    "AudioSpec",
    "Note",
    "RenderCache",
    "SongSpec",
    "VideoInfo",
    "VideoSpec",
    "Word",
    "aligned_words",
    "audio_format",
    "caption",
    "derive",
    "frame_at",
    "midi_notes",
    "poster",
    "probe",
    "probe_audio",
    "render_audio",
    "render_song",
    "render_speech",
    "render_stem",
    "render_stems",
    "render_video",
    "speech_duration",
    "transcript",
    "word_timings",
]
