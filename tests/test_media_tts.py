"""Text to speech through the media service, with the real espeak-ng (its resident workers)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import struct
import sys
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from pathlib import Path

import pytest
from media_support import (
    assert_resampled_alike,
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
from rcp.runtime import infrastructure
from rcp.telemetry import Metrics
from rcp_media.app import RunningMedia, run_media
from rcp_media.audio import FfmpegTools, Playable, SpeechStream
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
from rcp_media.metrics import MediaMetrics
from rcp_media.process import run
from rcp_media.tts import SynthesisLimit, espeak, espeak_worker


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

    # espeak-ng speaking the text itself, then resampled by sox.
    direct = await asyncio.to_thread(speech, tmp_path / "direct.wav", text)
    expected = await asyncio.to_thread(resample, direct, tmp_path / "expected.wav", 8000)
    assert_resampled_alike(_file(media, ready.key, AudioFormat.NARROWBAND), expected)
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


def _children(parents: set[int]) -> list[tuple[int, str]]:
    """The processes whose parent is one of `parents`, running or not yet reaped."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            line = stat.read_text()
        except OSError:  # a process that ended meanwhile
            continue
        # "pid (command) state ppid ...": the command may hold spaces, not the fields after.
        command = line[line.index("(") + 1 : line.rindex(")")]
        parent = int(line[line.rindex(")") + 1 :].split()[1])
        if parent in parents:
            found.append((int(stat.parent.name), command))
    return found


def _tools_running() -> list[str]:
    """This process's espeak-ng and sox children and espeak-ng workers, running or not yet
    reaped."""
    tools = {"espeak-ng", "sox", espeak_worker.PROCESS_NAME.decode()}
    return [f"{name} {pid}" for pid, name in _children({os.getpid()}) if name in tools]


def _workers() -> set[int]:
    """This process's espeak-ng workers."""
    name = espeak_worker.PROCESS_NAME.decode()
    return {pid for pid, command in _children({os.getpid()}) if command == name}


def _speaking() -> list[int]:
    """The children of this process's workers: each speaks a text."""
    return [pid for pid, _ in _children(_workers())]


async def _until(condition: Callable[[], object]) -> None:
    async with asyncio.timeout(30):
        while not condition():  # noqa: ASYNC110 - polling /proc: no event says it
            await asyncio.sleep(0.001)


# The default synthesis time limit (RCP_MEDIA_TTS_TIMEOUT_S).
LIMIT = SynthesisLimit(10.0)


def _metrics() -> MediaMetrics:
    """A media service's metrics, in a registry of their own."""
    return MediaMetrics(Metrics("media"))


@pytest.fixture
def metrics() -> MediaMetrics:
    return _metrics()


def _stops(metrics: MediaMetrics) -> dict[str, float]:
    """The workers stopped so far, by reason (those never stopped left out)."""
    counted = {
        sample.labels["reason"]: sample.value
        for family in metrics.registry.collect()
        if family.name == "rcp_media_tts_workers_stopped"
        for sample in family.samples
        if sample.name.endswith("_total")
    }
    assert counted, "the counter is not exported"
    return {reason: value for reason, value in counted.items() if value}


@pytest.fixture
async def engine(metrics: MediaMetrics) -> AsyncIterator[espeak.EspeakEngine]:
    started = await espeak.create(metrics, LIMIT)
    try:
        yield started
    finally:
        await started.close()


async def test_streamed_speech_is_sox_on_espeaks_own_file_at_both_rates(
    media: RunningMedia, migrated_url: str, tmp_path: Path
) -> None:
    tenant = await new_tenant(migrated_url, "fr-FR")
    ready = await media.service.ensure_text(tenant, LONG_TEXT, None, None)

    direct = await asyncio.to_thread(speech, tmp_path / "direct.wav", LONG_TEXT)
    # streamed in many frames
    assert direct.stat().st_size > 30 * espeak_worker.LARGEST_PAYLOAD
    for audio_format in (AudioFormat.NARROWBAND, AudioFormat.WIDEBAND):
        expected = await asyncio.to_thread(
            resample, direct, tmp_path / f"{audio_format.value}.wav", audio_format.sample_rate
        )
        assert_resampled_alike(_file(media, ready.key, audio_format), expected)


