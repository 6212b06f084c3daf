"""What the benchmarks share: waiting for a server they started, and the figures they report."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from pathlib import Path

import aiohttp


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
