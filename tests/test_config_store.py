"""The configuration store (a JetStream key-value bucket): admin writes each tenant's
configuration and its numbers' routing there on every change, so that calls need no
PostgreSQL. On the real admin service, PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import nats
import pytest
from admin_support import Admin
from nats.aio.client import Client as NatsClient
from rcp import config_store, nats_access
from rcp.config_store import (
    MISSING,
    ConfigStore,
    Encoded,
    KeyChange,
    Missing,
    Snapshot,
    StoringConfigPublisher,
    namespace_of,
    supersedes,
)
from rcp.telemetry import Metrics
from rcp_admin.app import running
from rcp_admin.settings import Settings as AdminSettings
from rcp_devstack.natsserver import _binary
from rcp_devstack.processes import free_port, wait_until
from rcp_stasis.tenants import PostgresTenants, StoredTenants
from roles_support import service_url


def _number() -> str:
    return f"+3318{uuid.uuid4().int % 10**8:08d}"


async def _store(admin: Admin, nats_client: NatsClient) -> ConfigStore:
    return await ConfigStore.open(nats_client, namespace_of(admin.settings.database_url))


async def test_publishing_writes_the_published_version_and_the_numbers_tenant_to_the_store(
    admin: Admin, nats_client: NatsClient
) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    e164 = _number()
    await admin.carrier.ok("POST", f"{t}/numbers", {"e164": e164})
    await tenant.ok("POST", f"{t}/menus", {"name": "Ventes", "language": "en-GB"})
    await tenant.ok("POST", f"{t}/receptionist/publish", {"comment": "ventes"})
    store = await _store(admin, nats_client)

    snapshot = await store.snapshot(uuid.UUID(tenant_id))

    assert not isinstance(snapshot, Missing)
    assert snapshot["tenant"]["status"] == "active"
    assert snapshot["version"] == 2
    assert [m["name"] for m in snapshot["document"]["menus"]] == ["Menu principal", "Ventes"]
    assert snapshot["numbers"] == [e164]
    assert await store.tenant_of(e164) == uuid.UUID(tenant_id)


async def test_a_moved_number_routes_to_its_new_tenant_and_a_released_one_to_none(
    admin: Admin, nats_client: NatsClient
) -> None:
    old_id, _ = await admin.tenant("from")
    new_id, _ = await admin.tenant("to")
    moved, released = _number(), _number()
    for e164 in (moved, released):
        await admin.carrier.ok("POST", f"/v1/tenants/{old_id}/numbers", {"e164": e164})
    store = await _store(admin, nats_client)
    assert await store.tenant_of(moved) == uuid.UUID(old_id)

    await admin.carrier.ok(
        "POST", f"/v1/numbers/{moved.replace('+', '%2B')}/move", {"tenant_id": new_id}
    )
    await admin.carrier.ok("DELETE", f"/v1/tenants/{old_id}/numbers/{released.replace('+', '%2B')}")

    assert await store.tenant_of(moved) == uuid.UUID(new_id)
    assert await store.tenant_of(released) is MISSING


async def test_the_backfill_stores_a_tenant_written_straight_into_the_database(
    admin: Admin, nats_client: NatsClient
) -> None:
    tenant_id = uuid.uuid4()
    await admin.pool.execute(
        "INSERT INTO tenants (id, slug, name) VALUES ($1, $2, 'Old')",
        tenant_id,
        f"old-{tenant_id.hex[:8]}",
    )
    store = await _store(admin, nats_client)
    assert await store.snapshot(tenant_id) is MISSING

    namespace = namespace_of(admin.settings.database_url)
    publisher = StoringConfigPublisher(None, nats_client, admin.pool, Metrics("t"), namespace)
    assert await publisher.backfill() >= 1

    snapshot = await store.snapshot(tenant_id)
    assert not isinstance(snapshot, Missing)
    assert snapshot["tenant"]["name"] == "Old"
    assert snapshot["numbers"] == []


async def _backfilled(admin: Admin, nats_client: NatsClient) -> int:
    """A backfill as a starting admin service runs it (a publisher that stored nothing yet)."""
    namespace = namespace_of(admin.settings.database_url)
    return await StoringConfigPublisher(
        None, nats_client, admin.pool, Metrics("t"), namespace
    ).backfill()


async def _revision(store: ConfigStore, tenant_id: str) -> int:
    return (await store.kv.get(store.tenant_key(uuid.UUID(tenant_id)))).revision or 0


async def test_the_backfill_leaves_a_tenant_stored_at_its_version_and_stores_a_stale_one(
    admin: Admin, nats_client: NatsClient
) -> None:
    kept_id, _ = await admin.tenant("kept")
    stale_id, _ = await admin.tenant("stale")
    await _backfilled(admin, nats_client)
    store = await _store(admin, nats_client)
    kept, stale = await _revision(store, kept_id), await _revision(store, stale_id)
    # A change committed whose storing failed.
    await admin.pool.execute("UPDATE tenants SET name = 'Renamed' WHERE id = $1", stale_id)
    await admin.pool.execute(
        "UPDATE config_versions SET version = version + 1 WHERE tenant_id = $1", stale_id
    )

    stored = await _backfilled(admin, nats_client)

    assert stored == 1
    assert await _revision(store, kept_id) == kept
    assert await _revision(store, stale_id) != stale
    snapshot = await store.snapshot(uuid.UUID(stale_id))
    assert not isinstance(snapshot, Missing)
    assert snapshot["tenant"]["name"] == "Renamed"
    assert snapshot["config_version"] == await admin.pool.fetchval(
        "SELECT version FROM config_versions WHERE tenant_id = $1", stale_id
    )


async def test_the_backfill_stores_every_tenant_again_once_the_snapshots_format_changed(
    admin: Admin, nats_client: NatsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant_id, _ = await admin.tenant()
    await _backfilled(admin, nats_client)
    store = await _store(admin, nats_client)
    before = await _revision(store, tenant_id)
    tenants = await admin.pool.fetchval("SELECT count(*) FROM tenants")

    monkeypatch.setattr(config_store, "snapshot_format", lambda: "another format")
    assert await _backfilled(admin, nats_client) == tenants
    again = await _revision(store, tenant_id)

    assert again != before
    assert await _backfilled(admin, nats_client) == 0
    assert await _revision(store, tenant_id) == again


async def test_the_admin_service_serves_while_its_backfill_runs_and_cancels_it_at_its_end(
    migrated_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    running_backfill, cancelled = asyncio.Event(), asyncio.Event()

    async def endless_backfill(_: StoringConfigPublisher) -> int:
        running_backfill.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 0

    monkeypatch.setattr(StoringConfigPublisher, "backfill", endless_backfill)
    settings = AdminSettings(
        database_url=service_url(migrated_url, "admin"), ops_port=0, admin_http_port=0
    )
    async with asyncio.timeout(30):
        async with running(settings) as port, aiohttp.ClientSession() as session:
            await running_backfill.wait()
            async with session.get(f"http://127.0.0.1:{port}/openapi.json") as response:
                assert response.status == 200
            assert not cancelled.is_set()
        assert cancelled.is_set()


async def test_a_backfill_that_read_a_tenant_before_a_newer_write_leaves_the_newer_stored(
    admin: Admin, nats_client: NatsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backfill runs while the API writes: a snapshot it read before a write stored a
    newer one does not replace it."""
    tenant_id, _ = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    await admin.carrier.ok("PATCH", t, {"name": "Older"})
    await admin.pool.execute(  # stale in the store: the backfill reads it again
        "UPDATE config_versions SET version = version + 1 WHERE tenant_id = $1", tenant_id
    )
    read, resume = asyncio.Event(), asyncio.Event()
    reading = config_store.read_encoded

    async def paused_read(connection: object, tenant: uuid.UUID) -> Encoded:
        snapshot = await reading(connection, tenant)
        if snapshot.head["tenant"] is not None and snapshot.head["tenant"]["name"] == "Older":
            read.set()
            await resume.wait()
        return snapshot

    monkeypatch.setattr(config_store, "read_encoded", paused_read)
    backfill = asyncio.create_task(_backfilled(admin, nats_client))
    await read.wait()
    await admin.carrier.ok("PATCH", t, {"name": "Newer"})
    resume.set()
    await backfill

    snapshot = await (await _store(admin, nats_client)).snapshot(uuid.UUID(tenant_id))
    assert not isinstance(snapshot, Missing)
    assert snapshot["tenant"]["name"] == "Newer"


