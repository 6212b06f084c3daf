"""Call records: how each call went, newest first, filtered by time and outcome."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from aiohttp import web
from rcp.vocabulary import Outcome

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import VALIDATION_FAILED, ApiError
from rcp_admin.routing import TENANT, Call, Routes, answer
from rcp_admin.unit_of_work import Store, page

ROUTES = Routes(TENANT)


OUTCOMES = ", ".join(Outcome)


async def list_some(
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    since: datetime | None,
    before: datetime | None,
    outcome: str | None,
    limit: int,
) -> s.CallList:
    """Up to `limit` calls started in [since, before), with this outcome if given."""
    rows = await store.tenant_rows(
        actor,
        tenant_id,
        """SELECT * FROM call_records WHERE tenant_id = $1
              AND ($2::timestamptz IS NULL OR started_at >= $2)
              AND ($3::timestamptz IS NULL OR started_at < $3)
              AND ($4::text IS NULL OR outcome = $4)
            ORDER BY started_at DESC LIMIT $5""",
        since,
        before,
        outcome,
        limit + 1,
    )
    items, last = page(rows, limit, s.CallRecord)
    return s.CallList(items=items, next_before=None if last is None else last.started_at)


@ROUTES.get(
    "/calls",
    response=s.CallList,
    query={
        "since": "ISO 8601 time, inclusive",
        "before": "ISO 8601 time, exclusive",
        "outcome": f"one of {OUTCOMES}",
        "limit": "1 to 1000 (100)",
    },
)
async def list_calls(c: Call) -> web.Response:
    """Call records, newest first"""
    outcome = c.request.query.get("outcome")
    if outcome is not None and outcome not in set(Outcome):
        raise ApiError(VALIDATION_FAILED, f"outcome must be one of {OUTCOMES}", "outcome")
    limit = c.query_int("limit", 100, 1, 1000)
    since, before = c.query_datetime("since"), c.query_datetime("before")
    return answer(await list_some(c.store, c.principal, c.tenant_id, since, before, outcome, limit))
