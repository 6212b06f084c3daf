"""NATS requests to the service and back: contracts in, `PlayableMedia` (signed URLs) out."""

from __future__ import annotations

import importlib.metadata
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import structlog
from nats.aio.client import Client as NatsClient
from nats.micro import add_service
from rcp import subjects
from rcp.contracts.media import (
    AudioForgotten,
    EnsurePrompt,
    ForgetAudio,
    IngestAudio,
    PlayableMedia,
)
from rcp.errors import AUDIO_REFUSALS, TEXT_REFUSALS
from rcp.messaging import ConcurrentRequests, endpoint, reached_server

from rcp_media.errors import InboxObjectMissing, MediaError
from rcp_media.keys import AudioFormat, Kind, UrlSigner
from rcp_media.metrics import MediaMetrics
from rcp_media.ports import Inbox
from rcp_media.service import MediaService, Ready
from rcp_media.store import FileStore

T = TypeVar("T")
log = structlog.get_logger(__name__)

# Codes that mean "this text or audio is refused", as opposed to the service failing.
REFUSALS = TEXT_REFUSALS | AUDIO_REFUSALS


@dataclass(frozen=True, kw_only=True)
class Handlers:
    """The typed handlers behind the service's NATS endpoints."""

    service: MediaService
    inbox: Inbox
    files: FileStore
    signer: UrlSigner
    base_url: str  # what Asterisk reaches the HTTP server at
    metrics: MediaMetrics
    recording_url_ttl_s: int = 300

    def playable(self, tenant_id: uuid.UUID, ready: Ready) -> PlayableMedia:
        """The reply naming an entry's signed URLs for this tenant: for good for a prompt
        (Asterisk's cache keeps it), for `recording_url_ttl_s` for a recording."""
        expires = None
        if ready.kind is Kind.RECORDING:
            expires = int(time.time()) + self.recording_url_ttl_s
        return PlayableMedia(
            prompt_id=ready.prompt_id,
            key=ready.key,
            uri=self._url(tenant_id, ready.key, AudioFormat.NARROWBAND, expires),
            wideband_uri=self._url(tenant_id, ready.key, AudioFormat.WIDEBAND, expires),
            duration_ms=ready.duration_ms,
            rendered=ready.rendered,
        )

    def _url(
        self, tenant_id: uuid.UUID, key: str, audio_format: AudioFormat, expires: int | None
    ) -> str:
        return self.base_url + self.signer.path(tenant_id, key, audio_format, expires)

    async def ensure(self, ask: EnsurePrompt) -> PlayableMedia:
        """rcp.media.<tenant>.ensure"""
        if ask.prompt_id is not None:
            ready = await self._counted(self.service.ensure_prompt(ask.tenant_id, ask.prompt_id))
        else:  # the contract holds one or the other
            ready = await self._counted(
                self.service.ensure_text(ask.tenant_id, ask.text or "", ask.language, ask.voice)
            )
        return self.playable(ask.tenant_id, ready)

    async def ingest_upload(self, ask: IngestAudio) -> PlayableMedia:
        """rcp.media.<tenant>.upload"""
        return await self._counted(self._ingest(ask, Kind.UPLOAD))

    async def ingest_recording(self, ask: IngestAudio) -> PlayableMedia:
        """rcp.media.<tenant>.ingest"""
        return await self._counted(self._ingest(ask, Kind.RECORDING))

    async def forget(self, ask: ForgetAudio) -> AudioForgotten:
        """rcp.media.<tenant>.forget"""
        removed, kept = await self.service.forget(ask.tenant_id, ask.keys)
        return AudioForgotten(removed=removed, kept=kept)

    async def _ingest(self, ask: IngestAudio, source: Kind) -> PlayableMedia:
        try:
            size = await self.inbox.size(ask.object_name)
            if size is None:
                raise InboxObjectMissing(
                    "no such object in the media inbox (expired?)", object_name=ask.object_name
                )
            self.service.check_size(size)  # before reading any of it
            with self.files.work_folder() as work:
                audio = work / "incoming"
                await self.inbox.fetch(ask.object_name, audio)
                ready = await self.service.ingest(
                    ask.tenant_id, source, audio, ask.original_filename
                )
        finally:
            try:
                await self.inbox.remove(ask.object_name)
            except Exception:  # it expires with the inbox's TTL; the answer matters more
                log.warning("media.inbox_remove_failed", object_name=ask.object_name, exc_info=True)
        return self.playable(ask.tenant_id, ready)

    async def _counted(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except MediaError as error:
            if error.code in REFUSALS:
                self.metrics.refusals.labels(code=error.code).inc()
            raise


@asynccontextmanager
async def serve_requests(
    nc: NatsClient, handlers: Handlers, *, scope: str, concurrency: int
) -> AsyncIterator[None]:
    """The `media` nats.micro service with its four endpoints, until the block exits.

    Each request runs in its own task, so that hits are answered while a render runs.
    """
    service = await add_service(
        nc,
        name=subjects.MEDIA_SERVICE,
        version=importlib.metadata.version("receptionist"),
        description="Playable prompts: text to speech, uploads, recordings; forgetting audio",
    )
    requests = ConcurrentRequests(concurrency)
    routes = [
        ("ensure", subjects.MEDIA_ENSURE_PROMPT, endpoint(EnsurePrompt, handlers.ensure)),
        ("upload", subjects.MEDIA_INGEST_UPLOAD, endpoint(IngestAudio, handlers.ingest_upload)),
        (
            "ingest",
            subjects.MEDIA_INGEST_RECORDING,
            endpoint(IngestAudio, handlers.ingest_recording),
        ),
        ("forget", subjects.MEDIA_FORGET, endpoint(ForgetAudio, handlers.forget)),
    ]
    try:
        for name, subject, handler in routes:
            await service.add_endpoint(
                name=name,
                subject=subject.every_tenant(scope),
                handler=requests.wrap(handler),
            )
        # The subscriptions are on the server once it answers this ping: a request sent the
        # moment the service says it is up finds a responder (not "no responders").
        await reached_server(nc)
        yield
    finally:
        await service.stop()
        await requests.drain()
