"""The call-events consumer on real NATS JetStream and PostgreSQL: events in, call_records out.

Each test has a tenant of its own (through the admin API, which also reads the rows back),
and a durable consumer of its own filtered on that tenant's call events, deleted afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest_asyncio
from admin_support import Admin
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from prometheus_client import CollectorRegistry
from rcp import subjects
from rcp.contracts import CallEvent
from rcp.db.pool import create_pool
from rcp.messaging import ensure_streams, publish_event
from rcp.settings import CommonSettings
from rcp_devstack.settings import StackSettings
from rcp_stasis.call_records import CallRecords, CallRecordsConsumer, consumer_config
from rcp_stasis.metrics import StasisMetrics
from roles_support import service_pool, service_url
from stasis_ari_support import eventually
from stasis_e2e_support import provision, refuse_connections

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
CALLED = "+33199000001"


def event(tenant: uuid.UUID, call_id: str, kind: str, second: int, /, **data: Any) -> CallEvent:
    return CallEvent(
        tenant_id=tenant, call_id=call_id, kind=kind, at=T0 + timedelta(seconds=second), data=data
    )


def a_call(tenant: uuid.UUID, call_id: str) -> list[CallEvent]:
    """A call transferred to 101: the events the call flow publishes for it."""
    return [
        event(tenant, call_id, "started", 0, called_number=CALLED, caller_number="+33612345678"),
        event(tenant, call_id, "answered", 0),
        event(tenant, call_id, "menu", 1, reason="greeting", failures=0),
        event(tenant, call_id, "key", 4, digit="0", action="transfer"),
        event(tenant, call_id, "transfer", 4, kind="extension", number="101"),
        event(tenant, call_id, "transfer_result", 9, number="101", result="answered"),
        event(tenant, call_id, "ended", 95, outcome="transferred", by="caller"),
    ]


async def publish(js: JetStreamContext, events: list[CallEvent]) -> None:
    for item in events:
        await publish_event(js, subjects.call_event(item.tenant_id, item.kind), item)


@asynccontextmanager
async def consumer(
    js: JetStreamContext, pool: asyncpg.Pool, tenant: uuid.UUID, durable: str, **options: Any
) -> AsyncIterator[CallRecordsConsumer]:
    options.setdefault("retry_delay_s", 0.2)
    running = CallRecordsConsumer(
        js,
        CallRecords(pool),
        durable=durable,
        filter_subject=subjects.tenant_call_events(tenant),
        **options,
    )
    async with running:
        yield running


@pytest_asyncio.fixture
async def records_pool(migrated_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool of the stasis service's role, which writes call records."""
    async with service_pool(migrated_url, "stasis") as pool:
        yield pool


async def record_of(
    pool: asyncpg.Pool, tenant: uuid.UUID, call_id: str, ready: Callable[[Any], bool]
) -> Any:
    """The call's row once `ready(row)` holds (polled; fails after 30 s)."""
    async with asyncio.timeout(30):
        while True:
            row = await pool.fetchrow(
                "SELECT * FROM call_records WHERE tenant_id = $1 AND call_id = $2", tenant, call_id
            )
            if row is not None and ready(row):
                return row
            await asyncio.sleep(0.1)


async def new_tenant(admin: Admin) -> uuid.UUID:
    tenant_id, _ = await admin.tenant("calls")
    return uuid.UUID(tenant_id)


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}"


async def _delete_consumer(js: JetStreamContext, durable: str) -> None:
    await js.delete_consumer(subjects.EVENTS_STREAM, durable)


def ended(row: Any) -> bool:
    return row["ended_at"] is not None


def all_three(row: Any) -> bool:
    """The record holds `started`, `answered` and `ended`, in whatever order they came."""
    return ended(row) and len({entry["kind"] for entry in row["trace"]}) == 3


