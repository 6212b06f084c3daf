"""The directory: whether each extension is reachable by its number and by name, in bulk."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import VALIDATION_FAILED, ApiError
from rcp_admin.resources.extensions import EXTENSIONS
from rcp_admin.routing import TENANT, Call, Routes, answer
from rcp_admin.unit_of_work import Store, jsonable, returned

ROUTES = Routes(TENANT)


async def read(store: Store, actor: Principal, tenant_id: UUID) -> s.DirectoryList:
    """Every extension's reachability."""
    rows = await store.tenant_rows(
        actor, tenant_id, "SELECT * FROM extensions WHERE tenant_id = $1 ORDER BY number"
    )
    return s.DirectoryList(items=[s.DirectoryEntry.model_validate(dict(r)) for r in rows])


async def update(
    store: Store, actor: Principal, tenant_id: UUID, body: s.DirectoryPatch, request_id: str | None
) -> s.DirectoryList:
    """Change the reachability of several extensions, all or nothing."""
    async with store.write(actor, tenant_id, "directory", "update", None, request_id) as change:
        connection = change.connection
        await store.tenant_row(actor, tenant_id, connection)
        seen: set[str] = set()
        before, after = [], []
        for index, entry in enumerate(body.entries):
            where = f"entries[{index}].number"
            if entry.number in seen:
                raise ApiError(
                    VALIDATION_FAILED, f"extension {entry.number} is listed twice", where
                )
            seen.add(entry.number)
            row = await EXTENSIONS.row(connection, tenant_id, entry.number, where)
            updated = await connection.fetchrow(
                """UPDATE extensions
                      SET reachable_by_extension = coalesce($3, reachable_by_extension),
                          reachable_by_name = coalesce($4, reachable_by_name)
                    WHERE tenant_id = $1 AND id = $2 RETURNING *""",
                tenant_id,
                row["id"],
                entry.reachable_by_extension,
                entry.reachable_by_name,
            )
            before.append(jsonable(s.DirectoryEntry.model_validate(dict(row))))
            after.append(jsonable(s.DirectoryEntry.model_validate(dict(returned(updated)))))
        change.before, change.after = before, after
    return await read(store, actor, tenant_id)


@ROUTES.get("/directory", response=s.DirectoryList)
async def get_directory(c: Call) -> web.Response:
    """Every extension's reachability"""
    return answer(await read(c.store, c.principal, c.tenant_id))


@ROUTES.patch("/directory", body=s.DirectoryPatch, response=s.DirectoryList)
async def patch_directory(c: Call) -> web.Response:
    """Change reachability in bulk, all or nothing"""
    body = await c.body(s.DirectoryPatch)
    return answer(await update(c.store, c.principal, c.tenant_id, body, c.request_id))
