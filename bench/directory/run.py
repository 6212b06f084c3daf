"""Directory benchmark: index build and memory, then lookups over NATS against a bare echo.

Run from the repository root, with the local stack's PostgreSQL and NATS (`./rcp infra`):

    .venv/bin/python -m bench.directory [--tenants 1000] [--per-tenant 1000]

It creates a database of its own (dropped at the end, whatever happens), fills it with
tenants of realistic names, and reports:

1. index build time and memory per 100,000 entries, in this process (tracemalloc), for
   1,000-entry tenants and for one 100,000-entry tenant, and the time to read them from
   PostgreSQL;
2. the directory and an echo service, each started as its own process on the same NATS
   server on subjects of their own: the time to load every tenant lazily (1,000,000 entries
   by default) and the directory process's memory before and after, then lookups per second
   and p50/p99 latency, one request at a time, at a steady rate and with many in flight, as
   ratios to the echo's in the same run.

Every loop is bounded in count and in time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import socket
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import aiohttp
import asyncpg
from nats.aio.client import Client as NatsClient
from rcp import subjects
from rcp.contracts import EchoRequest, EchoResult
from rcp.contracts.directory import SearchRequest, SearchResult
from rcp.db.migrate import upgrade
from rcp.db.pool import create_pool
from rcp.errors import ServiceUnavailable
from rcp.messaging import connect_nats, request
from rcp_devstack.postgres import Dsn
from rcp_directory.handlers import search_result_json
from rcp_directory.index import Listing, Mode, TenantIndex
from rcp_directory.keypad import name_keys
from rcp_directory.settings import Settings
from rcp_directory.source import PostgresDirectory

from bench.directory.echo import SIZED
from bench.directory.names import person
from bench.support import asyncio_run

REPO_ROOT = Path(__file__).resolve().parents[2]
PHASE_LIMIT_S = 60.0
START_LIMIT_S = 60.0
REQUEST_TIMEOUT_S = 10.0
BUILD_ENTRIES = 100_000


@dataclass(frozen=True)
class Tenant:
    tenant_id: uuid.UUID
    people: list[tuple[str, str, str]]  # number, first name, last name


@dataclass(frozen=True)
class Stats:
    count: int
    per_second: float
    p50_ms: float
    p99_ms: float


def _with_database(url: str, database: str) -> str:
    dsn = Dsn.parse(url)
    auth = f"{dsn.user}:{dsn.password}@" if dsn.password else f"{dsn.user}@"
    return f"postgresql://{auth}{dsn.host}:{dsn.port}/{database}"


@asynccontextmanager
async def scratch_database(settings: Settings) -> AsyncIterator[str]:
    """A migrated database of the benchmark's own, dropped on the way out."""
    admin_url = _with_database(settings.database_url, "postgres")
    name = f"rcp_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_url, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = _with_database(settings.database_url, name)
            await asyncio.to_thread(upgrade, url, configure_logging=False)
            yield url
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def generate(rng: random.Random, tenants: int, per_tenant: int) -> list[Tenant]:
    """Tenants of realistic names, numbered from 1000."""
    return [
        Tenant(
            uuid.UUID(int=rng.getrandbits(128), version=4),
            [(str(1000 + n), *person(rng)) for n in range(per_tenant)],
        )
        for _ in range(tenants)
    ]


async def insert(url: str, tenants: list[Tenant]) -> None:
    """Write the tenants and their extensions with COPY (the schema's triggers still run)."""
    connection = await asyncpg.connect(url, timeout=10)
    try:
        await connection.copy_records_to_table(
            "tenants",
            records=[(t.tenant_id, f"bench-{n}", f"Bench {n}") for n, t in enumerate(tenants)],
            columns=["id", "slug", "name"],
        )
        for n, tenant in enumerate(tenants):
            devices = {number: uuid.uuid4() for number, _, _ in tenant.people}
            await connection.copy_records_to_table(
                "devices",
                records=[
                    (devices[number], tenant.tenant_id, number, f"PJSIP/b{n}-{number}")
                    for number in devices
                ],
                columns=["id", "tenant_id", "name", "endpoint"],
            )
            await connection.copy_records_to_table(
                "extensions",
                records=[
                    (tenant.tenant_id, number, "physical", first, last, devices[number])
                    for number, first, last in tenant.people
                ],
                columns=["tenant_id", "number", "kind", "first_name", "last_name", "device_id"],
            )
    finally:
        await connection.close()