async def test_the_stored_versions_are_each_tenants_and_none_for_a_tenant_gone(
    nats_client: NatsClient,
) -> None:
    store = await ConfigStore.open(nats_client, f"versions_{uuid.uuid4().hex[:8]}")
    alive, gone = uuid.uuid4(), uuid.uuid4()
    try:
        assert await store.stored_versions() == {}
        await store.put(alive, {"tenant": {"name": "A"}, "config_version": 4, "numbers": []})
        await store.put(gone, {"tenant": None, "numbers": []})
        await store.kv.put(store.number_key("+33100"), str(alive).encode())

        assert await store.stored_versions() == {alive: 4, gone: None}
    finally:
        subject = f"$KV.{config_store.BUCKET}.{store.namespace}.>"
        await nats_client.jetstream().purge_stream(config_store.STREAM, subject=subject)


def test_a_watched_key_names_its_tenant_or_number_and_other_namespaces_are_ignored() -> None:
    store = ConfigStore(None, "db_1")  # type: ignore[arg-type]
    tenant = uuid.uuid4()
    assert store.key_change(store.tenant_key(tenant)) == KeyChange(tenant_id=tenant)
    assert store.key_change(store.number_key("+33100")) == KeyChange(number="+33100")
    assert store.key_change(f"db_2.tenant.{tenant}") is None
    assert store.key_change("db_1.tenant.not-a-uuid") is None
    assert store.key_change("db_1.other.x") is None
    assert namespace_of("postgresql://u:p@h:5432/rcp_test-1?sslmode=x") == "rcp_test-1"


