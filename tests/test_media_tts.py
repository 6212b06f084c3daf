"""Text to speech through the media service, with the real espeak-ng and sox."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from media_support import (
    execute,
    fetchval,
    media_settings,
    metric,
    new_tenant,
    resample,
    running_media,
    speech,
    wav_info,
)
from rcp_media.app import RunningMedia
from rcp_media.audio import FfmpegTools, Playable
from rcp_media.errors import (
    EmptyText,
    MediaError,
    RenderFailed,
    TenantNotFound,
    TextTooLong,
    UnsupportedLanguage,
    UnsupportedVoice,
)
from rcp_media.keys import AudioFormat
from rcp_media.process import run
from rcp_media.tts import espeak


@pytest.fixture
async def media(migrated_url: str, tmp_path: Path) -> AsyncIterator[RunningMedia]:
    settings = media_settings(migrated_url, tmp_path / "media", media_tts_max_chars=400)
    async with running_media(settings) as running:
        yield running


def _file(media: RunningMedia, key: str, audio_format: AudioFormat) -> Path:
    return media.files.playable(key).path(audio_format)


@pytest.mark.parametrize(
    ("locale", "short", "long"),
    [
        ("fr-FR", "Bonjour.", "Bonjour. Pour joindre un collaborateur par son nom, tapez 1."),
        ("en-US", "Hello.", "Hello. To reach someone by name, please press one now."),
    ],
)
async def test_speech_is_8khz_16bit_mono_wav_and_lasts_longer_for_longer_text(
    media: RunningMedia, migrated_url: str, locale: str, short: str, long: str
) -> None:
    tenant = await new_tenant(migrated_url, locale)
    brief = await media.service.ensure_text(tenant, short, None, None)
    longer = await media.service.ensure_text(tenant, long, None, None)

    for ready in (brief, longer):
        narrow = wav_info(_file(media, ready.key, AudioFormat.NARROWBAND))
        assert (narrow.rate, narrow.sample_width, narrow.channels) == (8000, 2, 1)
        wide = wav_info(_file(media, ready.key, AudioFormat.WIDEBAND))
        assert (wide.rate, wide.sample_width, wide.channels) == (16000, 2, 1)
        assert abs(narrow.seconds - wide.seconds) < 0.01
        assert ready.duration_ms == int(narrow.seconds * 1000)
    assert brief.duration_ms > 300
    assert longer.duration_ms > 2 * brief.duration_ms


async def test_french_accents_reach_the_engine_intact(
    media: RunningMedia, migrated_url: str, tmp_path: Path
) -> None:
    tenant = await new_tenant(migrated_url, "fr-FR")
    text = "Françoise Lefèvre et Amélie, à l'accueil, été comme hiver."
    ready = await media.service.ensure_text(tenant, text, None, None)

    # The same bytes as espeak-ng speaking the text itself, then resampled by sox.
    direct = await asyncio.to_thread(speech, tmp_path / "direct.wav", text)
    expected = await asyncio.to_thread(resample, direct, tmp_path / "expected.wav", 8000)
    assert _file(media, ready.key, AudioFormat.NARROWBAND).read_bytes() == expected.read_bytes()
    # Decomposed accents are the same text; no accents is another.
    decomposed = await media.service.ensure_text(
        tenant,
        "Franc\u0327oise Lefe\u0300vre et Ame\u0301lie, a\u0300 l'accueil, e\u0301te\u0301 comme hiver.",
        None,
        None,
    )
    assert decomposed.key == ready.key
    assert not decomposed.rendered
    plain = await media.service.ensure_text(tenant, "ete", None, None)
    accented = await media.service.ensure_text(tenant, "été", None, None)
    assert plain.key != accented.key
    assert (
        _file(media, plain.key, AudioFormat.NARROWBAND).read_bytes()
        != _file(media, accented.key, AudioFormat.NARROWBAND).read_bytes()
    )


@pytest.mark.parametrize(
    ("locale", "voice"),
    [
        ("fr-FR", "fr-fr"),
        ("en-US", "en-us"),
        ("en-GB", "en-gb"),
        ("de-DE", "de"),
        ("es-ES", "es"),
        ("nl-NL", "nl"),
    ],
)
async def test_voice_follows_the_tenant_locale_unless_one_is_given(
    media: RunningMedia, migrated_url: str, locale: str, voice: str
) -> None:
    tenant = await new_tenant(migrated_url, locale)
    text = f"Receptionist {uuid.uuid4().hex[:6]}"
    ready = await media.service.ensure_text(tenant, text, None, None)
    row = await fetchval(
        migrated_url, "SELECT voice || ' ' || language FROM media_files WHERE key = $1", ready.key
    )
    assert row == f"{voice} {locale}"

    chosen = await media.service.ensure_text(tenant, text, "fr-FR", "fr-fr+f3")
    assert chosen.key != ready.key
    row = await fetchval(
        migrated_url, "SELECT voice || ' ' || language FROM media_files WHERE key = $1", chosen.key
    )
    assert row == "fr-fr+f3 fr-FR"


async def test_text_over_the_limit_is_refused_with_text_too_long(
    media: RunningMedia, migrated_url: str
) -> None:
    tenant = await new_tenant(migrated_url)
    await media.service.ensure_text(tenant, "a" * 400, None, None)
    with pytest.raises(TextTooLong) as refused:
        await media.service.ensure_text(tenant, "a" * 401, None, None)
    assert refused.value.code == "text_too_long"
    assert refused.value.details == {"max_chars": 400, "length": 401}


@pytest.mark.parametrize(
    ("text", "language", "voice", "refusal"),
    [
        (" \u200b\n", None, None, EmptyText),
        ("Bonjour", "zz-ZZ", None, UnsupportedLanguage),
        ("Bonjour", None, "fr-fr+nobody", UnsupportedVoice),
        ("Bonjour", None, "klingon", UnsupportedVoice),
    ],
)
async def test_unspeakable_requests_are_refused_with_their_code(
    *,
    media: RunningMedia,
    migrated_url: str,
    text: str,
    language: str | None,
    voice: str | None,
    refusal: type[MediaError],
) -> None:
    tenant = await new_tenant(migrated_url)
    with pytest.raises(refusal) as refused:
        await media.service.ensure_text(tenant, text, language, voice)
    assert refused.value.code == refusal.code_for
    assert refused.value.code in {
        "empty_text",
        "unsupported_language",
        "unsupported_voice",
    }


async def test_unknown_tenant_is_refused(media: RunningMedia) -> None:
    with pytest.raises(TenantNotFound) as refused:
        await media.service.ensure_text(uuid.uuid4(), "Bonjour", "fr-FR", None)
    assert refused.value.code == "no_such_tenant"


async def test_tts_prompt_is_rendered_and_marked_ready_then_failed_when_unspeakable(
    media: RunningMedia, migrated_url: str
) -> None:
    tenant = await new_tenant(migrated_url, "fr-FR")
    prompt_id = await fetchval(
        migrated_url,
        """INSERT INTO prompts (tenant_id, source, tts_text, language)
           VALUES ($1, 'tts', 'Nous sommes ouverts de 9 heures à 18 heures.', 'fr-FR') RETURNING id""",
        tenant,
    )
    ready = await media.service.ensure_prompt(tenant, prompt_id)
    assert ready.prompt_id == prompt_id
    row = await fetchval(
        migrated_url,
        "SELECT status || ' ' || content_hash || ' ' || duration_ms FROM prompts WHERE id = $1",
        prompt_id,
    )
    assert row == f"ready {ready.key} {ready.duration_ms}"

    # The admin changes the language to one espeak-ng does not speak: the prompt fails, with why.
    await execute(
        migrated_url,
        "UPDATE prompts SET language = 'zz-ZZ', status = 'pending', content_hash = NULL WHERE id = $1",
        prompt_id,
    )
    with pytest.raises(UnsupportedLanguage):
        await media.service.ensure_prompt(tenant, prompt_id)
    row = await fetchval(
        migrated_url, "SELECT status || ' ' || error_code FROM prompts WHERE id = $1", prompt_id
    )
    assert row == "failed unsupported_language"


async def test_render_over_its_time_limit_is_a_typed_error_and_leaves_nothing(
    migrated_url: str, tmp_path: Path
) -> None:
    # A bound already past when the render first waits on espeak-ng: it always runs out.
    settings = media_settings(migrated_url, tmp_path / "media", media_render_timeout_s=1e-6)
    async with running_media(settings) as media:
        tenant = await new_tenant(migrated_url)
        with pytest.raises(RenderFailed) as failed:
            await media.service.ensure_text(tenant, "Trop tard.", None, None)
        assert failed.value.code == "render_failed"
        assert not list(media.files.tmp.iterdir())
        assert metric(media, "rcp_media_renders_total", kind="tts", outcome="failed") == 1


# Long enough that espeak-ng writes several chunks, and is still speaking when sox fails.
LONG_TEXT = " ".join(
    f"Phrase {number}: pour joindre un collaborateur par son nom, tapez 1; pour l'accueil, "
    "tapez 3; pour la salle de conférence, tapez 4."
    for number in range(3)
)


def _tools_running() -> list[str]:
    """This process's espeak-ng and sox children, running or not yet reaped."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            line = stat.read_text()
        except OSError:  # a process that ended meanwhile
            continue
        # "pid (command) state ppid ...": the command may hold spaces, not the fields after.
        command = line[line.index("(") + 1 : line.rindex(")")]
        parent = int(line[line.rindex(")") + 1 :].split()[1])
        if parent == os.getpid() and command in {"espeak-ng", "sox"}:
            found.append(f"{command} {stat.parent.name}")
    return found


