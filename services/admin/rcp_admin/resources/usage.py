"""What each tenant used over a period: calls, minutes, minutes to outside numbers, voicemail
left, and the voicemail it stores now. The carrier's, for its console and its invoices.

Minutes count from when a call was answered to when it ended; outside minutes are those of
calls the receptionist transferred to an outside number (a virtual extension). A call counts
in the period it started in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
from aiohttp import web

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import VALIDATION_FAILED, ApiError
from rcp_admin.routing import TENANT, Call, Routes, answer
from rcp_admin.unit_of_work import Store

ROUTES = Routes()
DEFAULT_PERIOD = timedelta(days=30)

QUERY = """
WITH calls AS (
    SELECT tenant_id, count(*) AS calls, count(answered_at) AS answered_calls,
           coalesce(sum(extract(epoch FROM ended_at - answered_at)), 0) AS seconds,
           coalesce(sum(extract(epoch FROM ended_at - answered_at)) FILTER (
               WHERE trace @> '[{"kind": "transfer", "data": {"kind": "virtual_extension"}}]'
           ), 0) AS outside_seconds
      FROM call_records
     WHERE started_at >= $2 AND started_at < $3 AND ($1::uuid IS NULL OR tenant_id = $1)
     GROUP BY tenant_id),
left_messages AS (
    SELECT tenant_id, count(*) AS left_count
      FROM voicemail_messages
     WHERE created_at >= $2 AND created_at < $3 AND ($1::uuid IS NULL OR tenant_id = $1)
     GROUP BY tenant_id),
stored AS (
    SELECT m.tenant_id, count(*) AS stored_count, coalesce(sum(p.size_bytes), 0) AS stored_bytes
      FROM voicemail_messages m
      LEFT JOIN prompts p ON p.tenant_id = m.tenant_id AND p.id = m.prompt_id
     WHERE ($1::uuid IS NULL OR m.tenant_id = $1)
     GROUP BY m.tenant_id)
SELECT t.id AS tenant_id, t.slug, t.name,
       coalesce(c.calls, 0) AS calls, coalesce(c.answered_calls, 0) AS answered_calls,
       coalesce(c.seconds, 0) AS seconds, coalesce(c.outside_seconds, 0) AS outside_seconds,
       coalesce(l.left_count, 0) AS voicemail_left,
       coalesce(st.stored_count, 0) AS voicemail_stored,
       coalesce(st.stored_bytes, 0) AS voicemail_bytes
  FROM tenants t
  LEFT JOIN calls c ON c.tenant_id = t.id
  LEFT JOIN left_messages l ON l.tenant_id = t.id
  LEFT JOIN stored st ON st.tenant_id = t.id
 WHERE ($1::uuid IS NULL OR t.id = $1)
 ORDER BY t.slug"""


def _usage(row: asyncpg.Record, since: datetime, until: datetime) -> s.Usage:
    return s.Usage(
        tenant_id=row["tenant_id"],
        slug=row["slug"],
        name=row["name"],
        since=since,
        until=until,
        calls=row["calls"],
        answered_calls=row["answered_calls"],
        minutes=round(float(row["seconds"]) / 60, 1),
        outside_minutes=round(float(row["outside_seconds"]) / 60, 1),
        voicemail_left=row["voicemail_left"],
        voicemail_stored=row["voicemail_stored"],
        voicemail_bytes=row["voicemail_bytes"],
    )


def period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """The period asked for: by default the last 30 days up to now."""
    end = until or datetime.now(UTC)
    start = since or end - DEFAULT_PERIOD
    if start >= end:
        raise ApiError(VALIDATION_FAILED, "since must be before until", "since")
    return start, end


async def of_tenants(
    store: Store, actor: Principal, tenant_id: UUID | None, since: datetime, until: datetime
) -> list[s.Usage]:
    """Each tenant's usage (tenant None: every tenant's), by slug."""
    actor.require_carrier()
    if tenant_id is not None:
        await store.tenant_row(actor, tenant_id)
    rows = await store.pool.fetch(QUERY, tenant_id, since, until)
    return [_usage(r, since, until) for r in rows]


PERIOD = {
    "since": "from this time (ISO 8601, with a time zone; default: 30 days before until)",
    "until": "up to this time (default: now)",
}


@ROUTES.get(TENANT + "/usage", scope="carrier", response=s.Usage, query=PERIOD)
async def get_usage(c: Call) -> web.Response:
    """What a tenant used over a period"""
    since, until = period(c.query_datetime("since"), c.query_datetime("until"))
    [usage] = await of_tenants(c.store, c.principal, c.tenant_id, since, until)
    return answer(usage)


@ROUTES.get("/v1/usage", scope="carrier", response=s.UsageList, query=PERIOD)
async def list_usage(c: Call) -> web.Response:
    """What every tenant used over a period"""
    since, until = period(c.query_datetime("since"), c.query_datetime("until"))
    return answer(s.UsageList(items=await of_tenants(c.store, c.principal, None, since, until)))
