"""A bare echo service on `nats.micro`: the baseline the directory's latency is compared to.

Run as its own process, like the directory: `python -m bench.directory.echo SCOPE`.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from nats.micro import add_service
from rcp import subjects
from rcp.contracts import EchoRequest, EchoResult
from rcp.messaging import connect_nats, endpoint
from rcp.settings import CommonSettings


async def echo(request: EchoRequest) -> EchoResult:
    """Send the payload back."""
    return EchoResult(payload=request.payload)


async def serve(scope: str) -> None:
    """Answer echo requests (every tenant's, in `scope`) until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # The local stack's development user (rcp.nats_access): a benchmark plays every part.
    async with connect_nats(CommonSettings(nats_user="tests"), "bench-echo") as nc:
        service = await add_service(
            nc, name=subjects.ECHO_SERVICE, version="1.0.0", queue_group=subjects.ECHO_SERVICE
        )
        await service.add_endpoint(
            name="echo",
            subject=subjects.ECHO.every_tenant(scope),
            handler=endpoint(EchoRequest, echo),
        )
        await nc.flush()
        await stop.wait()
        await service.stop()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
