"""Call records: a JetStream durable consumer that turns each call's events into one row.

Events of a call may arrive more than once (a redelivery after a lost ack) and, with several
stasis instances pulling from the one durable consumer, out of order. Each event is applied
by one statement that is idempotent and order-free:

- the `started` event creates the row (it carries the numbers); another event of a call that
  has no row yet is handed back with a delay until `started` is in;
- the trace holds each event once, keyed by its stream sequence and ordered by it, which is
  the order the call published them (one task publishes a call's events, one after another);
- answered_at, ended_at and outcome keep the first value written.

The events of one fetch are written together, on one connection: the `started` ones in one
pipelined round trip, then the others in one more (asyncpg's executemany and fetchmany: the
same statements, one transaction per round trip), and their acknowledgements leave in one
write. After a fetch that did not fill its batch the consumer waits a moment (`gather_s`) so
that the next one holds more: a few round trips per burst of calls rather than two per event.

The dashboard's counts (`call_counts`: calls, outcomes, key presses, dial-by-name results)
follow each row in the very statement that writes it: revision 0012's triggers count what the
statement changed, so an event written twice, which changes nothing, counts nothing twice.

An event that can never be written (malformed, unknown tenant, impossible values) is
terminated and logged, so that it does not come back forever; so is one whose call's
`started` has not come after `wait_for_start` deliveries (counted once the database is
writable again). While PostgreSQL cannot be written, events are handed back and the
consumer pauses between pulls, longer each time (up to a minute): JetStream sets no
delivery limit on this consumer, so an outage of any length loses no call record.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import asyncpg
import nats.errors
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import ServiceUnavailableError
from prometheus_client import Counter
from pydantic import ValidationError
from rcp import subjects, tasks
from rcp.callflow.commands import TraceKind
from rcp.contracts import CallEvent
from rcp.db.pool import DATABASE_FAILURES, database_unreachable
from rcp.messaging import ensure_streams
from rcp.vocabulary import Outcome

log = structlog.get_logger(__name__)

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
OUTCOMES = frozenset(outcome.value for outcome in Outcome)
MAX_TRACE_ENTRIES = 1000
MAX_CALLER_NUMBER = 64

# Keeps the trace as it is when the entry ($seq) is in already or the trace is full;
# otherwise adds the entry ($entry) and keeps the entries in stream order.
_MERGED_TRACE = """
    CASE WHEN r.trace @> jsonb_build_array(jsonb_build_object('seq', {seq}::bigint))
              OR jsonb_array_length(r.trace) >= {limit}
         THEN r.trace
         ELSE (SELECT jsonb_agg(e ORDER BY (e->>'seq')::bigint)
                 FROM jsonb_array_elements(r.trace || jsonb_build_array({entry}::jsonb)) AS e)
    END"""

START_CALL = f"""
    INSERT INTO call_records AS r
           (tenant_id, call_id, called_number, caller_number, started_at, trace)
    VALUES ($1, $2, $3, $4, $5, jsonb_build_array($6::jsonb))
    ON CONFLICT (tenant_id, call_id) DO UPDATE SET
        caller_number = COALESCE(r.caller_number, EXCLUDED.caller_number),
        started_at = LEAST(r.started_at, EXCLUDED.started_at),
        trace = {_MERGED_TRACE.format(seq="$7", limit=MAX_TRACE_ENTRIES, entry="$6")}"""

ADD_EVENT = f"""
    UPDATE call_records AS r SET
        answered_at = CASE WHEN $3 = 'answered'
                           THEN COALESCE(r.answered_at, GREATEST(r.started_at, $4))
                           ELSE r.answered_at END,
        ended_at = CASE WHEN $3 = 'ended'
                        THEN COALESCE(r.ended_at, GREATEST(r.started_at, $4))
                        ELSE r.ended_at END,
        outcome = CASE WHEN $3 = 'ended' THEN COALESCE(r.outcome, $5) ELSE r.outcome END,
        trace = {_MERGED_TRACE.format(seq="$7", limit=MAX_TRACE_ENTRIES, entry="$6")}
     WHERE r.tenant_id = $1 AND r.call_id = $2
    RETURNING $7::bigint"""


TENANT_EXISTS = "SELECT 1 FROM tenants WHERE id = $1"
TENANTS_EXISTING = "SELECT id FROM tenants WHERE id = ANY($1::uuid[])"

# Calls of one Asterisk (the `node` of their `started` step) still open, started in a window.
OPEN_CALLS = """
    SELECT tenant_id, call_id FROM call_records
     WHERE ended_at IS NULL AND started_at BETWEEN $2 AND $3
       AND trace -> 0 -> 'data' ->> 'node' = $1"""


class Applied(StrEnum):
    """What became of one event."""

    WRITTEN = "written"
    NOT_STARTED = "not_started"  # no row yet: try again once `started` is in
    REFUSED = "refused"  # can never be written


class CallRecords:
    """Writes call events into call_records.

    `apply` calls made together (the consumer hands over a whole fetch at once) are written
    together: on one connection, the `started` events in one pipelined round trip, then the
    others in one more, each round trip one transaction. Should PostgreSQL refuse one of
    them for a reason of its own (a constraint, a value), the events of that group are
    written again one by one, so that each gets its own result as if written alone.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._waiting: list[_Pending] = []

    async def apply(self, event: CallEvent, sequence: int) -> Applied:
        """Apply one event, idempotently; `sequence` is its stream sequence."""
        pending = _Pending(event, sequence, asyncio.get_running_loop().create_future())
        self._waiting.append(pending)
        if len(self._waiting) == 1:  # the first of a group writes it
            try:
                await asyncio.sleep(0)  # the events handed over with this one join it
            finally:
                group, self._waiting = self._waiting, []
            await self._write_group(group)
        return await pending.applied

    async def _write_group(self, group: list[_Pending]) -> None:
        try:
            await self._write_together(group)
        except DATABASE_FAILURES as error:
            if database_unreachable(error):
                for pending in group:
                    pending.fail(error)
                return
            for pending in group:  # one of them is refused: each on its own, for its result
                if not pending.applied.done():
                    try:
                        pending.done(await self._apply_one(pending.event, pending.sequence))
                    except DATABASE_FAILURES as one_error:
                        pending.fail(one_error)
        except BaseException as error:  # a bug, or the consumer stopped: each caller sees it
            for pending in group:
                pending.fail(error)
            raise

    async def _write_together(self, group: list[_Pending]) -> None:
        starts: list[tuple[_Pending, tuple[Any, ...]]] = []
        others: list[tuple[_Pending, tuple[Any, ...]]] = []
        for pending in group:
            event, sequence = pending.event, pending.sequence
            entry = _entry(event, sequence)
            if event.kind == TraceKind.STARTED:
                arguments = _start_arguments(event, entry, sequence)
                if arguments is None:
                    pending.done(Applied.REFUSED)
                else:
                    starts.append((pending, arguments))
            else:
                others.append((pending, _event_arguments(event, entry, sequence)))
        written: set[int] = set()
        async with self._pool.acquire() as connection:
            if starts:
                await connection.executemany(START_CALL, [arguments for _, arguments in starts])
                for pending, _ in starts:
                    pending.done(Applied.WRITTEN)
            if others:
                rows = await connection.fetchmany(ADD_EVENT, [arguments for _, arguments in others])
                written = {row[0] for row in rows}
            missing = [pending for pending, _ in others if pending.sequence not in written]
            tenants = {pending.event.tenant_id for pending in missing}
            known = (
                {row[0] for row in await connection.fetch(TENANTS_EXISTING, list(tenants))}
                if tenants
                else set()
            )
        for pending, _ in others:
            if pending.sequence in written:
                pending.done(Applied.WRITTEN)
            else:
                pending.done(_not_written(pending.event, pending.event.tenant_id in known))

    async def _apply_one(self, event: CallEvent, sequence: int) -> Applied:
        entry = _entry(event, sequence)
        try:
            if event.kind == TraceKind.STARTED:
                arguments = _start_arguments(event, entry, sequence)
                if arguments is None:
                    return Applied.REFUSED
                await self._pool.execute(START_CALL, *arguments)
                return Applied.WRITTEN
            found = await self._pool.fetchval(ADD_EVENT, *_event_arguments(event, entry, sequence))
        except (asyncpg.ForeignKeyViolationError, asyncpg.CheckViolationError) as error:
            log.warning("call_records.refused", call_id=event.call_id, error=str(error))
            return Applied.REFUSED
        if found is not None:
            return Applied.WRITTEN
        known = await self._pool.fetchval(TENANT_EXISTS, event.tenant_id) is not None
        return _not_written(event, known)

    async def open_calls(
        self, node: str, since: datetime, before: datetime
    ) -> list[tuple[UUID, str]]:
        """(tenant, call id) of the calls of `node` started in [since, before] whose record
        is still open."""
        rows = await self._pool.fetch(OPEN_CALLS, node, since, before)
        return [(row["tenant_id"], row["call_id"]) for row in rows]


