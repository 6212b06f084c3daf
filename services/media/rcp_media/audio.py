"""Audio files in and out: recognising uploads, transcoding, trimming, loudness, via ffmpeg;
resampling speech with soxr.

Every file the service keeps is 16-bit mono PCM WAV twice over: 8 kHz (Asterisk's `wav`) and
16 kHz (`wav16`). Uploads are recognised by content (ffprobe), never by name, and ffmpeg may
only read local files with the demuxers named here: a crafted upload (an HLS playlist, a
concat script) cannot make it open anything else.
"""

from __future__ import annotations

import contextlib
import json
import re
import struct
import wave
from collections.abc import AsyncIterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy
import soxr

from rcp_media.errors import (
    AudioTooLong,
    CorruptAudio,
    EmptyAudio,
    NotAudio,
    RenderFailed,
    UnsupportedAudioFormat,
)
from rcp_media.keys import AudioFormat
from rcp_media.process import require_tool, run

# What uploads may be: WAV, MP3, OGG (Opus, Vorbis, FLAC), FLAC, M4A/MP4 (AAC, ALAC), raw AAC,
# and WebM with Opus or Vorbis: what a browser's MediaRecorder makes (Chromium records no
# other audio container; Firefox records OGG, Safari MP4).
ACCEPTED_DEMUXERS = frozenset({"wav", "mp3", "ogg", "flac", "mov", "aac", "matroska"})
# Matroska is taken only as a browser's recording: these codecs, nothing else it may hold.
BROWSER_RECORDING = ("matroska", frozenset({"opus", "vorbis"}))
# Audio containers recognised only to refuse them with `unsupported_audio_format`.
REFUSED_AUDIO_DEMUXERS = frozenset({"aiff", "amr", "asf", "caf", "au", "w64", "ape", "wv", "ac3"})
_PROBED_DEMUXERS = ",".join(sorted(ACCEPTED_DEMUXERS | REFUSED_AUDIO_DEMUXERS))
_ACCEPTED = ",".join(sorted(ACCEPTED_DEMUXERS))

