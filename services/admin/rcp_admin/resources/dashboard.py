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

# $1 tenant, $2 since, $3 until, $4 the tenant's time zone. Two passes over the period's calls
# (the (tenant_id, started_at) index): one counts them per quarter of an hour and outcome
# (plain arithmetic on each row; the few quarters are then turned into local days and hours,
# right in every time zone, those of half and quarter hours included), the other counts only
# the key and dial-by-name steps of each trace (a JSON path filter).
QUERY = """
WITH buckets AS (
    SELECT date_bin('15 minutes', started_at, '2000-01-01 00:00:00+00') AS bucket,
           coalesce(outcome, 'in_progress') AS outcome,
           count(*) AS n, count(answered_at) AS answered
      FROM call_records
     WHERE tenant_id = $1 AND started_at >= $2 AND started_at < $3
     GROUP BY 1, 2),
counted AS (
    SELECT (bucket AT TIME ZONE $4)::date AS day,
           extract(hour FROM bucket AT TIME ZONE $4)::int AS hour,
           outcome, sum(n) AS n, sum(answered) AS answered
      FROM buckets
     GROUP BY GROUPING SETS ((1), (2), (3))),
steps AS (
    SELECT e->>'kind' AS kind, coalesce(e->'data'->>'digit', '') AS digit,
           coalesce(e->'data'->>'action', 'unassigned') AS action, count(*) AS n,
           count(*) FILTER (WHERE (e->'data'->>'total')::int > 0) AS found,
           count(*) FILTER (WHERE (e->'data'->>'total')::int = 0) AS no_match,
           count(*) FILTER (WHERE e->'data' ? 'failed') AS failed
      FROM call_records c CROSS JOIN LATERAL jsonb_path_query(
               c.trace, '$[*] ? (@.kind == "key" || @.kind == "lookup_result")') AS e
     WHERE c.tenant_id = $1 AND c.started_at >= $2 AND c.started_at < $3
     GROUP BY 1, 2, 3)
SELECT
  (SELECT coalesce(sum(n), 0) FROM counted WHERE day IS NOT NULL)::bigint AS calls,
  (SELECT coalesce(sum(answered), 0) FROM counted WHERE day IS NOT NULL)::bigint
      AS answered_calls,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('day', day, 'calls', n) ORDER BY day), '[]')
     FROM counted WHERE day IS NOT NULL) AS days,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('outcome', outcome, 'calls', n)
                             ORDER BY n DESC, outcome), '[]')
     FROM counted WHERE day IS NULL AND hour IS NULL) AS outcomes,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('hour', hour, 'calls', n) ORDER BY hour), '[]')
     FROM counted WHERE hour IS NOT NULL) AS hours,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('digit', digit, 'action', action,
                                                'presses', n) ORDER BY n DESC, digit), '[]')
     FROM steps WHERE kind = 'key') AS keys,
  (SELECT jsonb_build_object(
            'searches', coalesce(sum(n), 0), 'found', coalesce(sum(found), 0),
            'no_match', coalesce(sum(no_match), 0), 'failed', coalesce(sum(failed), 0))
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