@dataclass
class _Pending:
    """An event handed to `CallRecords.apply`, and what became of it."""

    event: CallEvent
    sequence: int
    applied: asyncio.Future[Applied]

    def done(self, applied: Applied) -> None:
        if not self.applied.done():
            self.applied.set_result(applied)

    def fail(self, error: BaseException) -> None:
        if self.applied.done():
            return
        if isinstance(error, asyncio.CancelledError):
            self.applied.cancel()
        else:
            self.applied.set_exception(error)


def _entry(event: CallEvent, sequence: int) -> dict[str, Any]:
    """The event as its call record's trace keeps it."""
    return {"seq": sequence, "kind": event.kind, "at": event.at.isoformat(), "data": event.data}


def _start_arguments(
    event: CallEvent, entry: dict[str, Any], sequence: int
) -> tuple[Any, ...] | None:
    """START_CALL's arguments; None for a `started` event that can never be written."""
    called = event.data.get("called_number")
    caller = event.data.get("caller_number")
    if not isinstance(called, str) or not E164.match(called):
        log.warning("call_records.bad_called_number", call_id=event.call_id)
        return None
    if not isinstance(caller, str) or not caller:
        caller = None
    caller = caller[:MAX_CALLER_NUMBER] if caller else None
    return (event.tenant_id, event.call_id, called, caller, event.at, entry, sequence)


