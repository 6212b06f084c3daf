"""Where the directory reads tenants' extensions: the port and its PostgreSQL adapter."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from uuid import UUID

import asyncpg

from rcp_directory.index import Listing


class TenantState(StrEnum):
    """Whether a tenant's directory is served."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class TenantListings:
    """A tenant's state and its extensions that are reachable by name."""

    state: TenantState
    listings: tuple[Listing, ...] = ()


class DirectorySource(Protocol):
    """Reads one tenant's directory as it is now."""

    async def load(self, tenant_id: UUID) -> TenantListings:
        """The tenant's state and listings (UNKNOWN with none if it does not exist)."""
        ...


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
