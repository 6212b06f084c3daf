"""The carrier's call limits of a tenant: its caps on calls and outside legs, per node.

The carrier sets them; a tenant token may read them (they explain a busy signal or an outside
call not placed). A write is checked against `rcp.outbound.LIMIT_BOUNDS`, audited and announced
(config-changed `tenant_limits`), so that the stasis service applies it to the next call. A
tenant without a row has the defaults (`rcp.outbound.TenantLimits`).
"""

from __future__ import annotations

from dataclasses import asdict
from uuid import UUID

from aiohttp import web
from rcp.outbound import LIMIT_BOUNDS, TenantLimits, limits_of

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import VALIDATION_FAILED, ApiError
from rcp_admin.resources import carrier_rows
from rcp_admin.routing import NO_CONTENT, TENANT, Call, Routes, answer, no_content
from rcp_admin.unit_of_work import Reader, Store

ROUTES = Routes(TENANT)

SELECT = f"SELECT {', '.join(LIMIT_BOUNDS)}, updated_at FROM tenant_limits WHERE tenant_id = $1"


async def _model(reader: Reader, tenant_id: UUID) -> s.TenantLimits:
    row = await reader.fetchrow(SELECT, tenant_id)
    limits = asdict(limits_of(row))
    return s.TenantLimits(**limits, updated_at=row["updated_at"] if row else None)


async def read(store: Store, actor: Principal, tenant_id: UUID) -> s.TenantLimits:
    """The tenant's limits."""
    await store.tenant_row(actor, tenant_id)
    return await _model(store.pool, tenant_id)


async def update(
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    body: s.TenantLimitsPatch,
    request_id: str | None,
) -> s.TenantLimits:
    """Change some of the tenant's limits."""
    actor.require_carrier()
    async with store.write(actor, tenant_id, "tenant_limits", "update", None, request_id) as c:
        await store.tenant_row(actor, tenant_id, c.connection, lock=True)
        before = await _model(c.connection, tenant_id)
        values = before.model_dump(include=set(LIMIT_BOUNDS)) | body.model_dump(exclude_unset=True)
        try:
            TenantLimits(**values)
        except ValueError as error:
            raise ApiError(VALIDATION_FAILED, str(error)) from error
        await carrier_rows.upsert(
            c.connection, "tenant_limits", list(LIMIT_BOUNDS), tenant_id, values
        )
        after = await _model(c.connection, tenant_id)
        c.record(before, after)
    return after


async def reset(store: Store, actor: Principal, tenant_id: UUID, request_id: str | None) -> None:
    """Give the tenant the default limits again."""
    await carrier_rows.reset(
        store, actor, tenant_id, request_id, "tenant_limits", "tenant_limits", _model
    )


@ROUTES.get("/limits", response=s.TenantLimits)
async def get_limits(c: Call) -> web.Response:
    """The carrier's call limits of the tenant"""
    return answer(await read(c.store, c.principal, c.tenant_id))


@ROUTES.patch("/limits", scope="carrier", body=s.TenantLimitsPatch, response=s.TenantLimits)
async def patch_limits(c: Call) -> web.Response:
    """Change the tenant's call limits"""
    body = await c.body(s.TenantLimitsPatch)
    return answer(await update(c.store, c.principal, c.tenant_id, body, c.request_id))


@ROUTES.delete("/limits", scope="carrier", status=NO_CONTENT)
async def delete_limits(c: Call) -> web.Response:
    """Give the tenant the default call limits again"""
    await reset(c.store, c.principal, c.tenant_id, c.request_id)
    return no_content()
