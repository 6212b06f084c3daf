"""A bare echo service on `nats.micro`: the baseline the directory's latency is compared to.

Run as its own process, like the directory: `python -m bench.directory.echo SCOPE [BYTES]`.
Two endpoints: `subjects.ECHO` sends the payload back; `SIZED` sends it back lengthened so
that the result's JSON is BYTES long (the size of the directory's results, so that the bytes
carried are the same as the directory's, whatever the echo's own payload).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable

from nats.micro import add_service
from rcp import subjects
from rcp.contracts import EchoRequest, EchoResult
from rcp.messaging import connect_nats, endpoint
from rcp.settings import CommonSettings

SIZED = subjects.TenantRequest(subjects.ECHO_SERVICE, "sized")


async def echo(request: EchoRequest) -> EchoResult:
    """Send the payload back."""
    return EchoResult(payload=request.payload)


def sized_echo(result_bytes: int) -> Callable[[EchoRequest], Awaitable[EchoResult]]:
    """`echo`, its payload followed by dots up to a result of `result_bytes` bytes of JSON."""
    room = result_bytes - len(EchoResult(payload="").model_dump_json())
    dots = "." * max(room, 0)

    async def answer(request: EchoRequest) -> EchoResult:
        return EchoResult(payload=request.payload + dots[len(request.payload) :])

    return answer


async def serve(scope: str, result_bytes: int) -> None:
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
        await service.add_endpoint(
            name="sized",
            subject=SIZED.every_tenant(scope),
            handler=endpoint(EchoRequest, sized_echo(result_bytes)),
        )
        await nc.flush()
        await stop.wait()
        await service.stop()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0))
