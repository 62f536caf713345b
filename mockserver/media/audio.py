"""Real audio files in every output format RunAPI names, and a probe that reads them back.

Why a table: the contract and the SDKs name formats as strings (`mp3_44100_128`, `pcm_16000`, `ulaw_8000`,
`opus_48000_64`, plain `mp3`/`wav`); each name maps to a muxer, an encoder, a sample rate and a bitrate in
FORMATS, so a new name is a row, not a branch. PyAV's wheels bundle FFmpeg with LAME, Opus, FLAC and AAC,
so nothing needs an `ffmpeg` binary. Output is bit-exact (`fflags=+bitexact`, no timestamps or random
stream serials), so the same spec gives the same bytes in every process. PyAV is imported inside the
functions that use it: its import is a fifth of the server's start, and no request before the first
render needs it.
"""

from __future__ import annotations

import io
from array import array
from dataclasses import dataclass
from fractions import Fraction

from .tones import melody

__all__ = ["FORMATS", "AudioFormat", "AudioInfo", "AudioSpec", "audio_format", "content_type", "encode",
           "encode_looped", "extension", "probe_audio", "render_audio"]

_AMPLITUDE = 9000  # about -11 dBFS: plainly audible, with headroom for mixing


@dataclass(frozen=True)
class AudioFormat:
    """How one output format name is written: FFmpeg muxer and encoder, sample rate, bitrate, MIME type.

    `fixed_rate` is True when the name itself fixes the sample rate (`pcm_16000`); otherwise `sample_rate`
    is only the default and a spec may ask for another. A `raw` format has no header (RunAPI's `pcm_*`,
    `ulaw_8000`, `alaw_8000` are bare samples), so reading it back needs the format's name.
    """

    name: str
    muxer: str
    codec: str
    sample_rate: int
    bitrate: int | None
    content_type: str
    extension: str
    fixed_rate: bool = False
    raw: bool = False


def _mp3(rate: int, kbps: int) -> AudioFormat:
    return AudioFormat(f"mp3_{rate}_{kbps}", "mp3", "libmp3lame", rate, kbps * 1000, "audio/mpeg", "mp3", True)


def _pcm(rate: int) -> AudioFormat:
    return AudioFormat(f"pcm_{rate}", "s16le", "pcm_s16le", rate, None, "audio/pcm", "pcm", True, True)


def _opus(kbps: int) -> AudioFormat:
    return AudioFormat(f"opus_48000_{kbps}", "ogg", "libopus", 48000, kbps * 1000, "audio/ogg", "opus", True)


_TABLE: list[AudioFormat] = [
    # Plain names (Fish Audio's mp3/wav, OpenAI-style opus/aac/flac/pcm, Suno's wav conversion).
    AudioFormat("mp3", "mp3", "libmp3lame", 44100, 128_000, "audio/mpeg", "mp3"),
    AudioFormat("wav", "wav", "pcm_s16le", 44100, None, "audio/wav", "wav"),
    AudioFormat("pcm", "s16le", "pcm_s16le", 24000, None, "audio/pcm", "pcm", raw=True),
    AudioFormat("opus", "ogg", "libopus", 48000, 64_000, "audio/ogg", "opus", fixed_rate=True),
    AudioFormat("ogg", "ogg", "libopus", 48000, 64_000, "audio/ogg", "ogg", fixed_rate=True),
    AudioFormat("aac", "adts", "aac", 44100, 128_000, "audio/aac", "aac"),
    AudioFormat("m4a", "ipod", "aac", 44100, 128_000, "audio/mp4", "m4a"),
    AudioFormat("flac", "flac", "flac", 44100, None, "audio/flac", "flac"),
    # ElevenLabs' output_format enum (contract v0.12.2, text-to-sound; runapi-elevenlabs' list).
    *(_mp3(rate, kbps) for rate, kbps in ((22050, 32), (44100, 32), (44100, 64), (44100, 96), (44100, 128),
                                         (44100, 192))),
    *(_pcm(rate) for rate in (8000, 16000, 22050, 24000, 44100, 48000)),
    AudioFormat("ulaw_8000", "mulaw", "pcm_mulaw", 8000, None, "audio/basic", "ulaw", True, True),
    AudioFormat("alaw_8000", "alaw", "pcm_alaw", 8000, None, "audio/x-alaw-basic", "alaw", True, True),
    *(_opus(kbps) for kbps in (32, 64, 96, 128, 192)),
]
FORMATS: dict[str, AudioFormat] = {entry.name: entry for entry in _TABLE}


