"""Uploaded and recorded audio: recognised by content, refused with a code, or transcoded,
trimmed and loudness-normalised. Every file is made at test time by espeak-ng, sox and ffmpeg."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from media_support import (
    encode,
    fetchval,
    image,
    loudness_lufs,
    media_settings,
    new_tenant,
    running_media,
    silence,
    speech,
    tone,
    wav_info,
)
from rcp_media.app import RunningMedia
from rcp_media.errors import (
    AudioTooLong,
    CorruptAudio,
    EmptyAudio,
    FileTooLarge,
    MediaError,
    NotAudio,
    UnsupportedAudioFormat,
)
from rcp_media.keys import AudioFormat, Kind

LEAD_S, TRAIL_S = 1.5, 2.0
MAX_S = 8.0
MAX_BYTES = 3 * 1024 * 1024


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same French sentence, with silence around it, in every accepted format."""
    folder = tmp_path_factory.mktemp("samples")
    source = speech(
        folder / "source.wav",
        "Bonjour, vous êtes bien chez Démo SARL. Merci de patienter.",
        pad_s=(LEAD_S, TRAIL_S),
    )
    stereo = encode(source, folder / "stereo-44k.wav", "-ac", "2", "-ar", "44100")
    return {
        "wav": source,
        "wav-stereo-44k": stereo,
        "mp3": encode(stereo, folder / "prompt.mp3", "-c:a", "libmp3lame", "-b:a", "64k"),
        "ogg-opus": encode(source, folder / "prompt.ogg", "-c:a", "libopus", "-b:a", "32k"),
        "ogg-vorbis": encode(source, folder / "vorbis.ogg", "-c:a", "libvorbis"),
        # What Chromium's MediaRecorder makes (the web manager records greetings so).
        "webm-opus": encode(stereo, folder / "recording.webm", "-c:a", "libopus", "-b:a", "48k"),
        "flac": encode(stereo, folder / "prompt.flac", "-c:a", "flac"),
        "m4a-aac": encode(stereo, folder / "prompt.m4a", "-c:a", "aac", "-b:a", "64k"),
        "aac-adts": encode(source, folder / "prompt.aac", "-c:a", "aac"),
        # Metadata that reads like ffmpeg's own messages is only metadata.
        "mp3-odd-title": encode(
            source,
            folder / "titled.mp3",
            *("-metadata", "title=Corrupt file, error while decoding, silence_start: 0"),
        ),
        # A name says nothing: MP3 content called .wav is an MP3.
        "mp3-named-wav": Path(shutil.copy(folder / "prompt.mp3", folder / "actually-mp3.wav")),
    }


@pytest.fixture
async def media(migrated_url: str, tmp_path: Path) -> AsyncIterator[RunningMedia]:
    settings = media_settings(
        migrated_url,
        tmp_path / "media",
        media_upload_max_s=MAX_S,
        media_upload_max_bytes=MAX_BYTES,
    )
    async with running_media(settings) as running:
        yield running


async def _ingest(
    media: RunningMedia, tenant: uuid.UUID, path: Path, kind: Kind = Kind.UPLOAD
) -> tuple[uuid.UUID, str, int]:
    ready = await media.service.ingest(tenant, kind, path, path.name)
    assert ready.prompt_id is not None
    return ready.prompt_id, ready.key, ready.duration_ms


@pytest.mark.parametrize(
    "sample",
    [
        "wav",
        "wav-stereo-44k",
        "mp3",
        "ogg-opus",
        "ogg-vorbis",
        "webm-opus",
        "flac",
        "m4a-aac",
        "aac-adts",
        "mp3-odd-title",
        "mp3-named-wav",
    ],
)
async def test_each_upload_format_is_transcoded_trimmed_and_normalised(
    media: RunningMedia, migrated_url: str, samples: dict[str, Path], sample: str
) -> None:
    tenant = await new_tenant(migrated_url)
    source = wav_info(samples["wav"])
    prompt_id, key, duration_ms = await _ingest(media, tenant, samples[sample])

    files = media.files.playable(key)
    narrow = wav_info(files.path(AudioFormat.NARROWBAND))
    wide = wav_info(files.path(AudioFormat.WIDEBAND))
    assert (narrow.rate, narrow.sample_width, narrow.channels) == (8000, 2, 1)
    assert (wide.rate, wide.sample_width, wide.channels) == (16000, 2, 1)
    # Leading and trailing silence are gone, up to the margins kept around the speech.
    speech_s = source.seconds - LEAD_S - TRAIL_S
    assert speech_s - 0.3 < narrow.seconds < speech_s + 0.5
    assert duration_ms == int(narrow.seconds * 1000)
    lufs = await asyncio.to_thread(loudness_lufs, files.path(AudioFormat.WIDEBAND))
    assert -23.0 < lufs < -17.0
    row = await fetchval(
        migrated_url,
        """SELECT source || ' ' || status || ' ' || content_hash || ' ' || original_filename
             FROM prompts WHERE tenant_id = $1 AND id = $2""",
        tenant,
        prompt_id,
    )
    assert row == f"upload ready {key} {samples[sample].name}"


