"""Telemetry: structured logs, Prometheus metrics, and the /metrics, /healthz, /readyz server.

Each service owns one `Metrics` (its own registry, so several services can live in one test
process) and one `OpsServer`. Readiness is the sum of named checks; a draining service
reports not ready so that Kubernetes stops sending it work before it stops.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import hdrs, web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from rcp.settings import CommonSettings, LogFormat

METRIC_PREFIX = "rcp"

ReadinessCheck = Callable[[], Awaitable[None]]
"""Returns when the dependency is usable; raises (with a reason) when it is not."""


@dataclass(frozen=True)
class MetricsOf:
    """Declares one part's metrics in a registry, each named `rcp_<part>_<name>`."""

    registry: CollectorRegistry
    part: str

    def _name(self, name: str) -> str:
        return f"{METRIC_PREFIX}_{self.part}_{name}" if self.part else f"{METRIC_PREFIX}_{name}"

    def counter(self, name: str, text: str, *labels: str) -> Counter:
        """A counter (`name` ends in `_total`)."""
        return Counter(self._name(name), text, labels, registry=self.registry)

    def gauge(self, name: str, text: str, *labels: str) -> Gauge:
        """A gauge."""
        return Gauge(self._name(name), text, labels, registry=self.registry)

    def histogram(
        self, name: str, text: str, *labels: str, buckets: tuple[float, ...]
    ) -> Histogram:
        """A histogram with its buckets (`name` ends in its unit)."""
        return Histogram(self._name(name), text, labels, buckets=buckets, registry=self.registry)


def children_of(metric: Any) -> Callable[..., Any]:
    """A labelled metric's child for given label values (in the metric's label order), each
    looked up once: prometheus_client's `labels()` checks the values and takes a lock on
    every call, a few microseconds on every request of a service. For labels of a bounded
    set of values, as every label of a metric must be."""
    children: dict[tuple[str, ...], Any] = {}

    def child(*values: str) -> Any:
        found = children.get(values)
        if found is None:
            found = children[values] = metric.labels(*values)
        return found

    return child


def configure_logging(settings: CommonSettings, service: str) -> None:
    """Route stdlib and structlog records to stderr, one JSON object (or console line) each."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_format is LogFormat.JSON
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        # An event below the level is dropped before any processor runs: a debug line on a
        # hot path (each config change, each ARI event) then costs a level check, not a
        # timestamp and a copy of the context.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.value)
    structlog.contextvars.bind_contextvars(service=service, instance=settings.instance_id)


@dataclass
class Metrics:
    """A service's metrics registry, holding the metrics every service exports."""

    service: str
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        service, errors = MetricsOf(self.registry, "service"), MetricsOf(self.registry, "")
        self.up = service.gauge("up", "1 while the service runs.", "service")
        self.ready = service.gauge("ready", "1 when the last readiness check passed.", "service")
        self.nats_errors = errors.counter(
            "nats_errors_total", "NATS client errors, by exception type.", "kind"
        )
        self.db_errors = errors.counter(
            "db_errors_total", "Database errors, by exception type.", "kind"
        )
        self.up.labels(service=self.service).set(1)


@dataclass
class Health:
    """Named readiness checks plus a draining flag."""

    checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    draining: bool = False
    timeout_s: float = 2.0

    def add(self, name: str, check: ReadinessCheck) -> None:
        """Register a readiness check under a name shown in /readyz."""
        self.checks[name] = check

    async def run(self) -> dict[str, str]:
        """Each check's outcome: "ok" or the reason it failed."""
        results: dict[str, str] = {}
        for name, check in list(self.checks.items()):  # checks may be added meanwhile
            try:
                async with asyncio.timeout(self.timeout_s):  # wait_for may eat a cancel
                    await check()
            except TimeoutError:
                results[name] = f"no answer within {self.timeout_s:g} s"
            except Exception as error:  # a failing check is reported, never raised
                results[name] = f"{type(error).__name__}: {error}"
            else:
                results[name] = "ok"
        if self.draining:
            results["draining"] = "the service is shutting down"
        return results


def ops_app(metrics: Metrics, health: Health, metrics_token: str = "") -> web.Application:
    """The aiohttp application serving /metrics, /healthz and /readyz.

    With a `metrics_token` (a port outside any NetworkPolicy: a pod on the node's network),
    /metrics answers only `Authorization: Bearer <token>`, and /readyz tells anyone else
    whether the service is ready, not why.
    """

    def authorized(request: web.Request) -> bool:
        if not metrics_token:
            return True
        sent = request.headers.get(hdrs.AUTHORIZATION, "")
        return hmac.compare_digest(sent.encode(), f"Bearer {metrics_token}".encode())

    async def metrics_handler(request: web.Request) -> web.Response:
        if not authorized(request):
            return web.Response(
                status=401, text="send the ops token\n", headers={"WWW-Authenticate": "Bearer"}
            )
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_: web.Request) -> web.Response:
        # Liveness only says the event loop answers; dependencies belong to readiness.
        return web.json_response({"status": "ok", "service": metrics.service})

    async def readyz(request: web.Request) -> web.Response:
        results = await health.run()
        ok = all(value == "ok" for value in results.values())
        metrics.ready.labels(service=metrics.service).set(1 if ok else 0)
        answer: dict[str, object] = {"status": "ok" if ok else "unavailable"}
        if authorized(request):  # what failed can name hosts and addresses
            answer["checks"] = results
        return web.json_response(answer, status=200 if ok else 503)

    app = web.Application()
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


@asynccontextmanager
async def serve_app(app: web.Application, host: str, port: int) -> AsyncIterator[int]:
    """Serve an aiohttp app until the block exits; yields the bound port (useful with port 0)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
        server = site._server
        bound = port
        if isinstance(server, asyncio.base_events.Server) and server.sockets:
            bound = int(server.sockets[0].getsockname()[1])
        yield bound
    finally:
        await runner.cleanup()