@contextlib.contextmanager
def _authorizing_nats(directory: Path) -> Iterator[str]:
    """A nats-server of the test's own whose users are `rcp.nats_access`'s table."""
    port = free_port()
    (directory / "store").mkdir()
    passwords = {row.name: f"pw-{row.name}" for row in nats_access.USERS}
    config = directory / "nats-server.conf"
    config.write_text(
        f"listen: 127.0.0.1:{port}\n"
        f'jetstream {{\n  store_dir: "{directory / "store"}"\n}}\n'
        f"authorization: {json.dumps(nats_access.authorization(passwords))}\n"
    )
    log_file = directory / "nats.log"
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [_binary(), "-c", str(config)], stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    try:
        wait_until(lambda: b"Server is ready" in log_file.read_bytes(), 30, "NATS", log_file)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _connect(url: str, user: str) -> NatsClient:
    return await nats.connect(
        url,
        user=user,
        password=f"pw-{user}",
        inbox_prefix=nats_access.inbox_prefix(user).encode(),
        allow_reconnect=False,
    )


async def test_under_authorization_admin_writes_the_store_and_stasis_reads_and_watches_it(
    tmp_path: Path,
) -> None:
    with _authorizing_nats(tmp_path) as url:
        admin, stasis = await _connect(url, "admin"), await _connect(url, "stasis")
        try:
            written = await ConfigStore.open(admin, "db")
            tenant = uuid.uuid4()
            await written.put(tenant, {"tenant": None, "numbers": ["+33100"]})
            assert await written.stored_versions() == {tenant: None}  # the backfill's listing
            read = await ConfigStore.open(stasis, "db")
            watcher = await read.kv.watch(read.watched_keys())
            assert await read.snapshot(tenant) == {"tenant": None, "numbers": ["+33100"]}
            assert await read.tenant_of("+33100") == tenant
            await written.put(tenant, {"tenant": None, "numbers": []})
            seen: list[KeyChange | None] = []
            async with asyncio.timeout(10):
                while KeyChange(number="+33100") not in seen:
                    entry = await watcher.updates(timeout=10)  # type: ignore[no-untyped-call]
                    if entry is not None:
                        seen.append(read.key_change(entry.key))
            await watcher.stop()  # type: ignore[no-untyped-call]
            assert await read.tenant_of("+33100") is MISSING
        finally:
            await admin.close()
            await stasis.close()


