"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, in a thread of its own, keeping what it
receives; with a certificate made at test time (openssl) for STARTTLS and implicit TLS."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USERNAME = "relay-user"
PASSWORD = "relay-password-0123"


@dataclass(frozen=True)
class Received:
    """One message the server took: its envelope and how it came."""

    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes
    tls: bool
    login: str | None


@dataclass
class Mailbox:
    """What the server received, and the answer it gives to RCPT (a code and text: 250
    accepts)."""

    received: list[Received] = field(default_factory=list)
    rcpt_answer: tuple[int, str] = (250, "OK")
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        code, text = self.rcpt_answer
        if code >= 300:
            return f"{code} {text}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        login = None
        credentials: Any = session.auth_data  # aiosmtpd types it None
        if session.authenticated and isinstance(credentials, LoginPassword):
            login = credentials.login.decode()
        with self.lock:
            self.received.append(
                Received(
                    sender=envelope.mail_from or "",
                    recipients=list(envelope.rcpt_tos),
                    message=parsed,
                    raw=raw,
                    tls=_encrypted(server, session),
                    login=login,
                )
            )
        return "250 Message accepted for delivery"

    def messages(self) -> list[Received]:
        """A copy of what was received so far."""
        with self.lock:
            return list(self.received)

    async def wait_for(self, count: int, timeout_s: float = 20.0) -> list[Received]:
        """At least `count` messages, polled until `timeout_s` (then what there is)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.messages()) >= count:
                return self.messages()
            await asyncio.sleep(0.05)
        return self.messages()


def _encrypted(server: SMTP, session: Session) -> bool:
    # session.ssl is set by STARTTLS; an implicit TLS connection's transport is TLS itself.
    transport = server.transport
    return session.ssl is not None or (
        transport is not None and transport.get_extra_info("ssl_object") is not None
    )


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword)
        and data.login == USERNAME.encode()
        and data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False, auth_data=data if ok else None)


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """What the test server presents."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certificate(folder: Path) -> Certificate:
    """A self-signed certificate made by openssl (valid a day)."""
    cert, key = folder / "smtp.crt", folder / "smtp.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Certificate(cert, key)


@contextmanager
def smtp_server(
    port: int | None = None,
    *,
    mailbox: Mailbox | None = None,
    starttls: Certificate | None = None,
    implicit_tls: Certificate | None = None,
    login: bool = False,
) -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server on 127.0.0.1 (`port`, or a free one) until the block ends: plain, with
    STARTTLS required, or over implicit TLS; asking for a login if `login`."""
    box = mailbox or Mailbox()
    chosen = port or free_port()
    options: dict[str, Any] = {}
    if starttls is not None:
        options |= {"tls_context": starttls.server_context(), "require_starttls": True}
    if implicit_tls is not None:
        options["ssl_context"] = implicit_tls.server_context()
        options["server_hostname"] = "localhost"
    if login:
        options |= {"authenticator": _authenticate, "auth_required": True}
    controller = Controller(box, hostname="127.0.0.1", port=chosen, **options)
    controller.start()
    try:
        yield box, chosen
    finally:
        controller.stop()
