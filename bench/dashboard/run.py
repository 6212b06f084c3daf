"""The dashboard's one aggregated query on a year of one tenant's calls, against a plain
`count(*)` of the same calls in the same run, and against the statement it replaced (which
read every call's trace).

    .venv/bin/python -m bench.dashboard.run [--rows 1000000] [--repeat 5]

Needs the local stack's PostgreSQL (./rcp infra). It creates a database of its own (migrated),
generates `--rows` call records for one tenant spread over 365 days (each with a decision trace
like the call flow's, each its own (it starts with the call's time): greeting, keys, dial by
name, transfers, voicemail) and a tenth as many for
a second tenant, inserted as the call records service inserts them: the same table, so the
same triggers keep the dashboard's counts (`call_counts`, revision 0012). It then times,
`--repeat` times each after one unmeasured run, over the whole year, the last 30 days and the
last day: the dashboard's query (`rcp_admin.resources.dashboard.QUERY`, the very statement
GET /dashboard runs), the statement it replaced (`BEFORE`, which read the traces), and a
`count(*)` of the same rows (the baseline). All run in a transaction scoped to the tenant, as
the admin service's are. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from rcp.db.migrate import upgrade
from rcp_admin.resources.dashboard import QUERY
from rcp_admin.settings import Settings as AdminSettings

from bench.support import asyncio_run

BASELINE = """SELECT count(*) FROM call_records
               WHERE tenant_id = $1 AND started_at >= $2 AND started_at < $3"""

# Traces like the call flow's, chosen by row number: (answered, outcome, trace).
TRACES = """
WITH kinds(k, outcome, trace) AS (VALUES
  (0, 'transferred', '[{"kind":"menu","data":{"reason":"greeting"}},
      {"kind":"key","data":{"digit":"0","action":"transfer"}},
      {"kind":"transfer","data":{"number":"101"}},
      {"kind":"transfer_result","data":{"result":"answered"}}]'::jsonb),
  (1, 'voicemail', '[{"kind":"menu","data":{"reason":"greeting"}},
      {"kind":"key","data":{"digit":"1","action":"dial_by_name"}},
      {"kind":"lookup","data":{"digits":"533"}},
      {"kind":"lookup_result","data":{"total":1,"page":0,"heard":1}},
      {"kind":"transfer","data":{"number":"102"}},
      {"kind":"transfer_result","data":{"result":"no_answer"}},
      {"kind":"voicemail","data":{"number":"102"}}]'::jsonb),
  (2, 'caller_hangup', '[{"kind":"menu","data":{"reason":"greeting"}}]'::jsonb),
  (3, 'caller_hangup', '[{"kind":"menu","data":{"reason":"greeting"}},
      {"kind":"key","data":{"digit":"1","action":"dial_by_name"}},
      {"kind":"lookup","data":{"digits":"999"}},
      {"kind":"lookup_result","data":{"total":0,"page":0,"heard":0}}]'::jsonb),
  (4, 'invalid_input', '[{"kind":"menu","data":{"reason":"greeting"}},
      {"kind":"key","data":{"digit":"7"}},{"kind":"key","data":{"digit":"8"}},
      {"kind":"key","data":{"digit":"9"}}]'::jsonb),
  (5, 'announcement', '[{"kind":"menu","data":{"reason":"greeting"}},
      {"kind":"key","data":{"digit":"2","action":"announcement"}},
      {"kind":"announcement","data":{}}]'::jsonb))
INSERT INTO call_records (tenant_id, call_id, called_number, caller_number, started_at,
                          answered_at, ended_at, outcome, trace)
SELECT $1, 'bench-' || n, '+33199000001', '+336' || lpad((n % 100000000)::text, 8, '0'),
       at, at, at + interval '40 seconds', kinds.outcome,
       jsonb_build_array(jsonb_build_object('kind', 'started', 'at', at)) || kinds.trace
  FROM generate_series($2::bigint, $3::bigint) AS n
 CROSS JOIN LATERAL (SELECT $4::timestamptz - (n % 365) * interval '1 day'
                            - ((n * 7919) % 86400) * interval '1 second' AS at) t
  JOIN kinds ON kinds.k = (n * 31) % 6"""

# The dashboard's statement before revision 0012 (it counted key and dial-by-name steps by
# reading every trace), for the comparison; it gives the same answer.
BEFORE = """
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

BATCH = 100_000


async def generate(pool: asyncpg.Pool, tenant_id: uuid.UUID, rows: int, now: datetime) -> None:
    for first in range(1, rows + 1, BATCH):
        await pool.execute(TRACES, tenant_id, first, min(first + BATCH - 1, rows), now)


async def timed(
    pool: asyncpg.Pool, query: str, tenant_id: uuid.UUID, repeat: int, *args: Any
) -> tuple[list[float], list[asyncpg.Record]]:
    """Seconds each run took (after one unmeasured run), in a transaction scoped to the tenant,
    and the answer."""
    times = []
    for run in range(repeat + 1):
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT set_config('rcp.tenant_id', $1, true)", str(tenant_id))
            started = time.perf_counter()
            answer = await connection.fetch(query, tenant_id, *args)
            if run:
                times.append(time.perf_counter() - started)
    return times, answer


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    base, _, _ = AdminSettings().database_url.rpartition("/")
    database = f"rcp_bench_{uuid.uuid4().hex[:8]}"
    server = await asyncpg.connect(f"{base}/postgres")
    await server.execute(f'CREATE DATABASE "{database}"')
    url = f"{base}/{database}"
    pool: asyncpg.Pool | None = None
    try:
        await asyncio.to_thread(upgrade, url, configure_logging=False)
        pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
        tenant_id = await pool.fetchval(
            "INSERT INTO tenants (slug, name, timezone) "
            "VALUES ('bench', 'Bench', 'Europe/Paris') RETURNING id"
        )
        other_id = await pool.fetchval(
            "INSERT INTO tenants (slug, name) VALUES ('other', 'Other') RETURNING id"
        )
        now = datetime.now(UTC).replace(microsecond=0)
        started = time.perf_counter()
        await generate(pool, tenant_id, args.rows, now)
        await generate(pool, other_id, args.rows // 10, now)
        await pool.execute("VACUUM ANALYZE call_records")
        await pool.execute("VACUUM ANALYZE call_counts")
        took = time.perf_counter() - started
        print(f"generated {args.rows} + {args.rows // 10} rows in {took:.0f} s")
        print(f"{'':34} {'median ms':>10} {'min ms':>8} {'ratio':>7}")
        for label, days in (("a year", 366), ("30 days", 30), ("1 day", 1)):
            period = (now - timedelta(days=days), now + timedelta(seconds=1))
            zone = "Europe/Paris"
            base_times, _ = await timed(pool, BASELINE, tenant_id, args.repeat, *period)
            dash_times, answer = await timed(pool, QUERY, tenant_id, args.repeat, *period, zone)
            before_times, before = await timed(pool, BEFORE, tenant_id, args.repeat, *period, zone)
            if [dict(row) for row in answer] != [dict(row) for row in before]:
                raise SystemExit(f"{label}: the dashboard's answer differs from the traces'")
            calls = await pool.fetchval(BASELINE, tenant_id, *period)
            base_ms = statistics.median(base_times) * 1000
            for name, times in (
                (f"count(*), {label}", base_times),
                (f"dashboard, {label}", dash_times),
                (f"before 0012, {label}", before_times),
            ):
                median = statistics.median(times) * 1000
                print(f"{name:34} {median:10.1f} {min(times) * 1000:8.1f} {median / base_ms:7.1f}")
            print(f"  ({calls} calls in the period)")
    finally:
        if pool is not None:
            await pool.close()
        await server.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await server.close()


if __name__ == "__main__":
    asyncio_run(main())
