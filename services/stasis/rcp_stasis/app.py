"""Composition root of the stasis service."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from http import HTTPStatus

import aiohttp
import structlog
from rcp.runtime import infrastructure

from rcp_stasis.ari import AriConnection
from rcp_stasis.call_records import CallRecords, CallRecordsConsumer
from rcp_stasis.ports import AriCallPort, AriPort
from rcp_stasis.settings import AriSettings, Settings

log = structlog.get_logger(__name__)


async def check_ari(session: aiohttp.ClientSession, settings: AriSettings) -> None:
    """Readiness: Asterisk's ARI answers with our credentials."""
    async with session.get(f"{settings.ari_url}/ari/asterisk/info") as response:
        if response.status != HTTPStatus.OK:
            raise ConnectionError(f"ARI answered HTTP {response.status}")


async def check_events(ari: AriPort) -> None:
    """Readiness: the application's event WebSocket is up."""
    if not ari.connected:
        raise ConnectionError("the ARI event WebSocket is down (reconnecting)")


async def hand_back_to_dialplan(call: AriCallPort) -> None:
    """Until the call flow's executor runs calls, give each one back to the dialplan.

    The dialplan's next priority is its fallback (in the local stack: cause 34, so that the
    carrier retries another node), exactly as if no stasis service were connected.
    """
    log.warning("stasis.call_handed_back", channel=call.channel_id, args=call.args)
    await call.continue_in_dialplan()


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Build the service, run it until `stop` is set, then unwind every lifetime."""
    headers = {"Authorization": aiohttp.encode_basic_auth(settings.ari_user, settings.ari_password)}
    async with AsyncExitStack() as stack:
        session = await stack.enter_async_context(
            aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=5))
        )
        infra = await stack.enter_async_context(
            infrastructure(settings, settings.service_name, stop)
        )
        infra.health.add("ari", lambda: check_ari(session, settings))
        records = await stack.enter_async_context(
            CallRecordsConsumer(
                infra.jetstream,
                CallRecords(infra.pool),
                durable=settings.stasis_call_records_durable,
            )
        )
        infra.health.add("call_records", records.check)
        if settings.stasis_take_calls:
            ari = await stack.enter_async_context(
                AriConnection(
                    url=settings.ari_url,
                    user=settings.ari_user,
                    password=settings.ari_password,
                    app=settings.ari_app,
                    handle_call=hand_back_to_dialplan,
                    reconnect_min_s=settings.ari_reconnect_min_s,
                    reconnect_max_s=settings.ari_reconnect_max_s,
                    max_connections=settings.ari_max_connections,
                    request_timeout_s=settings.ari_request_timeout_s,
                )
            )
            infra.health.add("ari_events", lambda: check_events(ari))
        await stop.wait()
