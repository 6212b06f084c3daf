"""Invitations and password resets by email: a real SMTP server (aiosmtpd on 127.0.0.1) takes
what the admin service sends, and the tests follow the links in the emails as people would."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from admin_support import PASSWORD, Admin, Person, add_person, running_admin, signed_in
from smtp_support import Mailbox, Received, make_certificate, smtp_server

PUBLIC = "https://pbx.carrier.example"
LINK = re.compile(re.escape(PUBLIC) + r"/#/(invitation|reset)\?token=(rcl_[A-Za-z0-9_-]{43})")
NEW_PASSWORD = "un mot de passe tout neuf"


def relay(port: int, **more: Any) -> dict[str, Any]:
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_from": "Receptionist <noreply@carrier.example>",
        "admin_public_url": PUBLIC,
        **more,
    }


@pytest.fixture
async def mailed(migrated_url: str) -> AsyncIterator[tuple[Admin, Mailbox]]:
    """The admin API sending through a real local SMTP server, and that server's mailbox."""
    with smtp_server() as (box, port):
        async with running_admin(migrated_url, **relay(port)) as admin:
            yield admin, box


def text_of(received: Received) -> str:
    body = received.message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def link_in(received: Received) -> tuple[str, str]:
    """The page and the token of the one link an email carries."""
    found = LINK.findall(text_of(received))
    assert len(found) == 1, text_of(received)
    html = received.message.get_body(("html",))
    assert html is not None
    assert found[0][1] in str(html.get_content())
    return found[0][0], found[0][1]


async def mail_to(box: Mailbox, address: str, count: int = 1) -> list[Received]:
    """The messages the server received for `address`: exactly `count`, waited for."""
    deadline = time.monotonic() + 20
    found = [m for m in box.messages() if address in m.recipients]
    while len(found) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        found = [m for m in box.messages() if address in m.recipients]
    assert len(found) == count, (address, [m.recipients for m in box.messages()])
    return found


async def test_an_invited_user_gets_an_email_in_their_language_and_signs_in_through_its_link(
    mailed: tuple[Admin, Mailbox],
) -> None:
    admin, box = mailed
    tenant_id, _ = await admin.tenant("boulangerie")
    boss_email, boss = await signed_in(admin, tenant_id, "admin")
    users = f"/v1/tenants/{tenant_id}/users"
    french = f"amelie-{uuid.uuid4().hex[:6]}@example.fr"
    english = f"sean-{uuid.uuid4().hex[:6]}@example.ie"

    fr = await boss.ok("POST", users, {"email": french, "name": "Amélie", "role": "editor"})
    en = await boss.ok("POST", users, {"email": english, "role": "viewer", "language": "en"})

    assert fr["invitation"]["sent"] is True
    assert fr["status"] == en["status"] == "invited"
    [to_fr] = await mail_to(box, french)
    [to_en] = await mail_to(box, english)
    assert to_fr.message["Subject"] == "Invitation à gérer le standard de Boulangerie"
    assert f"{boss_email} vous invite" in text_of(to_fr)
    assert to_fr.message["From"] == "Receptionist <noreply@carrier.example>"
    assert to_en.message["Subject"] == "Invitation to manage Boulangerie's receptionist"
    page, token = link_in(to_fr)
    assert page == "invitation"

    visitor = Person(admin.carrier.session, admin.carrier.base)
    checked = await visitor.call("POST", "/v1/links/check", {"token": token})
    weak = await visitor.call("POST", "/v1/links/use", {"token": token, "password": "court"})
    used = await visitor.call("POST", "/v1/links/use", {"token": token, "password": NEW_PASSWORD})
    again = await Person(admin.carrier.session, admin.carrier.base).call(
        "POST", "/v1/links/use", {"token": token, "password": NEW_PASSWORD}
    )

    assert checked.body["purpose"] == "invitation"
    assert checked.body["email"] == french
    assert weak.status == 422  # the link still works after a refused password
    assert used.status == 200, used.body
    assert used.body["user"]["status"] == "active"
    assert used.body["role"] == "editor"
    visitor.csrf = used.body["csrf_token"]
    assert (await visitor.call("GET", f"/v1/tenants/{tenant_id}/extensions")).status == 200
    assert again.status == 410
    assert again.body["code"] == "link_invalid"
    listed = await boss.ok("GET", users)
    assert {u["email"]: u["status"] for u in listed["items"]}[french] == "active"
    actions = await admin.pool.fetch(
        "SELECT action, actor FROM audit_log WHERE tenant_id = $1 ORDER BY id",
        uuid.UUID(tenant_id),
    )
    assert ("user.invite", boss_email) in [(a["action"], a["actor"]) for a in actions]
    assert ("user.accept_invitation", french) in [(a["action"], a["actor"]) for a in actions]
    for message in box.messages():  # no secret but the link's own, and never a password
        assert NEW_PASSWORD not in message.raw.decode(errors="replace")


