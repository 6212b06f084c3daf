"""The dashboard's counts kept with the call records (revision 0012, `call_counts`) on real
PostgreSQL. Written by the call records service's own writer (`CallRecords`, as its role),
they are what the calls' traces say (counted here again, in Python, from the stored traces),
however many times and in whatever order the events come; they stay so when records are
deleted (the retention job's statement, a tenant's erasure) and when a database of before is
upgraded. The dashboard reads them, and counts the calls of a period's partial hours from their
records."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest_asyncio
from admin_support import Admin
from call_counts_support import Key, quarter, records_of, recount, stored
from call_log_support import Step, hung_up, transferred, voicemail_after_dial_by_name
from rcp.contracts import CallEvent
from rcp.db.migrate import upgrade
from rcp.db.pool import create_pool
from rcp.db.scope import Scope
from rcp.settings import CommonSettings
from rcp_stasis.call_records import Applied, CallRecords
from roles_support import connected_as, service_pool

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CALLED = "+33199000001"


def events_of(
    tenant: uuid.UUID, call_id: str, started: datetime, steps: list[Step]
) -> list[CallEvent]:
    return [
        CallEvent(
            tenant_id=tenant,
            call_id=call_id,
            kind=kind,
            at=started + timedelta(seconds=seconds),
            data=data,
        )
        for seconds, kind, data in steps
    ]


class Writer:
    """The call records service's writer, as the stasis role, with stream sequences of its
    own (unique in the run)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.records = CallRecords(pool)
        self._next = random.randrange(10**12, 10**13)

    def sequences(self, count: int) -> list[int]:
        """The stream sequences of `count` new events."""
        first = self._next + 1
        self._next += count
        return list(range(first, first + count))

    async def call(self, tenant: uuid.UUID, started: datetime, steps: list[Step]) -> str:
        """Write one call's events, once each, in order; its call id."""
        call_id = f"counts-{uuid.uuid4().hex}"
        events = events_of(tenant, call_id, started, steps)
        for event, sequence in zip(events, self.sequences(len(events)), strict=True):
            assert await self.records.apply(event, sequence) is Applied.WRITTEN
        return call_id


@pytest_asyncio.fixture
async def writer(migrated_url: str) -> AsyncIterator[Writer]:
    async with service_pool(migrated_url, "stasis") as pool:
        yield Writer(pool)


def spelled_nobody() -> list[Step]:
    """Key 1, spelled 999: nobody; the caller hangs up."""
    return [
        (0, "started", {"called_number": CALLED, "caller_number": "+33611111111"}),
        (0, "answered", {}),
        (0.1, "menu", {"reason": "greeting", "failures": 0}),
        (2.0, "key", {"digit": "1", "action": "dial_by_name"}),
        (5.0, "lookup", {"digits": "999", "page": 0}),
        (5.2, "lookup_result", {"total": 0, "page": 0, "heard": 0}),
        (9.0, "ended", {"outcome": "caller_hangup", "by": "caller"}),
    ]


def directory_down_then_invalid_keys() -> list[Step]:
    """Key 1, the directory fails; then keys 7, 8, 9 that do nothing until the retries run
    out; a replay (*) between them."""
    return [
        (0, "started", {"called_number": CALLED, "caller_number": None}),
        (0, "answered", {}),
        (0.1, "menu", {"reason": "greeting", "failures": 0}),
        (1.0, "key", {"digit": "1", "action": "dial_by_name"}),
        (3.0, "lookup", {"digits": "533", "page": 0}),
        (3.5, "lookup_result", {"failed": "directory_unavailable"}),
        (5.0, "key", {"digit": "7", "action": None}),
        (6.0, "key", {"digit": "*", "action": "replay"}),
        (7.0, "key", {"digit": "8", "action": None}),
        (8.0, "key", {"digit": "9", "action": None}),
        (9.0, "ended", {"outcome": "invalid_input", "by": "receptionist"}),
    ]


def still_ringing() -> list[Step]:
    """A call not answered yet, not ended: in progress."""
    return [(0, "started", {"called_number": CALLED, "caller_number": "+33622222222"})]


