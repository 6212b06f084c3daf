"""Running a service process: logging, signals, the shared infrastructure every service holds."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
import structlog
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from pydantic import ValidationError

from rcp.db.pool import check_pool, create_pool
from rcp.interpreter import guard_ast_parse
from rcp.messaging import NatsProbe, connect_nats
from rcp.settings import CommonSettings, refuse_unfit_for_production
from rcp.telemetry import Health, Metrics, configure_logging, ops_app, serve_app

SettingsT = TypeVar("SettingsT", bound=CommonSettings)

log = structlog.get_logger(__name__)


def run_service(
    settings_type: type[SettingsT],
    serve: Callable[[SettingsT, asyncio.Event], Awaitable[None]],
) -> None:
    """Load settings, configure logging, and run `serve` until SIGTERM or SIGINT.

    Invalid settings stop the process with exit status 2 and one line per bad variable, and
    so do, in production, secrets missing or left at their development values.
    """
    guard_ast_parse()
    try:
        settings = settings_type()
    except ValidationError as error:
        for problem in error.errors(include_url=False):
            variable = "RCP_" + "_".join(str(part) for part in problem["loc"]).upper()
            print(f"{settings_type.service_name}: {variable}: {problem['msg']}", file=sys.stderr)  # noqa: T201
        raise SystemExit(2) from None
    refuse_unfit_for_production(settings, settings_type.service_name)
    configure_logging(settings, settings_type.service_name)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("service.starting", settings=public_settings(settings))
        await serve(settings, stop)
        log.info("service.stopped")

    asyncio.run(main())


SECRET_WORDS = ("password", "secret", "token", "pepper")


def public_settings(settings: CommonSettings) -> dict[str, object]:
    """Settings safe to log: secrets masked, and the password of any URL that carries one."""
    shown: dict[str, object] = {}
    for name, value in settings.model_dump(mode="json").items():
        if any(word in name for word in SECRET_WORDS) and value:
            shown[name] = "***"
        elif isinstance(value, str) and "://" in value and "@" in value:
            shown[name] = re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", value)
        else:
            shown[name] = value
    return shown


@dataclass(frozen=True)
class Infrastructure:
    """What every service holds once started: its NATS, JetStream, Postgres pool and telemetry."""

    metrics: Metrics
    health: Health
    nats: NatsClient
    jetstream: JetStreamContext
    pool: asyncpg.Pool
    ops_port: int


@asynccontextmanager
async def infrastructure(
    settings: CommonSettings,
    service: str,
    stop: asyncio.Event | None = None,
    *,
    database_required: bool = True,
) -> AsyncIterator[Infrastructure]:
    """Connect NATS and Postgres and serve the ops endpoint; undo it all on exit.

    `database_required` False: PostgreSQL is no readiness check (a service that reads it
    only as a fallback is ready while it is away).

    From the moment `stop` is set (SIGTERM), and in any case on the way out, the service
    reports "draining" on /readyz, so that no new work is
    routed to it while its lifetimes unwind.
    """
    metrics = Metrics(service)
    health = Health()
    async with AsyncExitStack() as stack:
        nc = await stack.enter_async_context(connect_nats(settings, service, metrics))
        pool = await stack.enter_async_context(create_pool(settings, service))

        probe = NatsProbe(nc)

        async def database() -> None:
            try:
                await check_pool(pool)
            except Exception as error:
                metrics.db_errors.labels(kind=type(error).__name__).inc()
                raise

        health.add("nats", lambda: probe.check(settings.nats_probe_timeout_s))
        if database_required:
            health.add("postgres", database)
        port = await stack.enter_async_context(
            serve_app(
                ops_app(metrics, health, settings.ops_metrics_token),
                settings.ops_host,
                settings.effective_ops_port,
            )
        )
        log.info("service.ops_listening", host=settings.ops_host, port=port)

        async def drain_on_stop(event: asyncio.Event) -> None:
            await event.wait()
            health.draining = True

        watcher = asyncio.create_task(drain_on_stop(stop)) if stop is not None else None
        try:
            yield Infrastructure(metrics, health, nc, nc.jetstream(), pool, port)
        finally:
            health.draining = True
            if watcher is not None:
                watcher.cancel()
