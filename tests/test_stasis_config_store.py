"""Calls never need PostgreSQL: stasis reads the number's tenant and the tenant's configuration
from the configuration store (a JetStream key-value bucket the admin service writes), and
watches it. On the real stack: PostgreSQL, NATS, Asterisk and the services."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from nats.aio.client import Client as NatsClient
from rcp.config_store import ConfigStore, StoringConfigPublisher, namespace_of
from rcp.telemetry import Metrics
from rcp_devstack.settings import StackSettings
from rcp_stasis.tenants import StoredTenants
from stasis_e2e_support import (
    WAIT_S,
    Stack,
    Tenant,
    phones,
    provision,
    receptionist_stack,
    refuse_connections,
)

pytestmark = [pytest.mark.asterisk]


@pytest_asyncio.fixture
async def stack(asterisk: StackSettings, own_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with receptionist_stack(asterisk, own_url, tmp_path) as running:
        yield running


async def _stored(stack: Stack, nats_client: NatsClient, tenant: Tenant) -> None:
    """Write the tenant's configuration to the store, as the admin service does on a change."""
    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=2)
    try:
        publisher = StoringConfigPublisher(
            None, nats_client, pool, Metrics("t"), namespace_of(stack.database_url)
        )
        await publisher.store(tenant.id)
    finally:
        await pool.close()


def _source(stack: Stack) -> StoredTenants:
    assert stack.stasis.configs is not None
    source = stack.stasis.configs.source
    assert isinstance(source, StoredTenants)
    return source


async def test_postgresql_refusing_connections_a_tenant_never_called_before_is_served_from_the_store(
    stack: Stack, nats_client: NatsClient
) -> None:
    tenant = await provision(stack.database_url, stack.phones_app)
    await _stored(stack, nats_client, tenant)
    reads = _source(stack).fallback.reads
    async with phones(stack) as lines:
        await refuse_connections(stack.settings.database_url, stack.database_url, allow=False)
        try:
            caller = await lines.call(tenant)
            since = lines.mark()
            await lines.press(caller, "0")  # key 0: extension 101
            phone = await lines.ringing(tenant, "101", since)
            await lines.hang_up(phone)
            await lines.hang_up(caller)
        finally:
            await refuse_connections(stack.settings.database_url, stack.database_url, allow=True)
            await lines.hang_up_everything()
    assert _source(stack).fallback.reads == reads  # not one SQL query on the call path


async def test_postgresql_refusing_connections_dial_by_name_finds_a_never_called_tenants_extension(
    stack: Stack, nats_client: NatsClient
) -> None:
    # The directory has never indexed this tenant: it builds the index from the store.
    tenant = await provision(stack.database_url, stack.phones_app)
    await _stored(stack, nats_client, tenant)
    reads = _source(stack).fallback.reads
    async with phones(stack) as lines:
        await refuse_connections(stack.settings.database_url, stack.database_url, allow=False)
        try:
            caller = await lines.call(tenant)
            since = lines.mark()
            await lines.press(caller, "1")  # key 1: dial by name
            await asyncio.sleep(1)  # into name entry (its trace is in PostgreSQL: unreadable now)
            await lines.press(caller, "768")  # P O U: Poulain, extension 101
            phone = await lines.ringing(tenant, "101", since)
            await lines.hang_up(phone)
            await lines.hang_up(caller)
        finally:
            await refuse_connections(stack.settings.database_url, stack.database_url, allow=True)
            await lines.hang_up_everything()
    assert _source(stack).fallback.reads == reads


async def test_a_change_written_to_the_store_reaches_the_next_call_without_a_sql_query(
    stack: Stack, nats_client: NatsClient
) -> None:
    tenant = await provision(stack.database_url, stack.phones_app)
    await _stored(stack, nats_client, tenant)
    source = _source(stack)
    reads = source.fallback.reads
    async with phones(stack) as lines:
        caller = await lines.call(tenant)
        await lines.hang_up(caller)
        await lines.stasis_holds_nothing()
        # Key 0 now rings 102 (the store alone says so: the tables still say 101).
        # Written as the admin service would (stasis may only read the store).
        store = await ConfigStore.open(nats_client, source.store.namespace)
        snapshot = await store.snapshot(tenant.id)
        assert isinstance(snapshot, dict)
        keys = snapshot["document"]["menus"][0]["keys"]
        keys["0"]["target_id"] = str(tenant.ids["102"])
        await store.kv.put(store.tenant_key(tenant.id), json.dumps(snapshot).encode())
        assert stack.stasis.configs is not None
        async with asyncio.timeout(WAIT_S):
            while True:
                config = await stack.stasis.configs.for_number(tenant.number)
                assert config is not None
                key = config.keys["0"]
                if getattr(key, "number", None) == "102":
                    break
                await asyncio.sleep(0.05)
        caller = await lines.call(tenant)
        since = lines.mark()
        await lines.press(caller, "0")
        phone = await lines.ringing(tenant, "102", since)
        await lines.hang_up(phone)
        await lines.hang_up(caller)
        await lines.hang_up_everything()
    assert source.fallback.reads == reads
