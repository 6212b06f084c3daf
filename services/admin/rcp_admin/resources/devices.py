"""Devices: the phones the carrier provisioned for a tenant, each one Asterisk endpoint.

A physical extension rings one of its tenant's devices, named in the extension; a tenant never
writes a dial string. Only the carrier creates, changes and deletes devices (their endpoints
are the carrier's SIP accounts); a tenant token lists them, to choose one for an extension. An
endpoint is `PJSIP/<endpoint>` (`rcp.endpoints`: never an @host or a URI, never the carrier's
trunk, never a Local channel; in development also a test phone of the local stack), and rings
for one tenant only.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING
from uuid import UUID

from aiohttp import web

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import IN_USE, UNKNOWN_DEVICE, ApiError
from rcp_admin.routing import TENANT, Call, Routes, answer, created, no_content
from rcp_admin.unit_of_work import Reader, Store, fetch_one, jsonable, returned

if TYPE_CHECKING:
    from rcp_admin.unit_of_work import Connection

ROUTES = Routes(TENANT)

SELECT = """
    SELECT d.*, ARRAY(SELECT e.number FROM extensions e
                       WHERE e.tenant_id = d.tenant_id AND e.device_id = d.id
                       ORDER BY e.number) AS extensions
      FROM devices d WHERE d.tenant_id = $1"""


async def _one(reader: Reader, tenant_id: UUID, name: str) -> s.Device:
    row = await fetch_one(
        reader, (f"device {name}", "name"), SELECT + " AND d.name = $2", tenant_id, name
    )
    return s.Device.model_validate(dict(row))


async def id_of(reader: Reader, tenant_id: UUID, name: str, field_name: str = "device") -> UUID:
    """The id of one of the tenant's own devices, by name; 422 if it has none of that name
    (another tenant's device is as unknown as a missing one)."""
    found: UUID | None = await reader.fetchval(
        "SELECT id FROM devices WHERE tenant_id = $1 AND name = $2", tenant_id, name
    )
    if found is None:
        raise ApiError(
            UNKNOWN_DEVICE,
            f"the tenant has no device {name}: choose one of its devices (GET .../devices), "
            "or ask your carrier for one",
            field_name,
        )
    return found


async def create(
    store: Store, actor: Principal, tenant_id: UUID, body: s.DeviceCreate, request_id: str | None
) -> s.Device:
    """Provision a device for the tenant."""
    actor.require_carrier()
    store.endpoints.check(body.endpoint)
    async with store.tenant_write(
        actor, tenant_id, "device", "create", body.name, request_id
    ) as change:
        await change.connection.execute(
            "INSERT INTO devices (tenant_id, name, endpoint) VALUES ($1, $2, $3)",
            tenant_id,
            body.name,
            body.endpoint,
        )
        device = await _one(change.connection, tenant_id, body.name)
        change.after = jsonable(device)
    return device


async def list_all(store: Store, actor: Principal, tenant_id: UUID) -> s.DeviceList:
    """The tenant's devices, by name."""
    rows = await store.tenant_rows(actor, tenant_id, SELECT + " ORDER BY d.name")
    return s.DeviceList(items=[s.Device.model_validate(dict(r)) for r in rows])


async def read(store: Store, actor: Principal, tenant_id: UUID, name: str) -> s.Device:
    """One device."""
    async with store.tenant_read(actor, tenant_id) as connection:
        return await _one(connection, tenant_id, name)


async def update(
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    name: str,
    body: s.DevicePatch,
    request_id: str | None,
) -> s.Device:
    """Rename a device or point it at another endpoint (its extensions follow)."""
    actor.require_carrier()
    if body.endpoint is not None:
        store.endpoints.check(body.endpoint)
    async with store.tenant_write(actor, tenant_id, "device", "update", name, request_id) as change:
        before = await _one(change.connection, tenant_id, name)
        values = before.model_dump() | body.model_dump(exclude_unset=True)
        row = await change.connection.fetchrow(
            """UPDATE devices SET name = $3, endpoint = $4 WHERE tenant_id = $1 AND name = $2
               RETURNING name""",
            tenant_id,
            name,
            values["name"],
            values["endpoint"],
        )
        after = await _one(change.connection, tenant_id, returned(row)["name"])
        change.record(before, after, key=after.name)
    return after


async def _users(connection: Connection, tenant_id: UUID, name: str) -> list[str]:
    """The extensions that ring a device, in words an admin understands."""
    rows = await connection.fetch(
        """SELECT e.number FROM extensions e JOIN devices d
               ON d.tenant_id = e.tenant_id AND d.id = e.device_id
            WHERE e.tenant_id = $1 AND d.name = $2 ORDER BY e.number""",
        tenant_id,
        name,
    )
    return [f"extension {row['number']}" for row in rows]


async def delete(
    store: Store, actor: Principal, tenant_id: UUID, name: str, request_id: str | None
) -> None:
    """Delete a device no extension rings any more."""
    actor.require_carrier()
    async with store.tenant_write(actor, tenant_id, "device", "delete", name, request_id) as change:
        users = await _users(change.connection, tenant_id, name)
        if users:
            raise ApiError(
                IN_USE,
                f"device {name} is still rung by {', '.join(users)}: give them another device first",
                "name",
                {"used_by": users},
            )
        query = "DELETE FROM devices WHERE tenant_id = $1 AND name = $2 RETURNING *, '{}'::text[] AS extensions"
        await change.delete_one(s.Device, (f"device {name}", "name"), query, tenant_id, name)


@ROUTES.post(
    "/devices", scope="carrier", body=s.DeviceCreate, response=s.Device, status=HTTPStatus.CREATED
)
async def create_device(c: Call) -> web.Response:
    """Provision a device (an Asterisk endpoint) for the tenant"""
    body = await c.body(s.DeviceCreate)
    return created(await create(c.store, c.principal, c.tenant_id, body, c.request_id))


@ROUTES.get("/devices", response=s.DeviceList)
async def list_devices(c: Call) -> web.Response:
    """List the tenant's devices"""
    return answer(await list_all(c.store, c.principal, c.tenant_id))


@ROUTES.get("/devices/{name}", response=s.Device)
async def get_device(c: Call) -> web.Response:
    """Read a device"""
    return answer(await read(c.store, c.principal, c.tenant_id, c.request.match_info["name"]))


@ROUTES.patch("/devices/{name}", scope="carrier", body=s.DevicePatch, response=s.Device)
async def patch_device(c: Call) -> web.Response:
    """Rename a device or change its endpoint"""
    body = await c.body(s.DevicePatch)
    name = c.request.match_info["name"]
    return answer(await update(c.store, c.principal, c.tenant_id, name, body, c.request_id))


@ROUTES.delete("/devices/{name}", scope="carrier", status=HTTPStatus.NO_CONTENT)
async def delete_device(c: Call) -> web.Response:
    """Delete a device no extension rings"""
    await delete(c.store, c.principal, c.tenant_id, c.request.match_info["name"], c.request_id)
    return no_content()
