"""What the directory service needs of the world, as Protocols; the adapters stand beside them.

- `DirectorySource`: one tenant's extensions as they are now; adapter
  `rcp_directory.source.PostgresDirectory`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol
from uuid import UUID

from rcp.values import Value

from rcp_directory.index import Listing


class TenantState(StrEnum):
    """Whether a tenant's directory is served."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    UNKNOWN = "unknown"


class TenantListings(Value):
    """A tenant's state and its extensions that are reachable by name."""

    state: TenantState
    listings: tuple[Listing, ...] = ()


class DirectorySource(Protocol):
    """Reads one tenant's directory as it is now."""

    async def load(self, tenant_id: UUID) -> TenantListings:
        """The tenant's state and listings (UNKNOWN with none if it does not exist)."""
        ...
