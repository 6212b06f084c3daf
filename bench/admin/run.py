"""Admin API latency under 50 concurrent clients, as a ratio to a trivial aiohttp handler.

    .venv/bin/python -m bench.admin.run [--requests 3000] [--clients 50] [--rounds 3]

Needs the local stack's PostgreSQL and NATS (./rcp infra). It creates its own database,
starts `rcp-admin` and the baseline server as separate processes on free ports of
127.0.0.1, measures GET /keys and PUT /keys/{digit} with the same client (`--clients` on one
tenant; then PUT by 10 clients, each writing a tenant of its own), and drops the
database at the end. Each round measures the baseline and every phase again; prints p50/p99
in milliseconds and the ratio to the same round's baseline, each as the median [min-max]
over the rounds (the machine is shared: one round alone says little). Then CPU per request
(/proc/<pid>/stat, user + system) of the process that answered, `rcp-admin` or the baseline
server, its ratio to the baseline's, and that of the bench database's PostgreSQL backends:
CPU depends far less than latency on what else the machine runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
from rcp.db.migrate import upgrade
from rcp.tokens import issue_token
from rcp_admin.settings import Settings as AdminSettings
from rcp_devstack.processes import free_port
from rcp_devstack.roles import ensure_logins, role_url
from rcp_devstack.settings import StackSettings

from bench.support import asyncio_run, percentiles, process_cpu_s, wait_http

HERE = Path(__file__).parent
OTHER_TENANTS = 10  # written side by side by one client each
BASELINE = "baseline GET (trivial aiohttp)"


def spread(values: list[float], digits: int = 1) -> str:
    """The median of the rounds' values and their spread: `12.3 [11.0-14.1]`."""
    low, middle, high = min(values), statistics.median(values), max(values)
    return f"{middle:.{digits}f} [{low:.{digits}f}-{high:.{digits}f}]"


@dataclass(frozen=True)
class Phase:
    """One phase of a round: its p50 and p99 (s), and CPU seconds per request of the process
    that answered and of the bench database's PostgreSQL backends."""

    p50: float
    p99: float
    cpu: float
    database_cpu: float


Round = dict[str, Phase]


def report(rounds: list[Round], args: argparse.Namespace) -> str:
    """The tables: p50 and p99 (ms) and their ratios to the same round's baseline; CPU per
    request (ms) and its ratio to the baseline's; each the median [min-max] over the rounds."""
    lines = [
        f"{args.requests} requests, {args.clients} concurrent clients, 127.0.0.1, "
        f"{len(rounds)} round(s): median [min-max]",
        f"{'':32} {'p50 ms':>20} {'p99 ms':>20} {'p50 ratio':>18} {'p99 ratio':>18}",
    ]
    for name in rounds[0]:
        p50 = [one[name].p50 * 1000 for one in rounds]
        p99 = [one[name].p99 * 1000 for one in rounds]
        p50_ratio = [one[name].p50 / one[BASELINE].p50 for one in rounds]
        p99_ratio = [one[name].p99 / one[BASELINE].p99 for one in rounds]
        lines.append(
            f"{name:32} {spread(p50):>20} {spread(p99):>20} "
            f"{spread(p50_ratio):>18} {spread(p99_ratio):>18}"
        )
    lines.append(f"{'CPU per request':32} {'server ms':>20} {'ratio':>20} {'PostgreSQL ms':>18}")
    for name in rounds[0]:
        cpu = [one[name].cpu * 1000 for one in rounds]
        ratio = [one[name].cpu / one[BASELINE].cpu for one in rounds]
        database = [one[name].database_cpu * 1000 for one in rounds]
        lines.append(
            f"{name:32} {spread(cpu, 3):>20} {spread(ratio, 2):>20} {spread(database, 3):>18}"
        )
    return "\n".join(lines)


async def seed_tenant(pool: asyncpg.Pool, slug: str) -> uuid.UUID:
    """A tenant with its receptionist, a device and 40 extensions (100-139)."""
    tenant_id: uuid.UUID = await pool.fetchval(
        "INSERT INTO tenants (slug, name) VALUES ($1, $2) RETURNING id", slug, slug.title()
    )
    await pool.execute("INSERT INTO receptionists (tenant_id) VALUES ($1)", tenant_id)
    device_id = await pool.fetchval(
        "INSERT INTO devices (tenant_id, name, endpoint) VALUES ($1, 'desk', $2) RETURNING id",
        tenant_id,
        f"PJSIP/desk-{slug}",
    )
    await pool.executemany(
        """INSERT INTO extensions (tenant_id, number, kind, last_name, device_id)
           VALUES ($1, $2, 'physical', 'Dupont', $3)""",
        [(tenant_id, str(number), device_id) for number in range(100, 140)],
    )
    return tenant_id


async def measure(
    url: str | list[str],
    method: str,
    body: dict[str, object] | None,
    token: str,
    requests: int,
    clients: int,
) -> list[float]:
    """Latencies (seconds) of `requests` calls spread over `clients` concurrent clients (with
    several URLs, client i calls the i-th, round robin)."""
    urls = [url] if isinstance(url, str) else url
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        remaining = requests

        async def client(url: str) -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                async with session.request(method, url, json=body) as response:
                    await response.read()
                    if response.status >= 300:
                        raise RuntimeError(f"{method} {url} answered {response.status}")
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(client(urls[n % len(urls)]) for n in range(clients)))
    return latencies


