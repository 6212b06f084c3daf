"""The media service over NATS, as stasis and admin use it (rcp.media_client), on real servers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from media_support import fetchval, media_settings, new_tenant, running_media, speech
from nats.aio.client import Client as NatsClient
from nats.js.errors import NotFoundError
from rcp import media_client, subjects
from rcp.contracts.media import EnsurePrompt
from rcp.errors import RemoteError
from rcp_media.app import RunningMedia
from rcp_media.keys import tts_key
from rcp_media.settings import Settings
from rcp_media.store import lock_args

MAX_BYTES = 200 * 1024


@pytest.fixture
def settings_(migrated_url: str, tmp_path: Path) -> Settings:
    return media_settings(migrated_url, tmp_path / "media", media_upload_max_bytes=MAX_BYTES)


@pytest.fixture
async def media(settings_: Settings) -> AsyncIterator[RunningMedia]:
    async with running_media(settings_) as running:
        yield running


async def _get(url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.read()


async def test_ensure_text_answers_a_url_that_serves_the_audio(
    media: RunningMedia, settings_: Settings, migrated_url: str, nats_client: NatsClient
) -> None:
    tenant = await new_tenant(migrated_url)
    ask = EnsurePrompt(
        tenant_id=tenant, text="Veuillez patienter, nous recherchons votre correspondant."
    )
    first = await media_client.ensure_prompt(nats_client, ask, scope=settings_.media_nats_scope)
    again = await media_client.ensure_prompt(nats_client, ask, scope=settings_.media_nats_scope)

    assert first.rendered
    assert not again.rendered
    assert again.uri == first.uri
    assert first.uri.startswith(media.base_url)
    status, body = await _get(first.uri)
    assert status == 200
    assert body[:4] == b"RIFF"
    assert first.prompt_id is None
    assert first.duration_ms > 1000


async def test_ensure_stored_tts_prompt_by_id_and_refuse_another_tenants(
    media: RunningMedia, settings_: Settings, migrated_url: str, nats_client: NatsClient
) -> None:
    tenant = await new_tenant(migrated_url)
    prompt_id = await fetchval(
        migrated_url,
        """INSERT INTO prompts (tenant_id, source, tts_text, language)
           VALUES ($1, 'tts', 'Pour nos horaires, tapez 2.', 'fr-FR') RETURNING id""",
        tenant,
    )
    scope = settings_.media_nats_scope
    played = await media_client.ensure_prompt(
        nats_client, EnsurePrompt(tenant_id=tenant, prompt_id=prompt_id), scope=scope
    )
    assert played.prompt_id == prompt_id
    assert (await _get(played.wideband_uri))[0] == 200

    other = await new_tenant(migrated_url)
    with pytest.raises(RemoteError) as refused:
        await media_client.ensure_prompt(
            nats_client, EnsurePrompt(tenant_id=other, prompt_id=prompt_id), scope=scope
        )
    assert refused.value.code == "not_found"


async def test_upload_through_the_inbox_becomes_a_prompt_and_the_object_is_removed(
    media: RunningMedia,
    settings_: Settings,
    migrated_url: str,
    nats_client: NatsClient,
    tmp_path: Path,
) -> None:
    tenant = await new_tenant(migrated_url)
    wav = await asyncio.to_thread(
        speech, tmp_path / "accueil.wav", "Accueil, bonjour.", "fr-fr", (1, 1)
    )
    played = await media_client.upload_prompt(
        nats_client,
        tenant,
        wav.read_bytes(),
        filename="accueil.wav",
        scope=settings_.media_nats_scope,
    )
    assert played.prompt_id is not None
    row = await fetchval(
        migrated_url,
        "SELECT source || ' ' || original_filename FROM prompts WHERE id = $1",
        played.prompt_id,
    )
    assert row == "upload accueil.wav"
    assert (await _get(played.uri))[0] == 200
    inbox = await media_client.media_inbox(nats_client)
    try:
        left = [info.name for info in await inbox.list(ignore_deletes=True)]
    except NotFoundError:  # nats-py's way of saying "no objects"
        left = []
    assert not [name for name in left if name.startswith(f"{tenant}/")]


async def test_recording_is_ingested_as_a_recording_prompt(
    media: RunningMedia,
    settings_: Settings,
    migrated_url: str,
    nats_client: NatsClient,
    tmp_path: Path,
) -> None:
    tenant = await new_tenant(migrated_url)
    wav = await asyncio.to_thread(speech, tmp_path / "vm.wav", "Rappelez-moi au bureau.")
    played = await media_client.ingest_recording(
        nats_client, tenant, wav.read_bytes(), name="vm-1.wav", scope=settings_.media_nats_scope
    )
    source = await fetchval(
        migrated_url, "SELECT source FROM prompts WHERE id = $1", played.prompt_id
    )
    assert source == "recording"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"This is a text file, not audio at all.\n" * 20, "not_audio"),
        (b"", "empty_audio"),
        (b"RIFF" + bytes(MAX_BYTES), "file_too_large"),
    ],
)
async def test_refused_upload_comes_back_as_a_typed_error_not_a_timeout(
    *,
    media: RunningMedia,
    settings_: Settings,
    migrated_url: str,
    nats_client: NatsClient,
    content: bytes,
    code: str,
) -> None:
    tenant = await new_tenant(migrated_url)
    with pytest.raises(RemoteError) as refused:
        await media_client.upload_prompt(
            nats_client, tenant, content, filename="x.wav", scope=settings_.media_nats_scope
        )
    assert refused.value.code == code
    assert refused.value.code != "timeout"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"tenant_id": "%s", "text": "a", "prompt_id": "%s"}', "invalid_request"),
        (b'{"tenant_id": "%s", "language": "fr-FR"}', "invalid_request"),
        (b'{"tenant_id": "%s", "text": "a", "schema_version": 7}', "unsupported_schema_version"),
        (b'{"tenant_id": "%s", "text": "bonjour", "language": "zz-ZZ"}', "unsupported_language"),
        (b'{"tenant_id": "%s", "text": "bonjour"}', "no_such_tenant"),
    ],
)
async def test_bad_ensure_requests_get_their_error_code(
    *,
    media: RunningMedia,
    settings_: Settings,
    migrated_url: str,
    nats_client: NatsClient,
    body: bytes,
    code: str,
) -> None:
    tenant = str(uuid.uuid4()) if code == "no_such_tenant" else str(await new_tenant(migrated_url))
    payload = body.replace(b"%s", tenant.encode(), 1).replace(b"%s", str(uuid.uuid4()).encode())
    subject = subjects.MEDIA_ENSURE_PROMPT.subject(uuid.UUID(tenant), settings_.media_nats_scope)
    reply = await nats_client.request(subject, payload, timeout=30)
    assert f'"code":"{code}"'.encode() in reply.data


async def test_ingest_of_an_object_of_another_tenant_is_refused_by_the_contract(
    media: RunningMedia, settings_: Settings, migrated_url: str, nats_client: NatsClient
) -> None:
    tenant = await new_tenant(migrated_url)
    body = (
        f'{{"tenant_id": "{tenant}", "object_name": "{uuid.uuid4()}/{uuid.uuid4().hex}"}}'
    ).encode()
    subject = subjects.MEDIA_INGEST_UPLOAD.subject(tenant, settings_.media_nats_scope)
    reply = await nats_client.request(subject, body, timeout=30)
    assert b'"code":"invalid_request"' in reply.data


@pytest.mark.parametrize("operation", ["ensure", "forget"])
async def test_a_request_whose_body_names_another_tenant_than_its_subject_is_forbidden(
    media: RunningMedia,
    settings_: Settings,
    migrated_url: str,
    nats_client: NatsClient,
    operation: str,
) -> None:
    """The tenant is the subject's (which NATS permissions can hold a client to), never the
    body's: a request on one tenant's subject cannot reach another's prompt or audio."""
    owner, asker = await new_tenant(migrated_url), await new_tenant(migrated_url)
    prompt_id = await fetchval(
        migrated_url,
        """INSERT INTO prompts (tenant_id, source, tts_text, language)
           VALUES ($1, 'tts', 'Bonjour.', 'fr-FR') RETURNING id""",
        owner,
    )
    scope = settings_.media_nats_scope
    if operation == "ensure":
        subject = subjects.MEDIA_ENSURE_PROMPT.subject(asker, scope)
        body = f'{{"tenant_id": "{owner}", "prompt_id": "{prompt_id}"}}'
    else:
        subject = subjects.MEDIA_FORGET.subject(asker, scope)
        body = f'{{"tenant_id": "{owner}", "keys": ["{"0" * 64}"]}}'
    reply = await nats_client.request(subject, body.encode(), timeout=30)
    assert b'"code":"forbidden"' in reply.data
    assert b"uri" not in reply.data


