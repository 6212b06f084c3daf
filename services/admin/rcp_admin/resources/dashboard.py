"""The tenant's own picture of its calls over a period, for the web manager's dashboard: calls
per day, how they ended, which keys callers pressed, how dial by name fared and the busiest
hours. One request, one SQL statement aggregated by PostgreSQL: nothing is counted in Python,
and the counts are kept as the call records are written (`call_counts`: calls per quarter
hour, the rest per hour), so the answer stays small and fast on a year of calls
(bench/dashboard measures it).

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

# $1 tenant, $2 since, $3 until, $4 the tenant's time zone. The counts are kept with the call
# records (`call_counts`, revision 0012): calls, answered or not, per quarter hour (UTC, from
# 2000-01-01); outcomes, key presses and dial-by-name results per hour. The period's whole
# hours are read from there; the calls of its partial hours at either end, if any, are
# counted from their records by the very function the counts are kept with. The quarters
# are then turned into local days and hours (right in every time zone, those of half and
# quarter hours included).
HOUR = "date_bin('1 hour', {}, '2000-01-01 00:00:00+00')"
FIRST_WHOLE = HOUR.format("$2::timestamptz - interval '1 microsecond'") + " + interval '1 hour'"
LAST_WHOLE_END = HOUR.format("$3::timestamptz")
WHOLE = f"tenant_id = $1 AND bucket >= {FIRST_WHOLE} AND bucket < {LAST_WHOLE_END}"
FROM_RECORDS = """
    SELECT k.bucket, k.kind, k.item, k.detail, k.n
      FROM call_records c CROSS JOIN LATERAL rcp_call_counts_of(
               c.started_at, c.outcome, c.answered_at IS NOT NULL, c.trace) AS k
     WHERE c.tenant_id = $1 AND c.started_at >= {since} AND c.started_at < {until}"""
QUERY = f"""
WITH edges AS MATERIALIZED ({FROM_RECORDS.format(since="$2", until=f"least($3, {FIRST_WHOLE})")}
    UNION ALL{FROM_RECORDS.format(since=f"greatest($2, {FIRST_WHOLE}, {LAST_WHOLE_END})", until="$3")}),
counted AS (
    SELECT local::date AS day, extract(hour FROM local)::int AS hour,
           sum(n) AS n, sum(n) FILTER (WHERE detail = 'answered') AS answered
      FROM (SELECT bucket AT TIME ZONE $4 AS local, detail, n
              FROM (SELECT bucket, detail, n FROM call_counts WHERE kind = 'call' AND {WHOLE}
                    UNION ALL
                    SELECT bucket, detail, n FROM edges WHERE kind = 'call') AS quarters
           ) AS calls
     GROUP BY GROUPING SETS ((1), (2))),
totals AS (
    SELECT kind, item, detail, sum(n) AS n
      FROM (SELECT kind, item, detail, n FROM call_counts
             WHERE kind IN ('outcome', 'key', 'lookup') AND {WHOLE}
            UNION ALL
            SELECT kind, item, detail, n FROM edges WHERE kind <> 'call') AS steps
     GROUP BY 1, 2, 3)
SELECT
  (SELECT coalesce(sum(n), 0) FROM counted WHERE day IS NOT NULL)::bigint AS calls,
  (SELECT coalesce(sum(answered), 0) FROM counted WHERE day IS NOT NULL)::bigint
      AS answered_calls,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('day', day, 'calls', n) ORDER BY day), '[]')
     FROM counted WHERE day IS NOT NULL) AS days,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('outcome', item, 'calls', n)
                             ORDER BY n DESC, item), '[]')
     FROM totals WHERE kind = 'outcome') AS outcomes,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('hour', hour, 'calls', n) ORDER BY hour), '[]')
     FROM counted WHERE hour IS NOT NULL) AS hours,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('digit', item, 'action', detail, 'presses', n)
                             ORDER BY n DESC, item, detail), '[]')
     FROM totals WHERE kind = 'key') AS keys,
  (SELECT jsonb_build_object(
            'searches', coalesce(sum(n), 0),
            'found', coalesce(sum(n) FILTER (WHERE item = 'found'), 0),
            'no_match', coalesce(sum(n) FILTER (WHERE item = 'no_match'), 0),
            'failed', coalesce(sum(n) FILTER (WHERE detail = 'failed'), 0))
     FROM totals WHERE kind = 'lookup') AS dial_by_name"""


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
