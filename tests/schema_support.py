"""Rows written straight into the database by tests that need no API: a tenant's devices."""

from __future__ import annotations

import uuid
from typing import Any


async def insert_device(
    db: Any, tenant_id: uuid.UUID, name: str, endpoint: str | None = None
) -> uuid.UUID:
    """A device of the tenant (by default a PJSIP endpoint of its own: an endpoint rings for
    one tenant only); `db` is an asyncpg connection or pool."""
    device_id: uuid.UUID = await db.fetchval(
        "INSERT INTO devices (tenant_id, name, endpoint) VALUES ($1, $2, $3) RETURNING id",
        tenant_id,
        name,
        endpoint or f"PJSIP/t{str(tenant_id)[:8]}-{name}",
    )
    return device_id
