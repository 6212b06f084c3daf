"""A real call through Asterisk leaves a voicemail message, and its extension's address gets it
by email from the media service, through a real SMTP server on 127.0.0.1, the attachment the
very recording the message stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from rcp.mail import SmtpSecurity
from rcp_devstack.settings import StackSettings
from smtp_support import Mailbox, smtp_server
from stasis_e2e_support import (
    Stack,
    Tenant,
    ended_call,
    kind,
    phones,
    provision,
    receptionist_stack,
    traced,
)
from test_stasis_calls import _until_recording

pytestmark = [pytest.mark.asterisk, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
def relay() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    asterisk: StackSettings,
    migrated_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    relay: tuple[Mailbox, int],
) -> AsyncIterator[tuple[Stack, Path]]:
    media_dir: Path = tmp_path_factory.mktemp("media")
    smtp = {
        "smtp_host": "127.0.0.1",
        "smtp_port": relay[1],
        "smtp_security": SmtpSecurity.NONE,
        "smtp_from": "Receptionist <voicemail@carrier.example>",
        "media_email_poll_s": 1.0,
    }
    async with receptionist_stack(asterisk, migrated_url, media_dir, media_overrides=smtp) as s:
        yield s, media_dir


async def test_a_message_left_by_a_real_caller_is_emailed_with_its_recording(
    stack: tuple[Stack, Path], relay: tuple[Mailbox, int]
) -> None:
    running, media_dir = stack
    mailbox, _ = relay
    async with phones(running) as lines:
        tenant: Tenant = await provision(running.database_url, running.phones_app)
        db = await asyncpg.connect(running.database_url)
        try:
            await db.execute(
                "UPDATE extensions SET voicemail_email = 'amelie@example.org' "
                "WHERE tenant_id = $1 AND number = '101'",
                tenant.id,
            )
        finally:
            await db.close()
        caller = await lines.call(tenant)
        await lines.press(caller, "5")
        await traced(running.database_url, tenant, kind("voicemail", number="101"))
        await _until_recording(running)
        await lines.speak(caller)
        await asyncio.sleep(3)
        await lines.press(caller, "#")
        assert (await ended_call(running.database_url, tenant))["outcome"] == "voicemail"

        [received] = await mailbox.wait_for(1, timeout_s=60)
        await lines.stasis_holds_nothing()

    db = await asyncpg.connect(running.database_url)
    try:
        row = await db.fetchrow(
            """SELECT m.email_status, m.email_to, p.content_hash FROM voicemail_messages m
                 JOIN prompts p ON p.tenant_id = m.tenant_id AND p.id = m.prompt_id
                WHERE m.tenant_id = $1""",
            tenant.id,
        )
    finally:
        await db.close()
    assert row is not None
    assert (row["email_status"], row["email_to"]) == ("sent", "amelie@example.org")
    assert received.recipients == ["amelie@example.org"]
    assert received.message["Subject"].startswith("Nouveau message vocal de +33612345678")
    [attachment] = list(received.message.iter_attachments())
    stored = media_dir / row["content_hash"][:2] / f"{row['content_hash']}.wav"
    assert attachment.get_payload(decode=True) == stored.read_bytes()
