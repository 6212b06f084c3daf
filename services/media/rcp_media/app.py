"""Composition root of the media service."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, fields

import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from rcp import subjects, tasks
from rcp.mail import SmtpSender
from rcp.media_client import media_inbox
from rcp.runtime import Infrastructure, infrastructure
from rcp.telemetry import serve_app

from rcp_media.audio import FfmpegTools
from rcp_media.handlers import Handlers, serve_requests
from rcp_media.http import media_app
from rcp_media.inbox import NatsInbox
from rcp_media.keys import UrlSigner
from rcp_media.metrics import MediaMetrics
from rcp_media.outbox import OutboxTiming, VoicemailOutbox
from rcp_media.service import STRAY_AFTER_S, Limits, MediaService
from rcp_media.settings import Settings
from rcp_media.store import CacheIndex, FileStore
from rcp_media.tts import SynthesisLimit, create_engine

log = structlog.get_logger(__name__)

# Requests handled at once per instance (hits are quick; renders also wait for a render slot).
REQUEST_CONCURRENCY = 64
# Files no row describes are looked for at start, then every this many maintenance rounds.
SWEEP_EVERY_ROUNDS = 60


@dataclass(frozen=True)
class RunningMedia:
    """A started media service, as tests and the entry point see it."""

    service: MediaService
    handlers: Handlers
    metrics: MediaMetrics
    files: FileStore
    base_url: str
    http_port: int
    outbox: VoicemailOutbox | None
    """Sends voicemail by email; None without an SMTP relay (RCP_SMTP_HOST)."""


def limits_of(settings: Settings) -> Limits:
    """The service's limits from its settings: each limit is the setting `media_<limit>`."""
    return Limits(
        **{limit.name: getattr(settings, f"media_{limit.name}") for limit in fields(Limits)}
    )


@asynccontextmanager
async def run_media(settings: Settings, infra: Infrastructure) -> AsyncIterator[RunningMedia]:
    """Start the TTS engine's workers, the HTTP server, the NATS endpoints and maintenance;
    stop them on exit. /readyz says "starting" until all of it runs."""
    serving = False

    async def started() -> None:
        if not serving:
            raise RuntimeError("starting")

    infra.health.add("media", started)
    metrics = MediaMetrics(infra.metrics)
    engine = await create_engine(
        settings.media_tts_engine, metrics, SynthesisLimit(settings.media_tts_timeout_s)
    )
    files = FileStore(settings.media_dir)
    await asyncio.to_thread(files.prepare, STRAY_AFTER_S)
    service = MediaService(
        index=CacheIndex(infra.pool),
        files=files,
        engine=engine,
        audio=FfmpegTools(),
        limits=limits_of(settings),
        metrics=metrics,
        render_concurrency=settings.media_render_concurrency,
    )
    signer = UrlSigner(settings.media_url_secret.encode())
    async with AsyncExitStack() as stack:
        stack.push_async_callback(engine.close)  # once the service's renders are stopped
        # Before any request comes: the first miss is spoken by a worker already started
        # (25-90 ms saved), and an engine that cannot run stops the service at its start.
        await engine.start()
        stack.push_async_callback(service.close)
        port = await stack.enter_async_context(
            serve_app(
                media_app(service, signer, metrics),
                settings.media_http_host,
                settings.media_http_port,
            )
        )
        base_url = settings.base_url(port)
        handlers = Handlers(
            service=service,
            inbox=NatsInbox(await media_inbox(infra.nats)),
            files=files,
            signer=signer,
            base_url=base_url,
            metrics=metrics,
            recording_url_ttl_s=settings.media_recording_url_ttl_s,
        )
        await stack.enter_async_context(
            serve_requests(
                infra.nats,
                handlers,
                scope=settings.media_nats_scope,
                concurrency=REQUEST_CONCURRENCY,
            )
        )

        async def media_dir() -> None:
            if not os.access(files.tmp, os.W_OK):
                raise PermissionError(f"cannot write in {files.root}")

        infra.health.add("media_dir", media_dir)
        maintenance = asyncio.create_task(
            _maintain_forever(service, settings.media_maintenance_interval_s)
        )
        stack.push_async_callback(tasks.stop, maintenance)
        outbox = None
        if settings.mail_enabled:
            outbox = VoicemailOutbox(
                infra.pool, files, SmtpSender(settings), metrics, timing_of(settings)
            )
            await stack.enter_async_context(_voicemail_emails(infra.nats, outbox))
        log.info(
            "media.listening",
            http=f"{settings.media_http_host}:{port}",
            base_url=base_url,
            engine=f"{engine.name} {engine.version}",
            media_dir=str(files.root),
            smtp=f"{settings.smtp_host}:{settings.effective_smtp_port}" if outbox else None,
        )
        serving = True
        yield RunningMedia(service, handlers, metrics, files, base_url, port, outbox)


def timing_of(settings: Settings) -> OutboxTiming:
    """When the voicemail outbox looks, retries and gives up, from the settings."""
    return OutboxTiming(
        poll_s=settings.media_email_poll_s,
        retry_min_s=settings.media_email_retry_min_s,
        retry_max_s=settings.media_email_retry_max_s,
        give_up_after_s=settings.media_email_give_up_after_s,
        # Longer than a send can take (connecting, TLS, login, data: each within the timeout).
        lease_s=max(60.0, 6 * settings.smtp_timeout_s),
    )


@asynccontextmanager
async def _voicemail_emails(nc: NatsClient, outbox: VoicemailOutbox) -> AsyncIterator[None]:
    """Run the outbox, woken by each message stasis announces (the rows are the truth: a
    missed announcement only waits for the next look)."""

    async def wake(_: Msg) -> None:
        outbox.wake()

    subscription = await nc.subscribe(subjects.VOICEMAIL_LEFT_ALL, cb=wake)
    sending = asyncio.create_task(outbox.run())
    try:
        yield
    finally:
        await tasks.stop(sending)
        with contextlib.suppress(Exception):  # the connection may be closing already
            await subscription.unsubscribe()


async def _maintain_forever(service: MediaService, interval_s: float) -> None:
    rounds = 0
    while True:
        try:
            await service.maintain(sweep_disk=rounds % SWEEP_EVERY_ROUNDS == 0)
        except Exception:  # logged and retried next round: maintenance must not stop serving
            log.exception("media.maintenance_failed")
        rounds += 1
        await asyncio.sleep(interval_s)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Build the service, run it until `stop` is set, then unwind every lifetime."""
    async with (
        infrastructure(settings, settings.service_name, stop) as infra,
        run_media(settings, infra),
    ):
        await stop.wait()
