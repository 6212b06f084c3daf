"""What the carrier sets for a tenant in a row of its own (its outbound policy, its call limits):
upserted when changed, deleted to give the tenant the defaults again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.unit_of_work import Reader, Store, jsonable

if TYPE_CHECKING:
    from rcp_admin.unit_of_work import Connection


async def upsert(
    connection: Connection,
    table: str,
    columns: Sequence[str],
    tenant_id: UUID,
    values: Mapping[str, Any],
) -> None:
    """Write the tenant's row of `table` (a constant), creating it if it has none."""
    places = ", ".join(f"${n}" for n in range(2, len(columns) + 2))
    await connection.execute(
        f"""INSERT INTO {table} (tenant_id, {", ".join(columns)}) VALUES ($1, {places})
            ON CONFLICT (tenant_id) DO UPDATE SET
                {", ".join(f"{k} = EXCLUDED.{k}" for k in columns)}""",
        tenant_id,
        *(values[k] for k in columns),
    )


async def reset(
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    request_id: str | None,
    entity: str,
    table: str,
    model: Callable[[Reader, UUID], Awaitable[s.Out]],
) -> None:
    """Delete the tenant's row of `table` (a constant), audited and announced as `entity`."""
    actor.require_carrier()
    async with store.write(actor, tenant_id, entity, "delete", None, request_id) as change:
        await store.tenant_row(actor, tenant_id, change.connection, lock=True)
        change.before = jsonable(await model(change.connection, tenant_id))
        await change.connection.execute(f"DELETE FROM {table} WHERE tenant_id = $1", tenant_id)
