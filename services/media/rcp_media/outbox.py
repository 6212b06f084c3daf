"""Voicemail by email: the media service sends each new message to its extension's address.

**Why here.** The message's audio is a file of the media service's (`RCP_MEDIA_DIR`): sending
from here attaches it without moving it over NATS, and only this service holds the SMTP
relay's credentials. **Why durable.** The outbox is the message's own row: stasis stores the
message with `email_status = 'pending'` (the column's default) before anything is sent, and
the row says `sent` only once the relay took the email. A crash, a restart or an SMTP outage
delays an email; nothing drops one.

A round claims the due rows (`FOR UPDATE SKIP LOCKED`, so that instances share the work)
by pushing their `email_next_at` a lease ahead: an instance that dies mid-send lets another
take the message once the lease is over. Each claimed message is then sent and marked:
`sent`; `none` when its extension has no address (or is gone); a failure the relay calls
temporary (down, busy, a 4xx, a refused login) is tried again after a delay doubling from
`RCP_MEDIA_EMAIL_RETRY_MIN_S` up to `RCP_MEDIA_EMAIL_RETRY_MAX_S`, until the message is
`RCP_MEDIA_EMAIL_GIVE_UP_AFTER_S` old; then, or at once when the relay refuses it for good
(5xx), `failed` with the reason in `email_error`. The message itself stays either way.

Rounds run when stasis announces a message (`rcp.events.<tenant>.voicemail.left`, heard as
a plain NATS subscription: only a wake-up), when a retry falls due, and at least every
`RCP_MEDIA_EMAIL_POLL_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from uuid import UUID

import asyncpg
import structlog
from rcp.db.pool import DATABASE_FAILURES
from rcp.mail import MailDeferred, MailRefused

from rcp_media.emails import VoicemailNotice, voicemail_email
from rcp_media.metrics import MediaMetrics
from rcp_media.store import FileStore

log = structlog.get_logger(__name__)

BATCH = 20
MAX_ERROR = 600

# Claim the due messages: each gets a lease (its email_next_at pushed ahead) so that no other
# instance takes it meanwhile; then what its email needs, its extension, tenant and audio.
CLAIM = """
    WITH due AS (
        SELECT tenant_id, id FROM voicemail_messages
         WHERE email_status = 'pending' AND email_next_at <= now()
         ORDER BY email_next_at
         LIMIT $1
           FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE voicemail_messages v SET email_next_at = now() + make_interval(secs => $2)
          FROM due WHERE v.tenant_id = due.tenant_id AND v.id = due.id
        RETURNING v.tenant_id, v.id, v.extension_id, v.extension_number, v.caller_number,
                  v.caller_name, v.prompt_id, v.duration_ms, v.created_at, v.email_attempts
    )
    SELECT c.*, e.voicemail_email, e.first_name, e.last_name, t.name AS tenant_name,
           t.locale, t.timezone, p.content_hash
      FROM claimed c
      JOIN tenants t ON t.id = c.tenant_id
      LEFT JOIN extensions e ON e.tenant_id = c.tenant_id AND e.id = c.extension_id
      LEFT JOIN prompts p ON p.tenant_id = c.tenant_id AND p.id = c.prompt_id"""

NEXT_DUE = "SELECT min(email_next_at) FROM voicemail_messages WHERE email_status = 'pending'"

SENT = """
    UPDATE voicemail_messages
       SET email_status = 'sent', emailed_at = now(), email_to = $3,
           email_attempts = email_attempts + 1, email_next_at = NULL, email_error = NULL
     WHERE tenant_id = $1 AND id = $2 AND email_status = 'pending'"""

NOTHING_TO_SEND = """
    UPDATE voicemail_messages SET email_status = 'none', email_next_at = NULL
     WHERE tenant_id = $1 AND id = $2 AND email_status = 'pending'"""

DEFERRED = """
    UPDATE voicemail_messages
       SET email_attempts = email_attempts + 1, email_error = $3,
           email_next_at = now() + make_interval(secs => $4)
     WHERE tenant_id = $1 AND id = $2 AND email_status = 'pending'"""

FAILED = """
    UPDATE voicemail_messages
       SET email_status = 'failed', email_attempts = email_attempts + $4, email_to = $5,
           email_error = $3, email_next_at = NULL
     WHERE tenant_id = $1 AND id = $2 AND email_status = 'pending'"""


class MailSender(Protocol):
    """What the outbox needs of a relay (`rcp.mail.SmtpSender`)."""

    @property
    def sender(self) -> str:
        """The From of every email."""
        ...

    async def send(self, message: EmailMessage, /) -> None:
        """Hand one message to the relay; `MailDeferred` or `MailRefused` if it did not."""
        ...


@dataclass(frozen=True)
class OutboxTiming:
    """When the outbox looks, retries and gives up."""

    poll_s: float = 30.0
    retry_min_s: float = 30.0
    retry_max_s: float = 3600.0
    give_up_after_s: float = 3 * 24 * 3600.0
    lease_s: float = 300.0

    def retry_in_s(self, attempts: int) -> float:
        """The wait before the next try, after `attempts` tries (doubling, bounded)."""
        return float(min(self.retry_max_s, self.retry_min_s * 2 ** max(0, attempts - 1)))


def _notice(row: asyncpg.Record) -> VoicemailNotice:
    name = " ".join(part for part in (row["first_name"], row["last_name"]) if part)
    return VoicemailNotice(
        message_id=row["id"],
        to=row["voicemail_email"],
        tenant_name=row["tenant_name"],
        locale=row["locale"],
        timezone=row["timezone"],
        extension_number=row["extension_number"],
        extension_name=name,
        caller_number=row["caller_number"],
        caller_name=row["caller_name"],
        duration_ms=row["duration_ms"],
        left_at=row["created_at"],
    )


def _clipped(text: str) -> str:
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


@dataclass(slots=True)
class VoicemailOutbox:
    """Sends the pending emails of voicemail messages, and marks each message's row."""

    pool: asyncpg.Pool
    files: FileStore
    sender: MailSender
    metrics: MediaMetrics
    timing: OutboxTiming
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def wake(self) -> None:
        """Look for due messages now (a message was just left)."""
        self._wake.set()

    async def run(self) -> None:
        """Send due emails until cancelled; a round that fails is logged and tried again."""
        while True:
            self._wake.clear()
            try:
                handled = await self.deliver_due()
            except Exception:  # the database or the disk failed: the rows wait, nothing lost
                log.exception("voicemail_email.round_failed")
                handled = 0
            if handled >= BATCH:
                continue  # more may be due
            # The pause is read first: a cancellation while it is read leaves no coroutine
            # behind; asyncio.timeout, not wait_for, so a cancellation is never swallowed.
            pause_s = await self._pause_s()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause_s):
                    await self._wake.wait()

    async def _pause_s(self) -> float:
        """Until the next retry falls due, at most the poll interval."""
        try:
            due: datetime | None = await self.pool.fetchval(NEXT_DUE)
        except DATABASE_FAILURES:
            return self.timing.poll_s
        if due is None:
            return self.timing.poll_s
        wait = (due - datetime.now(UTC)).total_seconds()
        return min(self.timing.poll_s, max(0.05, wait))

    async def deliver_due(self) -> int:
        """One round: claim the due messages and send each; how many were claimed."""
        rows = await self.pool.fetch(CLAIM, BATCH, self.timing.lease_s)
        for row in rows:
            outcome = await self._deliver(row)
            self.metrics.voicemail_emails.labels(outcome).inc()
        return len(rows)

    async def _deliver(self, row: asyncpg.Record) -> str:
        key = (row["tenant_id"], row["id"])
        address: str | None = row["voicemail_email"]
        if not address:  # no address, or the extension is gone: nothing to send
            await self.pool.execute(NOTHING_TO_SEND, *key)
            return "none"
        audio = await self._audio(row["content_hash"])
        if audio is None:
            await self._fail(key, "the message's recording is gone (media_lost)", 0, address)
            return "failed"
        notice = _notice(row)
        try:
            await self.sender.send(voicemail_email(notice, audio, self.sender.sender))
        except MailRefused as error:
            await self._fail(key, error.message, 1, address)
            log.warning("voicemail_email.refused", message_id=str(row["id"]), why=error.message)
            return "refused"
        except MailDeferred as error:
            return await self._defer(row, error.message, address)
        await self.pool.execute(SENT, *key, address)
        log.info(
            "voicemail_email.sent",
            tenant_id=str(row["tenant_id"]),
            message_id=str(row["id"]),
            bytes=len(audio),
        )
        return "sent"

    async def _defer(self, row: asyncpg.Record, why: str, address: str) -> str:
        key = (row["tenant_id"], row["id"])
        attempts = row["email_attempts"] + 1
        age = datetime.now(UTC) - row["created_at"]
        if age >= timedelta(seconds=self.timing.give_up_after_s):
            await self._fail(key, f"gave up after {attempts} tries: {why}", 1, address)
            log.warning("voicemail_email.given_up", message_id=str(row["id"]), why=why)
            return "failed"
        delay = self.timing.retry_in_s(attempts)
        await self.pool.execute(DEFERRED, *key, _clipped(why), delay)
        log.warning(
            "voicemail_email.deferred", message_id=str(row["id"]), why=why, retry_in_s=delay
        )
        return "deferred"

    async def _fail(self, key: tuple[UUID, UUID], why: str, attempted: int, address: str) -> None:
        await self.pool.execute(FAILED, *key, _clipped(why), attempted, address)

    async def _audio(self, content_key: str | None) -> bytes | None:
        """The recording as the web manager plays it (8 kHz WAV), or None if it is gone."""
        if content_key is None:
            return None
        path: Path = self.files.playable(content_key).narrowband
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None
