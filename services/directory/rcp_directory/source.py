"""Where the directory reads tenants' extensions: PostgreSQL (`ports.DirectorySource`)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from rcp_directory.index import Listing
from rcp_directory.ports import TenantListings, TenantState

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

    async def load(self, tenant_id: UUID) -> TenantListings:
        """The tenant's state and listings, read in one statement."""
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
