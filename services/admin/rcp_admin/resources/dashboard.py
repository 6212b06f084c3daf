"""The tenant's own picture of its calls over a period, for the web manager's dashboard: calls
per day, how they ended, which keys callers pressed, how dial by name fared and the busiest
hours. One request, one SQL statement aggregated by PostgreSQL: nothing is counted in Python,
so the answer stays small and fast on a year of calls (bench/dashboard measures it).

Days and hours are the tenant's local ones (its time zone). A call counts in the period it
started in.
"""

from __future__ import annotations

import json
from datetime import datetime
from uuid import UUID

from aiohttp import web

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.resources.usage import period
from rcp_admin.routing import TENANT, Call, Routes, answer
from rcp_admin.unit_of_work import Store

ROUTES = Routes(TENANT)

# $1 tenant, $2 since, $3 until, $4 the tenant's time zone. Each part reads the calls of the
# period through the (tenant_id, started_at) index; the trace is only opened for the steps
# two parts count (keys and dial-by-name results).
QUERY = """
WITH period AS (
    SELECT started_at AT TIME ZONE $4 AS local, answered_at, outcome
      FROM call_records
     WHERE tenant_id = $1 AND started_at >= $2 AND started_at < $3),
steps AS (
    SELECT e->>'kind' AS kind, e->'data' AS data
      FROM call_records c CROSS JOIN LATERAL jsonb_path_query(
               c.trace, '$[*] ? (@.kind == "key" || @.kind == "lookup_result")') AS e
     WHERE c.tenant_id = $1 AND c.started_at >= $2 AND c.started_at < $3)
SELECT
  (SELECT count(*) FROM period) AS calls,
  (SELECT count(answered_at) FROM period) AS answered_calls,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('day', day, 'calls', n) ORDER BY day), '[]')
     FROM (SELECT local::date AS day, count(*) AS n FROM period GROUP BY 1) d) AS days,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('outcome', outcome, 'calls', n)
                             ORDER BY n DESC, outcome), '[]')
     FROM (SELECT coalesce(outcome, 'in_progress') AS outcome, count(*) AS n
             FROM period GROUP BY 1) o) AS outcomes,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('hour', hour, 'calls', n) ORDER BY hour), '[]')
     FROM (SELECT extract(hour FROM local)::int AS hour, count(*) AS n
             FROM period GROUP BY 1) h) AS hours,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('digit', digit, 'action', action,
                                                'presses', n) ORDER BY n DESC, digit), '[]')
     FROM (SELECT coalesce(data->>'digit', '') AS digit,
                  coalesce(data->>'action', 'unassigned') AS action, count(*) AS n
             FROM steps WHERE kind = 'key' GROUP BY 1, 2) k) AS keys,
  (SELECT jsonb_build_object(
            'searches', count(*),
            'found', count(*) FILTER (WHERE (data->>'total')::int > 0),
            'no_match', count(*) FILTER (WHERE (data->>'total')::int = 0),
            'failed', count(*) FILTER (WHERE data ? 'failed'))
     FROM steps WHERE kind = 'lookup_result') AS dial_by_name"""


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


async def picture(
    store: Store, actor: Principal, tenant_id: UUID, since: datetime, until: datetime
) -> s.Dashboard:
    """The tenant's calls of [since, until), aggregated."""
    tenant = await store.tenant_row(actor, tenant_id)
    [row] = await store.pool.fetch(QUERY, tenant_id, since, until, tenant["timezone"])
    return s.Dashboard.model_validate(
        {
            "since": since,
            "until": until,
            "timezone": tenant["timezone"],
            "calls": row["calls"],
            "answered_calls": row["answered_calls"],
            **{key: _json(row[key]) for key in ("days", "outcomes", "hours", "keys")},
            "dial_by_name": _json(row["dial_by_name"]),
        }
    )


@ROUTES.get(
    "/dashboard",
    response=s.Dashboard,
    query={
        "since": "from this time (ISO 8601, with a time zone; default: 30 days before until)",
        "until": "up to this time, exclusive (default: now)",
    },
)
async def get_dashboard(c: Call) -> web.Response:
    """The tenant's calls over a period, aggregated for its dashboard"""
    since, until = period(c.query_datetime("since"), c.query_datetime("until"))
    return answer(await picture(c.store, c.principal, c.tenant_id, since, until))
