"""The cache: one render per key under concurrency (in a process and across instances), LRU
eviction that spares uploads, recordings and played prompts, restarts, and lost files."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import aiohttp
import pytest
from media_support import (
    execute,
    fetchval,
    media_settings,
    metric,
    new_database,
    new_tenant,
    running_media,
    speech,
)
from nats.aio.client import Client as NatsClient
from rcp import media_client
from rcp.contracts.media import EnsurePrompt
from rcp.errors import RemoteError
from rcp_media.app import RunningMedia
from rcp_media.errors import MediaLost
from rcp_media.keys import Kind
from rcp_media.settings import MIB


def renders(media: RunningMedia, kind: str = "tts") -> float:
    """How many renders of that kind this instance ran to the end."""
    return metric(media, "rcp_media_renders_total", kind=kind, outcome="ok")


async def _status(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        await response.read()
        return response.status


@pytest.fixture
async def own_database(make_database: object) -> str:
    """A database of this test's own: eviction looks at the whole cache."""
    return await new_database(make_database)


async def test_twenty_concurrent_identical_requests_render_once(
    migrated_url: str, tmp_path: Path, nats_client: NatsClient
) -> None:
    settings = media_settings(migrated_url, tmp_path / "media")
    async with running_media(settings) as media:
        tenant = await new_tenant(migrated_url)
        ask = EnsurePrompt(tenant_id=tenant, text="Tous nos conseillers sont occupés.")
        replies = await asyncio.gather(
            *(
                media_client.ensure_prompt(nats_client, ask, scope=settings.media_nats_scope)
                for _ in range(20)
            )
        )
        assert renders(media) == 1
        assert len({reply.uri for reply in replies}) == 1
        assert any(reply.rendered for reply in replies)
        assert media.files.present(replies[0].key)


