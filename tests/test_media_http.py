"""Prompts over HTTP: immutable signed URLs with the headers Asterisk's media cache needs."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from media_support import (
    TEST_URL_SECRET,
    media_settings,
    metric,
    new_tenant,
    running_media,
    speech,
)
from rcp.contracts.media import PlayableMedia
from rcp_media.app import RunningMedia
from rcp_media.keys import AudioFormat, Kind, UrlSigner

SIGNER = UrlSigner(TEST_URL_SECRET.encode())


@pytest.fixture
async def media(migrated_url: str, tmp_path: Path) -> AsyncIterator[RunningMedia]:
    async with running_media(media_settings(migrated_url, tmp_path / "media")) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


async def _spoken(media: RunningMedia, tenant: uuid.UUID, text: str) -> PlayableMedia:
    ready = await media.service.ensure_text(tenant, text, None, None)
    return media.handlers.playable(tenant, ready)


def _file(url: str) -> str:
    """The last part of a media URL: key, expiry if any, signature, extension."""
    return url.rsplit("/", 1)[1]


def _served_bytes(media: RunningMedia) -> float:
    return metric(media, "rcp_media_served_bytes_total")


async def test_prompt_is_served_immutable_with_etag_and_asterisk_content_types(
    media: RunningMedia, migrated_url: str, http: aiohttp.ClientSession
) -> None:
    tenant = await new_tenant(migrated_url)
    playable = await _spoken(media, tenant, "Bienvenue chez Démo SARL.")
    files = media.files.playable(playable.key)

    async with http.get(playable.uri) as response:
        body = await response.read()
        assert response.status == 200
        assert response.headers["Content-Type"] == "audio/wav"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["ETag"]
        assert response.headers["Accept-Ranges"] == "bytes"
        assert int(response.headers["Content-Length"]) == len(body)
    assert body == files.path(AudioFormat.NARROWBAND).read_bytes()
    assert playable.uri.endswith(".wav")
    assert playable.media == f"sound:{playable.uri}"

    async with http.get(playable.wideband_uri) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "audio/x-wav;codec=pcm;bit=16;rate=16000"
        assert await response.read() == files.path(AudioFormat.WIDEBAND).read_bytes()
    assert playable.wideband_uri.endswith(".wav16")
    assert _served_bytes(media) == len(body) + files.path(AudioFormat.WIDEBAND).stat().st_size


async def test_if_none_match_is_answered_304_without_a_body(
    media: RunningMedia, migrated_url: str, http: aiohttp.ClientSession
) -> None:
    tenant = await new_tenant(migrated_url)
    playable = await _spoken(media, tenant, "Au revoir.")
    async with http.get(playable.uri) as response:
        etag = response.headers["ETag"]
    async with http.get(playable.uri, headers={"If-None-Match": etag}) as response:
        assert response.status == 304
        assert await response.read() == b""
        assert response.headers["ETag"] == etag
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # Asterisk revalidates with a HEAD request carrying If-None-Match.
    async with http.head(playable.uri, headers={"If-None-Match": etag}) as response:
        assert response.status == 304


async def test_range_request_gets_206_with_just_those_bytes(
    media: RunningMedia, migrated_url: str, http: aiohttp.ClientSession
) -> None:
    tenant = await new_tenant(migrated_url)
    playable = await _spoken(media, tenant, "Un instant, s'il vous plaît.")
    whole = media.files.playable(playable.key).path(AudioFormat.NARROWBAND).read_bytes()
    async with http.get(playable.uri, headers={"Range": "bytes=44-143"}) as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == f"bytes 44-143/{len(whole)}"
        assert await response.read() == whole[44:144]
    async with http.get(playable.uri, headers={"Range": f"bytes={len(whole) + 10}-"}) as response:
        assert response.status == 416
        assert "Cache-Control" not in response.headers


async def test_head_gives_the_headers_only(
    media: RunningMedia, migrated_url: str, http: aiohttp.ClientSession
) -> None:
    tenant = await new_tenant(migrated_url)
    playable = await _spoken(media, tenant, "Tapez étoile.")
    async with http.head(playable.uri) as response:
        assert response.status == 200
        assert int(response.headers["Content-Length"]) > 44
        assert await response.read() == b""


async def test_urls_cannot_be_forged_or_used_by_another_tenant(
    media: RunningMedia, migrated_url: str, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    owner = await new_tenant(migrated_url)
    intruder = await new_tenant(migrated_url)
    upload = speech(tmp_path / "secret.wav", "Message confidentiel.")
    ready = await media.service.ingest(owner, Kind.UPLOAD, upload, "secret.wav")
    playable = media.handlers.playable(owner, ready)
    async with http.get(playable.uri) as response:
        assert response.status == 200

    key = ready.key
    base = media.base_url
    attempts = [
        # The owner's signature under the intruder's name.
        playable.uri.replace(str(owner), str(intruder)),
        # A made-up signature.
        f"{base}/media/v1/{owner}/{key}-{'0' * 32}.wav",
        # A genuine signature for the intruder, which the service never hands out for a file of
        # another tenant: the file's owner is checked too.
        f"{base}{SIGNER.path(intruder, key, AudioFormat.NARROWBAND)}",
        # A key that exists nowhere, properly signed.
        f"{base}{SIGNER.path(owner, 'ab' * 32, AudioFormat.NARROWBAND)}",
        # Anything else.
        f"{base}/media/v1/{owner}/{key}.wav",
        f"{base}/media/v1/",
    ]
    for url in attempts:
        async with http.get(url) as response:
            assert response.status == 404, url
            assert "Cache-Control" not in response.headers
    # Even after a restart of the in-memory knowledge (the database is asked instead).
    media.service._known.clear()
    async with http.get(f"{base}{SIGNER.path(intruder, key, AudioFormat.NARROWBAND)}") as response:
        assert response.status == 404


async def test_a_recordings_url_expires_and_is_never_kept_while_a_prompts_stays_immutable(
    migrated_url: str, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    settings = media_settings(migrated_url, tmp_path / "media", media_recording_url_ttl_s=10)
    async with running_media(settings) as media:
        tenant = await new_tenant(migrated_url)
        message = speech(tmp_path / "voicemail.wav", "Rappelez-moi au zéro six.")
        ready = await media.service.ingest(tenant, Kind.RECORDING, message, None)
        before = time.time()
        playable = media.handlers.playable(tenant, ready)
        narrow = re.fullmatch(r"[0-9a-f]{64}-([0-9]+)-[0-9a-f]{32}\.wav", _file(playable.uri))
        wide = re.fullmatch(
            r"[0-9a-f]{64}-([0-9]+)-[0-9a-f]{32}\.wav16", _file(playable.wideband_uri)
        )
        assert narrow is not None
        assert wide is not None
        expires = int(narrow[1])
        assert int(wide[1]) == expires
        assert before + 9 <= expires <= time.time() + 11
        async with http.get(playable.uri) as response:
            assert response.status == 200
            assert response.headers["Cache-Control"] == "private, no-store"
            assert (await response.read())[:4] == b"RIFF"
        base, key = media.base_url, ready.key
        refused = [
            # The recording at a URL that never expires, properly signed: never served.
            f"{base}{SIGNER.path(tenant, key, AudioFormat.NARROWBAND)}",
            # A later expiry than the one signed.
            playable.uri.replace(f"-{expires}-", f"-{expires + 3600}-"),
            # Properly signed, but already expired.
            f"{base}{SIGNER.path(tenant, key, AudioFormat.NARROWBAND, int(before) - 1)}",
        ]
        for url in refused:
            async with http.get(url) as response:
                assert response.status == 404, url
        media.service._known.clear()  # the database says what it is, too
        async with http.get(refused[0]) as response:
            assert response.status == 404
        # A prompt's URL names no expiry: Asterisk's cache keeps it.
        prompt = await _spoken(media, tenant, "Bonjour.")
        assert re.fullmatch(r"[0-9a-f]{64}-[0-9a-f]{32}\.wav", _file(prompt.uri))
        async with http.get(prompt.uri) as response:
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


async def test_an_expiring_url_stops_working_when_it_expires(
    migrated_url: str, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    settings = media_settings(migrated_url, tmp_path / "media", media_recording_url_ttl_s=10)
    async with running_media(settings) as media:
        tenant = await new_tenant(migrated_url)
        message = speech(tmp_path / "voicemail.wav", "Au revoir.")
        ready = await media.service.ingest(tenant, Kind.RECORDING, message, None)
        soon = int(time.time()) + 2
        url = media.base_url + SIGNER.path(tenant, ready.key, AudioFormat.NARROWBAND, soon)
        async with http.get(url) as response:
            assert response.status == 200
        await asyncio.sleep(soon + 1 - time.time())
        async with http.get(url) as response:
            assert response.status == 404
