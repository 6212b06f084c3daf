"""Where the directory reads tenants' extensions (`ports.DirectorySource`): the configuration
store (`StoredDirectory`), which the admin service writes on every change, and PostgreSQL
(`PostgresDirectory`) only for a tenant the store does not hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from rcp import config_store

from rcp_directory.index import Listing
from rcp_directory.ports import DirectorySource, TenantListings, TenantState

log = structlog.get_logger(__name__)

# One round trip: the tenant row, joined to its extensions that are reachable by name
# (none: one row of NULLs; no tenant: no row).
_LOAD = """
SELECT t.status, e.number, e.first_name, e.last_name, e.name_prompt_id
  FROM tenants t
  LEFT JOIN extensions e ON e.tenant_id = t.id AND e.reachable_by_name
 WHERE t.id = $1
"""


class PostgresDirectory:
    """`DirectorySource` over the schema's `tenants` and `extensions` tables."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.reads = 0
        """How many tenants were read (for tests: none on the path of a stored tenant)."""

    async def load(self, tenant_id: UUID) -> TenantListings:
        """The tenant's state and listings, read in one statement."""
        self.reads += 1
        rows = await self._pool.fetch(_LOAD, tenant_id)
        if not rows:
            return TenantListings(TenantState.UNKNOWN)
        state = TenantState(rows[0]["status"])
        listings = tuple(
            Listing(
                number=row["number"],
                first_name=row["first_name"],
                last_name=row["last_name"],
                name_prompt_id=row["name_prompt_id"],
            )
            for row in rows
            if row["number"] is not None
        )
        return TenantListings(state, listings)


def listings_of(snapshot: config_store.Snapshot) -> TenantListings:
    """A tenant's state and listings from its stored snapshot (`rcp.config_store`): the
    tenant's status, and its extensions that are reachable by name."""
    tenant = snapshot.get("tenant")
    if tenant is None:
        return TenantListings(TenantState.UNKNOWN)
    extensions: list[dict[str, Any]] = snapshot.get("extensions") or []
    listings = tuple(
        Listing(
            number=row["number"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            name_prompt_id=None if row["name_prompt_id"] is None else UUID(row["name_prompt_id"]),
        )
        for row in extensions
        if row.get("reachable_by_name")
    )
    return TenantListings(TenantState(tenant["status"]), listings)


class StoredDirectory:
    """`DirectorySource` over the configuration store: no PostgreSQL for a stored tenant, so
    that a database outage changes nothing for dial by name, even for a tenant never indexed
    before. A tenant the store does not hold (a database from before the store, until the
    admin service's backfill; a store write that failed), or a store that cannot answer, is
    read from `fallback`."""

    def __init__(self, store: config_store.ConfigStore, fallback: DirectorySource) -> None:
        self.store = store
        self.fallback = fallback

    async def load(self, tenant_id: UUID) -> TenantListings:
        """The tenant's state and listings from the store, else from the fallback."""
        return await self.store.snapshot_or(
            tenant_id, listings_of, self.fallback.load, log, "directory.store_unavailable"
        )


async def follow_store(store: config_store.ConfigStore, changed: Callable[[UUID], None]) -> None:
    """Call `changed(tenant_id)` for every tenant whose stored snapshot changes, until
    cancelled (config-changed events do the same, should the watch lag)."""
    async for change in store.changes():  # what it held before: no index is older than it
        if change.tenant_id is not None:
            changed(change.tenant_id)
