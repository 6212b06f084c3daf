"""The stasis service as its composition root builds it, on the real stack, and its settings."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pydantic
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.errors import NotFoundError
from rcp import subjects
from rcp.callflow.config import FlowOptions
from rcp.messaging import ensure_streams
from rcp_devstack.ari_probe import ari_probe
from rcp_devstack.settings import StackSettings
from rcp_stasis.app import serve
from rcp_stasis.records_app import Settings as RecordsSettings
from rcp_stasis.records_app import serve as serve_records
from rcp_stasis.settings import Settings
from roles_support import service_url
from stasis_ari_support import unique_app
from stasis_e2e_support import refuse_connections, unique_e164


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def running_stasis(migrated_url: str, **overrides: Any) -> AsyncIterator[tuple[int, str]]:
    """The service on the test database with a durable of its own; yields (ops port, durable)."""
    port = _free_port()
    durable = f"records-{uuid.uuid4().hex[:10]}"
    settings = Settings(
        database_url=service_url(migrated_url, "stasis"),
        ops_port=port,
        stasis_call_records_durable=durable,
        stasis_call_records_from_start=False,
        **overrides,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop))
    try:
        yield port, durable
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def readiness(port: int) -> dict[str, str]:
    """/readyz's checks once every one of them passes (polled; fails after 30 s)."""
    async with aiohttp.ClientSession() as session, asyncio.timeout(30):
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                    body = await response.json()
                    if response.status == 200:
                        return dict(body["checks"])
            except aiohttp.ClientConnectionError:
                pass  # not listening yet
            await asyncio.sleep(0.2)


async def test_told_to_take_no_calls_the_service_only_writes_call_records(
    migrated_url: str, nats_client: NatsClient, asterisk: StackSettings
) -> None:
    js = nats_client.jetstream()
    await ensure_streams(js)
    async with running_stasis(migrated_url, stasis_take_calls=False) as (port, durable):
        checks = await readiness(port)
        consumer = await js.consumer_info(subjects.EVENTS_STREAM, durable)
    await js.delete_consumer(subjects.EVENTS_STREAM, durable)
    # No "ari_events": the service does not connect to the ARI app.
    assert checks == {"nats": "ok", "postgres": "ok", "ari": "ok", "call_records": "ok"}
    assert consumer.config.filter_subject == subjects.CALL_EVENTS_ALL


async def test_the_call_records_service_binds_the_durable_consumer_and_needs_no_asterisk(
    migrated_url: str, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    await ensure_streams(js)
    port, durable = _free_port(), f"records-{uuid.uuid4().hex[:10]}"
    settings = RecordsSettings(
        database_url=service_url(migrated_url, "stasis"),
        ops_port=port,
        stasis_call_records_durable=durable,
        stasis_call_records_from_start=False,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve_records(settings, stop))
    try:
        checks = await readiness(port)
        consumer = await js.consumer_info(subjects.EVENTS_STREAM, durable)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await js.delete_consumer(subjects.EVENTS_STREAM, durable)
    assert checks == {"nats": "ok", "postgres": "ok", "call_records": "ok"}
    assert consumer.config.filter_subject == subjects.CALL_EVENTS_ALL
    assert consumer.config.durable_name == durable


@pytest.mark.asterisk
async def test_taking_calls_connects_the_app_refuses_a_number_of_no_tenant_and_writes_no_records(
    migrated_url: str, nats_client: NatsClient, asterisk: StackSettings
) -> None:
    app, caller_app = unique_app("service"), unique_app("caller")
    js = nats_client.jetstream()
    overrides = {"stasis_take_calls": True, "ari_app": app, "stasis_drain_grace_s": 5}
    async with (
        running_stasis(migrated_url, **overrides) as (port, durable),
        ari_probe(
            asterisk.ari_url, asterisk.ari_user, asterisk.ari_password, [caller_app]
        ) as probe,
    ):
        checks = await readiness(port)
        async with probe._session.post(
            f"{asterisk.ari_url}/ari/channels",
            params={"endpoint": f"Local/{unique_e164()}@test-carrier/n", "app": caller_app},
            json={"variables": {"RCP_APP": app}},
        ) as response:
            caller = (await response.json())["id"]
        # No tenant has the number: the call is refused as an unallocated number.
        ended = await probe.wait_for(
            lambda e: e.get("type") == "ChannelDestroyed" and e["channel"]["id"] == caller
        )
    assert checks["ari_events"] == "ok"
    assert ended["cause"] == 1
    # Taking calls, it writes no call records (rcp-call-records does): no consumer of its own.
    assert "call_records" not in checks
    with pytest.raises(NotFoundError):
        await js.consumer_info(subjects.EVENTS_STREAM, durable)


@pytest.mark.asterisk
async def test_taking_calls_it_starts_and_is_ready_while_postgresql_refuses_connections(
    migrated_url: str, nats_client: NatsClient, asterisk: StackSettings
) -> None:
    # Calls read the configuration store: a stasis (re)started during a database outage
    # takes calls; PostgreSQL is no readiness check of a node taking calls.
    app = unique_app("outage")
    await ensure_streams(nats_client.jetstream())
    overrides = {"stasis_take_calls": True, "ari_app": app, "stasis_drain_grace_s": 5}
    await refuse_connections(asterisk.database_url, migrated_url, allow=False)
    try:
        async with running_stasis(migrated_url, **overrides) as (port, _):
            checks = await readiness(port)
    finally:
        await refuse_connections(asterisk.database_url, migrated_url, allow=True)
    assert checks == {"nats": "ok", "ari": "ok", "ari_events": "ok"}


def test_the_flow_options_come_from_the_settings() -> None:
    settings = Settings(stasis_trunk_dial_template="SIP/{number}@up", stasis_voicemail_max_s=60)
    assert settings.flow_options() == FlowOptions(
        trunk_dial_template="SIP/{number}@up", voicemail_max_s=60
    )
    assert Settings().stasis_take_calls  # the stack's app, `receptionist`, by default
    assert Settings().ari_app == "receptionist"


@pytest.mark.parametrize("template", ["PJSIP/carrier", "PJSIP/{number}/{other}", "PJSIP/{0}"])
def test_a_trunk_template_without_exactly_its_number_is_refused(template: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="must contain"):
        Settings(stasis_trunk_dial_template=template)