# Signatures of the accepted containers: content ffprobe cannot open but that starts like one
# of them is damaged audio, not something else.
_AUDIO_SIGNATURES = (b"ID3", b"OggS", b"fLaC", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")


def _looks_like_audio(start: bytes) -> bool:
    wave_file = start[:4] == b"RIFF" and start[8:12] == b"WAVE"
    return wave_file or start[4:8] == b"ftyp" or start.startswith(_AUDIO_SIGNATURES)


DECODE_RATE = 16000
SILENCE_THRESHOLD_DB = -50
SILENCE_MIN_S = 0.2
# Kept before the first and after the last sound, so that nothing is clipped.
MARGIN_S = 0.1
SHORTEST_SOUND_S = 0.1
# How close to either end of the file a silence must reach to count as leading or trailing.
EDGE_S = 0.02
# A file that decodes shorter than its header says, by more than this, was cut short.
TRUNCATION_TOLERANCE_S = 0.5
TRUNCATION_TOLERANCE_RATIO = 0.02
# Uploads land near the loudness of espeak-ng's speech (about -20 LUFS), peaks 2 dB under
# full scale.
LOUDNESS = "loudnorm=I=-20:TP=-2:LRA=11"

# Pass 1 logs with each line's level (`-v level+info`): damage is any error, or a warning that
# says corrupt; the input's metadata (a title, say) is logged at info and never mistaken for it.
_DAMAGE = re.compile(r"\[(?:error|fatal|panic)\]|\[warning\].*corrupt", re.IGNORECASE)
_ESTIMATED = re.compile(r"Estimating duration from bitrate")
_SILENCE_START = re.compile(r"silence_start: (-?[0-9.]+)")
_SILENCE_END = re.compile(r"silence_end: (-?[0-9.]+)")
_PCM_OUT = ["-c:a", "pcm_s16le", "-fflags", "+bitexact", "-flags:a", "+bitexact"]
_NO_METADATA = ["-map_metadata", "-1", "-f", "wav"]
_BATCH = ["-nostdin", "-hide_banner", "-nostats"]  # no prompt, banner or progress lines


@dataclass(frozen=True)
class Probe:
    """What ffprobe says an upload is."""

    demuxer: str
    codec: str
    declared_s: float | None


@dataclass(frozen=True)
class Playable:
    """The two files of one entry."""

    narrowband: Path
    wideband: Path

    def path(self, audio_format: AudioFormat) -> Path:
        """The file of one format."""
        return self.narrowband if audio_format is AudioFormat.NARROWBAND else self.wideband


def wav_duration_ms(path: Path) -> int:
    """The length of a PCM WAV file, from its header."""
    with wave.open(str(path), "rb") as audio:
        return int(audio.getnframes() * 1000 / audio.getframerate())


def audible_span(log: str, duration_s: float) -> tuple[float, float] | None:
    """From ffmpeg's silencedetect log, the span from the first sound to the last, margins
    kept; None when there is nothing but silence."""
    detected = "\n".join(line for line in log.splitlines() if line.startswith("[silencedetect"))
    starts = [float(value) for value in _SILENCE_START.findall(detected)]
    ends = [float(value) for value in _SILENCE_END.findall(detected)]
    # A silence still running at the end of the file may have no end logged.
    silences = [
        (start, ends[index] if index < len(ends) else duration_s)
        for index, start in enumerate(starts)
    ]
    begin, end = 0.0, duration_s
    if silences and silences[0][0] <= EDGE_S:
        begin = silences[0][1]
    if silences and silences[-1][1] >= duration_s - EDGE_S:
        end = silences[-1][0]
    if end - begin < SHORTEST_SOUND_S:
        return None
    return max(0.0, begin - MARGIN_S), min(duration_s, end + MARGIN_S)


class SpeechStream:
    """Reads a TTS engine's WAV stream: its header (whose lengths may say nothing, a stream's),
    then 16-bit mono PCM, whole samples at a time."""

    def __init__(self) -> None:
        self.rate: int | None = None
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        """The whole samples that `chunk` completes (none until the header is read)."""
        data = self._pending + chunk
        if self.rate is None:
            found = _wav_format(data)
            if found is None:
                self._pending = data
                return b""
            self.rate, start = found
            data = data[start:]
        whole = len(data) - len(data) % 2
        self._pending = data[whole:]
        return data[:whole]


_RIFF = struct.Struct("<4sI4s")
_CHUNK = struct.Struct("<4sI")


def _wav_format(data: bytes) -> tuple[int, int] | None:
    """A WAV header's sample rate and where its samples start, or None if `data` does not
    hold the whole header yet; raises `RenderFailed` unless it is 16-bit mono PCM."""
    if len(data) < _RIFF.size:
        return None
    riff, _, wave_id = _RIFF.unpack_from(data)
    if (riff, wave_id) != (b"RIFF", b"WAVE"):
        raise RenderFailed("the engine's speech is not WAV")
    rate, offset = None, _RIFF.size
    while len(data) >= offset + _CHUNK.size:
        name, size = _CHUNK.unpack_from(data, offset)
        body = offset + _CHUNK.size
        if name == b"data":
            if rate is None:
                raise RenderFailed("the engine's speech has no format before its samples")
            return rate, body
        if len(data) < body + size:
            return None
        if name == b"fmt ":
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, body)
            if (tag, channels, bits) != (1, 1, 16):
                raise RenderFailed(
                    "the engine's speech is not 16-bit mono PCM",
                    format_tag=tag,
                    channels=channels,
                    bits=bits,
                )
        offset = body + size + size % 2
    return None