async def test_recording_is_stored_as_a_recording_prompt(
    media: RunningMedia, migrated_url: str, samples: dict[str, Path], tmp_path: Path
) -> None:
    # What Asterisk's record (format=wav) writes: 8 kHz 16-bit mono.
    recorded = encode(samples["wav"], tmp_path / "voicemail.wav", "-ar", "8000")
    tenant = await new_tenant(migrated_url)
    prompt_id, key, _ = await _ingest(media, tenant, recorded, Kind.RECORDING)
    source = await fetchval(migrated_url, "SELECT source FROM prompts WHERE id = $1", prompt_id)
    assert source == "recording"
    kind = await fetchval(migrated_url, "SELECT kind FROM media_files WHERE key = $1", key)
    assert kind == "recording"


async def test_same_upload_twice_is_processed_once_and_gives_two_prompts(
    media: RunningMedia, migrated_url: str, samples: dict[str, Path]
) -> None:
    tenant = await new_tenant(migrated_url)
    first = await media.service.ingest(tenant, Kind.UPLOAD, samples["flac"], "a.flac")
    second = await media.service.ingest(tenant, Kind.UPLOAD, samples["flac"], "b.flac")
    assert first.key == second.key
    assert (first.rendered, second.rendered) == (True, False)
    assert first.prompt_id != second.prompt_id
    # Another tenant's identical file is its own entry: nothing is shared across tenants.
    other = await media.service.ingest(
        await new_tenant(migrated_url), Kind.UPLOAD, samples["flac"], "a.flac"
    )
    assert other.key != first.key


def _text_named_wav(folder: Path) -> Path:
    path = folder / "greeting.wav"
    path.write_text("Bonjour, ceci est un texte et pas du son.\n" * 40)
    return path


def _truncated_mp3(folder: Path, samples: dict[str, Path]) -> Path:
    whole = samples["mp3"].read_bytes()
    path = folder / "cut.mp3"
    path.write_bytes(whole[: len(whole) // 2])
    return path


def _riff_video(folder: Path) -> Path:
    path = folder / "clip.wav"
    path.write_bytes(b"RIFF\x00\x10\x00\x00AVI LIST" + bytes(4000))
    return path


def _empty(folder: Path) -> Path:
    path = folder / "empty.wav"
    path.write_bytes(b"")
    return path


def _hls_playlist(folder: Path) -> Path:
    # A classic ffmpeg trick: a playlist making the decoder read a local file into the audio.
    path = folder / "playlist.mp3"
    path.write_text(
        "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\n/etc/passwd\n#EXT-X-ENDLIST\n"
    )
    return path


@pytest.mark.parametrize(
    ("make", "refusal"),
    [
        ("text-named-wav", NotAudio),
        ("image", NotAudio),
        ("hls-playlist", NotAudio),
        ("riff-but-not-wave", NotAudio),
        ("truncated-mp3", CorruptAudio),
        ("empty", EmptyAudio),
        ("silence", EmptyAudio),
        ("too-long", AudioTooLong),
        ("too-large", FileTooLarge),
        ("aiff", UnsupportedAudioFormat),
        ("matroska-aac", UnsupportedAudioFormat),
    ],
)
async def test_unacceptable_file_is_refused_with_its_own_code_and_leaves_nothing(
    *,
    media: RunningMedia,
    migrated_url: str,
    samples: dict[str, Path],
    tmp_path: Path,
    make: str,
    refusal: type[MediaError],
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    makers = {
        "text-named-wav": lambda: _text_named_wav(folder),
        "image": lambda: image(folder / "image.png"),
        "hls-playlist": lambda: _hls_playlist(folder),
        "riff-but-not-wave": lambda: _riff_video(folder),
        "truncated-mp3": lambda: _truncated_mp3(folder, samples),
        "empty": lambda: _empty(folder),
        "silence": lambda: silence(folder / "silence.wav", 3),
        "too-long": lambda: tone(folder / "long.wav", MAX_S + 2, rate=8000, channels=1),
        "too-large": lambda: tone(folder / "large.wav", 40, rate=48000, channels=2),
        "aiff": lambda: encode(samples["wav"], folder / "prompt.aiff"),
        "matroska-aac": lambda: encode(samples["wav"], folder / "prompt.mka", "-c:a", "aac"),
    }
    path = await asyncio.to_thread(makers[make])
    tenant = await new_tenant(migrated_url)

    with pytest.raises(refusal) as refused:
        await media.service.ingest(tenant, Kind.UPLOAD, path, path.name)

    assert refused.value.code == refusal.code_for
    prompts = await fetchval(
        migrated_url, "SELECT count(*) FROM prompts WHERE tenant_id = $1", tenant
    )
    assert prompts == 0
    assert not list(media.files.tmp.iterdir())
    assert not [p for p in media.files.root.rglob("*.wav*") if media.files.tmp not in p.parents]


def test_every_refusal_has_a_code_of_its_own() -> None:
    refusals = [NotAudio, CorruptAudio, EmptyAudio, AudioTooLong, FileTooLarge]
    assert len({refusal.code_for for refusal in refusals}) == len(refusals)
