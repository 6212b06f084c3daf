"""Voicemail messages: the RecordingPort.

A message is stored in three steps once the caller is done: the recording's audio is fetched
from Asterisk (`GET /recordings/stored/{name}/file`) and handed to the media service, which
keeps it as a prompt of the tenant; the `voicemail_messages` row names that prompt; the event
`rcp.events.<tenant>.voicemail.left` is published. Asterisk's copy is then deleted.
"""

from __future__ import annotations

import asyncio
from dataclasses import KW_ONLY, dataclass, field
from http import HTTPStatus
from uuid import UUID

import asyncpg
import nats.errors
import structlog
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from rcp import subjects
from rcp.contracts import VoicemailLeft
from rcp.contracts.media import PlayableMedia
from rcp.db.pool import DATABASE_FAILURES
from rcp.errors import ErrorCode, ReceptionistError, RemoteError, ServiceUnavailable
from rcp.media_client import INGEST_TIMEOUT_S, ingest_recording
from rcp.messaging import publish_event

from rcp_stasis.ari import AriError
from rcp_stasis.ports import StoredRecordings, VoicemailMessage

log = structlog.get_logger(__name__)

MAX_CALLER_NUMBER = 64
# A recording that was just stopped may take a moment to be found under its name.
FETCH_TRIES = 10
FETCH_RETRY_S = 0.3

# A message whose storing fails for a passing reason is tried again after each of these
# (about two minutes in all); the recording stays in Asterisk meanwhile.
SAVE_RETRY_DELAYS_S = (1.0, 4.0, 15.0, 30.0, 60.0)


@dataclass
class _Progress:
    """The steps of storing one message that are done already (kept across retries)."""

    audio: bytes | None = None
    stored: PlayableMedia | None = None
    message_id: UUID | None = None
    announced: bool = False


INSERT_MESSAGE = """
    INSERT INTO voicemail_messages
           (tenant_id, extension_id, extension_number, caller_number, prompt_id, duration_ms,
            call_id)
    VALUES ($1, (SELECT id FROM extensions WHERE tenant_id = $1 AND number = $2), $2, $3, $4,
            $5, $6)
    RETURNING id"""


class RecordingNotFound(ReceptionistError):
    """Asterisk has no stored recording by that name (yet: it may be starting up)."""


# What a save tries again (each a service or a server not answering now).
_SAVE_RETRIED: tuple[type[Exception], ...] = (
    ServiceUnavailable,
    *DATABASE_FAILURES,
    nats.errors.Error,
    AriError,
    RecordingNotFound,  # Asterisk restarting answers 404 until ARI is loaded
)


@dataclass(slots=True)
class VoicemailStore:
    """Stores voicemail messages through the media service (in `media_scope`), PostgreSQL and
    JetStream."""

    recordings: StoredRecordings
    nc: NatsClient
    jetstream: JetStreamContext
    pool: asyncpg.Pool
    _: KW_ONLY
    media_scope: str = ""
    ingest_timeout_s: float = INGEST_TIMEOUT_S
    retry_delays_s: tuple[float, ...] = SAVE_RETRY_DELAYS_S
    retries: int = field(default=0, init=False)
    """How many times a save was tried again (for tests and logs)."""

    async def discard(self, recording: str) -> None:
        """Delete a recording that is no message."""
        await self.recordings.delete_recording(recording)

    async def save(self, message: VoicemailMessage) -> UUID | None:
        """Store the message; its recording is deleted from Asterisk once stored. None when
        the recording holds no audio at all (the caller hung up at the beep): no message.

        A step that fails for a passing reason (media or PostgreSQL not answering, NATS
        down, Asterisk restarting) is tried again after each of `retry_delays_s`, resuming
        where it failed: the audio is stored once, the message written once, the event
        deduplicated by its id.
        """
        done = _Progress()
        delays = iter(self.retry_delays_s)
        while True:
            try:
                return await self._save(message, done)
            except _SAVE_RETRIED as error:
                if (
                    isinstance(error, AriError)
                    and 0 < error.status < HTTPStatus.INTERNAL_SERVER_ERROR
                ):
                    raise  # Asterisk refused the request itself: trying again changes nothing
                delay = next(delays, None)
                if delay is None:
                    raise
                self.retries += 1
                log.warning(
                    "voicemail.save_retry",
                    call_id=message.call_id,
                    recording=message.recording,
                    error=repr(error),
                    in_s=delay,
                )
                await asyncio.sleep(delay)

    async def _save(self, message: VoicemailMessage, done: _Progress) -> UUID | None:
        if done.audio is None:
            done.audio = await self._fetch(message.recording)
        if done.stored is None:
            try:
                done.stored = await ingest_recording(
                    self.nc,
                    message.tenant_id,
                    done.audio,
                    name=f"{message.recording}.wav",
                    scope=self.media_scope,
                    timeout_s=self.ingest_timeout_s,
                )
            except RemoteError as error:
                if error.code != ErrorCode.EMPTY_AUDIO:
                    raise
                await self.recordings.delete_recording(message.recording)
                log.info("voicemail.empty", call_id=message.call_id, recording=message.recording)
                return None
        stored = done.stored
        assert stored.prompt_id is not None  # noqa: S101 - an ingested file is a stored prompt
        caller = (message.caller_number or "")[:MAX_CALLER_NUMBER] or None
        if done.message_id is None:
            done.message_id = await self.pool.fetchval(
                INSERT_MESSAGE,
                message.tenant_id,
                message.extension_number,
                caller,
                stored.prompt_id,
                stored.duration_ms,
                message.call_id,
            )
        message_id = done.message_id
        if not done.announced:
            left = VoicemailLeft(
                tenant_id=message.tenant_id,
                message_id=message_id,
                call_id=message.call_id,
                extension_number=message.extension_number,
                caller_number=caller,
                prompt_id=stored.prompt_id,
                duration_ms=stored.duration_ms,
            )
            await publish_event(
                self.jetstream, subjects.voicemail_left(message.tenant_id), left, str(message_id)
            )
            done.announced = True
        await self.recordings.delete_recording(message.recording)
        log.info(
            "voicemail.saved",
            tenant_id=str(message.tenant_id),
            message_id=str(message_id),
            extension=message.extension_number,
            duration_ms=stored.duration_ms,
        )
        return message_id

    async def _fetch(self, name: str) -> bytes:
        for _ in range(FETCH_TRIES):
            audio = await self.recordings.recording_file(name)
            if audio is not None:
                return audio
            await asyncio.sleep(FETCH_RETRY_S)
        raise RecordingNotFound(ErrorCode.NOT_FOUND, f"Asterisk has no stored recording {name!r}")
