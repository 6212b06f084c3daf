"""Composition root of the stasis service."""

from __future__ import annotations

import asyncio
from http import HTTPStatus

import aiohttp
from rcp.runtime import infrastructure

from rcp_stasis.settings import AriSettings, Settings


async def check_ari(session: aiohttp.ClientSession, settings: AriSettings) -> None:
    """Readiness: Asterisk's ARI answers with our credentials."""
    async with session.get(f"{settings.ari_url}/ari/asterisk/info") as response:
        if response.status != HTTPStatus.OK:
            raise ConnectionError(f"ARI answered HTTP {response.status}")


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Build the service, run it until `stop` is set, then unwind every lifetime."""
    headers = {"Authorization": aiohttp.encode_basic_auth(settings.ari_user, settings.ari_password)}
    async with (
        aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=5)) as session,
        infrastructure(settings, settings.service_name, stop) as infra,
    ):
        infra.health.add("ari", lambda: check_ari(session, settings))
        await stop.wait()
