"""Calls' trace steps published together (pipelined), on a nats-server of the test's own that
the tests stall or restart: every step reaches the events stream once, in the order it was made."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats_support import as_user, login
from prometheus_client import CollectorRegistry
from rcp import subjects
from rcp.contracts import CallEvent
from rcp.messaging import connect_nats, ensure_streams
from rcp.settings import CommonSettings
from rcp_devstack.natsserver import PrivateNats, private_nats
from rcp_devstack.settings import StackSettings
from rcp_stasis import executor
from rcp_stasis.directory import NatsDirectory
from rcp_stasis.executor import CallServices, publish_steps
from rcp_stasis.limits import CallLimits
from rcp_stasis.media import NatsPrompts
from rcp_stasis.metrics import StasisMetrics
from rcp_stasis.room_locks import LockPolicy, RoomLocks

KINDS = ("started", "menu", "key", "transfer", "transfer_result", "ended")


@pytest.fixture
def server(tmp_path: Path, settings: StackSettings) -> Iterator[PrivateNats]:
    with private_nats(tmp_path, settings.nats_credentials_dir) as started:
        yield started


@pytest.fixture
async def services(server: PrivateNats, settings: StackSettings) -> AsyncIterator[CallServices]:
    """What calls share, on the private server, connected as the stasis service."""
    stasis = as_user(CommonSettings(nats_url=server.url), "stasis")
    async with connect_nats(stasis, "stasis") as nc:
        js = nc.jetstream()
        await ensure_streams(js)
        yield CallServices(
            prompts=NatsPrompts(nc, scope="", timeout_s=1.0, budget_s=2.0),
            directory=NatsDirectory(nc, "", timeout_s=1.0, budget_s=2.0),
            jetstream=js,
            save_voicemail=lambda message: None,
            discard_recording=lambda name: None,
            metrics=StasisMetrics(CollectorRegistry()),
            limits=CallLimits(10),
            room_locks=RoomLocks(LockPolicy()),
        )


@pytest.fixture
async def reader(server: PrivateNats) -> AsyncIterator[NatsClient]:
    client = await nats.connect(server.url, **login())
    try:
        yield client
    finally:
        await client.close()


def call_steps(tenant: uuid.UUID, call_id: str, count: int) -> list[tuple[CallEvent, str]]:
    """`count` steps of one call with their message ids, in the order the call made them."""
    return [
        (
            CallEvent(
                tenant_id=tenant,
                call_id=call_id,
                kind=KINDS[i % len(KINDS)],
                data={"n": i},
            ),
            f"{call_id}:{i + 1}",
        )
        for i in range(count)
    ]


async def stored(reader: NatsClient, tenant: uuid.UUID, count: int) -> list[int]:
    """The `n` of each of the tenant's steps in the stream, in stream order (once `count` are
    there, or whatever is there after 30 s)."""
    js = reader.jetstream()
    sub = await js.pull_subscribe(
        subjects.tenant_call_events(tenant), stream=subjects.EVENTS_STREAM
    )
    found: list[int] = []
    async with asyncio.timeout(30):
        while len(found) < count:
            try:
                messages = await sub.fetch(count, timeout=1)
            except TimeoutError:  # nats-py's, or asyncio's when its deadline ran out first
                continue
            for message in messages:
                found.append(CallEvent.model_validate_json(message.data).data["n"])
                await message.ack()
    with_more = await _more(sub)
    await sub.unsubscribe()
    return found + with_more


async def _more(sub: nats.js.JetStreamContext.PullSubscription) -> list[int]:
    """Whatever else the stream holds for the tenant (duplicates would be there)."""
    try:
        messages = await sub.fetch(100, timeout=1)
    except TimeoutError:  # nats-py's, or asyncio's when its deadline ran out first
        return []
    return [CallEvent.model_validate_json(m.data).data["n"] for m in messages]


def failures(services: CallServices) -> float:
    """rcp_stasis_trace_publish_failures_total."""
    family = next(iter(services.metrics.trace_publish_failures.collect()))
    return sum(s.value for s in family.samples if s.name.endswith("_total"))


async def test_steps_published_together_are_stored_once_each_in_the_order_they_were_made(
    services: CallServices, reader: NatsClient
) -> None:
    tenant = uuid.uuid4()
    await publish_steps(services, call_steps(tenant, "call-a", 40))
    assert await stored(reader, tenant, 40) == list(range(40))
    assert failures(services) == 0


async def test_steps_published_during_a_nats_stall_are_all_stored_once_in_order_after_it(
    services: CallServices,
    reader: NatsClient,
    server: PrivateNats,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Their acknowledgements are given up on soon, so that the steps go again one by one
    # while the server is still frozen: the retries are what is put to the proof.
    monkeypatch.setattr(executor, "PUBLISH_ACK_WAIT_S", 0.5)
    tenant = uuid.uuid4()
    server.pause()
    try:
        publishing = asyncio.create_task(publish_steps(services, call_steps(tenant, "call-b", 30)))
        await asyncio.sleep(2.0)
    finally:
        server.resume()
    await asyncio.wait_for(publishing, 60)
    assert await stored(reader, tenant, 30) == list(range(30))
    assert failures(services) >= 1


async def test_draining_waits_for_the_steps_of_ended_calls_held_back_by_a_stall(
    services: CallServices, reader: NatsClient, server: PrivateNats
) -> None:
    tenant = uuid.uuid4()
    server.pause()
    try:
        for call in ("call-c", "call-d"):  # calls ended: their publishers go on after them
            task = asyncio.create_task(publish_steps(services, call_steps(tenant, call, 10)))
            services.publishing.add(task)
            task.add_done_callback(services.publishing.discard)
        await asyncio.sleep(1.0)
        assert len(services.publishing) == 2  # nothing acknowledged while NATS is frozen
    finally:
        server.resume()
    await services.drain_publishing(60)
    found = await stored(reader, tenant, 20)
    assert sorted(found) == sorted(list(range(10)) * 2)
    assert services.publishing == set()


async def test_steps_published_across_a_nats_restart_are_all_stored_once_in_order(
    services: CallServices,
    reader: NatsClient,
    server: PrivateNats,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A blip: the server stops (its port refuses) and starts again on its store while a call
    # publishes; the steps before, during and after it are all there, once, in order.
    monkeypatch.setattr(executor, "PUBLISH_ACK_WAIT_S", 0.5)
    tenant = uuid.uuid4()
    steps = call_steps(tenant, "call-e", 30)
    await publish_steps(services, steps[:10])
    await asyncio.to_thread(server.stop)
    try:
        publishing = asyncio.create_task(publish_steps(services, steps[10:20]))
        await asyncio.sleep(1.5)
        assert not publishing.done()  # nothing is acknowledged while NATS is down
    finally:
        await asyncio.to_thread(server.start)
    await asyncio.wait_for(publishing, 60)
    await publish_steps(services, steps[20:])
    assert await stored(reader, tenant, 30) == list(range(30))
    assert failures(services) >= 1


async def test_draining_waits_for_the_steps_of_ended_calls_held_back_by_a_nats_restart(
    services: CallServices, reader: NatsClient, server: PrivateNats
) -> None:
    tenant = uuid.uuid4()
    await asyncio.to_thread(server.stop)
    try:
        for call in ("call-f", "call-g"):  # calls ended while NATS was down
            task = asyncio.create_task(publish_steps(services, call_steps(tenant, call, 10)))
            services.publishing.add(task)
            task.add_done_callback(services.publishing.discard)
        await asyncio.sleep(1.0)
        assert len(services.publishing) == 2
    finally:
        await asyncio.to_thread(server.start)
    await services.drain_publishing(60)
    found = await stored(reader, tenant, 20)
    assert sorted(found) == sorted(list(range(10)) * 2)
    assert services.publishing == set()