class _Resampler:
    """One rate of speech: soxr (linear phase, its high quality, as sox's `rate` effect) into
    a 16-bit WAV file, without dither so that the same speech always gives the same bytes
    (floating point in, rounded here, whatever the chunks)."""

    def __init__(self, resampler: soxr.ResampleStream, output: wave.Wave_write) -> None:
        self._resampler = resampler
        self._output = output

    @classmethod
    @contextlib.contextmanager
    def open(cls, rate: int, audio_format: AudioFormat, path: Path) -> Iterator[_Resampler]:
        """Resample speech at `rate` into `path`, closed (its header completed) on leaving."""
        with contextlib.ExitStack() as stack:
            try:
                file = stack.enter_context(path.open("wb"))
            except OSError as error:
                raise RenderFailed("cannot write speech", error=str(error)) from error
            # Given the open file: wave.open(name) that fails to open warns when collected.
            output = stack.enter_context(wave.open(file, "wb"))
            output.setnchannels(1)
            output.setsampwidth(2)
            output.setframerate(audio_format.sample_rate)
            resampler = soxr.ResampleStream(
                rate, audio_format.sample_rate, 1, dtype="float32", quality="HQ"
            )
            yield cls(resampler, output)

    def write(self, samples: bytes, *, last: bool = False) -> None:
        """Resample `samples` (16-bit PCM) and write what comes out."""
        floats = numpy.frombuffer(samples, dtype="<i2").astype(numpy.float32) / 32768
        resampled = self._resampler.resample_chunk(floats, last=last)
        pcm = numpy.clip(numpy.rint(resampled * 32768), -32768, 32767).astype("<i2")
        # The header's lengths are written once, when the file is closed.
        self._output.writeframesraw(pcm.tobytes())