async def test_streamed_speech_is_byte_identical_at_both_rates_to_sox_on_espeaks_own_file(
    media: RunningMedia, migrated_url: str, tmp_path: Path
) -> None:
    tenant = await new_tenant(migrated_url, "fr-FR")
    ready = await media.service.ensure_text(tenant, LONG_TEXT, None, None)

    direct = await asyncio.to_thread(speech, tmp_path / "direct.wav", LONG_TEXT)
    assert direct.stat().st_size > 3 * espeak.CHUNK_BYTES  # streamed in several chunks
    for audio_format in (AudioFormat.NARROWBAND, AudioFormat.WIDEBAND):
        expected = await asyncio.to_thread(
            resample, direct, tmp_path / f"{audio_format.value}.wav", audio_format.sample_rate
        )
        assert _file(media, ready.key, audio_format).read_bytes() == expected.read_bytes()


async def test_a_failed_resample_is_render_failed_and_stops_espeak_and_sox(
    media: RunningMedia, migrated_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = FfmpegTools.speech_resampler

    def broken_wideband(tools: FfmpegTools, audio_format: AudioFormat, out: Path) -> list[str]:
        # sox reads the speech's header, then cannot write: it dies while espeak-ng speaks.
        if audio_format is AudioFormat.WIDEBAND:
            out = out.parent / "no-such-folder" / out.name
        return real(tools, audio_format, out)

    monkeypatch.setattr(FfmpegTools, "speech_resampler", broken_wideband)
    tenant = await new_tenant(migrated_url, "fr-FR")

    with pytest.raises(RenderFailed) as failed:
        await media.service.ensure_text(tenant, LONG_TEXT, None, None)

    assert str(failed.value) == "sox could not resample speech"
    assert "no-such-folder" in failed.value.details["stderr"]
    assert _tools_running() == []
    assert not list(media.files.tmp.iterdir())
    assert metric(media, "rcp_media_renders_total", kind="tts", outcome="failed") == 1


async def test_a_cancelled_conversion_leaves_no_espeak_or_sox_running(tmp_path: Path) -> None:
    engine = await espeak.create()
    out = Playable(tmp_path / "out.wav", tmp_path / "out.wav16")

    async def convert() -> None:
        speech = engine.synthesize(LONG_TEXT, "fr-fr", "fr-FR")
        async with contextlib.aclosing(speech):
            await FfmpegTools().convert_speech(speech, out)

    converting = asyncio.create_task(convert())
    async with asyncio.timeout(30):
        # espeak-ng and both sox; no event tells when they start.
        while len(_tools_running()) < 3:  # noqa: ASYNC110 - polling /proc
            await asyncio.sleep(0.001)
    converting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await converting
    assert _tools_running() == []


async def test_an_engine_that_speaks_nothing_is_render_failed_with_its_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = await espeak.create()
    # espeak-ng without its data (phoneme tables, voices) cannot speak: it says why and exits.
    monkeypatch.setenv("ESPEAK_DATA_PATH", str(tmp_path))

    with pytest.raises(RenderFailed) as failed:
        async for _ in engine.synthesize("Bonjour.", "fr-fr", "fr-FR"):
            pass

    assert str(failed.value) == "espeak-ng produced no audio"
    assert "phontab" in failed.value.details["stderr"]
    assert _tools_running() == []


@pytest.mark.parametrize("voice", ["fr-fr", "fr-be", "fr-ch", "en-us", "de", "es"])
async def test_espeak_speaks_a_voices_file_exactly_as_its_language_name(voice: str) -> None:
    engine = await espeak.create()
    argument = engine.voices.argument(voice)
    assert argument != voice  # given by file, which espeak-ng reads without a search

    async def spoken(name: str) -> bytes:
        done = await run(
            ["espeak-ng", "-v", name, "-b", "1", "--stdout", "--stdin"],
            timeout_s=30,
            stdin="Bonjour, ça coûte 12,50 €; tapez 1. Hello, Grüße, mañana.".encode(),
        )
        assert done.returncode == 0
        return done.stdout

    by_name = await spoken(voice)
    assert len(by_name) > espeak.WAV_HEADER_BYTES
    assert await spoken(argument) == by_name
