"""Email over SMTP: the settings of the carrier's mail relay, and one sender.

A service that sends email mixes `SmtpSettings` into its settings (`RCP_SMTP_*`) and sends
each message with `SmtpSender.send`, which says how a failure should be taken: `MailDeferred`
(the relay is down, busy or refuses for now: try again later, the message is not lost) or
`MailRefused` (the relay will never take this message, e.g. a recipient it does not know).
Durability is the caller's: this module never queues anything.

The connection is encrypted unless told otherwise: STARTTLS (port 587) by default, or
implicit TLS (port 465), with the server's certificate checked against the system's CAs or
`RCP_SMTP_TLS_CA_FILE`. Plain SMTP (`RCP_SMTP_SECURITY=none`) is for a relay on the same
host or pod: production refuses to start with it to any other host, and a password is never
sent in clear.
"""

from __future__ import annotations

import ipaddress
import ssl
from email.message import EmailMessage
from email.utils import parseaddr
from enum import StrEnum
from pathlib import Path

import aiosmtplib
from pydantic import Field, model_validator

from rcp.errors import ErrorCode, ReceptionistError
from rcp.settings import CommonSettings, positive, ranged


class SmtpSecurity(StrEnum):
    """How the connection to the relay is protected."""

    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"


DEFAULT_PORTS = {SmtpSecurity.STARTTLS: 587, SmtpSecurity.TLS: 465, SmtpSecurity.NONE: 25}


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine (`localhost`, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def address_of(text: str) -> str:
    """The address part of `Name <address>` (or of a bare address); "" if there is none."""
    _, address = parseaddr(text)
    local, at, domain = address.rpartition("@")
    return address if at and local and domain and "." in domain.strip(".") else ""


class SmtpSettings(CommonSettings):
    """Where email goes out: the carrier's SMTP relay, its security and credentials."""

    smtp_host: str = Field(
        default="",
        max_length=253,
        description="The SMTP relay that sends email; empty: no email is sent.",
    )
    smtp_port: int = ranged(
        0, 0, 65535, "0: the usual port of RCP_SMTP_SECURITY (587 starttls, 465 tls, 25 none)."
    )
    smtp_security: SmtpSecurity = Field(
        default=SmtpSecurity.STARTTLS,
        description="starttls (the default), tls (implicit, port 465), or none (a relay on "
        "the same host or pod only).",
    )
    smtp_username: str = Field(default="", max_length=256, description="Empty: no login.")
    smtp_password: str = Field(
        default="", max_length=1024, description="The login's password (a Secret in production)."
    )
    smtp_from: str = Field(
        default="",
        max_length=320,
        description="The sender, e.g. 'Receptionist <voicemail@carrier.example>' (needed when "
        "RCP_SMTP_HOST is set).",
    )
    smtp_timeout_s: float = positive(30.0, 600, "How long connecting or one command may take.")
    smtp_tls_ca_file: Path | None = Field(
        default=None,
        description="The CA certificate the relay's certificate is checked against (default: "
        "the system's CAs).",
    )

    @model_validator(mode="after")
    def _coherent(self) -> SmtpSettings:
        if not self.smtp_host:
            return self
        if not address_of(self.smtp_from):
            raise ValueError(
                "RCP_SMTP_FROM: an address is needed to send email, e.g. "
                "'Receptionist <voicemail@carrier.example>'"
            )
        if bool(self.smtp_username) != bool(self.smtp_password):
            raise ValueError("RCP_SMTP_USERNAME and RCP_SMTP_PASSWORD go together")
        if self._in_clear() and self.smtp_password:
            raise ValueError(
                "RCP_SMTP_SECURITY=none would send RCP_SMTP_PASSWORD in clear to "
                f"{self.smtp_host}: use starttls or tls"
            )
        return self

    def _in_clear(self) -> bool:
        return self.smtp_security is SmtpSecurity.NONE and not is_loopback(self.smtp_host)

    def unfit_for_production(self) -> list[str]:
        """Plain SMTP to a relay on another host: email would cross the network in clear."""
        problems = super().unfit_for_production()
        if self.mail_enabled and self._in_clear():
            problems.append(
                f"RCP_SMTP_SECURITY: none sends email in clear to {self.smtp_host}: use "
                "starttls or tls (plain SMTP is for a relay on 127.0.0.1; "
                "RCP_ENVIRONMENT=development allows it)"
            )
        return problems

    @property
    def mail_enabled(self) -> bool:
        """Whether a relay is configured (otherwise no email is sent)."""
        return bool(self.smtp_host)

    @property
    def effective_smtp_port(self) -> int:
        """The relay's port: the setting, or the usual one for its security."""
        return self.smtp_port or DEFAULT_PORTS[self.smtp_security]


class MailDeferred(ReceptionistError):
    """The relay did not take the message now (down, busy, a temporary refusal, a login it
    refused): try again later."""


class MailRefused(ReceptionistError):
    """The relay will never take this message (a permanent 5xx answer about it)."""


MAIL_REFUSED = "mail_refused"

# A permanent answer about the message itself (its sender, a recipient, its content) will not
# change; a refused login or greeting is the relay's configuration, which someone will fix.
_ABOUT_THE_MESSAGE = (
    aiosmtplib.SMTPRecipientRefused,
    aiosmtplib.SMTPSenderRefused,
    aiosmtplib.SMTPDataError,
)


class SmtpSender:
    """Sends messages through the relay `SmtpSettings` names, one connection per message."""

    def __init__(self, settings: SmtpSettings) -> None:
        if not settings.mail_enabled:
            raise ValueError("no SMTP relay configured (RCP_SMTP_HOST)")
        self._settings = settings
        self._tls: ssl.SSLContext | None = None
        if settings.smtp_security is not SmtpSecurity.NONE:
            cafile = str(settings.smtp_tls_ca_file) if settings.smtp_tls_ca_file else None
            self._tls = ssl.create_default_context(cafile=cafile)

    @property
    def sender(self) -> str:
        """The From header every message gets unless it has its own."""
        return self._settings.smtp_from

    async def send(self, message: EmailMessage) -> None:
        """Hand `message` to the relay (its From defaults to `RCP_SMTP_FROM`); raise
        `MailDeferred` or `MailRefused` if it did not take it."""
        if "From" not in message:
            message["From"] = self._settings.smtp_from
        settings = self._settings
        try:
            await aiosmtplib.send(
                message,
                sender=address_of(settings.smtp_from),
                hostname=settings.smtp_host,
                port=settings.effective_smtp_port,
                username=settings.smtp_username or None,
                password=settings.smtp_password or None,
                use_tls=settings.smtp_security is SmtpSecurity.TLS,
                start_tls=settings.smtp_security is SmtpSecurity.STARTTLS,
                tls_context=self._tls,
                timeout=settings.smtp_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            refusals = error.recipients
            if all(refusal.code >= 500 for refusal in refusals):  # noqa: PLR2004 - SMTP classes
                raise MailRefused(MAIL_REFUSED, _said(refusals[0])) from error
            raise MailDeferred(ErrorCode.UNAVAILABLE, _said(refusals[0])) from error
        except _ABOUT_THE_MESSAGE as error:
            if error.code >= 500:  # noqa: PLR2004 - SMTP reply classes
                raise MailRefused(MAIL_REFUSED, _said(error)) from error
            raise MailDeferred(ErrorCode.UNAVAILABLE, _said(error)) from error
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as error:
            raise MailDeferred(
                ErrorCode.UNAVAILABLE,
                f"{settings.smtp_host}:{settings.effective_smtp_port}: {_said(error)}",
            ) from error


def _said(error: Exception) -> str:
    """What an SMTP failure says, on one line, short enough to store."""
    if isinstance(error, aiosmtplib.SMTPResponseException):
        text = f"{error.code} {error.message}"
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())[:500]
