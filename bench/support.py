"""What the benchmarks share: waiting for a server they started, and the figures they report."""

from __future__ import annotations

import asyncio
import statistics
import time

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


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """The median, the 99th percentile and the largest of `values`."""
    ordered = sorted(values)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return statistics.median(ordered), p99, ordered[-1]