def listings(tenant: Tenant) -> list[Listing]:
    return [Listing(number, first, last) for number, first, last in tenant.people]


@contextmanager
def traced() -> Iterator[Callable[[], int]]:
    """Memory allocated and still held since the block started, as a callable."""
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    try:
        yield lambda: tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()


async def report_build(url: str, tenants: list[Tenant], rng: random.Random) -> None:
    """Index build time and memory per 100,000 entries, and reading them from PostgreSQL."""
    count = max(1, BUILD_ENTRIES // len(tenants[0].people))
    sample = [listings(tenant) for tenant in tenants[:count]]
    entries = sum(len(items) for items in sample)
    scale = BUILD_ENTRIES / entries
    started = time.perf_counter()
    built = [TenantIndex(items) for items in sample]
    build_s = time.perf_counter() - started
    nbytes = sum(index.nbytes for index in built)
    del built
    with traced() as held:
        kept = [TenantIndex(items) for items in sample]
        traced_bytes = held()
    del kept
    print(f"index build, {count} tenants x {len(sample[0])} entries ({entries:,} entries):")
    print(f"  build time per 100,000 entries: {build_s * scale:.2f} s")
    print(
        f"  memory per 100,000 entries: {traced_bytes * scale / 2**20:.1f} MiB (tracemalloc), "
        f"{nbytes * scale / 2**20:.1f} MiB (index.nbytes); "
        f"{traced_bytes / entries:.0f} bytes an entry"
    )

    big = [
        Listing(str(100_000 + n), *person(rng)) for n in range(BUILD_ENTRIES)
    ]  # one tenant the size of a large company
    started = time.perf_counter()
    big_index = TenantIndex(big)
    print(
        f"  one tenant of {len(big):,} entries: built in {time.perf_counter() - started:.2f} s,"
        f" {big_index.nbytes / 2**20:.1f} MiB"
    )

    settings = Settings(database_url=url, database_pool_min=1, database_pool_max=2)
    async with create_pool(settings, "bench") as pool:
        source = PostgresDirectory(pool)
        started = time.perf_counter()
        for tenant in tenants[:count]:
            await source.load(tenant.tenant_id)
        load_s = time.perf_counter() - started
    print(f"  reading them from PostgreSQL: {load_s * scale:.2f} s per 100,000 entries")


def queries(rng: random.Random, tenants: list[Tenant], count: int) -> list[SearchRequest]:
    """Searches as callers make them: 3 to 5 digits of a last or first name, or of a part."""
    made: list[SearchRequest] = []
    while len(made) < count:
        tenant = rng.choice(tenants)
        _, first, last = rng.choice(tenant.people)
        keys = name_keys(last if rng.random() < 0.7 else first)
        key = rng.choice((keys.whole, *keys.parts))
        length = min(len(key), rng.randint(3, 5))
        if length:
            made.append(
                SearchRequest(tenant_id=tenant.tenant_id, digits=key[:length], complete=length < 3)
            )
    return made


def result_bytes(tenants: list[Tenant], searches: list[SearchRequest], sample: int = 20) -> int:
    """The mean size of the directory's results (their JSON) to the searches of the first
    `sample` tenants, made here by the service's own index and encoding."""
    indexes = {tenant.tenant_id: TenantIndex(listings(tenant)) for tenant in tenants[:sample]}
    sizes = [
        len(search_result_json(indexes[s.tenant_id].search_json(s.digits, Mode.EITHER, 9)))
        for s in searches
        if s.tenant_id in indexes and s.by == "either" and s.page_size == 9
    ]
    return round(statistics.mean(sizes))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> tuple[float, float]:
    """A process's CPU time so far, from /proc: in all (its threads' run times, counted in
    nanoseconds, where /proc/PID/stat counts in clock ticks, 10 ms: too coarse for the
    slices `_saturate` measures), and in the kernel (in ticks). NaN for None, a process
    not known."""
    if pid is None:
        return float("nan"), float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    running = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with suppress(OSError):  # a thread that ended meanwhile
            running += int((task / "schedstat").read_text().split()[0])
    return running / 1e9, int(fields[12]) / _TICKS


def listening_pid(port: int) -> int | None:
    """The process listening on this TCP port in this machine's (this network namespace's)
    loopback or any address: the nats-server this client uses, whichever others run."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                    inodes.add(f"socket:[{fields[9]}]")
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        with suppress(OSError):
            if os.readlink(fd) in inodes:
                return int(fd.parent.parent.name)
    return None


def cpu_now(pids: Sequence[int | None]) -> list[float]:
    """The CPU time so far of each process (None: not known), in seconds; then the first
    one's time in the kernel."""
    times = [cpu_seconds(pid) for pid in pids]
    return [every for every, _ in times] + [times[0][1]]


def rss_bytes(pid: int) -> int:
    """A process's resident memory, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else 0


@asynccontextmanager
async def process(
    argv: list[str], env: dict[str, str], log: IO[bytes]
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A child process, stopped with SIGTERM (then SIGKILL) on the way out."""
    child = await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=REPO_ROOT, stdout=log, stderr=log
    )
    try:
        yield child
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), 15)
            except TimeoutError:
                child.kill()
                await child.wait()


