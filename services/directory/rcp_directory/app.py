"""Composition root of the directory service."""

from __future__ import annotations

import asyncio

from rcp.runtime import infrastructure

from rcp_directory.settings import Settings


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Build the service, run it until `stop` is set, then unwind every lifetime."""
    async with infrastructure(settings, settings.service_name, stop):
        await stop.wait()
