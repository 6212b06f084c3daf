"""Call records: how each call went, newest first, filtered by time and outcome."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from aiohttp import web
from rcp.vocabulary import Outcome

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import VALIDATION_FAILED, ApiError
from rcp_admin.routing import TENANT, Call, Route, answer
from rcp_admin.unit_of_work import Store

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
    await store.tenant_row(actor, tenant_id)
    rows = await store.pool.fetch(
        """SELECT * FROM call_records WHERE tenant_id = $1
              AND ($2::timestamptz IS NULL OR started_at >= $2)
              AND ($3::timestamptz IS NULL OR started_at < $3)
              AND ($4::text IS NULL OR outcome = $4)
            ORDER BY started_at DESC LIMIT $5""",
        tenant_id,
        since,
        before,
        outcome,
        limit + 1,
    )
    items = [s.CallRecord.model_validate(dict(r)) for r in rows[:limit]]
    return s.CallList(items=items, next_before=items[-1].started_at if len(rows) > limit else None)


async def list_calls(c: Call) -> web.Response:
    outcome = c.request.query.get("outcome")
    if outcome is not None and outcome not in set(Outcome):
        raise ApiError(VALIDATION_FAILED, f"outcome must be one of {OUTCOMES}", "outcome")
    limit = c.query_int("limit", 100, 1, 1000)
    since, before = c.query_datetime("since"), c.query_datetime("before")
    return answer(await list_some(c.store, c.principal, c.tenant_id, since, before, outcome, limit))


ROUTES = [
    Route(
        "GET",
        f"{TENANT}/calls",
        list_calls,
        "Call records, newest first",
        response=s.CallList,
        query={
            "since": "ISO 8601 time, inclusive",
            "before": "ISO 8601 time, exclusive",
            "outcome": f"one of {OUTCOMES}",
            "limit": "1 to 1000 (100)",
        },
    ),
]
