"""Phone numbers (E.164) the carrier routes to a tenant: its calls arrive on them. The carrier
lists every tenant's, and moves one from a tenant to another in one change: the next call to it
reaches the new tenant's receptionist (both tenants' caches are told)."""

from __future__ import annotations

import re
from http import HTTPStatus
from uuid import UUID

from aiohttp import web
from rcp.errors import ErrorCode

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import VALIDATION_FAILED, ApiError
from rcp_admin.routing import TENANT, Call, Routes, answer, created, no_content
from rcp_admin.unit_of_work import Store, fetch_one, jsonable, returned

ROUTES = Routes(TENANT)
CARRIER_ROUTES = Routes("/v1")
# The start of a number in E.164 form: what a carrier types to narrow the list.
PREFIX = re.compile(r"\+?[0-9]{0,15}")


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
    "/numbers",
    scope="carrier",
    body=s.NumberCreate,
    response=s.PhoneNumber,
    status=HTTPStatus.CREATED,
)
async def add_number(c: Call) -> web.Response:
    """Route a phone number to the tenant"""
    body = await c.body(s.NumberCreate)
    return created(await add(c.store, c.principal, c.tenant_id, body, c.request_id))


@ROUTES.get("/numbers", response=s.NumberList)
async def list_numbers(c: Call) -> web.Response:
    """List the tenant's phone numbers"""
    return answer(await list_all(c.store, c.principal, c.tenant_id))


@ROUTES.delete("/numbers/{e164}", scope="carrier", status=HTTPStatus.NO_CONTENT)
async def delete_number(c: Call) -> web.Response:
    """Stop routing a number to the tenant"""
    e164 = c.request.match_info["e164"]
    await remove(c.store, c.principal, c.tenant_id, e164, c.request_id)
    return no_content()


ROUTED = """SELECT n.e164, n.created_at, n.tenant_id, t.slug AS tenant_slug, t.name AS tenant_name
              FROM phone_numbers n JOIN tenants t ON t.id = n.tenant_id"""


async def list_routed(store: Store, actor: Principal, prefix: str = "") -> s.RoutedNumberList:
    """Every tenant's numbers (those starting with `prefix`), by number."""
    actor.require_carrier()
    rows = await store.pool.fetch(ROUTED + " WHERE n.e164 LIKE $1 || '%' ORDER BY n.e164", prefix)
    return s.RoutedNumberList(items=[s.RoutedNumber.model_validate(dict(r)) for r in rows])


async def move(
    store: Store, actor: Principal, e164: str, to_tenant: UUID, request_id: str | None
) -> s.RoutedNumber:
    """Route a number to another tenant at once (audited for both, both told)."""
    actor.require_carrier()
    async with store.write(actor, to_tenant, "number", "move", e164, request_id) as change:
        connection = change.connection
        current = await fetch_one(
            connection, ("number", "e164"), ROUTED + " WHERE n.e164 = $1 FOR UPDATE OF n", e164
        )
        await store.tenant_row(actor, to_tenant, connection)
        if current["tenant_id"] == to_tenant:
            raise ApiError(
                ErrorCode.CONFLICT, "the number is already routed to this tenant", "tenant_id"
            )
        await connection.execute(
            "UPDATE phone_numbers SET tenant_id = $2 WHERE e164 = $1", e164, to_tenant
        )
        moved = s.RoutedNumber.model_validate(
            dict(
                await fetch_one(connection, ("number", "e164"), ROUTED + " WHERE n.e164 = $1", e164)
            )
        )
        change.other_tenant_id = current["tenant_id"]
        change.record(s.RoutedNumber.model_validate(dict(current)), moved)
    return moved


@CARRIER_ROUTES.get(
    "/numbers",
    scope="carrier",
    response=s.RoutedNumberList,
    query={"prefix": "only the numbers starting with it, e.g. +3319"},
)
async def list_all_numbers(c: Call) -> web.Response:
    """List every tenant's phone numbers"""
    prefix = c.request.query.get("prefix", "")
    if not PREFIX.fullmatch(prefix):
        raise ApiError(VALIDATION_FAILED, "prefix must be + and digits, e.g. +3319", "prefix")
    return answer(await list_routed(c.store, c.principal, prefix))


@CARRIER_ROUTES.post(
    "/numbers/{e164}/move", scope="carrier", body=s.NumberMove, response=s.RoutedNumber
)
async def move_number(c: Call) -> web.Response:
    """Move a phone number to another tenant (its next call reaches that tenant)"""
    body = await c.body(s.NumberMove)
    e164 = c.request.match_info["e164"]
    return answer(await move(c.store, c.principal, e164, body.tenant_id, c.request_id))