async def until(
    probe: Callable[[], Awaitable[bool]], what: str, child: asyncio.subprocess.Process
) -> None:
    deadline = time.monotonic() + START_LIMIT_S
    while not await probe():
        if child.returncode is not None or time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start; see its log")
        await asyncio.sleep(0.1)


async def get(port: int, path: str) -> tuple[int, str]:
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}{path}") as response,
        ):
            return response.status, await response.text()
    except aiohttp.ClientError:
        return 0, ""


def metric(body: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", body, re.MULTILINE)
    return float(match.group(1)) if match else float("nan")


Send = Callable[[int], Awaitable[object]]


def _stats(latencies: list[float], elapsed: float) -> Stats:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return Stats(len(latencies), len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000)


async def phase(sends: Sequence[Send], count: int, concurrency: int) -> list[Stats]:
    """Send `count` requests, `concurrency` at a time, for at most PHASE_LIMIT_S.

    Request n goes through `sends[n % len(sends)]`: with several services, their requests
    alternate, so that the machine's noise falls on each alike.
    """
    latencies, elapsed = await _timed(sends, range(count), concurrency)
    return [_stats(each, elapsed) for each in latencies]


async def _timed(
    sends: Sequence[Send], numbers: range, concurrency: int
) -> tuple[list[list[float]], float]:
    """`phase`'s requests, numbered from `numbers`: the latencies of each of `sends`, and
    the time they all took."""
    latencies: list[list[float]] = [[] for _ in sends]
    next_numbers = iter(numbers)
    deadline = time.monotonic() + PHASE_LIMIT_S

    async def worker() -> None:
        for n in next_numbers:
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            await sends[n % len(sends)](n)
            latencies[n % len(sends)].append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


async def paced(sends: Sequence[Send], count: int, rate: float) -> list[Stats]:
    """Send `count` requests at `rate` a second whatever the answers (an open loop, like
    callers), for at most PHASE_LIMIT_S, alternating between `sends` as `phase` does."""
    latencies: list[list[float]] = [[] for _ in sends]
    tasks: set[asyncio.Task[None]] = set()

    async def one(n: int) -> None:
        started = time.perf_counter()
        await sends[n % len(sends)](n)
        latencies[n % len(sends)].append(time.perf_counter() - started)

    started = time.perf_counter()
    for n in range(count):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if time.perf_counter() - started > PHASE_LIMIT_S:
            break
        task = asyncio.create_task(one(n))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    return [_stats(each, elapsed) for each in latencies]


async def report_nats(
    url: str,
    tenants: list[Tenant],
    rng: random.Random,
    *,
    lookups: int,
    concurrency: int,
    rate: float,
    rounds: int,
    slices: int,
) -> None:
    """The directory and echo as processes of their own, measured over the same NATS."""
    settings = Settings()
    run = uuid.uuid4().hex
    scope = f"bench{run}"
    ops_port = free_port()
    env = {
        **os.environ,
        "RCP_DATABASE_URL": url,
        "RCP_OPS_PORT": str(ops_port),
        "RCP_INSTANCE_ID": "bench",
        "RCP_ENVIRONMENT": "development",
        "RCP_LOG_LEVEL": "WARNING",
        "RCP_DIRECTORY_NATS_SCOPE": scope,
        "PYTHONPATH": str(REPO_ROOT),
    }
    searches = queries(rng, tenants, lookups)
    sized = result_bytes(tenants, searches)
    plain = statistics.mean(
        len(EchoResult(payload=message.digits).model_dump_json()) for message in searches
    )
    print(
        f"results' JSON, bytes on average: directory {sized:,}, echo {plain:.0f},"
        f" echo sized {sized:,}"
    )
    with tempfile.TemporaryFile() as log:
        try:
            async with (
                # As the local stack's development user: this process asks both services.
                connect_nats(settings.model_copy(update={"nats_user": "tests"}), "bench") as nc,
                process([sys.executable, "-m", "rcp_directory.main"], env, log) as directory,
                process(
                    [sys.executable, "-m", "bench.directory.echo", scope, str(sized)], env, log
                ) as echo,
            ):
                await until(lambda: _ready(ops_port), "the directory", directory)
                await until(lambda: _echoes(nc, scope), "the echo service", echo)
                await _measure(
                    nc,
                    tenants=tenants,
                    searches=searches,
                    scope=scope,
                    ops_port=ops_port,
                    pid=directory.pid,
                    echo_pid=echo.pid,
                    concurrency=concurrency,
                    rate=rate,
                    rounds=rounds,
                    slices=slices,
                )
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-4000:])
            raise


