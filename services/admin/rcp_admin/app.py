"""Composition root of the admin service."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import asyncpg
import nats.errors
import structlog
from aiohttp import web
from nats.aio.client import Client as NatsClient
from rcp.callflow.config import FlowOptions
from rcp.config_events import NatsConfigPublisher
from rcp.config_store import StoringConfigPublisher, namespace_of
from rcp.db.pool import DATABASE_FAILURES
from rcp.db.scope import Scope, ScopedPool, bypasses_row_security
from rcp.mail import SmtpSender
from rcp.runtime import infrastructure
from rcp.settings import Environment
from rcp.telemetry import Metrics, serve_app

from rcp_admin.auth import FailedAuthentications, Gate, RateLimiter
from rcp_admin.media import NatsMediaGateway
from rcp_admin.memory import Memory, listening
from rcp_admin.middleware import make_middleware, security_headers
from rcp_admin.openapi import docs_page, openapi_document
from rcp_admin.ports import Mailer, MediaGateway
from rcp_admin.resources import ROUTES
from rcp_admin.routing import (
    GATE_KEY,
    LIMITER_KEY,
    STORE_KEY,
    UPLOAD_LIMIT_KEY,
    add_routes,
)
from rcp_admin.settings import Settings
from rcp_admin.simulation import Lookups
from rcp_admin.unit_of_work import EndpointRules, Store
from rcp_admin.web import add_web_routes

# PostgreSQL or NATS not answering now: logged, tried again later.
_BACKFILL_FAILURES: tuple[type[Exception], ...] = (*DATABASE_FAILURES, nats.errors.Error)

log = structlog.get_logger(__name__)


def build_store(
    settings: Settings,
    pool: asyncpg.Pool,
    nats: NatsClient,
    metrics: Metrics,
    scope: Scope,
    media: MediaGateway | None,
    mailer: Mailer | None,
) -> Store:
    """The store the API and the command line work through: `pool` in `scope`, each change
    written to the configuration store and announced on NATS."""
    return Store(
        ScopedPool(pool, scope),
        StoringConfigPublisher(
            NatsConfigPublisher(nats, metrics),
            nats,
            pool,
            metrics,
            namespace_of(settings.database_url),
            settings.config_store_replicas,
        ),
        settings.token_pepper,
        media,
        EndpointRules.of(settings),
        settings.token_lifetime,
        settings.session_rules,
        settings.link_rules,
        mailer,
        Lookups(
            nats,
            FlowOptions(
                trunk_dial_template=settings.stasis_trunk_dial_template,
                allow_test_phones=settings.allow_test_phones,
                reserved_endpoints=settings.reserved_endpoints,
            ),
            settings.directory_nats_scope,
            settings.media_nats_scope,
        ),
        Memory(ttl_s=settings.admin_memory_s),
    )


def build_app(
    pool: asyncpg.Pool,
    nats: NatsClient,
    metrics: Metrics,
    settings: Settings,
    media: MediaGateway | None = None,
    mailer: Mailer | None = None,
) -> web.Application:
    """The admin HTTP application: REST API, OpenAPI document, docs page and web manager."""
    # Uploads are read part by part up to their own limit; JSON bodies have theirs.
    app = web.Application(
        middlewares=[make_middleware(metrics)],
        client_max_size=settings.admin_upload_max_bytes + 65536,
    )
    app.on_response_prepare.append(security_headers)
    # Each request's store is scoped to its caller (routing); this one reaches no row.
    store = build_store(settings, pool, nats, metrics, Scope.nothing(), media, mailer)
    app[GATE_KEY] = Gate(
        ScopedPool(pool, Scope.carrier()),  # the token lookup: the caller is not known yet
        settings.token_pepper,
        settings.token_lifetime,
        FailedAuthentications(
            settings.admin_auth_failures_per_minute, settings.admin_auth_failures_burst
        ),
        settings.trusted_proxies,
        settings.session_rules,
        FailedAuthentications(
            settings.admin_sign_in_failures_per_minute, settings.admin_sign_in_failures_burst
        ),
        store.memory,
    )
    app[UPLOAD_LIMIT_KEY] = settings.admin_upload_max_bytes
    app[LIMITER_KEY] = RateLimiter(settings.admin_rate_per_s, settings.admin_rate_burst)
    app[STORE_KEY] = store
    document = openapi_document()
    page = docs_page()

    async def openapi(_: web.Request) -> web.Response:
        return web.json_response(document)

    async def docs(_: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/docs", docs)
    add_routes(app, ROUTES)
    add_web_routes(app)
    return app


async def refuse_to_bypass_row_security(pool: asyncpg.Pool, settings: Settings) -> None:
    """In production, refuse to serve as a role that escapes row-level security: a tenant's
    requests would no longer be kept inside its tenant by the database itself."""
    if not await bypasses_row_security(pool):
        return
    if settings.environment is not Environment.PRODUCTION:
        log.warning("admin.bypasses_row_security", hint="log in as rcp_admin (docs/schema.md)")
        return
    print(  # noqa: T201 - one line for the operator, like invalid settings
        "admin: RCP_DATABASE_URL: its role is a superuser, bypasses row-level security or owns "
        "the tables; the admin service logs in as rcp_admin (docs/schema.md)",
        file=sys.stderr,
    )
    raise SystemExit(2)


@asynccontextmanager
async def running(settings: Settings, stop: asyncio.Event | None = None) -> AsyncIterator[int]:
    """The admin service running; yields the REST API's port."""
    timeout = aiohttp.ClientTimeout(total=60)
    async with (
        infrastructure(settings, settings.service_name, stop) as infra,
        aiohttp.ClientSession(timeout=timeout) as http,
    ):
        await refuse_to_bypass_row_security(infra.pool, settings)
        media = NatsMediaGateway(infra.nats, http, settings.media_nats_scope)
        mailer = SmtpSender(settings) if settings.mail_enabled else None
        app = build_app(infra.pool, infra.nats, infra.metrics, settings, media, mailer)
        async with (
            backfilling(app[STORE_KEY].publisher),
            listening(app[STORE_KEY].memory, infra.nats),
            serve_app(app, settings.admin_http_host, settings.admin_http_port) as port,
        ):
            log.info("admin.listening", host=settings.admin_http_host, port=port)
            yield port


@asynccontextmanager
async def backfilling(publisher: object) -> AsyncIterator[None]:
    """The configuration store's backfill running in the background while the service serves
    (readiness does not wait for it); cancelled if still running at the end. Meanwhile the
    API's writes store their tenants as always: a tenant's stores take turns in this process,
    and whichever stores last, the newest configuration version stays (`ConfigStore.put`)."""
    task = asyncio.create_task(_backfill(publisher), name="admin.config_backfill")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _backfill(publisher: object) -> None:
    """Store in the configuration store each tenant's configuration it lacks or holds at
    another version (tenants from before it, a change whose storing failed); a failure is
    logged: calls then read PostgreSQL for what is not stored, and the next start tries again."""
    if not isinstance(publisher, StoringConfigPublisher):
        return
    started = time.monotonic()
    try:
        stored = await publisher.backfill()
    except _BACKFILL_FAILURES as error:
        log.warning("admin.config_backfill_failed", error=repr(error))
        return
    except Exception:  # a bug: logged, never silent in a task nobody reads until the end
        log.exception("admin.config_backfill_failed")
        return
    took = round(time.monotonic() - started, 3)
    log.info("admin.config_backfilled", tenants=stored, seconds=took)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Build the service, run it until `stop` is set, then unwind every lifetime."""
    async with running(settings, stop):
        await stop.wait()
