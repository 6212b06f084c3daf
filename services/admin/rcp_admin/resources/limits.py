"""The carrier's call limits of a tenant: its caps on calls and outside legs, per node.

The carrier sets them; a tenant token may read them (they explain a busy signal or an outside
call not placed). A write is checked against `rcp.outbound.LIMIT_BOUNDS`, audited and announced
(config-changed `tenant_limits`), so that the stasis service applies it to the next call. A
tenant without a row has the defaults (`rcp.outbound.TenantLimits`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from uuid import UUID

import asyncpg
from rcp.outbound import LIMIT_BOUNDS, TenantLimits, limits_of

from rcp_admin import schemas as s
from rcp_admin.resources.tenant_rows import TenantRow
from rcp_admin.unit_of_work import Reader


class Limits(TenantRow):
    """The tenant's call limits."""

    entity = table = "tenant_limits"
    columns = tuple(LIMIT_BOUNDS)
    path = "/limits"
    models = (s.TenantLimitsPatch, s.TenantLimits)
    summaries = (
        "The carrier's call limits of the tenant",
        "Change the tenant's call limits",
        "Give the tenant the default call limits again",
    )

    async def to_model(self, reader: Reader, tenant_id: UUID) -> s.TenantLimits:
        """The limits in force (the defaults without a row)."""
        row = await reader.fetchrow(self.select, tenant_id)
        limits = asdict(limits_of(row))
        return s.TenantLimits(**limits, updated_at=row["updated_at"] if row else None)

    def check(self, tenant: asyncpg.Record, values: dict[str, Any]) -> None:
        """Each limit within its bounds."""
        TenantLimits(**values)


LIMITS = Limits()
ROUTES = LIMITS.routes()
