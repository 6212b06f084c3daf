"""The audit log: who changed what, when, with the representation before and after.

A tenant's admins read their tenant's; the carrier reads every tenant's at once (`/v1/audit`).
Both filter by who acted (part of their name or email), the kind of thing, the action and a
period, newest first, a page at a time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from aiohttp import web

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import VALIDATION_FAILED, ApiError
from rcp_admin.routing import TENANT, Call, Routes, answer
from rcp_admin.unit_of_work import Store, page

ROUTES = Routes(TENANT)
CARRIER_ROUTES = Routes("/v1")

QUERY = """SELECT * FROM audit_log
            WHERE ($1::uuid IS NULL OR tenant_id = $1)
              AND ($2::bigint IS NULL OR id < $2)
              AND ($3::text IS NULL OR strpos(lower(actor), lower($3)) > 0)
              AND ($4::text IS NULL OR entity = $4)
              AND ($5::text IS NULL OR action = $5)
              AND ($6::timestamptz IS NULL OR at >= $6)
              AND ($7::timestamptz IS NULL OR at < $7)
            ORDER BY id DESC LIMIT $8"""


@dataclass(frozen=True)
class AuditFilter:
    """Which entries: by whom (part of the name), what kind of thing, which action, when."""

    actor: str | None = None
    entity: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_some(
    store: Store,
    actor: Principal,
    tenant_id: UUID | None,
    before_id: int | None,
    limit: int,
    only: AuditFilter | None = None,
) -> s.AuditList:
    """Up to `limit` entries older than `before_id`, newest first (tenant None: every
    tenant's, the carrier's)."""
    if tenant_id is None:
        actor.require_carrier()
    else:
        await store.tenant_row(actor, tenant_id)
    f = only or AuditFilter()
    rows = await store.pool.fetch(
        QUERY, tenant_id, before_id, f.actor, f.entity, f.action, f.since, f.until, limit + 1
    )
    items, last = page(rows, limit, s.AuditEntry)
    return s.AuditList(items=items, next_before_id=None if last is None else last.id)


FILTERS = {
    "before_id": "for the next page",
    "limit": "1 to 1000 (100)",
    "actor": "part of who acted: a token's name, a person's email",
    "entity": "the kind of thing, e.g. extension, key, user, number",
    "action": "e.g. key.update, user.sign_in",
    "since": "from this time (ISO 8601, with a time zone)",
    "until": "before this time",
}


def _filter(c: Call) -> AuditFilter:
    query = c.request.query
    return AuditFilter(
        actor=query.get("actor") or None,
        entity=query.get("entity") or None,
        action=query.get("action") or None,
        since=c.query_datetime("since"),
        until=c.query_datetime("until"),
    )


async def _list(c: Call, tenant_id: UUID | None) -> web.Response:
    limit = c.query_int("limit", 100, 1, 1000)
    before_id = c.query_int("before_id", 0, 1, 2**62) or None
    return answer(await list_some(c.store, c.principal, tenant_id, before_id, limit, _filter(c)))


@ROUTES.get("/audit", response=s.AuditList, access="admin", query=FILTERS)
async def list_audit(c: Call) -> web.Response:
    """The audit log, newest first"""
    return await _list(c, c.tenant_id)


@CARRIER_ROUTES.get(
    "/audit",
    scope="carrier",
    response=s.AuditList,
    query={**FILTERS, "tenant_id": "one tenant's entries only"},
)
async def list_all_audit(c: Call) -> web.Response:
    """Every tenant's audit log (and the carrier's own entries), newest first"""
    tenant = c.request.query.get("tenant_id")
    try:
        tenant_id = uuid.UUID(tenant) if tenant else None
    except ValueError as error:
        raise ApiError(VALIDATION_FAILED, "tenant_id must be a tenant's id", "tenant_id") from error
    return await _list(c, tenant_id)
