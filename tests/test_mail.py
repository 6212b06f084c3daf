"""rcp.mail against a real SMTP server (aiosmtpd on 127.0.0.1): STARTTLS and implicit TLS with
a login, what a refusal or an outage raises, and the settings a relay is refused with."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from rcp.mail import MailDeferred, MailRefused, SmtpSecurity, SmtpSender, SmtpSettings
from rcp.settings import Environment
from smtp_support import PASSWORD, USERNAME, Certificate, free_port, make_certificate, smtp_server

SENDER = "Receptionist <voicemail@carrier.example>"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


def relay(port: int, **values: Any) -> SmtpSettings:
    return SmtpSettings(
        smtp_host="127.0.0.1", smtp_port=port, smtp_from=SENDER, smtp_timeout_s=5, **values
    )


def note(to: str = "amelie@example.org") -> EmailMessage:
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = "Nouveau message vocal"
    message.set_content("Bonjour Amélie, un message vous attend.")
    return message


async def test_starttls_with_a_login_delivers_the_message_encrypted_and_authenticated(
    certificate: Certificate,
) -> None:
    with smtp_server(starttls=certificate, login=True) as (mailbox, port):
        sender = SmtpSender(
            relay(
                port,
                smtp_security=SmtpSecurity.STARTTLS,
                smtp_username=USERNAME,
                smtp_password=PASSWORD,
                smtp_tls_ca_file=certificate.cert,
            )
        )
        await sender.send(note())

        [received] = await mailbox.wait_for(1)

    assert received.tls
    assert received.login == USERNAME
    assert received.sender == "voicemail@carrier.example"
    assert received.recipients == ["amelie@example.org"]
    assert received.message["From"] == SENDER
    assert received.message.get_content().strip() == "Bonjour Amélie, un message vous attend."


async def test_implicit_tls_delivers_the_message_encrypted(certificate: Certificate) -> None:
    with smtp_server(implicit_tls=certificate) as (mailbox, port):
        sender = SmtpSender(
            relay(port, smtp_security=SmtpSecurity.TLS, smtp_tls_ca_file=certificate.cert)
        )
        await sender.send(note())

        [received] = await mailbox.wait_for(1)

    assert received.tls
    assert received.login is None


async def test_a_relay_whose_certificate_is_not_trusted_defers_the_message(
    certificate: Certificate,
) -> None:
    with smtp_server(implicit_tls=certificate) as (mailbox, port):
        sender = SmtpSender(relay(port, smtp_security=SmtpSecurity.TLS))  # the system's CAs

        with pytest.raises(MailDeferred) as raised:
            await sender.send(note())

    assert raised.value.code == "unavailable"
    assert "certificate" in raised.value.message.lower()
    assert mailbox.messages() == []


async def test_a_wrong_password_defers_the_message_for_someone_to_fix_the_relays_settings(
    certificate: Certificate,
) -> None:
    with smtp_server(starttls=certificate, login=True) as (mailbox, port):
        sender = SmtpSender(
            relay(
                port,
                smtp_username=USERNAME,
                smtp_password="not-the-password",
                smtp_tls_ca_file=certificate.cert,
            )
        )
        with pytest.raises(MailDeferred) as raised:
            await sender.send(note())

    assert raised.value.message.startswith(f"127.0.0.1:{port}: 535")
    assert mailbox.messages() == []


async def test_a_relay_that_does_not_answer_defers_the_message() -> None:
    sender = SmtpSender(relay(free_port(), smtp_security=SmtpSecurity.NONE))

    with pytest.raises(MailDeferred) as raised:
        await sender.send(note())

    assert raised.value.code == "unavailable"


async def test_a_recipient_refused_for_good_is_refused_and_one_refused_for_now_deferred() -> None:
    with smtp_server() as (mailbox, port):
        sender = SmtpSender(relay(port, smtp_security=SmtpSecurity.NONE))
        mailbox.rcpt_answer = (550, "5.1.1 No such user here")
        with pytest.raises(MailRefused) as refused:
            await sender.send(note("nobody@example.org"))
        mailbox.rcpt_answer = (451, "4.3.0 Try again later")
        with pytest.raises(MailDeferred) as deferred:
            await sender.send(note())

    assert refused.value.code == "mail_refused"
    assert refused.value.message == "550 5.1.1 No such user here"
    assert deferred.value.message == "451 4.3.0 Try again later"
    assert mailbox.messages() == []


def test_no_relay_means_no_email_and_no_sender() -> None:
    settings = SmtpSettings()

    assert not settings.mail_enabled
    with pytest.raises(ValueError, match="RCP_SMTP_HOST"):
        SmtpSender(settings)


@pytest.mark.parametrize(
    ("values", "refusal"),
    [
        ({"smtp_from": ""}, "RCP_SMTP_FROM: an address is needed"),
        ({"smtp_from": "voicemail"}, "RCP_SMTP_FROM: an address is needed"),
        ({"smtp_username": "u"}, "go together"),
        (
            {"smtp_security": "none", "smtp_username": "u", "smtp_password": "p"},
            "would send RCP_SMTP_PASSWORD in clear to smtp.example.net",
        ),
        ({"smtp_security": "ssl"}, "smtp_security"),
    ],
)
def test_a_relay_is_refused_with_settings_that_cannot_work_or_would_leak(
    values: dict[str, Any], refusal: str
) -> None:
    with pytest.raises(ValidationError, match=refusal):
        SmtpSettings.model_validate({"smtp_host": "smtp.example.net", "smtp_from": SENDER} | values)


def test_production_refuses_plain_smtp_to_another_host_but_not_to_a_relay_on_this_one() -> None:
    def plain(host: str, environment: Environment) -> SmtpSettings:
        return SmtpSettings(
            smtp_host=host,
            smtp_from=SENDER,
            smtp_security=SmtpSecurity.NONE,
            environment=environment,
            nats_password="a-secret-of-production",
            database_url="postgresql://rcp_media:a-secret@db:5432/receptionist",
        )

    remote = plain("mail.lan", Environment.PRODUCTION).production_problems()
    local = plain("127.0.0.1", Environment.PRODUCTION)

    assert remote == [
        "RCP_SMTP_SECURITY: none sends email in clear to mail.lan: use starttls or tls (plain "
        "SMTP is for a relay on 127.0.0.1; RCP_ENVIRONMENT=development allows it)"
    ]
    assert local.production_problems() == []
    assert local.effective_smtp_port == 25
    assert plain("mail.lan", Environment.DEVELOPMENT).production_problems() == []
    assert SmtpSettings(smtp_host="h.example", smtp_from=SENDER).effective_smtp_port == 587
    implicit = SmtpSettings(smtp_host="h.example", smtp_from=SENDER, smtp_security=SmtpSecurity.TLS)
    assert implicit.effective_smtp_port == 465


def test_the_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RCP_SMTP_HOST", "smtp.example.net")
    monkeypatch.setenv("RCP_SMTP_FROM", SENDER)
    monkeypatch.setenv("RCP_SMTP_SECURITY", "tls")
    monkeypatch.setenv("RCP_SMTP_USERNAME", "carrier")
    monkeypatch.setenv("RCP_SMTP_PASSWORD", "from-a-secret")
    monkeypatch.setenv("RCP_SMTP_TLS_CA_FILE", str(tmp_path / "ca.pem"))

    settings = SmtpSettings()

    assert (settings.smtp_host, settings.smtp_security, settings.effective_smtp_port) == (
        "smtp.example.net",
        SmtpSecurity.TLS,
        465,
    )
    assert settings.smtp_password == "from-a-secret"
    assert settings.smtp_tls_ca_file == tmp_path / "ca.pem"