def audio_format(name: str) -> AudioFormat:
    """The table row for a format name (case-insensitive); ValueError names the known ones."""
    try:
        return FORMATS[name.lower()]
    except KeyError:
        raise ValueError(f"unsupported audio format {name!r}; expected one of {sorted(FORMATS)}") from None


def content_type(name: str) -> str:
    """The MIME type served for an audio format."""
    return audio_format(name).content_type


def extension(name: str) -> str:
    """The file extension used in audio URLs for a format."""
    return audio_format(name).extension


@dataclass(frozen=True)
class AudioSpec:
    """What `render_audio` plays: a melody chosen by `seed`, `duration_seconds` long, in `format`.

    `sample_rate` and `bitrate` (bits/s) override the format's defaults where the name does not fix them
    (Fish Audio's `sample_rate_hz`/`bitrate_kbps` with plain `mp3`/`wav`); a name such as `mp3_22050_32`
    always wins.
    """

    seed: str
    duration_seconds: float
    format: str = "mp3"
    sample_rate: int | None = None
    channels: int = 1
    bitrate: int | None = None


@dataclass(frozen=True)
class AudioInfo:
    """What `probe_audio` reads back from a file."""

    format: str  # the FFmpeg demuxer's name: mp3, wav, ogg, flac, aac, mov, s16le, mulaw, alaw
    codec: str
    duration_seconds: float
    sample_rate: int
    channels: int


def resolved_rate(fmt: AudioFormat, sample_rate: int | None) -> int:
    """The sample rate a file of this format is written at (the name's own, else the asked, else default)."""
    return fmt.sample_rate if fmt.fixed_rate or sample_rate is None else sample_rate


