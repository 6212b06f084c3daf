"""Publish -> the configuration the next call gets: how long until stasis has a new version.

    .venv/bin/python -m bench.config.run [--publishes 100]

Needs the local stack's PostgreSQL and NATS (./rcp infra). It creates its own database,
starts `rcp-admin` (as its own database role) on a free port of 127.0.0.1, and in this
process the configuration cache stasis runs on (the configuration store, its watch, and
PostgreSQL only for what the store lacks). Each round publishes a new version through the
API (PUT /receptionist/keys/3, which edits and publishes in one step, alternating two
actions) and waits until the cache answers the tenant's number with that version: what the
next call would start with. Prints p50/p99/max in milliseconds, from sending the request and
from its answer, and how many SQL reads the cache made (the issue's promise: 0, and the new
version within 1 s at p99). Drops the database at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg
from rcp.config_store import ConfigStore, namespace_of
from rcp.db.migrate import upgrade
from rcp.messaging import connect_nats
from rcp.tokens import issue_token
from rcp_admin.settings import Settings as AdminSettings
from rcp_devstack.processes import free_port
from rcp_devstack.roles import ensure_logins, role_url
from rcp_devstack.settings import StackSettings
from rcp_stasis.tenants import PostgresTenants, StoredTenants, TenantConfigs, follow_store

from bench.support import asyncio_run, percentiles, wait_http

NUMBER = "+33199000042"
WAIT_S = 10.0


async def seed(url: str, pepper: str) -> tuple[str, uuid.UUID]:
    """A carrier token, and a tenant with a number and extension 101; the token and the id."""
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        issued = issue_token(pepper)
        await pool.execute(
            "INSERT INTO admin_tokens (scope, name, token_hash, token_prefix) "
            "VALUES ('carrier', 'bench', $1, $2)",
            issued.digest,
            issued.prefix,
        )
        tenant_id: uuid.UUID = await pool.fetchval(
            "INSERT INTO tenants (slug, name) VALUES ('bench', 'Bench') RETURNING id"
        )
        await pool.execute("INSERT INTO receptionists (tenant_id) VALUES ($1)", tenant_id)
        await pool.execute(
            "INSERT INTO phone_numbers (e164, tenant_id) VALUES ($1, $2)", NUMBER, tenant_id
        )
        device_id = await pool.fetchval(
            "INSERT INTO devices (tenant_id, name, endpoint) VALUES ($1, 'desk', 'PJSIP/desk') "
            "RETURNING id",
            tenant_id,
        )
        await pool.execute(
            """INSERT INTO extensions (tenant_id, number, kind, last_name, device_id)
               VALUES ($1, '101', 'physical', 'Dupont', $2)""",
            tenant_id,
            device_id,
        )
        return issued.token, tenant_id
    finally:
        await pool.close()


async def measure(url: str, admin: str, token: str, tenant_id: uuid.UUID, publishes: int) -> None:
    # Connected as the benchmarks' NATS user (the test suite's), which may play every part.
    settings = AdminSettings(nats_user="tests")
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    headers = {"Authorization": f"Bearer {token}"}
    bodies: list[dict[str, object]] = [
        {"action": "transfer", "target": {"kind": "extension", "number": "101"}},
        {"action": "dial_by_name"},
    ]
    key = f"{admin}/v1/tenants/{tenant_id}/receptionist/keys/3"
    async with (
        connect_nats(settings, "bench-config") as nats,
        aiohttp.ClientSession(headers=headers) as session,
    ):
        store = await ConfigStore.open(nats, namespace_of(url))
        fallback = PostgresTenants(pool)
        async with TenantConfigs(StoredTenants(store, fallback)) as configs:
            following = asyncio.create_task(follow_store(store, configs))
            await asyncio.sleep(0.5)  # the watch has replayed what the store held
            from_request: list[float] = []
            from_answer: list[float] = []
            # A first version: from then on each edit of a key publishes one.
            async with session.post(f"{key.rsplit('/keys', 1)[0]}/publish", json={}) as response:
                if response.status >= 300:
                    raise RuntimeError(f"publish: {response.status} {await response.text()}")
            async with session.get(f"{key.rsplit('/keys', 1)[0]}/versions") as response:
                first = max(v["number"] for v in (await response.json())["items"])
            reads = fallback.reads
            for round_ in range(publishes):
                started = time.perf_counter()
                async with session.put(key, json=bodies[round_ % 2]) as response:
                    if response.status >= 300:
                        raise RuntimeError(f"PUT {key}: {response.status} {await response.text()}")
                answered = time.perf_counter()
                wanted = first + round_ + 1
                deadline = answered + WAIT_S
                while True:
                    found = await configs.for_number(NUMBER)
                    if found is not None and found.version == wanted:
                        break
                    if time.perf_counter() > deadline:
                        raise RuntimeError(f"version {wanted} not seen within {WAIT_S} s")
                    await asyncio.sleep(0.001)
                seen = time.perf_counter()
                from_request.append(seen - started)
                from_answer.append(seen - answered)
            following.cancel()
            sql_reads = fallback.reads - reads
    await pool.close()
    print(f"{publishes} publishes, each waited for before the next; 127.0.0.1")
    print(f"{'':40} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, values in (
        ("request sent -> next call's version", from_request),
        ("answer received -> next call's version", from_answer),
    ):
        p50, p99, top = percentiles(values)
        print(f"{name:40} {p50 * 1000:8.1f} {p99 * 1000:8.1f} {top * 1000:8.1f}")
    print(f"SQL reads by the call path's cache while measuring: {sql_reads}")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--publishes", type=int, default=100)
    args = parser.parse_args()
    settings = AdminSettings()
    base, _, _ = settings.database_url.rpartition("/")
    database = f"rcp_bench_{uuid.uuid4().hex[:8]}"
    owner = await asyncpg.connect(f"{base}/postgres")
    await owner.execute(f'CREATE DATABASE "{database}"')
    url = f"{base}/{database}"
    process: subprocess.Popen[bytes] | None = None
    try:
        await asyncio.to_thread(upgrade, url, configure_logging=False)
        password = StackSettings().database_services_password
        await ensure_logins(url, password)
        token, tenant_id = await seed(url, settings.token_pepper)
        port = free_port()
        env = {
            **os.environ,
            "RCP_DATABASE_URL": role_url(url, "admin", password),
            "RCP_ENVIRONMENT": "development",
            "RCP_ADMIN_HTTP_PORT": str(port),
            "RCP_OPS_PORT": "0",
            "RCP_LOG_LEVEL": "WARNING",
            # The publishes come faster than a token's rate limit allows: measured, not limited.
            "RCP_ADMIN_RATE_PER_S": "10000",
            "RCP_ADMIN_RATE_BURST": "100000",
        }
        process = subprocess.Popen([str(Path(sys.executable).parent / "rcp-admin")], env=env)
        admin = f"http://127.0.0.1:{port}"
        await wait_http(f"{admin}/openapi.json")
        await measure(url, admin, token, tenant_id, args.publishes)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        await owner.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await owner.close()


if __name__ == "__main__":
    asyncio_run(main())