async def test_two_instances_sharing_database_and_folder_render_a_key_once(
    migrated_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "shared"
    async with (
        running_media(media_settings(migrated_url, folder)) as first,
        running_media(media_settings(migrated_url, folder)) as second,
    ):
        tenant = await new_tenant(migrated_url)
        text = f"Le service {uuid.uuid4().hex[:6]} vous répond."
        results = await asyncio.gather(
            *(
                instance.service.ensure_text(tenant, text, None, None)
                for _ in range(10)
                for instance in (first, second)
            )
        )
        assert renders(first) + renders(second) == 1
        assert len({ready.key for ready in results}) == 1


async def _fill(media: RunningMedia, tenant: uuid.UUID, count: int) -> list[str]:
    keys = []
    for index in range(count):
        text = f"Annonce numéro {index}: nos bureaux sont fermés, merci de rappeler demain."
        keys.append((await media.service.ensure_text(tenant, text, None, None)).key)
    return keys


async def test_eviction_removes_least_recently_used_renders_and_never_uploads_or_prompts(
    own_database: str, tmp_path: Path
) -> None:
    url = own_database
    settings = media_settings(
        url, tmp_path / "media", media_cache_max_bytes=MIB, media_cache_min_idle_s=0
    )
    async with running_media(settings) as media:
        tenant = await new_tenant(url)
        upload = speech(tmp_path / "accueil.wav", "Bienvenue. " * 6)
        uploaded = await media.service.ingest(tenant, Kind.UPLOAD, upload, "accueil.wav")
        recorded = await media.service.ingest(tenant, Kind.RECORDING, upload, None)
        prompt_id = await fetchval(
            url,
            """INSERT INTO prompts (tenant_id, source, tts_text, language)
               VALUES ($1, 'tts', 'Le message d''accueil, joué par une touche.', 'fr-FR')
               RETURNING id""",
            tenant,
        )
        played = await media.service.ensure_prompt(tenant, prompt_id)
        spoken = await _fill(media, tenant, 16)
        # Oldest first: the played prompt and the uploads are the least recently used of all.
        await execute(url, "UPDATE media_files SET last_used_at = now() - interval '1 day'")
        for age, key in enumerate(reversed(spoken)):
            await execute(
                url,
                "UPDATE media_files SET last_used_at = now() - make_interval(mins => $2) "
                "WHERE key = $1",
                key,
                age,
            )
        before = await fetchval(url, "SELECT sum(size_bytes) FROM media_files")
        assert before > MIB

        await media.service.maintain()

        after = await fetchval(
            url, "SELECT sum(size_bytes) FROM media_files WHERE status = 'ready'"
        )
        assert after <= 0.9 * MIB
        for kept in (uploaded.key, recorded.key, played.key):
            assert media.files.present(kept)
            assert await fetchval(url, "SELECT status FROM media_files WHERE key = $1", kept) == (
                "ready"
            )
        statuses = [
            await fetchval(url, "SELECT status FROM media_files WHERE key = $1", key)
            for key in spoken
        ]
        evicted = statuses.count("evicted")
        assert evicted > 0
        # Exactly the oldest ones went, and their files with them.
        assert statuses == ["evicted"] * evicted + ["ready"] * (len(spoken) - evicted)
        assert not media.files.present(spoken[0])
        assert media.files.present(spoken[-1])
        assert metric(media, "rcp_media_evictions_total") == evicted

        # An evicted render asked for again is simply rendered again.
        again = await media.service.ensure_text(
            tenant,
            "Annonce numéro 0: nos bureaux sont fermés, merci de rappeler demain.",
            None,
            None,
        )
        assert again.key == spoken[0]
        assert again.rendered
        assert media.files.present(spoken[0])


async def test_uploads_alone_over_the_bound_are_kept(own_database: str, tmp_path: Path) -> None:
    url = own_database
    settings = media_settings(
        url, tmp_path / "media", media_cache_max_bytes=MIB, media_cache_min_idle_s=0
    )
    async with running_media(settings) as media:
        tenant = await new_tenant(url)
        keys = []
        for index in range(3):
            upload = speech(tmp_path / f"long{index}.wav", f"Message {index}. " + "Bonjour. " * 25)
            keys.append((await media.service.ingest(tenant, Kind.UPLOAD, upload, None)).key)
        await execute(url, "UPDATE media_files SET last_used_at = now() - interval '1 day'")
        assert await fetchval(url, "SELECT sum(size_bytes) FROM media_files") > MIB
        await media.service.maintain()
        for key in keys:
            assert media.files.present(key)
        # The database refuses it too.
        with pytest.raises(Exception, match="media_files_only_tts_evicted"):
            await execute(
                url,
                "UPDATE media_files SET status = 'evicted', size_bytes = 0 WHERE key = $1",
                keys[0],
            )


async def test_restart_keeps_the_cache(migrated_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "media"
    tenant = await new_tenant(migrated_url)
    text = "Nos bureaux sont ouverts du lundi au vendredi."
    upload = speech(tmp_path / "upload.wav", "Musique d'attente.")
    async with running_media(media_settings(migrated_url, folder)) as before:
        spoken = await before.service.ensure_text(tenant, text, None, None)
        uploaded = await before.service.ingest(tenant, Kind.UPLOAD, upload, "upload.wav")
        assert uploaded.prompt_id is not None

    async with running_media(media_settings(migrated_url, folder)) as after:
        again = await after.service.ensure_text(tenant, text, None, None)
        stored = await after.service.ensure_prompt(tenant, uploaded.prompt_id)
        assert (again.key, again.rendered) == (spoken.key, False)
        assert (stored.key, stored.rendered) == (uploaded.key, False)
        assert renders(after) == 0
        url = after.handlers.playable(tenant, stored).uri
        assert await _status(url) == 200


async def test_missing_tts_file_is_rendered_again_by_ensure_and_by_http(
    migrated_url: str, tmp_path: Path
) -> None:
    async with running_media(media_settings(migrated_url, tmp_path / "media")) as media:
        tenant = await new_tenant(migrated_url)
        ready = await media.service.ensure_text(tenant, "Votre appel est important.", None, None)
        url = media.handlers.playable(tenant, ready).uri

        media.files.remove(ready.key)
        again = await media.service.ensure_text(tenant, "Votre appel est important.", None, None)
        assert again.rendered
        assert media.files.present(ready.key)

        # Lost again, and this time asked for by Asterisk straight away (even with this
        # process's memory of it gone): the URL still plays.
        media.files.remove(ready.key)
        media.service._known.clear()
        assert await _status(url) == 200
        assert renders(media) == 3


async def test_missing_upload_file_is_a_typed_error_not_a_crash(
    migrated_url: str, tmp_path: Path, nats_client: NatsClient
) -> None:
    settings = media_settings(migrated_url, tmp_path / "media")
    async with running_media(settings) as media:
        tenant = await new_tenant(migrated_url)
        upload = speech(tmp_path / "u.wav", "Fichier perdu.")
        uploaded = await media.service.ingest(tenant, Kind.UPLOAD, upload, None)
        assert uploaded.prompt_id is not None
        url = media.handlers.playable(tenant, uploaded).uri
        media.files.remove(uploaded.key)

        with pytest.raises(MediaLost):
            await media.service.ensure_prompt(tenant, uploaded.prompt_id)
        with pytest.raises(RemoteError) as lost:
            await media_client.ensure_prompt(
                nats_client,
                EnsurePrompt(tenant_id=tenant, prompt_id=uploaded.prompt_id),
                scope=settings.media_nats_scope,
            )
        assert lost.value.code == "media_lost"
        assert await _status(url) == 404


async def test_deleted_prompts_audio_is_purged_and_stray_files_removed(
    own_database: str, tmp_path: Path
) -> None:
    url = own_database
    async with running_media(media_settings(url, tmp_path / "media")) as media:
        tenant = await new_tenant(url)
        upload = speech(tmp_path / "gone.wav", "Ancien message.")
        uploaded = await media.service.ingest(tenant, Kind.UPLOAD, upload, None)
        kept = await media.service.ingest(
            tenant, Kind.UPLOAD, speech(tmp_path / "kept.wav", "Nouveau message."), None
        )
        await execute(url, "DELETE FROM prompts WHERE id = $1", uploaded.prompt_id)
        await execute(url, "UPDATE media_files SET last_used_at = now() - interval '2 days'")
        # A file no row describes, left by a crash long ago.
        stray = "ab" * 32
        stray_files = media.files.playable(stray)
        stray_files.narrowband.parent.mkdir(parents=True, exist_ok=True)
        stray_files.narrowband.write_bytes(b"RIFF")
        old = 1_000_000_000
        os.utime(stray_files.narrowband, (old, old))

        await media.service.maintain(sweep_disk=True)

        assert not media.files.present(uploaded.key)
        assert (
            await fetchval(url, "SELECT count(*) FROM media_files WHERE key = $1", uploaded.key)
            == 0
        )
        assert media.files.present(kept.key)
        assert not stray_files.narrowband.exists()