async def test_a_calls_events_become_one_call_record(
    admin: Admin, records_pool: asyncpg.Pool, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    tenant, call_id, durable = await new_tenant(admin), unique("call"), unique("records")
    await ensure_streams(js)
    await publish(js, a_call(tenant, call_id))
    try:
        async with consumer(js, records_pool, tenant, durable):
            row = await record_of(admin.pool, tenant, call_id, ended)
    finally:
        await _delete_consumer(js, durable)
    assert (row["called_number"], row["caller_number"]) == (CALLED, "+33612345678")
    assert (row["started_at"], row["answered_at"]) == (T0, T0)
    assert row["ended_at"] == T0 + timedelta(seconds=95)
    assert row["outcome"] == "transferred"
    kinds = [entry["kind"] for entry in row["trace"]]
    assert kinds == ["started", "answered", "menu", "key", "transfer", "transfer_result", "ended"]
    assert row["trace"][3]["data"] == {"digit": "0", "action": "transfer"}
    sequences = [entry["seq"] for entry in row["trace"]]
    assert sequences == sorted(sequences)

    calls = await admin.carrier.ok("GET", f"/v1/tenants/{tenant}/calls?outcome=transferred")
    assert [c["call_id"] for c in calls["items"]] == [call_id]


class _CutMidStatement(CallRecords):
    """Real writes, but the first `cuts` fail as a connection PostgreSQL ended in the middle
    of a statement fails in asyncpg: a race the real server gives now and then (seen when
    connections are refused and cut) and cannot be made to give on demand."""

    def __init__(self, pool: asyncpg.Pool, cuts: int) -> None:
        super().__init__(pool)
        self.cuts = cuts

    async def apply(self, event: CallEvent, sequence: int) -> Any:
        if self.cuts > 0:
            self.cuts -= 1
            raise asyncpg.InternalClientError(
                "cannot switch to state 11; another operation (2) is in progress"
            )
        return await super().apply(event, sequence)


async def test_a_connection_cut_mid_statement_is_a_failed_write_retried_not_a_stopped_consumer(
    admin: Admin, records_pool: asyncpg.Pool, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    tenant, call_id, durable = await new_tenant(admin), unique("call"), unique("records")
    registry = CollectorRegistry()
    metrics = StasisMetrics(registry)
    records = _CutMidStatement(records_pool, cuts=3)
    await ensure_streams(js)
    await publish(js, a_call(tenant, call_id))
    running = CallRecordsConsumer(
        js,
        records,
        durable=durable,
        filter_subject=subjects.tenant_call_events(tenant),
        retry_delay_s=0.05,
        counted=metrics.call_events,
    )
    try:
        async with running:
            row = await record_of(admin.pool, tenant, call_id, ended)
            await running.check()  # still running: ready
    finally:
        await _delete_consumer(js, durable)
    assert records.cuts == 0
    assert _count(registry, "write_failed") == 3
    assert _count(registry, "written") == 7
    assert row["outcome"] == "transferred"
    assert len(row["trace"]) == 7


async def test_redelivered_events_are_written_once(
    admin: Admin, records_pool: asyncpg.Pool, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    tenant, call_id, durable = await new_tenant(admin), unique("call"), unique("records")
    events = a_call(tenant, call_id)
    await ensure_streams(js)
    await publish(js, events)
    records = CallRecords(records_pool)
    try:
        # An instance writes every event and dies before acknowledging any of them...
        subscription = await js.pull_subscribe(
            subjects.tenant_call_events(tenant),
            durable=durable,
            stream=subjects.EVENTS_STREAM,
            config=consumer_config(durable, subjects.tenant_call_events(tenant), ack_wait_s=1.0),
        )
        messages = await subscription.fetch(len(events), timeout=10)
        for message in messages:
            parsed = CallEvent.model_validate_json(message.data)
            await records.apply(parsed, message.metadata.sequence.stream)
        await subscription.unsubscribe()
        # ...so JetStream delivers them all again to the next one.
        async with consumer(js, records_pool, tenant, durable, ack_wait_s=1.0) as running:
            await eventually(lambda: running.applied >= len(events))
    finally:
        await _delete_consumer(js, durable)
    assert running.redelivered == len(events)
    row = await record_of(admin.pool, tenant, call_id, ended)
    assert len(row["trace"]) == len(events)
    assert row["outcome"] == "transferred"


async def test_events_that_arrive_before_the_start_wait_for_it(
    admin: Admin, records_pool: asyncpg.Pool, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    tenant, call_id, durable = await new_tenant(admin), unique("call"), unique("records")
    started, answered, *_, last = a_call(tenant, call_id)
    await ensure_streams(js)
    try:
        async with consumer(js, records_pool, tenant, durable):
            await publish(js, [answered, last])  # another instance is slow with `started`
            await asyncio.sleep(0.5)
            await publish(js, [started])
            # The two handed back come again each in its own time: `ended` may be written
            # before `answered`; the record is whole once all three are.
            row = await record_of(admin.pool, tenant, call_id, all_three)
    finally:
        await _delete_consumer(js, durable)
    assert (row["answered_at"], row["outcome"]) == (T0, "transferred")
    assert {entry["kind"] for entry in row["trace"]} == {"started", "answered", "ended"}


async def test_an_outcome_outside_the_list_is_recorded_as_failed(
    admin: Admin, records_pool: asyncpg.Pool, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    tenant, call_id, durable = await new_tenant(admin), unique("call"), unique("records")
    started, *_ = a_call(tenant, call_id)
    await ensure_streams(js)
    await publish(js, [started, event(tenant, call_id, "ended", 3, outcome="vanished")])
    try:
        async with consumer(js, records_pool, tenant, durable):
            row = await record_of(admin.pool, tenant, call_id, ended)
    finally:
        await _delete_consumer(js, durable)
    assert row["outcome"] == "failed"


async def test_events_that_can_never_be_written_are_dropped_and_the_rest_flows(
    admin: Admin, records_pool: asyncpg.Pool, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    tenant, durable = await new_tenant(admin), unique("records")
    ghost = uuid.uuid4()  # no such tenant: the row would break a foreign key
    await ensure_streams(js)
    subject = subjects.call_event(tenant, "started")
    await nats_client.publish(subject, b"not json at all")
    await js.publish(subject, b'{"tenant_id": "' + str(tenant).encode() + b'", "kind": "x"}')
    bad_number = event(tenant, unique("call"), "started", 0, called_number="0612345678")
    await publish(js, [bad_number])
    good = unique("call")
    await publish(js, a_call(tenant, good))
    try:
        async with consumer(js, records_pool, tenant, durable):
            row = await record_of(admin.pool, tenant, good, ended)
        records = CallRecords(records_pool)
        orphan = event(ghost, unique("call"), "started", 0, called_number=CALLED)
        refused = await records.apply(orphan, 1)
    finally:
        await _delete_consumer(js, durable)
    assert row["outcome"] == "transferred"
    assert refused == "refused"
    count = await admin.pool.fetchval(
        "SELECT count(*) FROM call_records WHERE tenant_id = $1", tenant
    )
    assert count == 1


async def test_events_of_a_tenant_that_does_not_exist_are_dropped_at_once(
    admin: Admin,
    records_pool: asyncpg.Pool,
) -> None:
    # Without its tenant, a call's `started` never lands: its later events must not wait for
    # it (they would hold the consumer's pending slots, redelivered again and again), while
    # those of an existing tenant whose `started` is late do wait.
    records = CallRecords(records_pool)
    ghost, tenant = uuid.uuid4(), await new_tenant(admin)
    late = await records.apply(event(ghost, unique("call"), "menu", 1, reason="greeting"), 1)
    early = await records.apply(event(tenant, unique("call"), "menu", 1, reason="greeting"), 2)
    assert late == "refused"
    assert early == "not_started"


class _CountingPool:
    """The pool, counting the connections taken from it (one per round trip or group)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.acquired = 0

    def acquire(self) -> Any:
        self.acquired += 1
        return self._pool.acquire()

    def __getattr__(self, name: str) -> Any:
        if name in {"execute", "fetchval", "fetch", "fetchrow"}:
            self.acquired += 1
        return getattr(self._pool, name)


async def test_events_handed_over_together_are_written_on_one_connection(
    admin: Admin, records_pool: asyncpg.Pool
) -> None:
    counting = _CountingPool(records_pool)
    records = CallRecords(counting)  # type: ignore[arg-type]  # the pool's methods it uses
    tenant = await new_tenant(admin)
    calls = [unique("call") for _ in range(5)]
    events = [item for call_id in calls for item in a_call(tenant, call_id)]
    results = await asyncio.gather(
        *(records.apply(item, sequence) for sequence, item in enumerate(events, 1))
    )
    assert results == ["written"] * len(events)
    assert counting.acquired == 1
    for call_id in calls:
        row = await record_of(admin.pool, tenant, call_id, ended)
        assert row["outcome"] == "transferred"
        assert [entry["kind"] for entry in row["trace"]] == [
            e.kind for e in a_call(tenant, call_id)
        ]


async def test_an_event_refused_among_others_handed_over_with_it_holds_none_of_them_back(
    admin: Admin, records_pool: asyncpg.Pool
) -> None:
    # A `started` of a tenant that does not exist breaks a foreign key, which fails the
    # statement it is written with: each event of its group then gets its own result.
    records = CallRecords(records_pool)
    tenant, ghost = await new_tenant(admin), uuid.uuid4()
    good, orphan, late = unique("call"), unique("call"), unique("call")
    events = [
        *a_call(tenant, good),
        event(ghost, orphan, "started", 0, called_number=CALLED),
        event(tenant, unique("call"), "started", 0, called_number="0612345678"),
        event(tenant, late, "menu", 1, reason="greeting"),
        event(ghost, orphan, "menu", 1, reason="greeting"),
    ]
    results = await asyncio.gather(
        *(records.apply(item, sequence) for sequence, item in enumerate(events, 100))
    )
    assert results == ["written"] * 7 + ["refused", "refused", "not_started", "refused"]
    row = await record_of(admin.pool, tenant, good, ended)
    assert len(row["trace"]) == 7
    assert row["outcome"] == "transferred"


def test_call_event_subjects_put_the_tenant_first() -> None:
    tenant = uuid.UUID("6f1c1f3e-2d4b-4c55-9a77-0c9d7f0e1a01")
    assert subjects.tenant_call_events(tenant) == f"rcp.events.{tenant}.call.*"
    assert subjects.CALL_EVENTS_ALL == "rcp.events.*.call.*"


async def test_the_consumer_outlives_idle_time_and_keeps_writing(
    admin: Admin, records_pool: asyncpg.Pool, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    tenant, call_id, durable = await new_tenant(admin), unique("call"), unique("records")
    await ensure_streams(js)
    try:
        async with consumer(js, records_pool, tenant, durable, fetch_timeout_s=0.05) as running:
            await asyncio.sleep(2)  # many fetches come back empty meanwhile
            await running.check()
            await publish(js, a_call(tenant, call_id))
            row = await record_of(admin.pool, tenant, call_id, ended)
            await running.check()
    finally:
        await _delete_consumer(js, durable)
    assert row["outcome"] == "transferred"


async def test_a_deleted_durable_consumer_is_created_again_and_no_event_is_lost(
    admin: Admin, records_pool: asyncpg.Pool, nats_client: NatsClient
) -> None:
    # An operator deletes the consumer (or JetStream loses it): the pulls meet no responders.
    # The consumer binds again, which creates it anew, and the calls of meanwhile are written.
    js = nats_client.jetstream()
    tenant, durable = await new_tenant(admin), unique("records")
    before, after = unique("call"), unique("call")
    await ensure_streams(js)
    try:
        async with consumer(js, records_pool, tenant, durable, fetch_timeout_s=0.2) as running:
            await publish(js, a_call(tenant, before))
            await record_of(admin.pool, tenant, before, ended)
            await _delete_consumer(js, durable)
            await publish(js, a_call(tenant, after))
            row = await record_of(admin.pool, tenant, after, ended)
            await running.check()
        info = await js.consumer_info(subjects.EVENTS_STREAM, durable)
    finally:
        await _delete_consumer(js, durable)
    assert row["outcome"] == "transferred"
    assert info.config.filter_subject == subjects.tenant_call_events(tenant)


def _count(registry: CollectorRegistry, result: str) -> float:
    value = registry.get_sample_value("rcp_stasis_call_events_total", {"result": result})
    return value or 0.0


async def test_a_database_outage_longer_than_any_delivery_limit_loses_no_call_record(
    settings: StackSettings, own_url: str, nats_client: NatsClient
) -> None:
    # PostgreSQL refuses connections while a call's events come in. The events are handed
    # back again and again, well past the 20 deliveries JetStream used to allow, and are all
    # written once the database is back.
    url = own_url
    tenant = (await provision(url, "phones-unused")).id
    js = nats_client.jetstream()
    registry = CollectorRegistry()
    metrics = StasisMetrics(registry)
    call_id, durable = unique("call"), unique("records")
    await ensure_streams(js)
    try:
        options = {"retry_delay_s": 0.02, "max_pause_s": 0.05, "counted": metrics.call_events}
        async with (
            create_pool(CommonSettings(database_url=service_url(url, "stasis")), "tests") as pool,
            consumer(js, pool, tenant, durable, **options),
        ):
            await refuse_connections(settings.database_url, url, allow=False)
            try:
                await publish(js, a_call(tenant, call_id))
                # each of the 7 events handed back 25 times
                await eventually(lambda: _count(registry, "write_failed") >= 25 * 7, 60)
            finally:
                await refuse_connections(settings.database_url, url, allow=True)
            row = await record_of(pool, tenant, call_id, ended)
    finally:
        await _delete_consumer(js, durable)
    assert row["outcome"] == "transferred"
    assert len(row["trace"]) == 7
    assert _count(registry, "written") == 7
    assert _count(registry, "refused") == _count(registry, "never_started") == 0


async def test_an_event_whose_call_never_started_is_dropped_after_waiting_its_deliveries(
    admin: Admin, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    tenant, call_id, durable = await new_tenant(admin), unique("call"), unique("records")
    registry = CollectorRegistry()
    metrics = StasisMetrics(registry)
    await ensure_streams(js)
    try:
        async with consumer(
            js, admin.pool, tenant, durable, wait_for_start=3, counted=metrics.call_events
        ):
            await publish(js, [event(tenant, call_id, "menu", 1, reason="greeting")])
            await eventually(lambda: _count(registry, "never_started") == 1, 30)
            info = await js.consumer_info(subjects.EVENTS_STREAM, durable)
    finally:
        await _delete_consumer(js, durable)
    assert _count(registry, "waiting") == 2  # delivered 3 times: waited twice, then dropped
    assert (info.num_pending, info.num_ack_pending) == (0, 0)