async def test_the_stored_counts_are_what_the_traces_of_the_recorded_calls_say(
    admin: Admin, writer: Writer
) -> None:
    tenant_id, _ = await admin.tenant("counts")
    tenant = uuid.UUID(tenant_id)
    for minutes, steps in (
        (0, transferred()),
        (3, voicemail_after_dial_by_name()),
        (14, spelled_nobody()),  # the same quarter hour as the first two
        (15, hung_up()),
        (31, directory_down_then_invalid_keys()),
        (32, still_ringing()),
        (60 * 24 + 1, voicemail_after_dial_by_name()),  # the next day
    ):
        await writer.call(tenant, T0 + timedelta(minutes=minutes), steps)

    counts = await stored(admin.pool, tenant)

    assert counts == recount(await records_of(admin.pool, tenant))
    nine, half_past = quarter(T0), quarter(T0 + timedelta(minutes=31))
    assert counts["key", T0, "1", "dial_by_name"] == 3
    assert counts["lookup", T0, "found", ""] == counts["lookup", T0, "no_match", ""] == 1
    assert counts["lookup", T0, "", "failed"] == 1
    assert counts["key", T0, "7", "unassigned"] == counts["key", T0, "*", "replay"] == 1
    assert counts["outcome", T0, "voicemail", ""] == counts["outcome", T0, "in_progress", ""] == 1
    assert counts["call", nine, "", "answered"] == 3
    assert counts["call", half_past, "", "answered"] == counts["call", half_past, "", ""] == 1
    assert sum(n for (kind, *_), n in counts.items() if kind == "call") == 7


async def test_a_call_delivered_twice_and_out_of_order_is_counted_once(
    admin: Admin, writer: Writer
) -> None:
    tenant_id, tenant_client = await admin.tenant("counts-redelivered")
    tenant = uuid.UUID(tenant_id)
    call_id = f"counts-{uuid.uuid4().hex}"
    events = events_of(tenant, call_id, T0, voicemail_after_dial_by_name())
    numbered = list(zip(events, writer.sequences(len(events)), strict=True))
    # The first delivery: `started` first, then the others shuffled (several instances).
    shuffled = numbered[1:]
    random.Random(16).shuffle(shuffled)
    for event, sequence in [numbered[0], *shuffled]:
        assert await writer.records.apply(event, sequence) is Applied.WRITTEN
    once = await stored(admin.pool, tenant)
    # A lost ack: every event comes again, `ended` and `answered` first.
    for event, sequence in reversed(numbered):
        assert await writer.records.apply(event, sequence) is Applied.WRITTEN

    again = await stored(admin.pool, tenant)
    got = await tenant_client.ok(
        "GET",
        f"/v1/tenants/{tenant_id}/dashboard?since={_q(T0)}&until={_q(T0 + timedelta(hours=1))}",
    )

    assert again == once == recount(await records_of(admin.pool, tenant))
    assert once["call", T0, "", "answered"] == once["outcome", T0, "voicemail", ""] == 1
    assert (got["calls"], got["answered_calls"]) == (1, 1)
    assert got["outcomes"] == [{"outcome": "voicemail", "calls": 1}]
    assert got["keys"] == [{"digit": "1", "action": "dial_by_name", "presses": 1}]
    assert got["dial_by_name"] == {"searches": 1, "found": 1, "no_match": 0, "failed": 0}


async def test_calls_written_at_once_by_several_writers_are_all_counted(
    admin: Admin, writer: Writer
) -> None:
    tenant_id, _ = await admin.tenant("counts-concurrent")
    tenant = uuid.UUID(tenant_id)
    paths = (voicemail_after_dial_by_name, spelled_nobody, transferred, hung_up)
    # Twenty calls of the same hour, their events written side by side on four connections
    # (as several call records services do): they update the same counts' rows.
    await asyncio.gather(
        *(
            writer.call(tenant, T0 + timedelta(minutes=n), paths[n % len(paths)]())
            for n in range(20)
        )
    )

    counts = await stored(admin.pool, tenant)

    assert counts == recount(await records_of(admin.pool, tenant))
    assert counts["key", T0, "1", "dial_by_name"] == 10
    assert sum(n for (kind, *_), n in counts.items() if kind == "outcome") == 20


async def _retention_delete(url: str, tenant: uuid.UUID, before: datetime) -> str:
    """The retention job's delete (rcp_admin.resources.retention), as the admin role in the
    tenant's scope."""
    async with connected_as(url, "admin") as db, db.transaction():
        await Scope.tenant(tenant).apply(db)
        deleted: str = await db.execute(
            """DELETE FROM call_records WHERE tenant_id = $1 AND id IN (
                   SELECT id FROM call_records WHERE tenant_id = $1 AND started_at < $2
                    LIMIT 1000)""",
            tenant,
            before,
        )
    return deleted


