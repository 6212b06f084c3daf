"""What the benchmarks share: waiting for a server they started, the figures they report, a
scratch database, and a SIGTERM unwinding a run as Ctrl-C does."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import asyncpg

T = TypeVar("T")


async def wait_http(url: str, timeout_s: float = 60) -> None:
    """Return once `url` answers without a server error; raise after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s} s")


TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """User plus system CPU seconds a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # after "(comm)"
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """The median, the 99th percentile and the largest of `values`."""
    ordered = sorted(values)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return statistics.median(ordered), p99, ordered[-1]


@contextlib.asynccontextmanager
async def scratch_database(database_url: str) -> AsyncIterator[str]:
    """A database of the benchmark's own (`rcp_bench_<random>`, empty) on the server of
    `database_url`, dropped at the end; its URL."""
    base, _, _ = database_url.rpartition("/")
    name = f"rcp_bench_{uuid.uuid4().hex[:8]}"
    server = await asyncpg.connect(f"{base}/postgres")
    try:
        await server.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{base}/{name}"
        finally:
            await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await server.close()


def asyncio_run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, a SIGTERM (a timeout's) unwinding it as Ctrl-C does: `main` is
    cancelled, its `finally` blocks run (scratch databases dropped, servers stopped), then the
    process exits with 128 + SIGTERM."""
    terminated = False

    async def guarded() -> T:
        nonlocal terminated
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def cancel() -> None:
            nonlocal terminated
            terminated = True
            task.cancel()

        loop.add_signal_handler(signal.SIGTERM, cancel)
        try:
            return await main
        finally:
            loop.remove_signal_handler(signal.SIGTERM)

    try:
        return asyncio.run(guarded())
    except asyncio.CancelledError:
        if terminated:
            raise SystemExit(128 + signal.SIGTERM) from None
        raise
