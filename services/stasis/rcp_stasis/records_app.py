"""The call records service: the durable consumer that writes call events into call_records.

It runs in a process of its own (`rcp-call-records`), beside the stasis services and scaled on
its own: the process that drives calls does calls only. Every instance binds the same durable
JetStream consumer, which shares the events among them and redelivers whatever an instance
did not acknowledge (stopped, killed, PostgreSQL down): nothing is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import ClassVar

from prometheus_client import Counter
from rcp.runtime import Infrastructure, infrastructure, run_service
from rcp.telemetry import MetricsOf

from rcp_stasis.call_records import CallRecords, CallRecordsConsumer
from rcp_stasis.settings import CallRecordsSettings


class Settings(CallRecordsSettings):
    """The call records service's settings: its database role and NATS user are stasis's
    (it writes the rows the stasis role may write, from the stream stasis publishes)."""

    service_name: ClassVar[str] = "call-records"
    default_nats_user: ClassVar[str] = "stasis"
    default_ops_port: ClassVar[int] = 9105


@dataclass(frozen=True)
class RunningRecords:
    """A started call records service: what tests look at."""

    infrastructure: Infrastructure
    consumer: CallRecordsConsumer


def events_counter(metrics: MetricsOf) -> Counter:
    """The consumer's counter, by result (the name it had inside stasis: dashboards keep it)."""
    return metrics.counter(
        "call_events_total",
        "Call events taken from JetStream by the call records consumer, by result: "
        "written, waiting (for the call's start), write_failed (PostgreSQL; handed back), "
        "refused, malformed, never_started (these three are dropped).",
        "result",
    )


@asynccontextmanager
async def consuming(
    settings: CallRecordsSettings, infra: Infrastructure, counted: Counter
) -> AsyncIterator[CallRecordsConsumer]:
    """The durable consumer on an infrastructure's NATS and pool, with its readiness check."""
    async with CallRecordsConsumer(
        infra.jetstream,
        CallRecords(infra.pool),
        durable=settings.stasis_call_records_durable,
        from_start=settings.stasis_call_records_from_start,
        counted=counted,
    ) as consumer:
        infra.health.add("call_records", consumer.check)
        yield consumer


@asynccontextmanager
async def running(
    settings: CallRecordsSettings, stop: asyncio.Event | None = None
) -> AsyncIterator[RunningRecords]:
    """Start the service; on the way out, stop pulling (what is not acknowledged comes back)."""
    async with infrastructure(settings, Settings.service_name, stop) as infra:
        counted = events_counter(MetricsOf(infra.metrics.registry, "stasis"))
        async with consuming(settings, infra, counted) as consumer:
            yield RunningRecords(infra, consumer)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run the service until `stop` is set, then unwind."""
    async with running(settings, stop):
        await stop.wait()


def main() -> None:
    """Run the call records service until SIGTERM or SIGINT."""
    run_service(Settings, serve)


if __name__ == "__main__":
    main()
