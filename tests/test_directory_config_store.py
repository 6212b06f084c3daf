"""Dial by name never needs PostgreSQL: the directory builds each tenant's index from the
configuration store (the JetStream key-value bucket the admin service writes on every change)
and watches it. On the real stack's PostgreSQL, and a nats-server of the test's own with the
users of `rcp.nats_access` (the directory logs in as itself, so its right to read the bucket
is put to the proof), so that refusing the database disturbs no other test."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats_support import login
from rcp.config_store import ConfigStore, StoringConfigPublisher, namespace_of
from rcp.errors import RemoteError
from rcp.telemetry import Metrics
from rcp_devstack.natsserver import private_nats
from rcp_devstack.settings import StackSettings
from rcp_directory.app import RunningDirectory, running
from rcp_directory.ports import TenantState
from rcp_directory.settings import Settings
from rcp_directory.source import PostgresDirectory, StoredDirectory, listings_of
from roles_support import service_url
from stasis_e2e_support import refuse_connections
from test_directory_service import (
    add_extension,
    eventually,
    keys,
    new_tenant,
    numbers,
    reverse,
    search,
)


@pytest.fixture
async def nats_url(tmp_path: Path, settings: StackSettings) -> AsyncIterator[str]:
    with private_nats(tmp_path / "nats", settings.nats_credentials_dir) as server:
        yield server.url


@pytest.fixture
async def as_tests(nats_url: str, settings: StackSettings) -> AsyncIterator[NatsClient]:
    client = await nats.connect(nats_url, **login("tests", settings))
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def directory_settings(nats_url: str, own_url: str) -> Settings:
    return Settings(
        database_url=service_url(own_url, "directory"),
        nats_url=nats_url,
        ops_port=0,
        database_pool_max=4,
        directory_nats_scope=uuid.uuid4().hex,
    )


@pytest.fixture
async def directory(directory_settings: Settings) -> AsyncIterator[RunningDirectory]:
    async with running(directory_settings) as started:
        yield started


async def stored(database_url: str, nc: NatsClient, tenant_id: uuid.UUID) -> None:
    """Write the tenant's configuration to the store, as the admin service does on a change."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        publisher = StoringConfigPublisher(None, nc, pool, Metrics("t"), namespace_of(database_url))
        await publisher.store(tenant_id)
    finally:
        await pool.close()


async def stored_tenant(
    database_url: str,
    nc: NatsClient,
    *extensions: tuple[str, str, str],
    fill: Callable[[asyncpg.Connection, uuid.UUID], Awaitable[None]] | None = None,
    status: str = "active",
) -> uuid.UUID:
    """A new tenant with these extensions (number, first name, last name), and whatever `fill`
    adds, written to the store."""
    db = await asyncpg.connect(database_url)
    try:
        tenant = await new_tenant(db, status=status)
        for number, first, last in extensions:
            await add_extension(db, tenant, number, first, last)
        if fill is not None:
            await fill(db, tenant)
    finally:
        await db.close()
    await stored(database_url, nc, tenant)
    return tenant


def source_of(directory: RunningDirectory) -> StoredDirectory:
    source = directory.cache.source
    assert isinstance(source, StoredDirectory), "the directory did not open the store"
    return source


def postgres_reads(directory: RunningDirectory) -> int:
    fallback = source_of(directory).fallback
    assert isinstance(fallback, PostgresDirectory)
    return fallback.reads


async def test_postgresql_refusing_connections_a_tenant_never_indexed_before_is_found_from_the_store(
    directory: RunningDirectory,
    directory_settings: Settings,
    as_tests: NatsClient,
    own_url: str,
    settings: StackSettings,
) -> None:
    prompts: list[uuid.UUID] = []

    async def named(db: asyncpg.Connection, tenant: uuid.UUID) -> None:
        prompts.append(
            await db.fetchval(
                """INSERT INTO prompts (tenant_id, source, tts_text, language)
                   VALUES ($1, 'tts', 'Jean-Pierre Lefèvre', 'fr-FR') RETURNING id""",
                tenant,
            )
        )
        await add_extension(db, tenant, "101", "Amélie", "Poulain", reachable_by_name=False)
        await add_extension(db, tenant, "102", "Jean-Pierre", "Lefèvre", prompt_id=prompts[0])

    tenant = await stored_tenant(own_url, as_tests, ("103", "Seán", "O'Brien"), fill=named)
    suspended = await stored_tenant(own_url, as_tests, status="suspended")
    prompt = prompts[0]
    reads = postgres_reads(directory)

    await refuse_connections(settings.database_url, own_url, allow=False)
    try:
        assert directory.cache.tenants == 0  # never indexed: built during the outage
        found = await search(as_tests, directory_settings, tenant, keys("LEF"))
        assert numbers(found) == ["102"]
        assert (found.matches[0].display_name, found.matches[0].name_prompt_id) == (
            "Jean-Pierre Lefèvre",
            prompt,
        )
        brien = await search(as_tests, directory_settings, tenant, keys("BRI"))
        assert numbers(brien) == ["103"]
        # Amélie is not reachable by name: the store says so too.
        assert (await search(as_tests, directory_settings, tenant, keys("AME"))).total == 0
        assert (await reverse(as_tests, directory_settings, tenant, "101")).entry is None
        with pytest.raises(RemoteError) as refused:
            await search(as_tests, directory_settings, suspended, keys("LEF"))
        assert refused.value.code == "tenant_suspended"
    finally:
        await refuse_connections(settings.database_url, own_url, allow=True)
    assert postgres_reads(directory) == reads  # not one SQL query


