"""Composition root of the directory service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from importlib.metadata import version

import structlog
from nats.micro import add_service
from nats.micro.service import Service
from rcp import subjects
from rcp.config_events import config_changes
from rcp.contracts.directory import ReverseRequest, SearchRequest
from rcp.messaging import ConcurrentRequests, endpoint, reached_server
from rcp.runtime import Infrastructure, infrastructure

from rcp_directory.handlers import DirectoryHandlers
from rcp_directory.metrics import DirectoryMetrics
from rcp_directory.service import Directory, IndexCache
from rcp_directory.settings import Settings
from rcp_directory.source import PostgresDirectory

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RunningDirectory:
    """A started directory service: what tests and benchmarks look at."""

    infrastructure: Infrastructure
    service: Service
    cache: IndexCache
    metrics: DirectoryMetrics


@asynccontextmanager
async def running(
    settings: Settings, stop: asyncio.Event | None = None
) -> AsyncIterator[RunningDirectory]:
    """Start the directory service; stop taking requests, answer those under way, unwind."""
    async with (
        infrastructure(settings, settings.service_name, stop) as infra,
        AsyncExitStack() as stack,
    ):
        metrics = DirectoryMetrics(infra.metrics.registry)
        cache = IndexCache(
            PostgresDirectory(infra.pool),
            metrics,
            max_bytes=settings.directory_index_max_bytes,
            max_age_s=settings.directory_index_max_age_s,
        )
        stack.push_async_callback(cache.aclose)

        await stack.enter_async_context(
            config_changes(infra.nats, lambda event: cache.invalidate(event.tenant_id))
        )

        handlers = DirectoryHandlers(Directory(cache, settings.directory_min_digits), metrics)
        in_flight = ConcurrentRequests(settings.directory_max_in_flight)
        stack.push_async_callback(in_flight.drain)
        service = await add_service(
            infra.nats,
            name=subjects.DIRECTORY_SERVICE,
            version=version("receptionist"),
            description="Dial by name: keypad searches and reverse lookups of extensions.",
            queue_group=subjects.DIRECTORY_SERVICE,
        )
        stack.push_async_callback(service.stop)
        await service.add_endpoint(
            name="search",
            subject=subjects.DIRECTORY_SEARCH.every_tenant(settings.directory_nats_scope),
            handler=in_flight.wrap(endpoint(SearchRequest, handlers.search)),
        )
        await service.add_endpoint(
            name="reverse",
            subject=subjects.DIRECTORY_REVERSE.every_tenant(settings.directory_nats_scope),
            handler=in_flight.wrap(endpoint(ReverseRequest, handlers.reverse)),
        )
        # The endpoints' subscriptions reach the server before the service reports ready.
        await reached_server(infra.nats)

        async def serving() -> None:
            if service.stopped.is_set():
                raise RuntimeError("the directory endpoints are stopped")

        infra.health.add("directory", serving)
        # Unwinding starts by reporting "draining", before the endpoints stop, so that no new
        # work is routed here meanwhile (infrastructure() says so only once this has unwound).
        stack.callback(setattr, infra.health, "draining", True)
        log.info(
            "directory.serving",
            search=subjects.DIRECTORY_SEARCH.every_tenant(settings.directory_nats_scope),
            reverse=subjects.DIRECTORY_REVERSE.every_tenant(settings.directory_nats_scope),
        )
        yield RunningDirectory(infra, service, cache, metrics)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Build the service, run it until `stop` is set, then unwind every lifetime."""
    async with running(settings, stop):
        await stop.wait()