async def test_hits_are_answered_while_another_request_waits_for_its_render(
    media: RunningMedia, settings_: Settings, migrated_url: str, nats_client: NatsClient
) -> None:
    tenant = await new_tenant(migrated_url)
    scope = settings_.media_nats_scope
    hit = EnsurePrompt(tenant_id=tenant, text="Bonjour.")
    await media_client.ensure_prompt(nats_client, hit, scope=scope)
    slow_text = f"Une annonce {uuid.uuid4().hex[:8]}"
    engine = media.service._engine
    key = tts_key(engine.name, engine.version, "fr-fr", "fr-FR", slow_text)
    # Play "another instance rendering this key": hold its lock until the hit has come back.
    blocker = await asyncpg.connect(migrated_url)
    try:
        async with blocker.transaction():
            await blocker.execute("SELECT pg_advisory_xact_lock($1, $2)", *lock_args(key))
            slow = asyncio.create_task(
                media_client.ensure_prompt(
                    nats_client, EnsurePrompt(tenant_id=tenant, text=slow_text), scope=scope
                )
            )
            for _ in range(600):
                if key in media.service._inflight:
                    break
                await asyncio.sleep(0.05)
            assert key in media.service._inflight
            again = await media_client.ensure_prompt(nats_client, hit, scope=scope)
            assert not again.rendered
            assert not slow.done()
    finally:
        await blocker.close()
    rendered = await slow
    assert rendered.rendered
    assert rendered.key == key