async def test_a_change_written_to_the_store_rebuilds_the_index_without_a_sql_query(
    directory: RunningDirectory,
    directory_settings: Settings,
    as_tests: NatsClient,
    own_url: str,
) -> None:
    tenant = await stored_tenant(own_url, as_tests, ("201", "Françoise", "Le Gall"))
    reads = postgres_reads(directory)
    assert numbers(await search(as_tests, directory_settings, tenant, keys("LEG"))) == ["201"]

    # Written as the admin service would; the tables still say Le Gall, only the store's
    # watch can tell the directory (no config-changed event is sent).
    store = await ConfigStore.open(as_tests, namespace_of(own_url))
    snapshot = await store.snapshot(tenant)
    assert isinstance(snapshot, dict)
    snapshot["extensions"][0]["last_name"] = "Legrand"
    snapshot["extensions"].append(
        snapshot["extensions"][0] | {"number": "202", "last_name": "Le Bihan"}
    )
    await store.kv.put(store.tenant_key(tenant), json.dumps(snapshot).encode())

    async def rebuilt() -> list[str] | None:
        found = await search(as_tests, directory_settings, tenant, keys("LEB"))
        return numbers(found) or None

    assert await eventually(rebuilt, 10.0) == ["202"]
    legrand = await reverse(as_tests, directory_settings, tenant, "201")
    assert legrand.entry is not None
    assert legrand.entry.last_name == "Legrand"
    assert postgres_reads(directory) == reads


async def test_a_tenant_the_store_does_not_hold_is_read_from_postgresql(
    directory: RunningDirectory,
    directory_settings: Settings,
    as_tests: NatsClient,
    own_url: str,
) -> None:
    db = await asyncpg.connect(own_url)
    try:
        tenant = await new_tenant(db)
        await add_extension(db, tenant, "301", "Marc", "Zidane")
    finally:
        await db.close()
    reads = postgres_reads(directory)
    assert numbers(await search(as_tests, directory_settings, tenant, keys("ZID"))) == ["301"]
    assert postgres_reads(directory) == reads + 1


def test_a_snapshot_gives_the_tenants_state_and_its_extensions_reachable_by_name() -> None:
    prompt = uuid.uuid4()
    extension = {
        "id": str(uuid.uuid4()),
        "number": "102",
        "kind": "physical",
        "first_name": "Jean-Pierre",
        "last_name": "Lefèvre",
        "endpoint": "PJSIP/desk",
        "external_number": None,
        "voicemail_enabled": True,
        "reachable_by_extension": True,
        "reachable_by_name": True,
        "name_prompt_id": str(prompt),
        "voicemail_greeting_prompt_id": None,
    }
    hidden = extension | {"number": "101", "reachable_by_name": False, "name_prompt_id": None}
    tenant = {"name": "Acme", "locale": "fr-FR", "timezone": "Europe/Paris", "status": "active"}
    loaded = listings_of({"tenant": tenant, "extensions": [extension, hidden], "numbers": []})
    assert loaded.state is TenantState.ACTIVE
    assert [(x.number, x.display_name, x.name_prompt_id) for x in loaded.listings] == [
        ("102", "Jean-Pierre Lefèvre", prompt)
    ]
    suspended = listings_of({"tenant": tenant | {"status": "suspended"}, "extensions": []})
    assert suspended.state is TenantState.SUSPENDED
    gone = listings_of({"tenant": None, "numbers": []})
    assert (gone.state, gone.listings) == (TenantState.UNKNOWN, ())


async def test_the_directory_may_read_and_watch_the_store_but_not_write_it(
    nats_url: str, settings: StackSettings, as_tests: NatsClient
) -> None:
    namespace = f"ns{uuid.uuid4().hex[:8]}"
    tenant = uuid.uuid4()
    written = await ConfigStore.open(as_tests, namespace)
    await written.kv.put(written.tenant_key(tenant), b'{"tenant": null, "numbers": []}')
    errors: list[str] = []

    async def collect(error: Exception) -> None:
        errors.append(str(error))

    client = await nats.connect(nats_url, error_cb=collect, **login("directory", settings))
    try:
        store = await ConfigStore.open(client, namespace)
        assert await store.snapshot(tenant) == {"tenant": None, "numbers": []}
        watcher = await store.kv.watch(store.watched_keys())
        first = await watcher.updates(timeout=5)  # type: ignore[no-untyped-call]
        assert first is not None
        assert first.key == store.tenant_key(tenant)
        await watcher.stop()  # type: ignore[no-untyped-call]
        assert errors == []
        with pytest.raises(nats.errors.Error):
            await store.kv.put(store.tenant_key(tenant), b"{}")
    finally:
        await client.close()
    subject = f"$kv.rcp_config.{namespace}.tenant.{tenant}".lower()
    assert f'nats: permissions violation for publish to "{subject}"' in errors
    assert await written.snapshot(tenant) == {"tenant": None, "numbers": []}


async def test_a_directory_started_while_postgresql_refuses_connections_is_ready_and_answers(
    directory_settings: Settings,
    as_tests: NatsClient,
    own_url: str,
    settings: StackSettings,
) -> None:
    tenant = await stored_tenant(own_url, as_tests, ("401", "Gaëlle", "Le Bihan"))
    await refuse_connections(settings.database_url, own_url, allow=False)
    try:
        async with running(directory_settings) as directory:
            assert isinstance(directory.cache.source, StoredDirectory)
            found = await search(as_tests, directory_settings, tenant, keys("LEB"))
            assert numbers(found) == ["401"]
            assert await directory.infrastructure.health.run() == {"nats": "ok", "directory": "ok"}
            assert postgres_reads(directory) == 0
    finally:
        await refuse_connections(settings.database_url, own_url, allow=True)
