"""Settings of the admin service (environment variables RCP_*)."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import ClassVar

from pydantic import Field, field_validator, model_validator
from rcp.mail import SmtpSettings
from rcp.settings import (
    DirectoryScopeSettings,
    MediaScopeSettings,
    TokenSettings,
    TrunkSettings,
    positive,
    ranged,
)
from rcp.tokens import DEFAULT_LIFETIME, MAX_LIFETIME

from rcp_admin.auth import IpNetwork, LinkRules, SessionRules, TokenLifetime


class Settings(
    TokenSettings, TrunkSettings, MediaScopeSettings, DirectoryScopeSettings, SmtpSettings
):
    """The admin service's settings."""

    service_name: ClassVar[str] = "admin"
    default_nats_user: ClassVar[str] = "admin"
    default_ops_port: ClassVar[int] = 9104

    admin_http_host: str = Field(default="127.0.0.1")
    """Address of the REST API."""

    admin_http_port: int = ranged(8080, 0, 65535, "0: any free port.")
    admin_rate_per_s: float = positive(20.0, 10000, "Requests per second per token.")
    admin_upload_max_bytes: int = ranged(
        20 * 1024 * 1024, 1024, 1024**3, "Largest prompt upload accepted."
    )
    admin_rate_burst: int = ranged(60, 1, 100000, "Requests a token may burst.")
    admin_memory_s: float = Field(
        default=1.0,
        ge=0,
        le=1.0,
        description="How long an instance keeps a read's answer and a verified token in memory "
        "(0: never); at most the configuration's 1 s propagation.",
    )
    admin_token_default_days: int = ranged(
        DEFAULT_LIFETIME.days,
        1,
        3650,
        "How long a new token lives when its issuer names no expiry.",
    )
    admin_token_max_days: int = ranged(
        MAX_LIFETIME.days,
        1,
        3650,
        "The longest a token may live (tokens issued without an expiry before "
        "tokens had one expire this long after their creation).",
    )
    admin_auth_failures_burst: int = ranged(
        10,
        1,
        10000,
        "Failed authentications a client address may make in a row before it is answered 429.",
    )
    admin_auth_failures_per_minute: float = positive(
        10.0, 10000, "Failed authentications a client address may make a minute, after its burst."
    )
    admin_trusted_proxies: str = Field(default="")
    """Addresses (CIDRs, comma-separated) of the proxies in front of the API (the ingress
    controller): a request from one is counted against the address it names in X-Forwarded-For."""

    admin_session_idle_minutes: int = ranged(
        30, 1, 24 * 60, "A person's session ends after this long without a request."
    )
    admin_session_max_hours: int = ranged(
        12, 1, 24 * 30, "A person's session ends this long after they signed in, whatever they do."
    )
    admin_cookie_secure: bool = Field(default=True)
    """Mark the session cookie Secure (sent over HTTPS only; browsers also send it to
    http://127.0.0.1 and http://localhost). Leave it on."""

    admin_public_url: str = Field(default="http://127.0.0.1:8080", max_length=500)
    """Where people open the web manager: the links of invitation and password reset emails start
    with it."""

    admin_invitation_days: int = ranged(7, 1, 90, "How long an invitation link works.")
    admin_password_reset_minutes: int = ranged(
        60, 5, 24 * 60, "How long a password reset link works."
    )
    admin_sign_in_failures_burst: int = ranged(
        5, 1, 1000, "Failed sign-ins an account may have in a row before it is answered 429."
    )
    admin_sign_in_failures_per_minute: float = positive(
        2.0, 1000, "Failed sign-ins an account may have a minute, after its burst."
    )

    @field_validator("admin_public_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// address")
        return value.rstrip("/")

    @field_validator("admin_trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError as error:
                    raise ValueError(f"{part.strip()!r} is not an address or a CIDR") from error
        return value

    @model_validator(mode="after")
    def _default_within_maximum(self) -> Settings:
        if self.admin_token_default_days > self.admin_token_max_days:
            raise ValueError("RCP_ADMIN_TOKEN_DEFAULT_DAYS is longer than RCP_ADMIN_TOKEN_MAX_DAYS")
        return self

    @property
    def trusted_proxies(self) -> tuple[IpNetwork, ...]:
        """The proxies whose X-Forwarded-For is believed."""
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in self.admin_trusted_proxies.split(",")
            if part.strip()
        )

    @property
    def token_lifetime(self) -> TokenLifetime:
        """The default and longest lifetime of a token."""
        return TokenLifetime(
            timedelta(days=self.admin_token_default_days),
            timedelta(days=self.admin_token_max_days),
        )

    @property
    def session_rules(self) -> SessionRules:
        """How people's sessions live."""
        return SessionRules(
            timedelta(minutes=self.admin_session_idle_minutes),
            timedelta(hours=self.admin_session_max_hours),
            self.admin_cookie_secure,
        )

    @property
    def link_rules(self) -> LinkRules:
        """How long emailed links work, and where they point."""
        return LinkRules(
            timedelta(days=self.admin_invitation_days),
            timedelta(minutes=self.admin_password_reset_minutes),
            self.admin_public_url,
        )


class CliSettings(Settings):
    """The command line's settings: the admin service's, connecting to NATS as `cli`."""

    default_nats_user: ClassVar[str] = "cli"
