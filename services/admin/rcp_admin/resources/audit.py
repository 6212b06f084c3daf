"""The audit log: who changed what, when, with the representation before and after."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.routing import TENANT, Call, Routes, answer
from rcp_admin.unit_of_work import Store, page

ROUTES = Routes(TENANT)


async def list_some(
    store: Store, actor: Principal, tenant_id: UUID, before_id: int | None, limit: int
) -> s.AuditList:
    """Up to `limit` entries older than `before_id`, newest first."""
    query = """SELECT * FROM audit_log WHERE tenant_id = $1 AND ($2::bigint IS NULL OR id < $2)
                ORDER BY id DESC LIMIT $3"""
    rows = await store.tenant_rows(actor, tenant_id, query, before_id, limit + 1)
    items, last = page(rows, limit, s.AuditEntry)
    return s.AuditList(items=items, next_before_id=None if last is None else last.id)


@ROUTES.get(
    "/audit",
    response=s.AuditList,
    access="admin",
    query={"before_id": "for the next page", "limit": "1 to 1000 (100)"},
)
async def list_audit(c: Call) -> web.Response:
    """The audit log, newest first"""
    limit = c.query_int("limit", 100, 1, 1000)
    before_id = c.query_int("before_id", 0, 1, 2**62) or None
    return answer(await list_some(c.store, c.principal, c.tenant_id, before_id, limit))