async def test_speech_that_cannot_be_written_is_render_failed_and_stops_the_worker_speaking(
    media: RunningMedia, migrated_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Playable.path

    def broken_wideband(out: Playable, audio_format: AudioFormat) -> Path:
        # Opened once the speech's header has come: espeak-ng is speaking when it fails.
        path = real(out, audio_format)
        if audio_format is AudioFormat.WIDEBAND:
            return path.parent / "no-such-folder" / path.name
        return path

    monkeypatch.setattr(Playable, "path", broken_wideband)
    tenant = await new_tenant(migrated_url, "fr-FR")

    with pytest.raises(RenderFailed) as failed:
        await media.service.ensure_text(tenant, LONG_TEXT, None, None)

    assert str(failed.value) == "cannot write speech"
    assert "no-such-folder" in failed.value.details["error"]
    assert _speaking() == []
    assert _workers() == set()  # left while it spoke: killed
    assert not list(media.files.tmp.iterdir())
    assert metric(media, "rcp_media_renders_total", kind="tts", outcome="failed") == 1
    monkeypatch.undo()
    assert (await media.service.ensure_text(tenant, LONG_TEXT, None, None)).rendered


async def test_a_cancelled_conversion_kills_the_worker_speaking_counted_abandoned(
    tmp_path: Path, engine: espeak.EspeakEngine, metrics: MediaMetrics
) -> None:
    out = Playable(tmp_path / "out.wav", tmp_path / "out.wav16")

    async def convert() -> None:
        speech = engine.synthesize(LONG_TEXT, "fr-fr", "fr-FR")
        async with contextlib.aclosing(speech):
            await FfmpegTools().convert_speech(speech, out)

    converting = asyncio.create_task(convert())
    await _until(_speaking)
    converting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await converting
    assert _tools_running() == []
    assert engine.worker_pids() == []
    assert _stops(metrics) == {"abandoned": 1}


async def test_an_engine_that_speaks_nothing_is_render_failed_with_its_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: espeak.EspeakEngine
) -> None:
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
    engine = await espeak.create(_metrics(), LIMIT)
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


ACCENTED = "Françoise Lefèvre, à l'accueil: ça coûte 12,50 €; tapez 1. Grüße, mañana."


async def _spoken(engine: espeak.EspeakEngine, text: str, voice: str) -> bytes:
    return b"".join([chunk async for chunk in engine.synthesize(text, voice, "und")])


async def _command_says(text: str, voice: str) -> bytes:
    done = await run(
        ["espeak-ng", "-v", voice, "-b", "1", "--stdout", "--stdin"],
        timeout_s=30,
        stdin=text.encode(),
    )
    assert done.returncode == 0
    return done.stdout


async def _samples(engine: espeak.EspeakEngine, text: str) -> bytes:
    return (await _spoken(engine, text, "fr-fr"))[espeak.WAV_HEADER_BYTES :]


async def _command_samples(text: str) -> bytes:
    return (await _command_says(text, "fr-fr"))[espeak.WAV_HEADER_BYTES :]


async def test_a_worker_speaks_the_samples_of_the_command_text_after_text(
    engine: espeak.EspeakEngine,
) -> None:
    # One worker speaks every text in turn: nothing of one text leaks into the next.
    voices = ["fr-fr", "fr-be", "fr-ch", "en-us", "en-gb", "de", "es", "it", "nl", "pt"]
    # By name: variants, and a language two voices rank first for.
    for voice in [*voices, "fr-fr+f3", "en-us+m2", "yue", "fr-fr"]:
        for text in (ACCENTED, f"{voice}: -v Bonjour. Hello."):
            by_worker = await _spoken(engine, text, voice)
            by_command = await _command_says(text, voice)
            assert by_worker[: espeak.WAV_HEADER_BYTES].startswith(b"RIFF")
            assert by_worker[espeak.WAV_HEADER_BYTES :] == by_command[espeak.WAV_HEADER_BYTES :]
            assert len(by_worker) > 10_000
    assert len(engine.worker_pids()) == 1


async def _speak_killing(engine: espeak.EspeakEngine, pick: Callable[[], int], sig: int) -> None:
    """Speak a long text, sending `sig` to the process `pick` gives once audio has come."""
    sent = False
    async for _ in engine.synthesize(LONG_TEXT, "fr-fr", "fr-FR"):
        if not sent:
            os.kill(pick(), sig)
            sent = True