async def test_a_forgotten_password_is_reset_by_email_once_and_every_session_ends(
    mailed: tuple[Admin, Mailbox],
) -> None:
    admin, box = mailed
    tenant_id, _ = await admin.tenant("reset")
    email, before = await signed_in(admin, tenant_id, "viewer")
    stranger = Person(admin.carrier.session, admin.carrier.base)
    nobody = f"nobody-{uuid.uuid4().hex[:6]}@example.com"

    asked = await stranger.call("POST", "/v1/password-reset", {"email": email.upper()})
    unknown = await stranger.call("POST", "/v1/password-reset", {"email": nobody})

    assert asked.status == unknown.status == 204  # the same answer, known or not
    [message] = await mail_to(box, email)
    assert message.message["Subject"] == "Réinitialisation de votre mot de passe"
    page, token = link_in(message)
    assert page == "reset"
    used = await stranger.call("POST", "/v1/links/use", {"token": token, "password": NEW_PASSWORD})
    assert used.status == 200
    assert (await before.call("GET", "/v1/session")).status == 401
    assert (
        await Person(admin.carrier.session, admin.carrier.base).sign_in(email, PASSWORD)
    ).status == 401
    assert (
        await Person(admin.carrier.session, admin.carrier.base).sign_in(email, NEW_PASSWORD)
    ).status == 200
    again = await stranger.call(
        "POST", "/v1/links/use", {"token": token, "password": "yet another one"}
    )
    assert again.status == 410
    assert not [m for m in box.messages() if nobody in m.recipients]


async def test_an_expired_or_unknown_link_is_refused(mailed: tuple[Admin, Mailbox]) -> None:
    admin, box = mailed
    tenant_id, _ = await admin.tenant("expired")
    _, boss = await signed_in(admin, tenant_id, "admin")
    email = f"late-{uuid.uuid4().hex[:6]}@example.com"
    await boss.ok("POST", f"/v1/tenants/{tenant_id}/users", {"email": email, "role": "viewer"})
    _, token = link_in((await mail_to(box, email))[0])
    await admin.pool.execute(
        """UPDATE user_links SET expires_at = now() - interval '1 second'
            WHERE user_id = (SELECT id FROM users WHERE email = $1)""",
        email,
    )
    visitor = Person(admin.carrier.session, admin.carrier.base)

    expired = await visitor.call(
        "POST", "/v1/links/use", {"token": token, "password": NEW_PASSWORD}
    )
    made_up = await visitor.call("POST", "/v1/links/check", {"token": "rcl_" + "x" * 43})

    assert expired.status == made_up.status == 410
    assert visitor.cookie is None


async def test_an_invitation_the_relay_refused_is_said_so_and_sent_again_with_a_new_link(
    mailed: tuple[Admin, Mailbox],
) -> None:
    admin, box = mailed
    tenant_id, _ = await admin.tenant("refused")
    _, boss = await signed_in(admin, tenant_id, "admin")
    email = f"refused-{uuid.uuid4().hex[:6]}@example.com"
    box.rcpt_answer = (550, "No such user here")

    refused = await boss.ok(
        "POST", f"/v1/tenants/{tenant_id}/users", {"email": email, "role": "editor"}
    )
    box.rcpt_answer = (250, "OK")
    again = await boss.call("POST", f"/v1/tenants/{tenant_id}/users/{refused['id']}/invitation")

    assert refused["invitation"]["sent"] is False
    assert "550" in refused["invitation"]["problem"]
    assert again.status == 200
    assert again.body["sent"] is True
    [message] = await mail_to(box, email)
    _, token = link_in(message)
    assert (await boss.call("POST", "/v1/links/check", {"token": token})).status == 200


async def test_invitations_go_through_a_starttls_relay_whose_certificate_is_checked(
    migrated_url: str, tmp_path: Path
) -> None:
    certificate = make_certificate(tmp_path)
    with smtp_server(starttls=certificate, login=True) as (box, port):
        async with running_admin(
            migrated_url,
            **relay(
                port,
                smtp_security="starttls",
                smtp_tls_ca_file=str(certificate.cert),
                smtp_username="relay-user",
                smtp_password="relay-password-0123",
            ),
        ) as admin:
            _, operator = await signed_in(admin, None, "operator")
            email = f"support-{uuid.uuid4().hex[:6]}@carrier.example"
            made = await operator.ok("POST", "/v1/users", {"email": email, "role": "support"})
            [message] = await mail_to(box, email)

    assert made["invitation"]["sent"] is True
    assert message.tls is True
    assert message.login == "relay-user"
    assert message.message["Subject"] == "Invitation à la console opérateur"


async def test_without_a_relay_an_invitation_says_it_was_not_sent(admin: Admin) -> None:
    tenant_id, _ = await admin.tenant("norelay")
    email = await add_person(admin, tenant_id, "admin")
    boss = Person(admin.carrier.session, admin.carrier.base)
    await boss.sign_in(email, PASSWORD)

    made = await boss.ok(
        "POST",
        f"/v1/tenants/{tenant_id}/users",
        {"email": f"x-{uuid.uuid4().hex[:6]}@example.com", "role": "viewer"},
    )

    assert made["invitation"] == {
        "sent": False,
        "expires_at": made["invitation"]["expires_at"],
        "problem": "no mail relay is configured (RCP_SMTP_HOST)",
    }
