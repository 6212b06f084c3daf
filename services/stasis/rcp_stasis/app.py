"""Composition root of the stasis service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus

import aiohttp
import structlog
from rcp import tasks
from rcp.config_events import config_changes
from rcp.config_store import ConfigStore, namespace_of
from rcp.runtime import Infrastructure, infrastructure
from rcp.settings import AriSettings

from rcp_stasis import asterisk_logs
from rcp_stasis.ari import AriConnection, AriRecordings
from rcp_stasis.call_records import CallRecords
from rcp_stasis.directory import NatsDirectory
from rcp_stasis.executor import MIN_PROMPT_BUDGET_S, CallServices
from rcp_stasis.limits import CallLimits
from rcp_stasis.media import NatsPrompts
from rcp_stasis.metrics import StasisMetrics
from rcp_stasis.ports import AriPort
from rcp_stasis.records_app import consuming
from rcp_stasis.room_locks import RoomLocks
from rcp_stasis.service import Receptionist, Voicemails
from rcp_stasis.settings import Settings
from rcp_stasis.tenants import PostgresTenants, StoredTenants, TenantConfigs, follow_store
from rcp_stasis.voicemail import VoicemailStore

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


async def not_connected_yet() -> None:
    """Readiness while starting: the application's WebSocket is not there yet."""
    raise ConnectionError("the ARI application is not connected yet")


@dataclass(frozen=True)
class RunningStasis:
    """A started stasis service: what tests and benchmarks look at."""

    infrastructure: Infrastructure
    metrics: StasisMetrics
    receptionist: Receptionist | None
    ari: AriConnection | None
    configs: TenantConfigs | None


@asynccontextmanager
async def running(
    settings: Settings, stop: asyncio.Event | None = None
) -> AsyncIterator[RunningStasis]:
    """Start the service; on the way out, drain the calls under way and unwind."""
    headers = {"Authorization": aiohttp.encode_basic_auth(settings.ari_user, settings.ari_password)}
    async with AsyncExitStack() as stack:
        session = await stack.enter_async_context(
            aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=30))
        )
        # Taking calls, PostgreSQL is only a fallback (calls read the configuration store):
        # no readiness check, so that stasis starts and serves while the database is away.
        infra = await stack.enter_async_context(
            infrastructure(
                settings,
                settings.service_name,
                stop,
                database_required=not settings.stasis_take_calls,
            )
        )
        infra.health.add("ari", lambda: check_ari(session, settings))
        if settings.stasis_take_calls:  # not ready until the app's WebSocket is up
            infra.health.add("ari_events", not_connected_yet)
        metrics = StasisMetrics(infra.metrics.registry)
        call_records = CallRecords(infra.pool)
        if not settings.stasis_take_calls:  # the call records service's work, in this process
            await stack.enter_async_context(consuming(settings, infra, metrics.call_events))
            yield RunningStasis(infra, metrics, None, None, None)
            return
        # Taking calls, this process writes no call records: `rcp-call-records` does.
        receptionist, ari, configs = await _take_calls(
            stack, settings, infra, session, metrics, call_records
        )
        try:
            yield RunningStasis(infra, metrics, receptionist, ari, configs)
        finally:
            # The way out starts by letting the calls under way end (SIGTERM), new ones going
            # back to the dialplan meanwhile; those still up after the grace time are hung up
            # as the ARI connection closes.
            await receptionist.drain(settings.stasis_drain_grace_s)


async def _take_calls(
    stack: AsyncExitStack,
    settings: Settings,
    infra: Infrastructure,
    session: aiohttp.ClientSession,
    metrics: StasisMetrics,
    call_records: CallRecords,
) -> tuple[Receptionist, AriConnection, TenantConfigs]:
    # Calls read the configuration store; PostgreSQL only for what it lacks.
    stored = await ConfigStore.open(
        infra.nats, namespace_of(settings.database_url), settings.config_store_replicas
    )
    configs = await stack.enter_async_context(
        TenantConfigs(
            StoredTenants(stored, PostgresTenants(infra.pool)),
            country_changed=metrics.destination_country_changes.inc,
        )
    )
    following = asyncio.create_task(follow_store(stored, configs), name="config-store-watch")
    stack.push_async_callback(tasks.stop, following)
    prompts = NatsPrompts(
        infra.nats,
        scope=settings.media_nats_scope,
        timeout_s=settings.stasis_media_timeout_s,
        budget_s=settings.request_budget_s,
    )
    configs.on_changed(prompts.forget)

    await stack.enter_async_context(
        config_changes(infra.nats, lambda event: configs.changed(event.tenant_id))
    )
    store = VoicemailStore(
        AriRecordings(session, settings.ari_url),
        infra.nats,
        infra.jetstream,
        infra.pool,
        media_scope=settings.media_nats_scope,
    )
    voicemails = Voicemails(store, metrics)
    stack.push_async_callback(voicemails.drain)
    limits = CallLimits(settings.stasis_max_outbound_legs)
    metrics.watch_outbound_legs(lambda: limits.outbound_legs)
    services = CallServices(
        prompts=prompts,
        directory=NatsDirectory(
            infra.nats,
            settings.directory_nats_scope,
            timeout_s=settings.stasis_directory_timeout_s,
            # What the lookup leaves is enough for the prompt that follows (the stand-in).
            budget_s=settings.request_budget_s - MIN_PROMPT_BUDGET_S,
        ),
        jetstream=infra.jetstream,
        save_voicemail=voicemails.save,
        discard_recording=voicemails.discard,
        wait_budget_s=settings.request_budget_s,
        node=settings.ari_app,
        metrics=metrics,
        limits=limits,
        room_locks=RoomLocks(settings.lock_policy()),
    )
    receptionist = Receptionist(
        configs, services, settings.flow_options(), open_calls=call_records.open_calls
    )
    ari = await stack.enter_async_context(
        AriConnection(
            url=settings.ari_url,
            user=settings.ari_user,
            password=settings.ari_password,
            app=settings.ari_app,
            handle_call=receptionist.handle,
            reconnect_min_s=settings.ari_reconnect_min_s,
            reconnect_max_s=settings.ari_reconnect_max_s,
            max_connections=settings.ari_max_connections,
            request_timeout_s=settings.ari_request_timeout_s,
            rest_over_websocket=settings.ari_rest_over_websocket,
            on_connected=receptionist.reconcile,
            on_request=metrics.count_ari_request,
            on_event=metrics.count_ari_event,
            on_answer=metrics.ari_request_seconds.observe,
            on_event_lag=metrics.ari_event_lag_seconds.observe,
        )
    )
    metrics.watch_ari(lambda: ari.connected)
    infra.health.add("ari_events", lambda: check_events(ari))
    sweeper = asyncio.create_task(
        receptionist.sweep_every(ari, settings.stasis_sweep_interval_s), name="orphan-sweep"
    )

    stack.push_async_callback(tasks.stop, sweeper)
    if settings.stasis_asterisk_log_rotation_s > 0:
        rotation = asyncio.create_task(
            asterisk_logs.rotate_every(
                session, settings.ari_url, settings.stasis_asterisk_log_rotation_s
            ),
            name="asterisk-log-rotation",
        )
        stack.push_async_callback(tasks.stop, rotation)
    return receptionist, ari, configs


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Build the service, run it until `stop` is set, then unwind every lifetime."""
    async with running(settings, stop):
        await stop.wait()
