"""The dashboard's one aggregated query on a year of one tenant's calls, against a plain
`count(*)` of the same calls in the same run.

    .venv/bin/python -m bench.dashboard.run [--rows 1000000] [--repeat 5]

Needs the local stack's PostgreSQL (./rcp infra). It creates a database of its own (migrated),
generates `--rows` call records for one tenant spread over 365 days (each with a decision trace
like the call flow's, each its own (it starts with the call's time): greeting, keys, dial by
name, transfers, voicemail) and a tenth as many for
a second tenant, then times, `--repeat` times each after one unmeasured run: the dashboard's
query (`rcp_admin.resources.dashboard.QUERY`, the very statement GET /dashboard runs) over the
whole year, over the last 30 days, and a `count(*)` of the same rows (the baseline). Both run in
a transaction scoped to the tenant, as the admin service's are. The database is dropped at the
end.
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

BATCH = 100_000


async def generate(pool: asyncpg.Pool, tenant_id: uuid.UUID, rows: int, now: datetime) -> None:
    for first in range(1, rows + 1, BATCH):
        await pool.execute(TRACES, tenant_id, first, min(first + BATCH - 1, rows), now)


async def timed(
    pool: asyncpg.Pool, query: str, tenant_id: uuid.UUID, repeat: int, *args: Any
) -> list[float]:
    """Seconds each run took (after one unmeasured run), in a transaction scoped to the tenant."""
    times = []
    for run in range(repeat + 1):
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT set_config('rcp.tenant_id', $1, true)", str(tenant_id))
            started = time.perf_counter()
            await connection.fetch(query, tenant_id, *args)
            if run:
                times.append(time.perf_counter() - started)
    return times


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
        took = time.perf_counter() - started
        print(f"generated {args.rows} + {args.rows // 10} rows in {took:.0f} s")
        print(f"{'':34} {'median ms':>10} {'min ms':>8} {'ratio':>7}")
        for label, days in (("a year", 366), ("30 days", 30)):
            period = (now - timedelta(days=days), now + timedelta(seconds=1))
            base_times = await timed(pool, BASELINE, tenant_id, args.repeat, *period)
            dash_times = await timed(pool, QUERY, tenant_id, args.repeat, *period, "Europe/Paris")
            calls = await pool.fetchval(BASELINE, tenant_id, *period)
            base_ms = statistics.median(base_times) * 1000
            for name, times in (
                (f"count(*), {label}", base_times),
                (f"dashboard, {label}", dash_times),
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
    asyncio.run(main())
