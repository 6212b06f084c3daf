"""Voicemail by email: the media service (as its own database role) sends each new message to
its extension's address through a real SMTP server (aiosmtpd on 127.0.0.1), the recording
attached; an outage delays the email and delivers it exactly once; no address, no email.

Messages are stored as stasis stores them: the recording ingested by the media service over
NATS, the row inserted by stasis's own statement as the stasis role, the event announced.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from media_support import media_settings, metric, running_media, speech
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from rcp import subjects
from rcp.contracts import VoicemailLeft
from rcp.mail import SmtpSecurity
from rcp.media_client import ingest_recording
from rcp.messaging import publish_event
from rcp_media.app import RunningMedia
from rcp_media.emails import VoicemailNotice, body, subject, voicemail_email
from rcp_stasis.voicemail import INSERT_MESSAGE
from roles_support import service_url
from smtp_support import Mailbox, Received, free_port, smtp_server

SENDER = "Receptionist <voicemail@carrier.example>"


@dataclass
class Office:
    """A tenant with two extensions, 101 with an address and 102 without."""

    tenant_id: uuid.UUID
    address: str


async def _office(url: str, locale: str = "fr-FR", timezone: str = "Europe/Paris") -> Office:
    address = f"amelie.{uuid.uuid4().hex[:8]}@example.org"
    db = await asyncpg.connect(url)
    try:
        tenant_id: uuid.UUID = await db.fetchval(
            """INSERT INTO tenants (slug, name, locale, timezone) VALUES ($1, 'Démo SARL', $2, $3)
               RETURNING id""",
            f"mail-{uuid.uuid4().hex[:10]}",
            locale,
            timezone,
        )
        await db.execute(
            """INSERT INTO extensions (tenant_id, number, kind, first_name, last_name,
                                       external_number, voicemail_email)
               VALUES ($1, '101', 'virtual', 'Amélie', 'Poulain', '+33612000101', $2),
                      ($1, '102', 'virtual', 'Jean-Pierre', 'Lefèvre', '+33612000102', NULL)""",
            tenant_id,
            address,
        )
    finally:
        await db.close()
    return Office(tenant_id, address)


@dataclass
class Left:
    """A message as stored: its row's id and the bytes of its recording's file."""

    id: uuid.UUID
    audio: bytes


class Callers:
    """Leaves voicemail messages as stasis does."""

    def __init__(
        self, url: str, nats: NatsClient, js: JetStreamContext, scope: str, wav: Path
    ) -> None:
        self.url = url
        self.nats = nats
        self.js = js
        self.scope = scope
        self.wav = wav.read_bytes()

    async def leave(self, office: Office, extension: str, media: RunningMedia) -> Left:
        stored = await ingest_recording(
            self.nats, office.tenant_id, self.wav, scope=self.scope, name="voicemail-x.wav"
        )
        assert stored.prompt_id is not None
        stasis = await asyncpg.connect(service_url(self.url, "stasis"))
        try:
            message_id: uuid.UUID = await stasis.fetchval(
                INSERT_MESSAGE,
                office.tenant_id,
                extension,
                "+33698765432",
                stored.prompt_id,
                stored.duration_ms,
                f"call-{uuid.uuid4().hex[:8]}",
            )
        finally:
            await stasis.close()
        left = VoicemailLeft(
            tenant_id=office.tenant_id,
            message_id=message_id,
            call_id="call",
            extension_number=extension,
            caller_number="+33698765432",
            prompt_id=stored.prompt_id,
            duration_ms=stored.duration_ms,
        )
        await publish_event(
            self.js, subjects.voicemail_left(office.tenant_id), left, str(message_id)
        )
        audio = media.files.playable(stored.key).narrowband.read_bytes()
        return Left(message_id, audio)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("voicemail")
    return speech(folder / "message.wav", "Bonjour Amélie, rappelez-moi au bureau.")


def _settings(url: str, media_dir: Path, smtp_port: int, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_security": SmtpSecurity.NONE,
        "smtp_from": SENDER,
        "smtp_timeout_s": 5,
        "media_email_poll_s": 0.5,
        "media_email_retry_min_s": 0.3,
        "media_email_retry_max_s": 1.0,
    }
    return media_settings(service_url(url, "media"), media_dir, **(values | overrides))


@pytest.fixture
async def world(
    migrated_url: str, nats_client: NatsClient, tmp_path: Path, recording: Path
) -> AsyncIterator[Callable[..., Any]]:
    """Starts media services (each with its outbox) on one media folder and scope, for an SMTP
    server on `smtp_port`; gives them and the callers."""
    scope = f"mail{uuid.uuid4().hex[:10]}"
    async with AsyncExitStack() as stack:

        async def start(smtp_port: int, **overrides: Any) -> tuple[RunningMedia, Callers]:
            settings = _settings(
                migrated_url, tmp_path / "media", smtp_port, media_nats_scope=scope, **overrides
            )
            media = await stack.enter_async_context(running_media(settings))
            callers = Callers(migrated_url, nats_client, nats_client.jetstream(), scope, recording)
            return media, callers

        yield start


async def _row(url: str, message_id: uuid.UUID) -> asyncpg.Record:
    db = await asyncpg.connect(url)
    try:
        row = await db.fetchrow("SELECT * FROM voicemail_messages WHERE id = $1", message_id)
        assert row is not None
        return row
    finally:
        await db.close()


async def _until(
    url: str, message_id: uuid.UUID, done: Callable[[asyncpg.Record], bool], timeout_s: float = 20
) -> asyncpg.Record:
    deadline = time.monotonic() + timeout_s
    while True:
        row = await _row(url, message_id)
        if done(row) or time.monotonic() > deadline:
            return row
        await asyncio.sleep(0.1)


def _attachment(received: Received) -> tuple[str, str, bytes]:
    [part] = list(received.message.iter_attachments())
    assert isinstance(part, EmailMessage)
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return part.get_content_type(), part.get_filename() or "", payload


async def test_a_new_message_is_emailed_to_its_extension_with_its_recording_attached(
    migrated_url: str, world: Callable[..., Any]
) -> None:
    office = await _office(migrated_url)
    with smtp_server() as (mailbox, port):
        media, callers = await world(port)
        left = await callers.leave(office, "101", media)

        [received] = await mailbox.wait_for(1)
        row = await _until(migrated_url, left.id, lambda r: r["email_status"] == "sent")

    content_type, filename, audio = _attachment(received)
    assert received.recipients == [office.address]
    assert received.sender == "voicemail@carrier.example"
    assert received.message["From"] == "Démo SARL <voicemail@carrier.example>"
    assert received.message["Subject"] == (
        "Nouveau message vocal de +33698765432 pour Amélie Poulain (101)"
    )
    assert received.message["Message-ID"] == f"<voicemail.{left.id}@carrier.example>"
    assert received.message["Auto-Submitted"] == "auto-generated"
    text = received.message.get_body(("plain",))
    assert text is not None
    assert "+33698765432 vous a laissé un message de" in text.get_content()
    assert content_type == "audio/wav"
    assert filename.startswith("message-101-")
    assert filename.endswith(".wav")
    assert audio == left.audio  # the very file the web manager plays
    assert audio[:4] == b"RIFF"
    assert (row["email_status"], row["email_to"], row["email_attempts"]) == (
        "sent",
        office.address,
        1,
    )
    assert row["emailed_at"] is not None
    assert row["email_error"] is None
    assert metric(media, "rcp_media_voicemail_emails_total", outcome="sent") == 1


async def test_an_smtp_outage_delays_the_email_and_recovery_delivers_it_exactly_once(
    migrated_url: str, world: Callable[..., Any]
) -> None:
    office = await _office(migrated_url, "en-GB", "Europe/London")
    port = free_port()
    media, callers = await world(port)  # nothing listens there: the relay is down
    left = await callers.leave(office, "101", media)

    deferred = await _until(migrated_url, left.id, lambda r: r["email_attempts"] >= 2)
    mailbox = Mailbox()
    with smtp_server(port, mailbox=mailbox):
        sent = await _until(migrated_url, left.id, lambda r: r["email_status"] == "sent")
        await asyncio.sleep(2.5)  # retries and polls would have sent it again by now
        received = mailbox.messages()

    assert deferred["email_status"] == "pending"
    assert deferred["email_error"].startswith(f"127.0.0.1:{port}: ")
    assert sent["email_status"] == "sent"
    assert sent["email_attempts"] > deferred["email_attempts"]
    assert sent["email_error"] is None
    assert len(received) == 1
    assert received[0].message["Subject"] == (
        "New voicemail from +33698765432 for Amélie Poulain (101)"
    )
    assert _attachment(received[0])[2] == left.audio
    assert metric(media, "rcp_media_voicemail_emails_total", outcome="deferred") >= 2


async def test_an_extension_without_an_address_sends_nothing(
    migrated_url: str, world: Callable[..., Any]
) -> None:
    office = await _office(migrated_url)
    with smtp_server() as (mailbox, port):
        media, callers = await world(port)
        silent = await callers.leave(office, "102", media)
        emailed = await callers.leave(office, "101", media)

        await mailbox.wait_for(1)
        row = await _until(migrated_url, silent.id, lambda r: r["email_status"] != "pending")
        await asyncio.sleep(1.0)
        received = mailbox.messages()

    assert (row["email_status"], row["email_to"], row["email_attempts"]) == ("none", None, 0)
    assert [r.recipients for r in received] == [[office.address]]
    assert received[0].message["Message-ID"] == f"<voicemail.{emailed.id}@carrier.example>"


async def test_a_recipient_the_relay_refuses_for_good_fails_at_once_and_is_not_retried(
    migrated_url: str, world: Callable[..., Any]
) -> None:
    office = await _office(migrated_url)
    with smtp_server() as (mailbox, port):
        mailbox.rcpt_answer = (550, "5.1.1 No such user here")
        media, callers = await world(port)
        left = await callers.leave(office, "101", media)

        row = await _until(migrated_url, left.id, lambda r: r["email_status"] != "pending")
        await asyncio.sleep(1.0)
        again = await _row(migrated_url, left.id)

    assert (row["email_status"], row["email_attempts"]) == ("failed", 1)
    assert row["email_error"] == "550 5.1.1 No such user here"
    assert again["email_attempts"] == 1
    assert mailbox.messages() == []


async def test_an_email_the_relay_never_takes_is_given_up_and_the_message_kept(
    migrated_url: str, world: Callable[..., Any]
) -> None:
    office = await _office(migrated_url)
    media, callers = await world(free_port(), media_email_give_up_after_s=1.5)
    left = await callers.leave(office, "101", media)

    row = await _until(migrated_url, left.id, lambda r: r["email_status"] != "pending")

    assert row["email_status"] == "failed"
    assert row["email_error"].startswith("gave up after ")
    assert row["email_attempts"] >= 2
    assert row["prompt_id"] is not None  # the message itself stays, listenable


async def test_two_media_instances_share_the_outbox_and_send_each_email_once(
    migrated_url: str, world: Callable[..., Any]
) -> None:
    office = await _office(migrated_url)
    with smtp_server() as (mailbox, port):
        first, callers = await world(port)
        await world(port)
        left = [await callers.leave(office, "101", first) for _ in range(6)]

        received = await mailbox.wait_for(6)
        await asyncio.sleep(1.5)
        received = mailbox.messages()

    ids = sorted(r.message["Message-ID"] for r in received)
    assert ids == sorted(f"<voicemail.{m.id}@carrier.example>" for m in left)


# --- what an email says (pure) ---------------------------------------------------------------


def notice(**changes: Any) -> VoicemailNotice:
    values: dict[str, Any] = {
        "message_id": uuid.UUID("00000000-0000-4000-8000-000000000042"),
        "to": "amelie@example.org",
        "tenant_name": "Démo SARL",
        "locale": "fr-FR",
        "timezone": "Europe/Paris",
        "extension_number": "101",
        "extension_name": "Amélie Poulain",
        "caller_number": "+33612345678",
        "caller_name": None,
        "duration_ms": 74_400,
        "left_at": datetime(2026, 12, 1, 15, 5, tzinfo=UTC),
    }
    return VoicemailNotice(**(values | changes))


def test_the_email_is_in_french_with_the_time_in_the_tenants_time_zone() -> None:
    text = body(notice())

    assert subject(notice()) == "Nouveau message vocal de +33612345678 pour Amélie Poulain (101)"
    assert text.startswith("Bonjour Amélie Poulain,\n\n+33612345678 vous a laissé un message de ")
    assert "de 1 min 14 s le mardi 1 décembre 2026 à 16:05, sur le poste 101 (Démo SARL)" in text


def test_the_email_is_in_english_for_another_language_and_says_a_number_was_withheld() -> None:
    english = notice(
        locale="en-GB", timezone="Europe/London", caller_number=None, duration_ms=9_600
    )

    assert subject(english) == "New voicemail from a withheld number for Amélie Poulain (101)"
    assert "A withheld number left you a message of 10 s on Tuesday 1 December 2026 at 15:05" in (
        body(english)
    )
    assert subject(notice(caller_number=None)) == (
        "Nouveau message vocal d'un numéro masqué pour Amélie Poulain (101)"
    )


def test_the_email_attaches_the_audio_under_a_name_saying_whose_and_when() -> None:
    message = voicemail_email(notice(), b"RIFF-audio", SENDER)

    [part] = list(message.iter_attachments())
    assert part.get_filename() == "message-101-20261201-1605.wav"
    assert part.get_content() == b"RIFF-audio"
    assert message["To"] == "amelie@example.org"
    assert message["Content-Language"] == "fr"