class FfmpegTools:
    """`AudioTools` with ffprobe and ffmpeg for uploads and soxr for speech."""

    def __init__(self) -> None:
        self._ffmpeg = require_tool("ffmpeg")
        self._ffprobe = require_tool("ffprobe")

    async def convert_speech(self, speech: AsyncIterable[bytes], out: Playable) -> None:
        """Resample with soxr in this process, both rates as the speech comes (a sox process
        per rate took more CPU to start than to resample a sentence)."""
        stream = SpeechStream()
        async with contextlib.AsyncExitStack() as stack:
            resamplers: list[_Resampler] = []
            async for chunk in speech:
                samples = stream.feed(chunk)
                if not resamplers and stream.rate is not None:
                    # Opened once the speech's rate is known: the engine is speaking.
                    for audio_format in (AudioFormat.NARROWBAND, AudioFormat.WIDEBAND):
                        resamplers.append(
                            stack.enter_context(
                                _Resampler.open(stream.rate, audio_format, out.path(audio_format))
                            )
                        )
                for resampler in resamplers:
                    resampler.write(samples)
            if not resamplers:
                raise RenderFailed("the engine's speech has no WAV header")
            for resampler in resamplers:
                resampler.write(b"", last=True)

    async def probe(self, source: Path, timeout_s: float) -> Probe:
        """Recognise the content; refuse what is not audio or not a format taken here."""
        done = await run(
            [
                self._ffprobe,
                "-v",
                "warning",
                "-protocol_whitelist",
                "file",
                "-format_whitelist",
                _PROBED_DEMUXERS,
                "-show_entries",
                "format=format_name,duration:stream=codec_type,codec_name",
                "-of",
                "json",
                str(source),
            ],
            timeout_s=timeout_s,
        )
        if done.returncode != 0:
            with source.open("rb") as head:
                start = head.read(12)
            if _looks_like_audio(start):
                raise CorruptAudio("the file starts like audio but cannot be read")
            raise NotAudio("the file is not audio")
        found = json.loads(done.stdout or b"{}")
        demuxer = str(found.get("format", {}).get("format_name", "")).split(",", 1)[0]
        streams = [s for s in found.get("streams", []) if s.get("codec_type") == "audio"]
        if not streams:
            raise NotAudio("the file has no sound in it", format=demuxer)
        codec = str(streams[0].get("codec_name", ""))
        container, codecs = BROWSER_RECORDING
        if demuxer not in ACCEPTED_DEMUXERS or (demuxer == container and codec not in codecs):
            raise UnsupportedAudioFormat(
                f"{demuxer} files are not taken: use WAV, MP3, OGG/Opus, FLAC, M4A/AAC or a "
                "browser's WebM recording (Opus)",
                format=demuxer,
            )
        raw_duration = found.get("format", {}).get("duration")
        declared = float(raw_duration) if raw_duration not in (None, "N/A") else None
        if _ESTIMATED.search(done.stderr):
            declared = None  # a guess from the bit rate (raw AAC, MP3 without a header)
        return Probe(demuxer, codec, declared)

    async def process_upload(
        self, source: Path, work: Path, out: Playable, max_s: float, timeout_s: float
    ) -> None:
        """Two passes: decode (checked, silence located), then trim, normalise and write."""
        probe = await self.probe(source, timeout_s)
        if probe.declared_s is not None and probe.declared_s > max_s + TRUNCATION_TOLERANCE_S:
            raise _too_long(probe.declared_s, max_s)
        decoded = work / "decoded.wav"
        # Pass 1. -t stops a lying header from making us decode hours; one second past the
        # limit is enough to tell that a file is too long.
        done = await run(
            [
                self._ffmpeg,
                *_BATCH,
                "-v",
                "level+info",
                "-protocol_whitelist",
                "file",
                "-format_whitelist",
                _ACCEPTED,
                "-f",
                probe.demuxer,
                "-t",
                f"{max_s + 1:.3f}",
                "-i",
                str(source),
                "-map",
                "0:a:0",
                "-af",
                f"aresample={DECODE_RATE},aformat=sample_fmts=s16:channel_layouts=mono,"
                f"asetpts=N/SR/TB,"
                f"silencedetect=noise={SILENCE_THRESHOLD_DB}dB:duration={SILENCE_MIN_S}",
                *_PCM_OUT,
                *_NO_METADATA,
                "-y",
                str(decoded),
            ],
            timeout_s=timeout_s,
        )
        if done.returncode != 0 or _DAMAGE.search(done.stderr):
            damage = _DAMAGE.search(done.stderr)
            raise CorruptAudio(
                "the audio cannot be decoded to its end",
                detail=damage.group(0) if damage else done.stderr[-200:],
            )
        decoded_s = wav_duration_ms(decoded) / 1000
        if decoded_s == 0:
            raise EmptyAudio("the file holds no audio")
        if decoded_s > max_s + 0.05:
            raise _too_long(decoded_s, max_s)
        if probe.declared_s is not None and decoded_s < probe.declared_s - max(
            TRUNCATION_TOLERANCE_S, probe.declared_s * TRUNCATION_TOLERANCE_RATIO
        ):
            raise CorruptAudio(
                "the file ends before its header says it does (truncated?)",
                declared_s=round(probe.declared_s, 3),
                decoded_s=round(decoded_s, 3),
            )
        span = audible_span(done.stderr, decoded_s)
        if span is None:
            raise EmptyAudio("the file holds nothing but silence")
        begin, end = span
        # Pass 2, from the decoded PCM: trim, normalise, then both rates.
        graph = (
            f"[0:a]atrim=start={begin:.4f}:end={end:.4f},asetpts=N/SR/TB,{LOUDNESS},"
            f"aresample={AudioFormat.WIDEBAND.sample_rate},"
            f"aformat=sample_fmts=s16:channel_layouts=mono,asplit=2[wide][split];"
            f"[split]aresample={AudioFormat.NARROWBAND.sample_rate}[narrow]"
        )
        done = await run(
            [
                self._ffmpeg,
                *_BATCH,
                "-v",
                "error",
                "-i",
                str(decoded),
                "-filter_complex",
                graph,
                "-map",
                "[wide]",
                *_PCM_OUT,
                *_NO_METADATA,
                "-y",
                str(out.wideband),
                "-map",
                "[narrow]",
                *_PCM_OUT,
                *_NO_METADATA,
                "-y",
                str(out.narrowband),
            ],
            timeout_s=timeout_s,
        )
        if done.returncode != 0:
            raise RenderFailed("ffmpeg could not transcode the audio", stderr=done.stderr[-500:])
        if wav_duration_ms(out.narrowband) == 0:
            raise EmptyAudio("the file holds nothing but silence")


def _too_long(length_s: float, max_s: float) -> AudioTooLong:
    return AudioTooLong(
        f"the audio lasts more than {max_s:g} s", max_s=max_s, length_s=round(length_s, 1)
    )