async def test_deleted_records_are_counted_off_and_an_erased_tenant_keeps_no_count(
    admin: Admin, writer: Writer, migrated_url: str
) -> None:
    tenant_id, _ = await admin.tenant("counts-retention")
    tenant = uuid.UUID(tenant_id)
    old, kept = T0 - timedelta(days=400), T0
    for started in (old, old + timedelta(minutes=5), kept, kept + timedelta(minutes=5)):
        await writer.call(tenant, started, voicemail_after_dial_by_name())
    await writer.call(tenant, old + timedelta(days=1), spelled_nobody())

    deleted = await _retention_delete(migrated_url, tenant, T0 - timedelta(days=365))
    counts = await stored(admin.pool, tenant)

    assert deleted == "DELETE 3"
    assert counts == recount(await records_of(admin.pool, tenant))
    assert {bucket for _, bucket, *_ in counts} == {kept}
    assert counts["key", kept, "1", "dial_by_name"] == 2
    assert await admin.pool.fetchval("SELECT count(*) FROM call_counts WHERE n <= 0") == 0

    await admin.carrier.ok("PATCH", f"/v1/tenants/{tenant_id}", {"status": "suspended"})
    await admin.carrier.call("DELETE", f"/v1/tenants/{tenant_id}")
    assert await admin.pool.fetchval("SELECT count(*) FROM tenants WHERE id = $1", tenant) == 0
    assert await stored(admin.pool, tenant) == Counter()


def _q(at: datetime) -> str:
    return at.isoformat().replace("+", "%2B")


async def test_a_period_cut_inside_hours_counts_exactly_the_calls_it_holds(
    admin: Admin, writer: Writer
) -> None:
    tenant_id, tenant_client = await admin.tenant("counts-edges")
    base = f"/v1/tenants/{tenant_id}/dashboard"
    starts = [T0 + timedelta(minutes=m) for m in (1, 7, 14, 22, 50, 65, 130)]
    for started in starts:
        await writer.call(uuid.UUID(tenant_id), started, transferred())

    async def calls_in(since: datetime, until: datetime) -> tuple[int, int]:
        got = await tenant_client.ok("GET", f"{base}?since={_q(since)}&until={_q(until)}")
        presses = sum(key["presses"] for key in got["keys"])
        return got["calls"], presses

    minute = timedelta(minutes=1)
    for since, until in (
        (T0 + 50 * minute, T0 + 130 * minute),  # a partial hour, a whole one, a partial one
        (T0 + 5 * minute, T0 + 55 * minute),  # inside one hour
        (T0 + 7 * minute, T0 + 14 * minute),  # 7 in, 14 out
        (T0 + 8 * minute, T0 + 13 * minute),  # no call
        (T0 + 14 * minute, T0 + 120 * minute),  # a partial hour, then a whole one
        (T0, T0 + 180 * minute),  # whole hours only
        (T0 + 7 * minute, T0 + 7 * minute + timedelta(microseconds=1)),
    ):
        expected = sum(1 for started in starts if since <= started < until)
        assert await calls_in(since, until) == (expected, expected), (since, until)


async def test_a_trace_the_call_flow_never_writes_is_still_recorded_and_counted(
    admin: Admin, writer: Writer
) -> None:
    tenant_id, _ = await admin.tenant("counts-odd")
    tenant = uuid.UUID(tenant_id)
    odd: list[Step] = [
        (0, "started", {"called_number": CALLED, "caller_number": "+33611111111"}),
        (1, "key", {"digit": "9" * 300, "action": "x" * 300}),
        (2, "lookup_result", {"total": "many"}),
        (3, "lookup_result", {"total": -1}),
        (4, "key", {}),
    ]

    await writer.call(tenant, T0, odd)
    counts = await stored(admin.pool, tenant)

    assert counts == {
        ("call", T0, "", ""): 1,
        ("outcome", T0, "in_progress", ""): 1,
        ("key", T0, "9" * 100, "x" * 100): 1,
        ("lookup", T0, "", ""): 2,
        ("key", T0, "", "unassigned"): 1,
    }


async def _seed_before_0012(url: str) -> uuid.UUID:
    async with create_pool(CommonSettings(database_url=url), "tests") as pool:
        tenant: uuid.UUID = await pool.fetchval(
            "INSERT INTO tenants (slug, name) VALUES ('before', 'Before') RETURNING id"
        )
        writer = Writer(pool)
        for minutes, steps in enumerate(
            (transferred(), voicemail_after_dial_by_name(), spelled_nobody(), still_ringing())
        ):
            await writer.call(tenant, T0 + timedelta(minutes=7 * minutes), steps)
        await writer.call(tenant, T0 + timedelta(days=3), directory_down_then_invalid_keys())
    return tenant


async def _counts_and_recount(url: str, tenant: uuid.UUID) -> tuple[Counter[Key], Counter[Key]]:
    async with create_pool(CommonSettings(database_url=url), "tests") as pool:
        return await stored(pool, tenant), recount(await records_of(pool, tenant))


def test_upgrading_counts_the_calls_recorded_before(make_database: Callable[[], str]) -> None:
    url = make_database()
    upgrade(url, "0011", configure_logging=False)
    tenant = asyncio.run(_seed_before_0012(url))

    upgrade(url, configure_logging=False)
    counts, recounted = asyncio.run(_counts_and_recount(url, tenant))

    assert counts == recounted
    assert sum(n for (kind, *_), n in counts.items() if kind == "call") == 5
    assert counts["key", T0, "1", "dial_by_name"] == 2