async def _ready(port: int) -> bool:
    return (await get(port, "/readyz"))[0] == 200


async def _echoes(nc: NatsClient, scope: str) -> bool:
    try:
        await _echo(nc, scope, "ping")
    except ServiceUnavailable:
        return False
    return True


async def _raw(nc: NatsClient, subject: str, body: bytes) -> int:
    """A request whose reply must not be an error (its result is not decoded); its size."""
    reply = await nc.request(subject, body, timeout=REQUEST_TIMEOUT_S)
    if reply.headers and "Nats-Service-Error-Code" in reply.headers:
        raise SystemExit(f"{subject} answered an error: {reply.data[:300]!r}")
    return len(reply.data)


async def _echo(nc: NatsClient, scope: str, payload: str) -> EchoResult:
    message = EchoRequest(tenant_id=uuid.UUID(int=0), payload=payload)
    subject = subjects.ECHO.subject(message.tenant_id, scope)
    return await request(nc, subject, message, EchoResult, REQUEST_TIMEOUT_S)


def _as_long_as(search: SearchRequest, length: int) -> bytes:
    """An echo request of the search's digits, then dots up to `length` bytes of JSON."""
    short = len(EchoRequest(tenant_id=search.tenant_id, payload=search.digits).model_dump_json())
    padded = search.digits + "." * max(length - short, 0)
    return EchoRequest(tenant_id=search.tenant_id, payload=padded).model_dump_json().encode()


