"""Load generator run in its own process by bench_media.py: GET one URL from N workers.

python bench/media/load.py URL CONCURRENCY REQUESTS   -> prints "<requests/s> <bytes>"
"""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp


async def main(url: str, concurrency: int, total: int) -> None:
    left = total
    received = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal left, received
        while left > 0:
            left -= 1
            async with session.get(url) as response:
                body = await response.read()
                assert response.status == 200, response.status
                received += len(body)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        # Warm the connections first.
        async with session.get(url) as response:
            await response.read()
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    print(f"{total / elapsed:.1f} {received}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
