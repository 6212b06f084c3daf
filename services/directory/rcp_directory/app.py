"""Composition root of the directory service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from importlib.metadata import version

import nats.errors
import structlog
from nats.micro import add_service
from nats.micro.request import Request
from nats.micro.service import Service
from rcp import subjects, tasks
from rcp.config_events import config_changes
from rcp.config_store import ConfigStore, namespace_of
from rcp.contracts.directory import ReverseRequest, SearchRequest
from rcp.messaging import ConcurrentRequests, endpoint, reached_server
from rcp.runtime import Infrastructure, infrastructure

from rcp_directory.handlers import DirectoryHandlers
from rcp_directory.metrics import DirectoryMetrics
from rcp_directory.ports import DirectorySource
from rcp_directory.service import Directory, IndexCache
from rcp_directory.settings import Settings
from rcp_directory.source import PostgresDirectory, StoredDirectory, follow_store

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
        infrastructure(settings, settings.service_name, stop, database_required=False) as infra,
        AsyncExitStack() as stack,
    ):
        metrics = DirectoryMetrics(infra.metrics.registry)
        store = await _open_store(settings, infra)
        source: DirectorySource = PostgresDirectory(infra.pool)
        if store is not None:
            source = StoredDirectory(store, source)
        cache = IndexCache(
            source,
            metrics,
            max_bytes=settings.directory_index_max_bytes,
            max_age_s=settings.directory_index_max_age_s,
        )
        stack.push_async_callback(cache.aclose)
        if store is not None:
            following = asyncio.create_task(
                follow_store(store, cache.invalidate), name="directory-store-watch"
            )
            stack.push_async_callback(tasks.stop, following)

        await stack.enter_async_context(
            config_changes(infra.nats, lambda event: cache.invalidate(event.tenant_id))
        )

        handlers = DirectoryHandlers(Directory(cache, settings.directory_min_digits), metrics)
        in_flight = ConcurrentRequests(settings.directory_max_in_flight)

        def in_memory(req: Request) -> bool:
            # A lookup in an index already in memory never waits: no task of its own.
            return cache.answers_now(subjects.request_tenant(req.subject))

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
            handler=in_flight.wrap(endpoint(SearchRequest, handlers.search), in_memory),
        )
        await service.add_endpoint(
            name="reverse",
            subject=subjects.DIRECTORY_REVERSE.every_tenant(settings.directory_nats_scope),
            handler=in_flight.wrap(endpoint(ReverseRequest, handlers.reverse), in_memory),
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


async def _open_store(settings: Settings, infra: Infrastructure) -> ConfigStore | None:
    """The configuration store the indexes are built from; None (indexes read from
    PostgreSQL, logged) if it cannot be opened, e.g. a NATS server whose users predate the
    directory's right to read it."""
    try:
        async with asyncio.timeout(settings.nats_request_timeout_s):
            return await ConfigStore.open(
                infra.nats, namespace_of(settings.database_url), settings.config_store_replicas
            )
    except (nats.errors.Error, TimeoutError) as error:
        log.warning("directory.store_not_opened", error=repr(error))
        return None


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Build the service, run it until `stop` is set, then unwind every lifetime."""
    async with running(settings, stop):
        await stop.wait()
