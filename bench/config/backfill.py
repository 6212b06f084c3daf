"""The admin service's backfill at its start: how long it takes with many tenants.

    .venv/bin/python -m bench.config.backfill [--tenants 1000] [--rounds 3]

Needs the local stack's PostgreSQL and NATS (./rcp infra). It creates its own database with
`--tenants` tenants (each a receptionist and a number), then runs the backfill
(`StoringConfigPublisher.backfill`, what `rcp-admin` runs before serving) `--rounds` times:
the first stores every tenant (a store that never held them), the next ones find them
stored; before the last, one tenant in a hundred gets a new configuration version (a change
whose storing failed). Prints each round's time, per tenant, and how many it stored. Drops
the database and the keys it stored at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg
from rcp.config_store import STREAM, StoringConfigPublisher, namespace_of
from rcp.db.migrate import upgrade
from rcp.messaging import connect_nats
from rcp.telemetry import Metrics
from rcp_admin.settings import Settings as AdminSettings

from bench.support import asyncio_run, scratch_database

TENANTS = """
    WITH t AS (
        INSERT INTO tenants (slug, name)
        SELECT 'bench-' || i, 'Bench ' || i FROM generate_series(1, $1) i RETURNING id)
    INSERT INTO receptionists (tenant_id) SELECT id FROM t"""

NUMBERS = """
    INSERT INTO phone_numbers (e164, tenant_id)
    SELECT '+3319' || lpad((row_number() OVER (ORDER BY id))::text, 8, '0'), id FROM tenants"""

VERSIONS = """
    INSERT INTO config_versions (tenant_id, version) SELECT id, 1 FROM tenants
        ON CONFLICT (tenant_id) DO UPDATE SET version = config_versions.version + 1"""

# One tenant in a hundred changed without its snapshot stored.
CHANGED = """
    UPDATE config_versions SET version = version + 1
     WHERE tenant_id IN (SELECT id FROM tenants ORDER BY id LIMIT greatest(1, $1 / 100))"""


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = AdminSettings(nats_user="tests")
    async with scratch_database(settings.database_url) as url:
        await asyncio.to_thread(upgrade, url, configure_logging=False)
        pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
        namespace = namespace_of(url)
        try:
            await pool.execute(TENANTS, args.tenants)
            await pool.execute(NUMBERS)
            await pool.execute(VERSIONS)
            async with connect_nats(settings, "bench-backfill") as nats:
                publisher = StoringConfigPublisher(None, nats, pool, Metrics("bench"), namespace)
                try:
                    print(f"{args.tenants} tenants, each a receptionist and a number; 127.0.0.1")
                    print(f"{'round':20} {'s':>8} {'ms/tenant':>10} {'stored':>7}")
                    for round_ in range(args.rounds):
                        if round_ and round_ == args.rounds - 1:
                            await pool.execute(CHANGED, args.tenants)
                        # A new publisher: what a starting admin service has (nothing cached).
                        publisher = StoringConfigPublisher(
                            None, nats, pool, Metrics("bench"), namespace
                        )
                        started = time.perf_counter()
                        stored = await publisher.backfill()
                        took = time.perf_counter() - started
                        name = "first" if round_ == 0 else f"again ({round_})"
                        per = took * 1000 / args.tenants
                        print(f"{name:20} {took:8.2f} {per:10.2f} {stored:7}")
                finally:
                    # The keys of this database's namespace, forgotten.
                    await nats.jetstream().purge_stream(
                        STREAM, subject=f"$KV.{STREAM[3:]}.{namespace}.>"
                    )
        finally:
            await pool.close()


if __name__ == "__main__":
    asyncio_run(main())