async def _measure(
    nc: NatsClient,
    *,
    tenants: list[Tenant],
    searches: list[SearchRequest],
    scope: str,
    ops_port: int,
    pid: int,
    echo_pid: int,
    concurrency: int,
    rate: float,
    rounds: int,
    slices: int,
) -> None:
    async def search(message: SearchRequest) -> SearchResult:
        subject = subjects.DIRECTORY_SEARCH.subject(message.tenant_id, scope)
        return await request(nc, subject, message, SearchResult, REQUEST_TIMEOUT_S)

    rss_before = rss_bytes(pid)
    first_lookups = [
        SearchRequest(tenant_id=tenant.tenant_id, digits="2", complete=True) for tenant in tenants
    ]
    (warm,) = await phase([lambda n: search(first_lookups[n])], len(first_lookups), 8)
    rss_after = rss_bytes(pid)
    _, body = await get(ops_port, "/metrics")
    entries = metric(body, "rcp_directory_index_entries")
    index_bytes = metric(body, "rcp_directory_index_bytes")
    print(f"directory process, first lookup of each of {len(tenants):,} tenants (lazy loads):")
    elapsed = warm.count / warm.per_second
    print(f"  {warm.count:,} tenants, {entries:,.0f} entries loaded in {elapsed:.1f} s")
    print(
        f"  index memory: {index_bytes / 2**20:.0f} MiB counted ({index_bytes / entries:.0f} bytes"
        f" an entry); process RSS {rss_before / 2**20:.0f} -> {rss_after / 2**20:.0f} MiB"
        f" (+{(rss_after - rss_before) / entries * 100_000 / 2**20:.1f} MiB per 100,000 entries)"
    )

    # Requests are encoded beforehand and replies only checked for errors, not decoded, so
    # that this process (one Python client for both services) weighs as little as it can.
    echoes = [
        EchoRequest(tenant_id=message.tenant_id, payload=message.digits).model_dump_json().encode()
        for message in searches
    ]
    lookups = [message.model_dump_json().encode() for message in searches]
    # "echo sized" is asked with requests as long as the searches, and answers as long.
    sized_echoes = [
        _as_long_as(message, len(lookup)) for message, lookup in zip(searches, lookups, strict=True)
    ]
    print(
        "requests' JSON, bytes on average: directory"
        f" {statistics.mean(map(len, lookups)):.0f}, echo {statistics.mean(map(len, echoes)):.0f},"
        f" echo sized {statistics.mean(map(len, sized_echoes)):.0f}"
    )
    echo_subjects = [subjects.ECHO.subject(message.tenant_id, scope) for message in searches]
    sized_subjects = [SIZED.subject(message.tenant_id, scope) for message in searches]
    search_subjects = [
        subjects.DIRECTORY_SEARCH.subject(message.tenant_id, scope) for message in searches
    ]

    def echo_n(n: int) -> Awaitable[int]:
        return _raw(nc, echo_subjects[n // 2], echoes[n // 2])

    def search_n(n: int) -> Awaitable[int]:
        return _raw(nc, search_subjects[n // 2], lookups[n // 2])

    def sized_n(n: int) -> Awaitable[int]:
        return _raw(nc, sized_subjects[n // 2], sized_echoes[n // 2])

    both = [echo_n, search_n]
    # Warm every path (connections, code) before measuring.
    await phase(both, 1000, 8)
    await phase([sized_n, echo_n], 1000, 8)
    server = nc.connected_url
    port = server.port if server is not None and server.port is not None else 4222
    nats_pid = listening_pid(port)
    print(
        f"nats-server: {'not found' if nats_pid is None else f'pid {nats_pid}'},"
        f" listening on port {port}"
    )
    print(f"lookups over NATS ({len(searches):,} searches at most per run, random tenants):")
    print(
        "  load                 | service    | lookups/s | p50 ms | p99 ms "
        "| p50 / echo p50 | p99 / echo p99"
    )
    paced_count = min(len(searches), int(rate * 10))
    runs: list[tuple[str, list[tuple[str, Stats]]]] = []
    for load, alternated in (
        ("1 in flight", await phase(both, 2 * len(searches), 1)),
        (f"{rate:,.0f}/s open loop", await paced(both, 2 * paced_count, 2 * rate)),
    ):
        runs.append((load, [*zip(("echo", "directory"), alternated, strict=True)]))
    # Saturation, `rounds` times: each round measures each service alone, the echo, the echo
    # of results as long as the directory's ("echo sized"), then the directory.
    services: dict[str, tuple[int, Send]] = {
        "echo": (echo_pid, echo_n),
        "echo sized": (echo_pid, sized_n),
        "directory": (pid, search_n),
    }
    saturated, cpu = await _saturate(services, len(searches), concurrency, rounds, slices, nats_pid)
    for round_number in range(rounds):
        runs.append(
            (
                f"{concurrency} in flight, #{round_number + 1}",
                [(name, each[round_number]) for name, each in saturated.items()],
            )
        )
    for load, measured in runs:
        _, echo_stats = measured[0]
        for name, stats in measured:
            print(
                f"  {load:<20} | {name:<10} | {stats.per_second:>9,.0f} | {stats.p50_ms:>6.2f}"
                f" | {stats.p99_ms:>6.2f} | {stats.p50_ms / echo_stats.p50_ms:>14.2f}"
                f" | {stats.p99_ms / echo_stats.p99_ms:>14.2f}"
            )
    for baseline in ("echo", "echo sized"):
        ratios = [
            directory.per_second / echo.per_second
            for echo, directory in zip(saturated[baseline], saturated["directory"], strict=True)
        ]
        print(
            f"  saturated throughput, directory / {baseline} over {rounds} rounds: median"
            f" {statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]"
        )
    _print_cpu(cpu, concurrency)
    _, body = await get(ops_port, "/metrics")
    several = metric(body, 'rcp_directory_lookups_total{endpoint="search",result="several"}')
    one = metric(body, 'rcp_directory_lookups_total{endpoint="search",result="one"}')
    none = metric(body, 'rcp_directory_lookups_total{endpoint="search",result="none"}')
    errors = metric(body, 'rcp_directory_lookups_total{endpoint="search",result="error"}')
    print(
        f"  results: {several:,.0f} several, {one:,.0f} one, {none:,.0f} none, {errors:,.0f} errors"
    )


async def _saturate(
    services: dict[str, tuple[int, Send]],
    count: int,
    concurrency: int,
    rounds: int,
    slices: int,
    nats_pid: int | None,
) -> tuple[dict[str, list[Stats]], dict[str, list[list[float]]]]:
    """Each service (its process, how to send it lookup n) alone at `concurrency` in flight,
    `count` lookups, `rounds` times: its stats, and the CPU time per lookup its process,
    this client and the NATS server (`nats_pid`) spent (`cpu_now`), by service then round.

    A round sends each service's lookups in `slices` slices, the services taking turns
    slice by slice (each still alone while its slice runs): the machine's load, which moves
    within seconds, then falls on each service alike."""
    saturated: dict[str, list[Stats]] = {name: [] for name in services}
    cpu: dict[str, list[list[float]]] = {name: [] for name in services}
    size = -(-count // slices)
    for _ in range(rounds):
        latencies: dict[str, list[float]] = {name: [] for name in services}
        elapsed = dict.fromkeys(services, 0.0)
        used: dict[str, list[float]] = {name: [0.0] * 4 for name in services}
        for start in range(0, count, size):
            for name, (service_pid, send) in services.items():

                def alone(n: int, send: Send = send) -> Awaitable[object]:
                    return send(2 * n)  # a send's n counts both services' lookups: n // 2 its own

                pids = (service_pid, os.getpid(), nats_pid)
                before = cpu_now(pids)
                (each,), seconds = await _timed(
                    [alone], range(start, min(start + size, count)), concurrency
                )
                after = cpu_now(pids)
                latencies[name] += each
                elapsed[name] += seconds
                used[name] = [
                    total + end - begin
                    for total, end, begin in zip(used[name], after, before, strict=True)
                ]
        for name in services:
            done = len(latencies[name])
            saturated[name].append(_stats(latencies[name], elapsed[name]))
            cpu[name].append([seconds / done * 1e6 for seconds in used[name]])
    return saturated, cpu


def _print_cpu(cpu: dict[str, list[list[float]]], concurrency: int) -> None:
    """The CPU time per lookup of each round, and the directory's against each echo's."""
    print(f"CPU time per lookup at {concurrency} in flight, µs (from /proc):")
    print("  round              | service (kernel) | client | nats-server | all three")
    for round_number in range(len(cpu["directory"])):
        for name, rounds in cpu.items():
            service_us, client_us, nats_us, kernel_us = rounds[round_number]
            total = service_us + client_us + nats_us
            print(
                f"  #{round_number + 1} {name:<15} | {service_us:>7.0f} ({kernel_us:>5.0f})"
                f" | {client_us:>6.0f} | {nats_us:>11.0f} | {total:>9.0f}"
            )
    for baseline in ("echo", "echo sized"):
        pairs = list(zip(cpu[baseline], cpu["directory"], strict=True))
        service = [directory[0] / echo[0] for echo, directory in pairs]
        every = [sum(directory[:3]) / sum(echo[:3]) for echo, directory in pairs]
        print(
            f"  directory / {baseline}, median [min-max] of rounds: service CPU per lookup"
            f" {statistics.median(service):.2f} [{min(service):.2f}-{max(service):.2f}],"
            f" all three {statistics.median(every):.2f} [{min(every):.2f}-{max(every):.2f}]"
        )


async def run(arguments: argparse.Namespace) -> None:
    settings = Settings()
    rng = random.Random(arguments.seed)
    tenants = generate(rng, arguments.tenants, arguments.per_tenant)
    print(
        f"directory benchmark: {arguments.tenants:,} tenants x {arguments.per_tenant:,} entries,"
        f" {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    async with scratch_database(settings) as url:
        started = time.perf_counter()
        await insert(url, tenants)
        print(f"database filled in {time.perf_counter() - started:.1f} s")
        await report_build(url, tenants, rng)
        await report_nats(
            url,
            tenants,
            rng,
            lookups=arguments.lookups,
            concurrency=arguments.concurrency,
            rate=arguments.rate,
            rounds=arguments.rounds,
            slices=arguments.slices,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.directory", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--per-tenant", type=int, default=1000)
    parser.add_argument("--lookups", type=int, default=20_000, help="searches per measured run")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--rate", type=float, default=500, help="open-loop lookups a second, each")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="saturated runs, each service")
    parser.add_argument(
        "--slices", type=int, default=10, help="turns the services take in a saturated run"
    )
    arguments = parser.parse_args()
    with suppress(KeyboardInterrupt):
        asyncio_run(run(arguments))
