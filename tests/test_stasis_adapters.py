"""The stasis service's adapters on the real stack: tenants' configurations from PostgreSQL,
the directory and the media service over NATS."""

from __future__ import annotations

import array
import asyncio
import io
import math
import time
import uuid
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from media_support import media_settings, running_media
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from rcp import subjects
from rcp.callflow.config import DialByName, PlayAnnouncement, TenantConfig, Transfer
from rcp.callflow.prompts import SpokenText, TenantPrompt, Tone
from rcp.endpoints import endpoint_allowed
from rcp.errors import ErrorCode, ServiceUnavailable
from rcp.messaging import reached_server
from rcp.outbound import OutboundPolicy, TenantLimits
from rcp.pins import verify_pin
from rcp.vocabulary import ExtensionKind, NoAnswerAction, NumberType, RingStrategy, TargetKind
from rcp_devstack.settings import StackSettings
from rcp_directory.app import running as running_directory
from rcp_directory.settings import Settings as DirectorySettings
from rcp_stasis.directory import NatsDirectory
from rcp_stasis.media import NatsPrompts
from rcp_stasis.ports import VoicemailMessage
from rcp_stasis.tenants import PostgresTenants, TenantConfigs
from rcp_stasis.voicemail import SAVE_RETRY_DELAYS_S, VoicemailStore
from roles_support import service_pool, service_url
from stasis_ari_support import eventually
from stasis_e2e_support import ROOM_PIN, Tenant, provision, unique_app, unique_e164


@pytest.fixture
async def tenant(migrated_url: str) -> Tenant:
    return await provision(migrated_url, unique_app("phones"))