async def backends_cpu_s(connection: asyncpg.Connection, database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to `database`."""
    pids = await connection.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    used: dict[int, float] = {}
    for row in pids:
        try:
            used[row["pid"]] = process_cpu_s(row["pid"])
        except (FileNotFoundError, ProcessLookupError):  # ended since
            continue
    return used


async def measured(
    server_pid: int,
    database: tuple[asyncpg.Connection, str],
    url: str | list[str],
    method: str,
    requests: int,
    clients: int,
    body: dict[str, object] | None,
    token: str,
) -> Phase:
    """`measure`'s figures, and the CPU per request the phase cost the server (`server_pid`)
    and the database's backends (a backend that ends during the phase is not counted)."""
    server_before = process_cpu_s(server_pid)
    backends_before = await backends_cpu_s(*database)
    latencies = await measure(url, method, body, token, requests, clients)
    server = process_cpu_s(server_pid) - server_before
    backends = await backends_cpu_s(*database)
    database_cpu = sum(used - backends_before.get(pid, 0.0) for pid, used in backends.items())
    p50, p99, _ = percentiles(latencies)
    return Phase(p50, p99, server / len(latencies), database_cpu / len(latencies))


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    settings = AdminSettings()
    base, _, _ = settings.database_url.rpartition("/")
    database = f"rcp_bench_{uuid.uuid4().hex[:8]}"
    admin_connection = await asyncpg.connect(f"{base}/postgres")
    await admin_connection.execute(f'CREATE DATABASE "{database}"')
    url = f"{base}/{database}"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        await asyncio.to_thread(upgrade, url, configure_logging=False)
        # The admin service logs in as its own role (it refuses the tables' owner).
        password = StackSettings().database_services_password
        await ensure_logins(url, password)
        pool = await asyncpg.create_pool(url)
        issued = issue_token(settings.token_pepper)
        await pool.execute(
            "INSERT INTO admin_tokens (scope, name, token_hash, token_prefix) "
            "VALUES ('carrier', 'bench', $1, $2)",
            issued.digest,
            issued.prefix,
        )
        tenants = [await seed_tenant(pool, f"bench-{n}") for n in range(1 + OTHER_TENANTS)]
        tenant_id = tenants[0]
        await pool.close()

        admin_port, baseline_port = free_port(), free_port()
        env = {
            **os.environ,
            "RCP_DATABASE_URL": role_url(url, "admin", password),
            "RCP_ENVIRONMENT": "development",
            "RCP_ADMIN_HTTP_PORT": str(admin_port),
            "RCP_OPS_PORT": "0",
            "RCP_ADMIN_RATE_PER_S": "10000",
            "RCP_ADMIN_RATE_BURST": "100000",
            "RCP_LOG_LEVEL": "WARNING",
            "RCP_DATABASE_POOL_MAX": "20",
        }
        bin_dir = Path(sys.executable).parent
        processes.append(subprocess.Popen([str(bin_dir / "rcp-admin")], env=env))
        processes.append(
            subprocess.Popen([sys.executable, str(HERE / "baseline_server.py"), str(baseline_port)])
        )
        admin = f"http://127.0.0.1:{admin_port}"
        baseline = f"http://127.0.0.1:{baseline_port}"
        await wait_http(f"{admin}/openapi.json")
        await wait_http(f"{baseline}/")
        keys = f"{admin}/v1/tenants/{tenant_id}/receptionist/keys"
        put_body: dict[str, object] = {
            "action": "transfer",
            "target": {"kind": "extension", "number": "101"},
        }
        await measure(keys, "GET", None, issued.token, 200, args.clients)  # warm up both
        await measure(f"{baseline}/", "GET", None, issued.token, 200, args.clients)
        rounds: list[Round] = []
        admin_pid, baseline_pid = processes[0].pid, processes[1].pid
        watched = (admin_connection, database)
        for round_number in range(args.rounds):
            n, clients, token = args.requests, args.clients, issued.token
            figures = {
                BASELINE: await measured(
                    baseline_pid, watched, f"{baseline}/", "GET", n, clients, None, token
                ),
                "GET /keys": await measured(
                    admin_pid, watched, keys, "GET", n, clients, None, token
                ),
                "PUT /keys/{digit}": await measured(
                    admin_pid, watched, f"{keys}/3", "PUT", n, clients, put_body, token
                ),
                f"PUT, {OTHER_TENANTS} clients on {OTHER_TENANTS} tenants": await measured(
                    admin_pid,
                    watched,
                    [f"{admin}/v1/tenants/{t}/receptionist/keys/3" for t in tenants[1:]],
                    "PUT",
                    n,
                    OTHER_TENANTS,
                    put_body,
                    token,
                ),
            }
            rounds.append(figures)
            print(
                f"round {round_number + 1}: "
                + "; ".join(
                    f"{name} {phase.p50 * 1000:.1f}/{phase.p99 * 1000:.1f} ms, "
                    f"CPU {phase.cpu * 1000:.3f} ms"
                    for name, phase in figures.items()
                )
            )
        print(report(rounds, args))
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        await admin_connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin_connection.close()


if __name__ == "__main__":
    asyncio_run(main())
