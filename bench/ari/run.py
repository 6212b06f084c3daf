"""One ARI request, over HTTP and on the event WebSocket: the CPU each costs stasis and Asterisk.

    .venv/bin/python -m bench.ari.run [--requests 3000] [--concurrency 10] [--rounds 3]

Needs the local stack's Asterisk (./rcp infra). Two `AriConnection`s of stasis's own adapter
on applications of their own, one with requests on the WebSocket (the default), one with them
turned off (`rest_over_websocket=False`: HTTP through aiohttp on kept-alive connections), make
the same request (`applications.get`: a small JSON answer, nothing changed in Asterisk)
`--requests` times, `--concurrency` at a time. Per request: this process's CPU (user +
system, the adapter's whole cost: building the request, the send, reading and decoding the
answer) and Asterisk's (`/proc/<pid>/stat`, all its threads; other users of the same Asterisk
land in it too, so its idle rate is printed first). Each round measures both transports, in
turn; figures are medians of the rounds with [min-max].
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from pathlib import Path

from rcp_devstack.settings import StackSettings
from rcp_stasis.ari import AriConnection
from rcp_stasis.ports import AriCallPort

TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system


async def no_calls(call: AriCallPort) -> None:
    """Calls are not what this bench makes."""


async def measure(
    connection: AriConnection, asterisk_pid: int, requests: int, concurrency: int
) -> tuple[float, float]:
    """Microseconds of CPU per request: this process's, Asterisk's."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await connection.operation("applications", "get", applicationName=connection.app)

    mine, theirs = own_cpu_s(), process_cpu_s(asterisk_pid)
    await asyncio.gather(*(one() for _ in range(requests)))
    mine, theirs = own_cpu_s() - mine, process_cpu_s(asterisk_pid) - theirs
    return mine / requests * 1e6, theirs / requests * 1e6


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):6.0f} [{min(values):.0f}-{max(values):.0f}]"


async def main(requests: int, concurrency: int, rounds: int) -> None:
    settings = StackSettings()
    asterisk_pid = int((settings.run_dir / "asterisk.pid").read_text())
    idle = process_cpu_s(asterisk_pid)
    await asyncio.sleep(2.0)
    idle_ms_per_s = (process_cpu_s(asterisk_pid) - idle) / 2.0 * 1000
    print(f"bench/ari: Asterisk pid {asterisk_pid}, idle {idle_ms_per_s:.0f} CPU ms/s")
    tag = uuid.uuid4().hex[:8]

    def connection(app: str, *, rest_over_websocket: bool) -> AriConnection:
        return AriConnection(
            url=settings.ari_url,
            user=settings.ari_user,
            password=settings.ari_password,
            app=f"bench-ari-{app}-{tag}",
            handle_call=no_calls,
            rest_over_websocket=rest_over_websocket,
        )

    figures: dict[str, tuple[list[float], list[float]]] = {"HTTP": ([], []), "WebSocket": ([], [])}
    async with (
        connection("ws", rest_over_websocket=True) as socket,
        connection("http", rest_over_websocket=False) as http,
    ):
        async with asyncio.timeout(30):
            await http.wait_connected()
            while not socket.requests_on_websocket:  # noqa: ASYNC110 - the adapter's own state
                await asyncio.sleep(0.05)
        for warming in (http, socket):  # warm up: connections, operation descriptions
            await measure(warming, asterisk_pid, 200, concurrency)
        for _ in range(rounds):
            for name, measured in (("HTTP", http), ("WebSocket", socket)):
                started = time.monotonic()
                mine, theirs = await measure(measured, asterisk_pid, requests, concurrency)
                figures[name][0].append(mine)
                figures[name][1].append(theirs)
                print(f"  {name:9} {requests} requests in {time.monotonic() - started:.2f} s")
    print(f"{requests} requests x {rounds} round(s), {concurrency} at a time; CPU us per request")
    print("  transport      adapter (this process)     Asterisk")
    for name, (adapter, asterisk) in figures.items():
        print(f"  {name:9}      {summary(adapter):>20}     {summary(asterisk):>16}")
    socket_cost, http_cost = figures["WebSocket"], figures["HTTP"]
    ratios = [
        summary_ratio([w / h for w, h in zip(socket_cost[i], http_cost[i], strict=True)])
        for i in (0, 1)
    ]
    print(f"  WebSocket / HTTP: adapter {ratios[0]}, Asterisk {ratios[1]}")


def summary_ratio(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.concurrency, arguments.rounds))