@pytest.fixture
async def pool(migrated_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(migrated_url, min_size=1, max_size=4) as created:
        yield created


@pytest.fixture
async def stasis_pool(migrated_url: str) -> AsyncIterator[asyncpg.Pool]:
    """The stasis service's role: what its adapters read and write through."""
    async with service_pool(migrated_url, "stasis") as created:
        yield created


async def test_a_tenants_whole_configuration_is_read_from_the_admin_tables(
    pool: asyncpg.Pool, stasis_pool: asyncpg.Pool, tenant: Tenant
) -> None:
    source = PostgresTenants(stasis_pool)
    assert await source.tenant_of(tenant.number) == tenant.id
    config = await source.load(tenant.id)
    assert config is not None
    assert config.name == "Test SARL"
    settings = config.receptionist
    assert (settings.greeting_prompt_id, settings.language) == (tenant.ids["greeting"], "fr-FR")
    assert (settings.menu_timeout_s, settings.inter_digit_timeout_s) == (5, 2)
    assert config.keys["1"] == DialByName()
    assert config.keys["2"] == PlayAnnouncement(tenant.ids["hours"])
    assert config.keys["3"] == Transfer(TargetKind.RING_GROUP, "200")
    assert config.keys["4"] == Transfer(TargetKind.CONFERENCE, "300")
    assert config.keys["5"] == Transfer(TargetKind.VOICEMAIL, "101")
    assert config.keys["6"] == Transfer(TargetKind.VIRTUAL_EXTENSION, "104")
    assert "9" not in config.keys
    amelie = config.extensions["101"]
    assert (amelie.name, amelie.kind, amelie.voicemail_enabled) == (
        "Amélie Poulain",
        ExtensionKind.PHYSICAL,
        True,
    )
    assert amelie.endpoint is not None
    assert amelie.endpoint.endswith("@test-apps/n")
    assert config.extensions["103"].voicemail_enabled is False
    assert config.extensions["104"].external_number == tenant.external_number
    support = config.ring_groups["201"]
    assert support.members == ("101", "102")
    assert (support.strategy, support.no_answer_action, support.no_answer_extension) == (
        RingStrategy.SEQUENTIAL,
        NoAnswerAction.VOICEMAIL,
        "102",
    )
    pin_hash = config.conference_rooms["300"].pin_hash
    assert pin_hash is not None
    assert verify_pin(ROOM_PIN, pin_hash)


async def test_an_extension_left_with_a_dial_string_from_before_devices_keeps_it_unrung(
    pool: asyncpg.Pool, stasis_pool: asyncpg.Pool, tenant: Tenant
) -> None:
    legacy = "PJSIP/+88212345678@carrier"
    await pool.execute(
        """UPDATE extensions SET device_id = NULL, legacy_dial_string = $2
            WHERE tenant_id = $1 AND number = '103'""",
        tenant.id,
        legacy,
    )
    config = await PostgresTenants(stasis_pool).load(tenant.id)
    assert config is not None
    assert config.extensions["103"].endpoint == legacy  # kept, and still no device:
    assert not endpoint_allowed(legacy, test_phones=True, reserved={"carrier"})


async def test_unknown_numbers_and_suspended_tenants_have_no_configuration(
    pool: asyncpg.Pool, stasis_pool: asyncpg.Pool, tenant: Tenant
) -> None:
    source = PostgresTenants(stasis_pool)
    assert await source.tenant_of(unique_e164()) is None
    await pool.execute("UPDATE tenants SET status = 'suspended' WHERE id = $1", tenant.id)
    assert await source.tenant_of(tenant.number) is None
    assert await source.load(tenant.id) is None


async def test_a_configuration_is_loaded_once_then_again_for_calls_when_it_changes(
    pool: asyncpg.Pool, stasis_pool: asyncpg.Pool, tenant: Tenant
) -> None:
    async with TenantConfigs(PostgresTenants(stasis_pool)) as configs:
        first, second = await asyncio.gather(
            configs.for_number(tenant.number), configs.for_number(tenant.number)
        )
        assert first is second
        assert configs.loads == 1
        received: asyncio.Queue[TenantConfig] = asyncio.Queue()
        forgotten: list[uuid.UUID] = []
        configs.on_changed(forgotten.append)
        configs.watch(tenant.id, "a call", received.put_nowait)
        await pool.execute(
            "UPDATE receptionists SET menu_timeout_s = 9 WHERE tenant_id = $1", tenant.id
        )
        configs.changed(tenant.id)
        async with asyncio.timeout(10):
            fresh = await received.get()
        assert fresh.receptionist.menu_timeout_s == 9
        assert forgotten == [tenant.id]
        configs.unwatch(tenant.id, "a call")
        assert await configs.get(tenant.id) is fresh
        assert configs.loads == 2


async def test_the_carriers_policy_and_limits_are_read_with_the_configuration(
    pool: asyncpg.Pool, stasis_pool: asyncpg.Pool, tenant: Tenant
) -> None:
    source = PostgresTenants(stasis_pool)
    default = await source.load(tenant.id)
    assert default is not None
    assert default.policy == OutboundPolicy.default_for("fr-FR")
    assert default.limits == TenantLimits()
    await pool.execute(
        """INSERT INTO outbound_policies (tenant_id, allowed_regions, allowed_number_types,
               allowed_prefixes, denied_prefixes)
           VALUES ($1, '{IE}', '{fixed_line,mobile,toll_free}', '{+8816}', '{+3361}')""",
        tenant.id,
    )
    await pool.execute(
        "INSERT INTO tenant_limits (tenant_id, max_inbound_calls, max_outbound_call_s) "
        "VALUES ($1, 5, 600)",
        tenant.id,
    )
    config = await source.load(tenant.id)
    assert config is not None
    assert config.policy == OutboundPolicy(
        home_region="FR",
        allowed_regions=frozenset({"IE"}),
        allowed_types=frozenset({NumberType.FIXED_LINE, NumberType.MOBILE, NumberType.TOLL_FREE}),
        allowed_prefixes=("+8816",),
        denied_prefixes=("+3361",),
    )
    assert config.limits == TenantLimits(max_inbound_calls=5, max_outbound_call_s=600)
    verdict = config.verdict(config.extensions["104"])
    assert verdict is not None
    assert verdict.allowed


async def test_a_virtual_extension_moved_to_another_country_is_counted_when_next_loaded(
    pool: asyncpg.Pool, stasis_pool: asyncpg.Pool, tenant: Tenant
) -> None:
    moved: list[None] = []
    async with TenantConfigs(
        PostgresTenants(stasis_pool), country_changed=lambda: moved.append(None)
    ) as configs:
        await configs.get(tenant.id)
        await pool.execute(
            "UPDATE extensions SET external_number = '+33612345678' WHERE tenant_id = $1 AND number = '104'",
            tenant.id,
        )
        configs.changed(tenant.id)
        await configs.get(tenant.id)
        assert moved == []  # another number, the same country
        await pool.execute(
            "UPDATE extensions SET external_number = '+5355123456' WHERE tenant_id = $1 AND number = '104'",
            tenant.id,
        )
        configs.changed(tenant.id)
        config = await configs.get(tenant.id)
        assert moved == [None]
        assert config is not None
        verdict = config.verdict(config.extensions["104"])
        assert verdict is not None
        assert (verdict.destination.region, verdict.allowed) == ("CU", False)


@pytest.fixture
async def directory(
    settings: StackSettings, migrated_url: str, nats_client: NatsClient
) -> AsyncIterator[NatsDirectory]:
    run = uuid.uuid4().hex[:12]
    service = DirectorySettings(
        database_url=service_url(migrated_url, "directory"),
        ops_port=0,
        directory_nats_scope=run,
    )
    async with running_directory(service):
        yield NatsDirectory(nats_client, service.directory_nats_scope)


async def test_the_directory_finds_names_in_pages_and_keys_that_spell_nothing_find_nobody(
    directory: NatsDirectory, tenant: Tenant
) -> None:
    one = await directory.search(tenant.id, "768", 8)  # POU: Poulain
    assert [(m.number, m.name) for m in one.matches] == [("101", "Amélie Poulain")]
    several = await directory.search(tenant.id, "532", 1)  # JEA: Jean-Pierre, Jean
    assert (len(several.matches), several.total) == (1, 2)
    assert several.next_cursor is not None
    rest = await directory.search(tenant.id, "532", 1, several.next_cursor)
    assert {several.matches[0].number, rest.matches[0].number} == {"102", "105"}
    assert rest.next_cursor is None
    nothing = await directory.search(tenant.id, "10", 8)  # 1 and 0 spell no letter
    assert (nothing.matches, nothing.total) == ((), 0)


async def test_prompts_become_sound_uris_asked_once_and_a_tenants_own_are_forgotten_on_change(
    migrated_url: str, tmp_path: Path, nats_client: NatsClient, tenant: Tenant
) -> None:
    media = media_settings(migrated_url, tmp_path / "media")
    async with running_media(media):
        prompts = NatsPrompts(nats_client, scope=media.media_nats_scope)
        greeting = TenantPrompt(tenant.ids["greeting"])
        words = SpokenText("Bonjour.", "fr-FR")
        uris = [await prompts.uri_for(tenant.id, piece) for piece in (greeting, words, words)]
        assert all(uri.startswith("sound:http://") and uri.endswith(".wav") for uri in uris)
        assert prompts.requests == 2
        assert await prompts.uri_for(tenant.id, Tone.RINGBACK) == "tone:ring"
        prompts.forget(tenant.id)
        await prompts.uri_for(tenant.id, words)
        assert prompts.requests == 2  # spoken text keeps its URI
        await prompts.uri_for(tenant.id, greeting)
        assert prompts.requests == 3  # the tenant's prompt is asked again


class _OneStoredRecording:
    """Asterisk's stored recordings, reduced to one file. Asterisk cannot be made to store a
    recording of zero frames on demand (a caller hanging up exactly at the beep), so this
    stands in for it; the media service, NATS and PostgreSQL behind it are real."""

    def __init__(self, audio: bytes) -> None:
        self.audio = audio
        self.deleted: list[str] = []

    async def recording_file(self, name: str) -> bytes | None:
        return self.audio

    async def delete_recording(self, name: str) -> None:
        self.deleted.append(name)


def _wav(frames: int) -> bytes:
    """A WAV of a 440 Hz tone at 8 kHz, `frames` samples long."""
    tone = array.array(
        "h", (int(8000 * math.sin(2 * math.pi * 440 * n / 8000)) for n in range(frames))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(tone.tobytes())
    return out.getvalue()


def _store(
    recordings: _OneStoredRecording,
    nats_client: NatsClient,
    pool: asyncpg.Pool,
    media_scope: str,
    retry_delays_s: tuple[float, ...] = SAVE_RETRY_DELAYS_S,
) -> VoicemailStore:
    """The voicemail store on the real NATS and PostgreSQL, with a recording stood in for."""
    return VoicemailStore(
        recordings,
        nats_client,
        nats_client.jetstream(),
        pool,
        media_scope=media_scope,
        retry_delays_s=retry_delays_s,
    )


@pytest.mark.parametrize(("frames", "kept"), [(0, False), (8000, True)])
async def test_a_recording_without_audio_leaves_no_message_and_one_with_audio_does(
    frames: int,
    kept: bool,
    migrated_url: str,
    tmp_path: Path,
    nats_client: NatsClient,
    tenant: Tenant,
    pool: asyncpg.Pool,
    stasis_pool: asyncpg.Pool,
) -> None:
    recordings = _OneStoredRecording(_wav(frames))
    media = media_settings(migrated_url, tmp_path / "media")
    async with running_media(media):
        store = _store(recordings, nats_client, stasis_pool, media.media_nats_scope)
        message = VoicemailMessage(tenant.id, f"call-{frames}", f"rec-{frames}", "101", None)
        saved = await store.save(message)
    assert (saved is not None) == kept
    assert recordings.deleted == [f"rec-{frames}"]  # kept in the media store, or nothing to keep
    count = await pool.fetchval(
        "SELECT count(*) FROM voicemail_messages WHERE tenant_id = $1", tenant.id
    )
    assert count == (1 if kept else 0)


async def test_a_message_is_stored_once_the_media_service_comes_up_and_written_once(
    migrated_url: str,
    tmp_path: Path,
    nats_client: NatsClient,
    tenant: Tenant,
    pool: asyncpg.Pool,
    stasis_pool: asyncpg.Pool,
) -> None:
    # No media service answers at first (NATS says "no responders", for real): the store
    # tries again, and the message is written once the service is up, exactly once.
    recordings = _OneStoredRecording(_wav(8000))
    media = media_settings(migrated_url, tmp_path / "media")
    store = _store(recordings, nats_client, stasis_pool, media.media_nats_scope, (0.5,) * 40)
    message = VoicemailMessage(tenant.id, "call-late-media", "rec-late-media", "102", None)
    saving = asyncio.create_task(store.save(message))
    await eventually(lambda: store.retries > 0)
    async with running_media(media):
        saved = await asyncio.wait_for(saving, 60)
    assert saved is not None
    rows = await pool.fetch(
        "SELECT id FROM voicemail_messages WHERE tenant_id = $1 AND call_id = $2",
        tenant.id,
        "call-late-media",
    )
    assert [row["id"] for row in rows] == [saved]
    assert recordings.deleted == ["rec-late-media"]


async def _deaf_service(nats_client: NatsClient, subject: str) -> list[bytes]:
    """A responder that takes every request on `subject` and answers none (a stalled
    service); returns the list the requests it took are kept in."""
    taken: list[bytes] = []

    async def swallow(msg: Msg) -> None:
        taken.append(msg.data)

    await nats_client.subscribe(subject, cb=swallow)
    await reached_server(nats_client)
    return taken


async def test_a_directory_that_does_not_answer_is_asked_twice_within_the_callers_budget(
    nats_client: NatsClient,
) -> None:
    scope = f"deaf-{uuid.uuid4().hex[:8]}"
    taken = await _deaf_service(nats_client, subjects.DIRECTORY_SEARCH.every_tenant(scope))
    directory = NatsDirectory(nats_client, scope, timeout_s=1.5, budget_s=2.5)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as caught:
        await directory.search(uuid.uuid4(), "768", 8)
    waited = time.monotonic() - started
    assert caught.value.code == ErrorCode.TIMEOUT
    assert len(taken) == 2  # one retry, the second attempt cut to what the budget left
    assert waited < 2.5 + 0.5  # a bound on the time-outs, not a speed measurement


async def test_a_media_service_that_does_not_answer_costs_a_prompt_at_most_the_budget(
    nats_client: NatsClient,
) -> None:
    scope = f"deaf{uuid.uuid4().hex[:8]}"
    taken = await _deaf_service(nats_client, subjects.MEDIA_ENSURE_PROMPT.every_tenant(scope))
    prompts = NatsPrompts(nats_client, scope=scope, timeout_s=2.0, budget_s=2.5)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        await prompts.uri_for(uuid.uuid4(), SpokenText("Bonjour", "fr-FR"))
    assert len(taken) == 2
    assert time.monotonic() - started < 2.5 + 0.5


async def test_with_no_directory_at_all_the_search_fails_at_once_after_one_retry(
    nats_client: NatsClient,
) -> None:
    scope = f"none-{uuid.uuid4().hex[:8]}"
    directory = NatsDirectory(nats_client, scope, timeout_s=1.5, budget_s=2.5)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as caught:
        await directory.search(uuid.uuid4(), "768", 8)
    assert caught.value.code == ErrorCode.UNAVAILABLE
    assert time.monotonic() - started < 1.0
