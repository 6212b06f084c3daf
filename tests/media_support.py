"""Helpers of the media service's tests: the service on the real stack, audio made at test time.

No audio file is committed: fixtures are spoken by espeak-ng and encoded by ffmpeg or sox
when a test needs them.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import numpy
from rcp.runtime import infrastructure
from rcp_media.app import RunningMedia, run_media
from rcp_media.settings import Settings
from roles_support import service_url

TEST_URL_SECRET = "tests-media-url-secret-0123456789"
WAV_HEADER_BYTES = 44  # a PCM WAV header, as sox and Python's wave module write it


def media_settings(database_url: str, media_dir: Path, **overrides: Any) -> Settings:
    """Settings of a media service of its own: any free ports, subjects nobody else answers;
    it logs in as its own role (`database_url` is the owner's)."""
    values: dict[str, Any] = {
        "database_url": service_url(database_url, "media"),
        "media_dir": media_dir,
        "media_http_port": 0,
        "ops_port": 0,
        "media_nats_scope": f"test{uuid.uuid4().hex[:12]}",
        "media_url_secret": TEST_URL_SECRET,
        # Maintenance runs when a test calls it, not on its own in the middle of a test.
        "media_maintenance_interval_s": 3600,
        "database_pool_max": 20,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running_media(settings: Settings) -> AsyncIterator[RunningMedia]:
    """The whole media service, in this process, until the block exits."""
    async with (
        infrastructure(settings, settings.service_name) as infra,
        run_media(settings, infra) as media,
    ):
        yield media


def metric(media: RunningMedia, name: str, **labels: str) -> float:
    """The current value of one of the service's metrics (0 if never set)."""
    return media.metrics.registry.get_sample_value(name, labels) or 0.0


async def new_tenant(database_url: str, locale: str = "fr-FR") -> uuid.UUID:
    """A tenant of the test's own."""
    connection = await asyncpg.connect(database_url)
    try:
        tenant_id: uuid.UUID = await connection.fetchval(
            "INSERT INTO tenants (slug, name, locale) VALUES ($1, $2, $3) RETURNING id",
            f"t-{uuid.uuid4().hex[:16]}",
            "Test SARL",
            locale,
        )
    finally:
        await connection.close()
    return tenant_id


async def fetchval(database_url: str, query: str, *args: object) -> Any:
    """One value from the test database."""
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetchval(query, *args)
    finally:
        await connection.close()


async def execute(database_url: str, query: str, *args: object) -> None:
    """One statement on the test database."""
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(query, *args)
    finally:
        await connection.close()


async def new_database(make_database: object) -> str:
    """A database of the test's own, migrated (for tests that measure the whole cache)."""
    from rcp.db.migrate import upgrade  # noqa: PLC0415

    assert callable(make_database)
    url: str = await asyncio.to_thread(make_database)
    await asyncio.to_thread(upgrade, url, configure_logging=False)
    return url


# --- audio -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WavInfo:
    """What a WAV file's header says."""

    channels: int
    sample_width: int
    rate: int
    frames: int

    @property
    def seconds(self) -> float:
        """The length in seconds."""
        return self.frames / self.rate


def wav_info(path: Path) -> WavInfo:
    """Read a WAV header (Python's own reader refuses anything but PCM)."""
    with wave.open(str(path), "rb") as audio:
        return WavInfo(
            audio.getnchannels(), audio.getsampwidth(), audio.getframerate(), audio.getnframes()
        )


def _run(args: list[str]) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=120)


def speech(
    path: Path, text: str, voice: str = "fr-fr", pad_s: tuple[float, float] = (0, 0)
) -> Path:
    """Speech by espeak-ng (22.05 kHz), with silence before and after if asked."""
    raw = path.with_suffix(".raw.wav")
    # `-b 1`: the text is UTF-8, as the service's workers say (without it espeak-ng guesses,
    # and takes valid UTF-8 as such: the same samples for accented texts, checked).
    _run(["espeak-ng", "-v", voice, "-b", "1", "-w", str(raw), text])
    _run(["sox", str(raw), str(path), "pad", str(pad_s[0]), str(pad_s[1])])
    raw.unlink()
    return path


def resample(source: Path, destination: Path, rate: int) -> Path:
    """`source` resampled by sox to 16-bit mono at `rate`, without dither."""
    _run(["sox", "-D", str(source), "-r", str(rate), "-b", "16", "-c", "1", str(destination)])
    return destination


# soxr, which resamples speech in the service, and sox's `rate` effect differ by a rounding or
# two: a few steps of 16-bit audio, some 80 dB under full scale.
RESAMPLERS_DIFFER_BY = 3


def assert_resampled_alike(actual: Path, expected: Path) -> None:
    """`actual` is `expected` but for the resamplers' rounding: the same header (so the same
    format and length), samples within `RESAMPLERS_DIFFER_BY`."""
    got, wanted = actual.read_bytes(), expected.read_bytes()
    assert got[:WAV_HEADER_BYTES] == wanted[:WAV_HEADER_BYTES]
    assert len(got) == len(wanted)
    difference = numpy.frombuffer(got[WAV_HEADER_BYTES:], "<i2").astype(int) - numpy.frombuffer(
        wanted[WAV_HEADER_BYTES:], "<i2"
    )
    assert int(numpy.abs(difference).max()) <= RESAMPLERS_DIFFER_BY


def encode(source: Path, destination: Path, *codec: str) -> Path:
    """`source` re-encoded by ffmpeg (the container follows `destination`'s extension)."""
    _run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(source), *codec, str(destination)])
    return destination


def tone(path: Path, seconds: float, rate: int = 44100, channels: int = 2) -> Path:
    """A 440 Hz tone made by sox."""
    _run(
        [
            "sox",
            "-n",
            "-r",
            str(rate),
            "-c",
            str(channels),
            str(path),
            "synth",
            str(seconds),
            "sine",
            "440",
            "vol",
            "0.3",
        ]
    )
    return path


def image(path: Path) -> Path:
    """A small PNG picture made by ffmpeg."""
    lavfi = ["-f", "lavfi", "-i", "color=c=red:s=16x16"]
    _run(["ffmpeg", "-v", "error", *lavfi, "-frames:v", "1", str(path)])
    return path


def silence(path: Path, seconds: float) -> Path:
    """Digital silence made by sox."""
    _run(["sox", "-n", "-r", "16000", "-c", "1", str(path), "trim", "0", str(seconds)])
    return path


def loudness_lufs(path: Path) -> float:
    """Integrated loudness measured by ffmpeg's ebur128 filter."""
    done = subprocess.run(
        ["ffmpeg", "-nostats", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    summary = done.stderr.rsplit("Summary:", 1)[1]
    return float(summary.split("I:", 1)[1].split("LUFS", 1)[0])