def _gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def _dead(pid: int) -> bool:
    """Reaped, or a zombie waiting to be."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


@pytest.mark.parametrize(
    ("killed", "sig", "message"),
    [
        # What espeak-ng's memory bugs end in, in the child speaking: the worker speaks on.
        ("child", signal.SIGSEGV, "espeak-ng stopped while speaking (SIGSEGV)"),
        # The worker itself: it is replaced.
        ("worker", signal.SIGKILL, "espeak-ng stopped while speaking"),
    ],
)
async def test_a_crash_while_speaking_is_render_failed_and_the_next_text_spoken(
    engine: espeak.EspeakEngine, metrics: MediaMetrics, killed: str, sig: int, message: str
) -> None:
    await _spoken(engine, "Bonjour.", "fr-fr")
    (worker,) = engine.worker_pids()
    with pytest.raises(RenderFailed) as failed:
        await _speak_killing(
            engine, (lambda: _speaking()[0]) if killed == "child" else (lambda: worker), sig
        )
    assert str(failed.value) == message
    assert failed.value.code == "render_failed"
    assert _speaking() == []
    assert await _samples(engine, "Bonjour.") == await _command_samples("Bonjour.")
    assert (engine.worker_pids() == [worker]) is (killed == "child")
    assert len(engine.worker_pids()) == 1
    # A worker killed mid-text is counted once; a child's crash leaves its worker running.
    assert _stops(metrics) == ({"lost": 1} if killed == "worker" else {})


async def test_a_hung_child_is_killed_at_the_synthesis_time_limit_and_the_next_text_spoken(
    metrics: MediaMetrics,
) -> None:
    engine = await espeak.create(metrics, SynthesisLimit(0.5))
    try:
        await _spoken(engine, "Bonjour.", "fr-fr")
        (worker,) = engine.worker_pids()
        with pytest.raises(RenderFailed) as failed:
            # Stopped once audio has come: as if espeak-ng looped, it never ends its text.
            await _speak_killing(engine, lambda: _speaking()[0], signal.SIGSTOP)
        assert str(failed.value) == (
            f"espeak-ng did not finish speaking within 0.5 s ({len(LONG_TEXT)} characters)"
        )
        assert _speaking() == []
        assert _gone(worker)
        assert _stops(metrics) == {"timed_out": 1}
        assert await _samples(engine, "Bonjour.") == await _command_samples("Bonjour.")
    finally:
        await engine.close()


def test_the_synthesis_time_limit_grows_with_texts_over_1000_characters() -> None:
    limit = SynthesisLimit(10.0)
    assert [limit.for_text("a" * length) for length in (1, 1000, 2500, 5000)] == [
        10.0,
        10.0,
        25.0,
        50.0,
    ]


async def test_a_worker_gone_while_idle_is_replaced_and_the_text_asked_again(
    engine: espeak.EspeakEngine, metrics: MediaMetrics
) -> None:
    await _spoken(engine, "Bonjour.", "fr-fr")
    (worker,) = engine.worker_pids()
    os.kill(worker, signal.SIGKILL)
    await _until(lambda: _dead(worker))
    assert await _samples(engine, ACCENTED) == await _command_samples(ACCENTED)
    assert engine.worker_pids() not in ([], [worker])
    assert _gone(worker)
    assert _stops(metrics) == {"lost": 1}


@pytest.mark.parametrize(
    ("render_timeout_s", "tts_timeout_s", "message", "stops"),
    [
        (2, 10, "rendering took longer than 2 s", {"abandoned": 1}),
        # The synthesis time limit, shorter: the render slot is freed before the render's.
        (120, 1, "espeak-ng did not finish speaking within 1 s (10 characters)", {"timed_out": 1}),
    ],
)
async def test_a_hung_worker_is_killed_at_the_first_time_limit_and_replaced(
    migrated_url: str,
    tmp_path: Path,
    render_timeout_s: float,
    tts_timeout_s: float,
    message: str,
    stops: dict[str, float],
) -> None:
    settings = media_settings(
        migrated_url,
        tmp_path / "media",
        media_render_timeout_s=render_timeout_s,
        media_tts_timeout_s=tts_timeout_s,
    )
    async with running_media(settings) as media:
        tenant = await new_tenant(migrated_url, "fr-FR")
        await media.service.ensure_text(tenant, "Bonjour.", None, None)
        (worker,) = _workers()
        os.kill(worker, signal.SIGSTOP)  # as if espeak-ng looped: it never answers
        with pytest.raises(RenderFailed) as failed:
            await media.service.ensure_text(tenant, "Au revoir.", None, None)
        assert str(failed.value) == message
        assert failed.value.code == "render_failed"
        assert _gone(worker)
        assert _stops(media.metrics) == stops
        assert (await media.service.ensure_text(tenant, "Au revoir.", None, None)).rendered
        assert worker not in _workers()


async def test_a_worker_runs_once_the_service_is_ready_and_speaks_the_first_miss(
    migrated_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = media_settings(migrated_url, tmp_path / "media")
    real_start = espeak.EspeakEngine.start
    starting, go_on = asyncio.Event(), asyncio.Event()

    async def held_start(engine: espeak.EspeakEngine) -> None:
        starting.set()
        await go_on.wait()
        await real_start(engine)

    monkeypatch.setattr(espeak.EspeakEngine, "start", held_start)
    async with infrastructure(settings, settings.service_name) as infra:
        ran = contextlib.AsyncExitStack()
        entering = asyncio.create_task(ran.enter_async_context(run_media(settings, infra)))
        await starting.wait()
        assert (await infra.health.run())["media"] == "RuntimeError: starting"
        assert _workers() == set()
        go_on.set()
        async with ran:
            media = await entering
            assert set((await infra.health.run()).values()) == {"ok"}
            (worker,) = _workers()
            tenant = await new_tenant(migrated_url, "fr-FR")
            assert (await media.service.ensure_text(tenant, "Bonjour.", None, None)).rendered
            assert _workers() == {worker}  # no worker started for the first miss
    assert _workers() == set()


async def test_concurrent_misses_are_each_spoken_as_alone(
    media: RunningMedia, migrated_url: str, tmp_path: Path
) -> None:
    tenant = await new_tenant(migrated_url, "fr-FR")
    texts = [f"Texte {number}: {ACCENTED}" for number in range(6)]
    readies = await asyncio.gather(
        *(media.service.ensure_text(tenant, text, None, None) for text in texts)
    )
    # At most as many workers as renders run at once (two, the default).
    assert 1 <= len(_workers()) <= 2
    for number, (text, ready) in enumerate(zip(texts, readies, strict=True)):
        direct = await asyncio.to_thread(speech, tmp_path / f"{number}.wav", text)
        expected = await asyncio.to_thread(resample, direct, tmp_path / f"{number}-8k.wav", 8000)
        assert_resampled_alike(_file(media, ready.key, AudioFormat.NARROWBAND), expected)


@pytest.mark.parametrize(
    ("killed", "sig", "stops"),
    [("child", signal.SIGSEGV, {}), ("worker", signal.SIGKILL, {"lost": 1})],
)
async def test_a_crash_through_the_service_is_render_failed_counted_and_the_text_spoken_after(
    media: RunningMedia,
    migrated_url: str,
    monkeypatch: pytest.MonkeyPatch,
    killed: str,
    sig: int,
    stops: dict[str, float],
) -> None:
    real = espeak.EspeakEngine.synthesize

    async def crashing(
        engine: espeak.EspeakEngine, text: str, voice: str, language: str
    ) -> AsyncGenerator[bytes, None]:
        async for chunk in real(engine, text, voice, language):
            for pid in _speaking() if killed == "child" else _workers():
                os.kill(pid, sig)
            yield chunk

    monkeypatch.setattr(espeak.EspeakEngine, "synthesize", crashing)
    tenant = await new_tenant(migrated_url, "fr-FR")
    with pytest.raises(RenderFailed) as failed:
        await media.service.ensure_text(tenant, LONG_TEXT, None, None)
    assert failed.value.code == "render_failed"
    assert not list(media.files.tmp.iterdir())
    # A worker killed mid-request is counted once in the service's metrics; a child's crash not.
    assert metric(media, "rcp_media_tts_workers_stopped_total", reason="lost") == len(stops)
    assert _stops(media.metrics) == stops
    monkeypatch.undo()
    assert (await media.service.ensure_text(tenant, LONG_TEXT, None, None)).rendered
    assert _stops(media.metrics) == stops


def _header(rate: int = 22050, channels: int = 1, bits: int = 16) -> bytes:
    return (
        b"RIFF\xff\xff\xff\xffWAVE"
        + b"LIST\x04\x00\x00\x00INFO"  # a chunk before the format: skipped
        + b"fmt \x10\x00\x00\x00"
        + struct.pack("<HHIIHH", 1, channels, rate, rate * channels * bits // 8, 2, bits)
        + b"data\xff\xff\xff\xff"
    )


def test_a_speech_stream_gives_whole_samples_however_its_bytes_are_cut() -> None:
    samples = bytes(range(20))
    whole = _header(16000) + samples
    for cut in range(1, 9):
        stream = SpeechStream()
        got = b"".join(
            stream.feed(whole[start : start + cut]) for start in range(0, len(whole), cut)
        )
        assert (stream.rate, got) == (16000, samples)


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (b"ID3\x04" + bytes(40), "the engine's speech is not WAV"),
        (_header(channels=2) + bytes(8), "the engine's speech is not 16-bit mono PCM"),
        (_header(bits=8) + bytes(8), "the engine's speech is not 16-bit mono PCM"),
        (b"RIFF\xff\xff\xff\xffWAVEdata\x00\x00\x00\x00", "the engine's speech has no format"),
    ],
)
def test_speech_that_is_not_16bit_mono_pcm_wav_is_render_failed(
    stream: bytes, message: str
) -> None:
    with pytest.raises(RenderFailed) as failed:
        SpeechStream().feed(stream)
    assert str(failed.value).startswith(message)


async def _worker_answer(service: int) -> bytes:
    """What a worker told to serve process `service` says first (it is started by this one)."""
    done = await run(
        [sys.executable, "-I", "-S", espeak.WORKER, str(service)], timeout_s=30, stdin=b""
    )
    return done.stdout[: espeak_worker.FRAME.size]


async def test_a_worker_serves_the_process_it_is_told_even_process_1() -> None:
    # In a container the service is process 1: that is no sign that it is gone.
    ready = espeak_worker.FRAME.pack(espeak_worker.READY, 4)
    assert await _worker_answer(os.getpid()) == ready
    assert await _worker_answer(1) == b""  # not its parent: the service is gone, it ends


async def test_workers_die_with_the_service(tmp_path: Path) -> None:
    service = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import asyncio\n"
        "from rcp.telemetry import Metrics\n"
        "from rcp_media.metrics import MediaMetrics\n"
        "from rcp_media.tts import SynthesisLimit, espeak\n"
        "async def main():\n"
        "    engine = await espeak.create(MediaMetrics(Metrics('media')), SynthesisLimit(10))\n"
        "    async for _ in engine.synthesize('Bonjour.', 'fr-fr', 'fr-FR'): pass\n"
        "    print(*engine.worker_pids(), flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n",
        stdout=asyncio.subprocess.PIPE,
    )
    assert service.stdout is not None
    (worker,) = map(int, (await service.stdout.readline()).split())
    assert not _gone(worker)
    service.kill()  # no clean-up runs: the kernel tells the worker
    await service.wait()
    await _until(lambda: _gone(worker))


async def test_a_worker_that_cannot_start_is_render_failed_with_its_stderr(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    engine: espeak.EspeakEngine,
    metrics: MediaMetrics,
) -> None:
    monkeypatch.setattr(espeak, "WORKER", str(tmp_path / "missing.py"))
    with pytest.raises(RenderFailed) as failed:
        await _spoken(engine, "Bonjour.", "fr-fr")
    assert str(failed.value) == "espeak-ng produced no audio"
    assert "missing.py" in failed.value.details["stderr"]  # Python says it cannot open it
    assert _tools_running() == []
    assert _stops(metrics) == {"unstartable": 1}


async def test_a_service_whose_worker_cannot_start_stops_at_its_start_saying_why(
    migrated_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(espeak, "WORKER", str(tmp_path / "missing.py"))
    with pytest.raises(RuntimeError, match=r"missing\.py"):  # Python says it cannot open it
        async with running_media(media_settings(migrated_url, tmp_path / "media")):
            pass
    assert _tools_running() == []
