"""Phone numbers (E.164) the carrier routes to a tenant: its calls arrive on them."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.routing import CREATED, NO_CONTENT, TENANT, Call, Routes, answer, created, no_content
from rcp_admin.unit_of_work import Store, jsonable, returned

ROUTES = Routes(TENANT)


async def add(
    store: Store, actor: Principal, tenant_id: UUID, body: s.NumberCreate, request_id: str | None
) -> s.PhoneNumber:
    """Route a number to the tenant."""
    actor.require_carrier()
    async with store.tenant_write(
        actor, tenant_id, "number", "create", body.e164, request_id
    ) as change:
        row = await change.connection.fetchrow(
            "INSERT INTO phone_numbers (e164, tenant_id) VALUES ($1, $2) RETURNING *",
            body.e164,
            tenant_id,
        )
        number = s.PhoneNumber.model_validate(dict(returned(row)))
        change.after = jsonable(number)
    return number


async def list_all(store: Store, actor: Principal, tenant_id: UUID) -> s.NumberList:
    """The tenant's numbers."""
    rows = await store.tenant_rows(
        actor, tenant_id, "SELECT * FROM phone_numbers WHERE tenant_id = $1 ORDER BY e164"
    )
    return s.NumberList(items=[s.PhoneNumber.model_validate(dict(r)) for r in rows])


async def remove(
    store: Store, actor: Principal, tenant_id: UUID, e164: str, request_id: str | None
) -> None:
    """Stop routing a number to the tenant."""
    actor.require_carrier()
    async with store.tenant_write(actor, tenant_id, "number", "delete", e164, request_id) as change:
        query = "DELETE FROM phone_numbers WHERE e164 = $1 AND tenant_id = $2 RETURNING *"
        await change.delete_one(s.PhoneNumber, ("number", "e164"), query, e164, tenant_id)


@ROUTES.post(
    "/numbers", scope="carrier", body=s.NumberCreate, response=s.PhoneNumber, status=CREATED
)
async def add_number(c: Call) -> web.Response:
    """Route a phone number to the tenant"""
    body = await c.body(s.NumberCreate)
    return created(await add(c.store, c.principal, c.tenant_id, body, c.request_id))


@ROUTES.get("/numbers", response=s.NumberList)
async def list_numbers(c: Call) -> web.Response:
    """List the tenant's phone numbers"""
    return answer(await list_all(c.store, c.principal, c.tenant_id))


@ROUTES.delete("/numbers/{e164}", scope="carrier", status=NO_CONTENT)
async def delete_number(c: Call) -> web.Response:
    """Stop routing a number to the tenant"""
    e164 = c.request.match_info["e164"]
    await remove(c.store, c.principal, c.tenant_id, e164, c.request_id)
    return no_content()