def encode(samples: array[int], sample_rate: int, fmt: str, channels: int = 1, bitrate: int | None = None
           ) -> bytes:
    """Encode mono 16-bit samples at `sample_rate` as a file of format `fmt` (channels duplicated).

    The caller's rate must be the format's (see `resolved_rate`); PyAV reframes for each codec's frame size.
    """
    import av  # at first use: see the module docstring
    entry = audio_format(fmt)
    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 or 2, got {channels}")
    layout = "mono" if channels == 1 else "stereo"
    data = samples if channels == 1 else array("h", [s for s in samples for _ in (0, 1)])
    out = io.BytesIO()
    with av.open(out, "w", format=entry.muxer, options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream(entry.codec, rate=sample_rate, layout=layout)
        if entry.bitrate is not None:
            stream.bit_rate = bitrate or entry.bitrate
        if entry.codec == "libmp3lame":
            # Fastest LAME search and no bit reservoir: a 3-minute song encodes in well under 2 s.
            stream.codec_context.options = {"compression_level": "9", "reservoir": "0"}
        elif entry.codec == "aac":
            stream.codec_context.options = {"aac_coder": "fast"}  # about a fifth faster, same bitrate
        raw = data.tobytes()
        step = sample_rate  # one second per frame handed to the encoder
        for start in range(0, len(samples), step):
            count = min(step, len(samples) - start)
            frame = av.AudioFrame(format="s16", layout=layout, samples=count)
            frame.planes[0].update(raw[start * 2 * channels:(start + count) * 2 * channels])
            frame.sample_rate = sample_rate
            frame.time_base = Fraction(1, sample_rate)
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def encode_looped(period: array[int], total: int, sample_rate: int, fmt: str, bitrate: int | None = None) -> bytes:
    """`period` repeated to `total` mono samples, encoded as `fmt`.

    Why: LAME is nearly all of a long song's cost. When the period is a whole number of MP3 frames, LAME
    encodes only two periods and the remainder; the second period's frames (encoded with the period before
    and after it, so in steady state; no bit reservoir, so each frame stands alone) are repeated, and the
    frames are remuxed, so FFmpeg writes the Info header for the whole file. The one difference from encoding
    every sample: the Info header no longer records the encoder's delay and padding, so decoders play about
    1,300 samples (60 ms at 22050 Hz) more than `total`. Other formats, and short songs, encode every sample.
    """
    import av  # at first use: see the module docstring
    entry = audio_format(fmt)
    frame = 1152 if sample_rate >= 32000 else 576  # samples per MP3 frame: MPEG-1, else MPEG-2/2.5
    repeats, remainder = divmod(total, len(period)) if period else (0, 0)
    if entry.codec != "libmp3lame" or not period or len(period) % frame or repeats < 3:
        return encode((period * (repeats + 1))[:total], sample_rate, fmt, 1, bitrate)
    encoded = encode(period * 2 + period[:remainder], sample_rate, fmt, 1, bitrate)
    per = len(period) // frame
    out = io.BytesIO()
    with av.open(io.BytesIO(encoded)) as source:
        stream = source.streams.audio[0]
        packets = [bytes(packet) for packet in source.demux(stream) if packet.size]
        frames = packets[:per] + packets[per:2 * per] * (repeats - 1) + packets[2 * per:]
        with av.open(out, "w", format="mp3", options={"fflags": "+bitexact"}) as container:
            target = container.add_stream_from_template(stream)
            for index, data in enumerate(frames):
                packet = av.Packet(data)
                packet.pts = packet.dts = index * frame
                packet.duration, packet.time_base, packet.stream = frame, Fraction(1, sample_rate), target
                container.mux(packet)
    return out.getvalue()


def render_audio(spec: AudioSpec) -> bytes:
    """A tune derived from `spec.seed` (audible, never silence), `spec.duration_seconds` long, encoded as
    `spec.format`. The same spec gives the same bytes; another seed plays another tune."""
    if spec.duration_seconds <= 0:
        raise ValueError(f"duration_seconds must be positive, got {spec.duration_seconds}")
    entry = audio_format(spec.format)
    rate = resolved_rate(entry, spec.sample_rate)
    samples = melody(spec.seed, round(spec.duration_seconds * rate), rate, _AMPLITUDE)
    return encode(samples, rate, entry.name, spec.channels, spec.bitrate)


def probe_audio(data: bytes, format: str | None = None) -> AudioInfo:
    """Read a file's container, codec, exact duration, sample rate and channels.

    Headerless formats (`pcm_*`, `ulaw_8000`, `alaw_8000`) cannot say what they are: pass their `format`
    name. The duration is counted from the packets, not estimated from the bitrate (ADTS has no header)."""
    import av  # at first use: see the module docstring
    options: dict[str, str] = {}
    demuxer: str | None = None
    if format is not None and audio_format(format).raw:
        entry = audio_format(format)
        demuxer, options = entry.muxer, {"sample_rate": str(entry.sample_rate), "ch_layout": "mono"}
    with av.open(io.BytesIO(data), "r", format=demuxer, options=options) as container:
        if not container.streams.audio:
            raise ValueError("no audio stream")
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        channels = stream.codec_context.channels
        codec = stream.codec_context.name
        samples = 0
        for frame in container.decode(stream):
            samples += frame.samples
        name = container.format.name.split(",")[0]
    return AudioInfo(name, codec, samples / rate, rate, channels)