async def test_a_suspended_tenant_read_from_the_store_has_no_configuration_and_no_sql_is_read(
    admin: Admin, nats_client: NatsClient
) -> None:
    tenant_id, _ = await admin.tenant()
    e164 = _number()
    await admin.carrier.ok("POST", f"/v1/tenants/{tenant_id}/numbers", {"e164": e164})
    fallback = PostgresTenants(admin.pool)
    source = StoredTenants(await _store(admin, nats_client), fallback)
    active = await source.load(uuid.UUID(tenant_id))
    assert active is not None
    assert active.name == "Acme"

    await admin.carrier.ok("PATCH", f"/v1/tenants/{tenant_id}", {"status": "suspended"})

    assert await source.tenant_of(e164) == uuid.UUID(tenant_id)
    assert await source.load(uuid.UUID(tenant_id)) is None
    assert fallback.reads == 0


async def test_concurrent_writes_to_one_tenant_leave_the_last_committed_configuration_stored(
    admin: Admin, nats_client: NatsClient
) -> None:
    tenant_id, _ = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"

    await asyncio.gather(*(admin.carrier.ok("PATCH", t, {"name": f"Name {n}"}) for n in range(20)))

    committed = await admin.pool.fetchval("SELECT name FROM tenants WHERE id = $1", tenant_id)
    snapshot = await (await _store(admin, nats_client)).snapshot(uuid.UUID(tenant_id))
    assert not isinstance(snapshot, Missing)
    assert snapshot["tenant"]["name"] == committed
    assert snapshot["config_version"] == await admin.pool.fetchval(
        "SELECT version FROM config_versions WHERE tenant_id = $1", tenant_id
    )


async def test_a_snapshot_read_before_a_newer_one_was_stored_does_not_replace_it(
    admin: Admin, nats_client: NatsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two admin processes store one tenant: the first reads its snapshot, the second writes
    and stores a newer one, then the first stores its stale one: the newer stays."""
    tenant_id, _ = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    namespace = namespace_of(admin.settings.database_url)
    first, second = (
        StoringConfigPublisher(None, nats_client, admin.pool, Metrics("t"), namespace)
        for _ in range(2)
    )
    await admin.carrier.ok("PATCH", t, {"name": "Older"})
    read, resume = asyncio.Event(), asyncio.Event()
    reading = config_store.read_encoded

    async def paused_read(connection: object, tenant: uuid.UUID) -> Encoded:
        snapshot = await reading(connection, tenant)
        if snapshot.head["tenant"]["name"] == "Older":
            read.set()
            await resume.wait()
        return snapshot

    monkeypatch.setattr(config_store, "read_encoded", paused_read)
    stale = asyncio.create_task(first.store(uuid.UUID(tenant_id)))
    await read.wait()
    await admin.carrier.ok("PATCH", t, {"name": "Newer"})
    await second.store(uuid.UUID(tenant_id))
    resume.set()
    await stale

    snapshot = await (await _store(admin, nats_client)).snapshot(uuid.UUID(tenant_id))
    assert not isinstance(snapshot, Missing)
    assert snapshot["tenant"]["name"] == "Newer"


async def test_a_process_whose_last_store_was_replaced_since_compares_with_the_newer_one(
    admin: Admin, nats_client: NatsClient
) -> None:
    """Each process remembers what it last stored (its next store skips reading the key):
    once another process has stored a newer snapshot, an older one does not replace it."""
    first, second = [await _store(admin, nats_client) for _ in range(2)]
    tenant_id = uuid.uuid4()

    def version(number: int) -> Snapshot:
        return {"tenant": {"name": f"v{number}"}, "config_version": number, "numbers": []}

    assert await first.put(tenant_id, version(1))
    assert await second.put(tenant_id, version(3))
    assert not await first.put(tenant_id, version(2))
    assert await first.snapshot(tenant_id) == version(3)
    assert await first.put(tenant_id, version(4))
    assert await second.put(tenant_id, version(5))  # its memory is stale too: read again
    assert await second.snapshot(tenant_id) == version(5)


def test_a_gone_tenant_replaces_any_snapshot_and_nothing_replaces_it() -> None:
    alive: Snapshot = {"tenant": {"name": "A"}, "config_version": 7, "numbers": []}
    gone: Snapshot = {"tenant": None, "numbers": []}
    older = {**alive, "config_version": 6}

    assert supersedes(gone, alive)
    assert not supersedes(alive, gone)
    assert not supersedes(older, alive)
    assert supersedes(alive, older)