def _event_arguments(event: CallEvent, entry: dict[str, Any], sequence: int) -> tuple[Any, ...]:
    """ADD_EVENT's arguments."""
    outcome = None
    if event.kind == TraceKind.ENDED:
        outcome = str(event.data.get("outcome"))
        outcome = outcome if outcome in OUTCOMES else Outcome.FAILED.value
    return (event.tenant_id, event.call_id, event.kind, event.at, outcome, entry, sequence)


def _not_written(event: CallEvent, tenant_known: bool) -> Applied:
    """What an event whose call has no row yet becomes. For a tenant that exists, its
    `started` event is still to come; for one that does not (deleted, or of another system
    publishing on the same NATS), it never will: waiting for it would hold the consumer's
    pending slots for nothing."""
    if tenant_known:
        return Applied.NOT_STARTED
    log.warning("call_records.unknown_tenant", call_id=event.call_id)
    return Applied.REFUSED


def consumer_config(
    durable: str,
    filter_subject: str,
    ack_wait_s: float = 30.0,
    max_deliver: int = -1,
    *,
    from_start: bool = True,
) -> ConsumerConfig:
    """The durable consumer's settings: explicit acks, every retained event from the start
    (or, when the consumer is created with `from_start` off, the events published after),
    and by default no delivery limit (the consumer itself drops what can never be written)."""
    return ConsumerConfig(
        durable_name=durable,
        filter_subject=filter_subject,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL if from_start else DeliverPolicy.NEW,
        ack_wait=ack_wait_s,
        max_deliver=max_deliver,
    )


