"""A NATS server that stalls (SIGSTOP, then SIGCONT) on a private nats-server of the test's own.

The first test reproduces nats-py's behaviour that made the services deaf after a stall
(docs/nats-client.md): should it fail one day, nats-py has changed and the note is stale.
The others prove that the services' readiness check and connection settings survive it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats_support import TESTS, login
from rcp.config_events import NatsConfigPublisher
from rcp.messaging import NatsProbe, connect_nats
from rcp.settings import CommonSettings
from rcp.telemetry import Metrics
from rcp_devstack.natsserver import PrivateNats, private_nats
from rcp_devstack.settings import StackSettings

SUBJECT = "rcp.test.stall.echo"


@pytest.fixture
def server(tmp_path: Path, settings: StackSettings) -> Iterator[PrivateNats]:
    with private_nats(tmp_path, settings.nats_credentials_dir) as started:
        yield started


@pytest.fixture
async def responder(server: PrivateNats) -> AsyncIterator[NatsClient]:
    """Another client that answers every request on SUBJECT (it stalls with the server)."""
    client = await nats.connect(
        server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2, **login()
    )

    async def echo(msg: Msg) -> None:
        await msg.respond(msg.data)

    await client.subscribe(SUBJECT, cb=echo)
    await client.flush()
    try:
        yield client
    finally:
        await client.close()


async def answers(client: NatsClient, timeout_s: float = 1.0) -> bool:
    """Whether a request through the server comes back."""
    try:
        reply = await client.request(SUBJECT, b"ping", timeout=timeout_s)
    except (NatsTimeoutError, nats.errors.NoRespondersError):
        return False
    return reply.data == b"ping"


async def until_answers(client: NatsClient, within_s: float) -> float:
    """Seconds until a request through the server comes back; fail after `within_s`."""
    start = time.monotonic()
    while time.monotonic() - start < within_s:
        if await answers(client):
            return time.monotonic() - start
        await asyncio.sleep(0.2)
    pytest.fail(f"no request came back within {within_s} s")


async def test_nats_py_flush_that_times_out_in_a_stall_leaves_the_client_deaf(
    server: PrivateNats, responder: NatsClient
) -> None:
    # nats-py's defaults: a ping every 2 minutes, so nothing replaces the connection here.
    client = await nats.connect(server.url, **login())
    try:
        assert await answers(client)
        server.pause()
        with pytest.raises(NatsTimeoutError):
            await client.flush(timeout=1)
        server.resume()
        await asyncio.sleep(1)  # the late PONG arrives and stops the client's read loop
        assert client.is_connected
        assert not await answers(client, timeout_s=2)
        started = time.monotonic()
        await client.flush(timeout=1)  # "ok" at once: the probe lies
        assert time.monotonic() - started < 0.5
    finally:
        await client.close()


async def test_a_config_announcement_met_by_a_stall_leaves_the_admins_client_working(
    server: PrivateNats, responder: NatsClient
) -> None:
    # The admin waits for each announcement to reach the server, at most FLUSH_TIMEOUT_S: a
    # wait cut short by a stall must not leave its client deaf once the server goes on.
    client = await nats.connect(server.url, **login())  # nats-py's defaults, as above
    publisher = NatsConfigPublisher(client, Metrics("admin"))
    try:
        await publisher.changed(uuid.uuid4(), "key", "3")
        server.pause()
        await publisher.changed(uuid.uuid4(), "key", "3")  # cut short, logged, not raised
        server.resume()
        await asyncio.sleep(1)
        assert await answers(client, timeout_s=2)
        await publisher.changed(uuid.uuid4(), "key", "3")
    finally:
        await client.close()


async def test_readiness_fails_during_a_stall_and_the_client_works_after_it(
    server: PrivateNats, responder: NatsClient
) -> None:
    settings = CommonSettings(nats_url=server.url, nats_user=TESTS)
    async with connect_nats(settings, "stall-test") as client:
        probe = NatsProbe(client)
        await probe.check(2)
        server.pause()
        for _ in range(3):  # a readiness check every second, as Kubernetes would
            with pytest.raises(TimeoutError):
                await probe.check(1)
        server.resume()
        await until_answers(client, within_s=10)
        await probe.check(2)


async def test_a_long_stall_is_detected_by_pings_and_the_connection_replaced(
    server: PrivateNats, responder: NatsClient
) -> None:
    settings = CommonSettings(
        nats_url=server.url, nats_user=TESTS, nats_ping_interval_s=1, nats_max_outstanding_pings=2
    )
    async with connect_nats(settings, "stall-test") as client:
        probe = NatsProbe(client)
        await probe.check(2)
        connected_to = client.stats["reconnects"]
        server.pause()
        with pytest.raises(TimeoutError):
            await probe.check(1)
        for _ in range(75):  # at most 15 s
            if not client.is_connected:
                break
            await asyncio.sleep(0.2)
        assert not client.is_connected, "the stalled connection was never given up"
        server.resume()
        recovered_s = await until_answers(client, within_s=20)
        assert client.stats["reconnects"] > connected_to
        await probe.check(2)
        print(f"stall: answers again {recovered_s:.1f} s after SIGCONT")  # noqa: T201
