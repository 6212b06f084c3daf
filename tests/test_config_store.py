"""The configuration store (a JetStream key-value bucket): admin writes each tenant's
configuration and its numbers' routing there on every change, so that calls need no
PostgreSQL. On the real admin service, PostgreSQL and NATS."""

from __future__ import annotations

import uuid

from admin_support import Admin
from nats.aio.client import Client as NatsClient
from rcp.config_store import (
    MISSING,
    ConfigStore,
    KeyChange,
    Missing,
    StoringConfigPublisher,
    namespace_of,
)
from rcp.telemetry import Metrics


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


def test_a_watched_key_names_its_tenant_or_number_and_other_namespaces_are_ignored() -> None:
    store = ConfigStore(None, "db_1")  # type: ignore[arg-type]
    tenant = uuid.uuid4()
    assert store.key_change(store.tenant_key(tenant)) == KeyChange(tenant_id=tenant)
    assert store.key_change(store.number_key("+33100")) == KeyChange(number="+33100")
    assert store.key_change(f"db_2.tenant.{tenant}") is None
    assert store.key_change("db_1.tenant.not-a-uuid") is None
    assert store.key_change("db_1.other.x") is None
    assert namespace_of("postgresql://u:p@h:5432/rcp_test-1?sslmode=x") == "rcp_test-1"