class CallRecordsConsumer:
    """Pulls call events from the events stream and writes them; an async context manager.

    Every stasis instance runs one on the same durable consumer: JetStream shares the events
    among them, and each event is acknowledged only once its row is written.
    """

    def __init__(
        self,
        jetstream: JetStreamContext,
        records: CallRecords,
        *,
        durable: str = subjects.CALL_RECORDS_CONSUMER,
        filter_subject: str = subjects.CALL_EVENTS_ALL,
        batch: int = 64,
        fetch_timeout_s: float = 1.0,
        gather_s: float = 0.1,
        ack_wait_s: float = 30.0,
        max_deliver: int = -1,
        wait_for_start: int = 20,
        retry_delay_s: float = 2.0,
        max_pause_s: float = 60.0,
        from_start: bool = True,
        counted: Counter | None = None,
    ) -> None:
        self._js = jetstream
        self._records = records
        self.durable = durable
        self._config = consumer_config(
            durable, filter_subject, ack_wait_s, max_deliver, from_start=from_start
        )
        self._filter_subject = filter_subject
        self._batch = batch
        self._fetch_timeout_s = fetch_timeout_s
        # After a fetch that did not fill the batch, the next waits this long: the events
        # published meanwhile are then written together (one round trip to PostgreSQL and
        # one write of acknowledgements for them all, instead of one for each). Not after
        # one that handed events back to wait for their call's start: fetched again at once,
        # those handed back just after come back with them, in their order.
        self._gather_s = gather_s
        self._retry_delay_s = retry_delay_s
        self._wait_for_start = wait_for_start
        self._max_pause_s = max_pause_s
        self._pause_s = 0.0  # between pulls while PostgreSQL cannot be written
        self._last_failure = -math.inf  # loop time of the last failed write
        # After PostgreSQL comes back, a call's `started` may come after its other events
        # (each was handed back on its own delay): they wait this long again before any of
        # them counts as never started.
        self._settle_s = max_pause_s + wait_for_start * retry_delay_s
        self._counted = counted
        self._task: asyncio.Task[None] | None = None
        self.applied = 0
        """How many events were written (duplicates included), for tests and logs."""
        self.redelivered = 0
        """How many deliveries were second or later ones."""

    async def __aenter__(self) -> CallRecordsConsumer:
        await ensure_streams(self._js)
        subscription = await self._subscribe()
        self._task = asyncio.create_task(self._run(subscription), name="call-records")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            await tasks.stop(self._task)

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        """Bind to the durable consumer, creating it if it does not exist."""
        return await self._js.pull_subscribe(
            self._filter_subject,
            durable=self.durable,
            stream=subjects.EVENTS_STREAM,
            config=self._config,
        )

    async def check(self) -> None:
        """Readiness: the consumer's task is still running."""
        if self._task is None or self._task.done():
            raise RuntimeError("the call records consumer has stopped")

    async def _run(self, subscription: JetStreamContext.PullSubscription) -> None:
        try:
            while True:
                try:
                    messages = await subscription.fetch(self._batch, timeout=self._fetch_timeout_s)
                except TimeoutError:  # nats-py raises its own and asyncio's: nothing came
                    continue
                except nats.errors.Error as error:  # disconnected: the client reconnects
                    log.warning("call_records.fetch_failed", error=repr(error))
                    await asyncio.sleep(self._retry_delay_s)
                    if isinstance(error, ServiceUnavailableError):
                        subscription = await self._resubscribe(subscription)
                    continue
                batch_began = asyncio.get_running_loop().time()
                # Handed over together, written together (`CallRecords.apply`), and their
                # acknowledgements sent together.
                handled = await asyncio.gather(*(self._handle_one(m) for m in messages))
                if self._last_failure >= batch_began:  # PostgreSQL failed: pull again later
                    self._pause_s = min(
                        max(self._pause_s * 2, self._retry_delay_s), self._max_pause_s
                    )
                    await asyncio.sleep(self._pause_s)
                elif messages:
                    self._pause_s = 0.0
                    if len(messages) < self._batch and all(handled):
                        await asyncio.sleep(self._gather_s)
        finally:
            with contextlib.suppress(nats.errors.Error):
                await subscription.unsubscribe()

    async def _resubscribe(
        self, subscription: JetStreamContext.PullSubscription
    ) -> JetStreamContext.PullSubscription:
        """No one answers the consumer's pull requests: it was deleted (an operator, a
        stream restored from backup) or JetStream is between leaders. Bind again, which
        creates the consumer anew if it is gone; on failure keep the old subscription and
        try again after the next failed fetch."""
        try:
            fresh = await self._subscribe()
        except nats.errors.Error as error:
            log.warning("call_records.resubscribe_failed", error=repr(error))
            return subscription
        with contextlib.suppress(nats.errors.Error):
            await subscription.unsubscribe()
        log.info("call_records.resubscribed", durable=self.durable)
        return fresh

    async def _handle_one(self, message: Msg) -> bool:
        """Handle one message; whether it is done with (not handed back to wait)."""
        try:
            return await self._handle(message)
        except nats.errors.Error as error:  # the ack is lost: it comes back
            log.warning("call_records.ack_failed", error=repr(error))
            return True

    async def _handle(self, message: Msg) -> bool:
        deliveries = message.metadata.num_delivered
        if deliveries > 1:
            self.redelivered += 1
        try:
            event = CallEvent.model_validate_json(message.data)
        except ValidationError:
            log.warning("call_records.malformed", subject=message.subject)
            self._count("malformed")
            await message.term()
            return True
        try:
            applied = await self._records.apply(event, message.metadata.sequence.stream)
        except DATABASE_FAILURES as error:
            log.warning("call_records.write_failed", call_id=event.call_id, error=repr(error))
            self._last_failure = asyncio.get_running_loop().time()
            self._count("write_failed")
            await message.nak(delay=max(self._pause_s, self._retry_delay_s))
            return False
        if applied is Applied.WRITTEN:
            self.applied += 1
            self._count("written")
            await message.ack()
        elif applied is Applied.NOT_STARTED and not self._waited_enough(deliveries):
            self._count("waiting")
            await message.nak(delay=self._retry_delay_s)
            return False
        elif applied is Applied.NOT_STARTED:
            log.warning("call_records.never_started", call_id=event.call_id, kind=event.kind)
            self._count("never_started")
            await message.term()
        else:
            self._count("refused")
            await message.term()
        return True

    def _waited_enough(self, deliveries: int) -> bool:
        """Whether an event of a call with no row yet has waited long enough for `started`:
        `wait_for_start` deliveries, and none of them spoilt by a database failure."""
        settled = asyncio.get_running_loop().time() - self._last_failure > self._settle_s
        return deliveries >= self._wait_for_start and settled

    def _count(self, result: str) -> None:
        if self._counted is not None:
            self._counted.labels(result=result).inc()
