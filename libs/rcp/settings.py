"""Settings shared by every service: validated at load, frozen, overridable by environment.

Every field has a default that works on a developer's machine with the local stack
(`rcp-stack up`), and an environment variable `RCP_<FIELD>` to override it.
"""

from __future__ import annotations

import os
import string
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rcp.endpoints import DEFAULT_TRUNK_DIAL_TEMPLATE, trunk_endpoint


class LogFormat(StrEnum):
    """How log records are rendered."""

    JSON = "json"
    CONSOLE = "console"


class Environment(StrEnum):
    """Where a service runs: production refuses what only a developer's machine may do."""

    PRODUCTION = "production"
    DEVELOPMENT = "development"


class LogLevel(StrEnum):
    """The lowest level that is logged."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


def local_state_dir() -> Path:
    """Where the local stack keeps its state (`RCP_STATE_DIR`): /var/lib/receptionist as root,
    else under the user's XDG state folder."""
    if os.environ.get("RCP_STATE_DIR"):
        return Path(os.environ["RCP_STATE_DIR"])
    if os.geteuid() == 0:
        return Path("/var/lib/receptionist")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "receptionist"


def _local_nats_credentials() -> Path:
    return local_state_dir() / "credentials" / "nats"


DEFAULT_DATABASE_URL = "postgresql://receptionist:receptionist@127.0.0.1:55432/receptionist"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
# The local stack's secrets, known to anyone who reads this repository: a service refuses to
# start in production with one (RCP_ENVIRONMENT=development allows them).
DEVELOPMENT_DATABASE_PASSWORDS = frozenset({"receptionist", "receptionist-services"})
DEVELOPMENT_ARI_PASSWORD = "receptionist-dev"  # noqa: S105 - the development default
DEVELOPMENT_TOKEN_PEPPER = "receptionist-dev-pepper"  # noqa: S105 - the development default


def unfit(variable: str, why: str = "is the development default") -> str:
    """One line saying why a secret setting may not run in production."""
    return (
        f"{variable}: {why}; production takes it from a Secret "
        "(RCP_ENVIRONMENT=development allows it)"
    )


def left_at_development_value(variable: str, value: str, development: str) -> list[str]:
    """The problem of a secret setting left at its development value (none otherwise)."""
    return [unfit(variable)] if value == development else []


def ranged(default: int | None, low: int, high: int, description: str | None = None) -> Any:
    """A whole-number setting from `low` to `high`, both included."""
    return Field(default=default, ge=low, le=high, description=description)


def positive(default: float, high: float, description: str | None = None) -> Any:
    """A setting above zero and at most `high` (a duration, a rate)."""
    return Field(default=default, gt=0, le=high, description=description)


class CommonSettings(BaseSettings):
    """What every service reads: where Postgres and NATS are, logging, the ops endpoint."""

    model_config = SettingsConfigDict(
        env_prefix="RCP_", frozen=True, extra="ignore", use_attribute_docstrings=True
    )

    service_name: ClassVar[str] = "receptionist"
    default_ops_port: ClassVar[int] = 9100
    # The NATS user a service connects as unless RCP_NATS_USER says otherwise (its row of
    # `rcp.nats_access.USERS`); none here: a process must say who it is.
    default_nats_user: ClassVar[str] = ""

    database_url: str = Field(default=DEFAULT_DATABASE_URL)
    """PostgreSQL DSN (postgresql://user:password@host:port/database)."""

    database_pool_min: int = ranged(1, 0, 100)
    database_pool_max: int = ranged(10, 1, 500)
    database_command_timeout_s: float = positive(10.0, 300)

    nats_url: str = Field(default=DEFAULT_NATS_URL)
    """One NATS URL, or several separated by commas for a cluster."""

    config_store_replicas: int = ranged(
        1,
        1,
        5,
        "Copies of the configuration store's bucket on a NATS cluster's servers "
        "(set when whoever first starts creates it).",
    )
    nats_user: str = Field(default="", pattern=r"^[A-Za-z0-9_-]{0,64}$")
    """The NATS user this process connects as; empty: the service's own (stasis, directory, media,
    admin; cli for the command line)."""

    nats_password: str = Field(default="", max_length=256)
    """The NATS user's password (a Secret in production); empty: read from
    RCP_NATS_CREDENTIALS_DIR/<user>, where the local stack writes one per user."""

    nats_credentials_dir: Path = Field(default_factory=_local_nats_credentials)
    """Where the local stack keeps each NATS user's password (default: STATE/credentials/nats)."""

    nats_tls_ca_file: Path | None = Field(default=None)
    """The CA certificate a tls:// server's certificate is checked against (default: the system's
    CAs)."""

    nats_request_timeout_s: float = positive(2.0, 60)
    nats_connect_timeout_s: float = positive(5.0, 120)
    nats_ping_interval_s: int = ranged(
        5,
        1,
        600,
        "How often the client pings the server; a connection whose pings go "
        "unanswered RCP_NATS_MAX_OUTSTANDING_PINGS times in a row is dropped and replaced.",
    )
    nats_max_outstanding_pings: int = ranged(2, 1, 100)
    nats_probe_timeout_s: float = positive(
        1.0,
        30,
        "Readiness: how long a message sent to the service's own inbox through "
        "the server may take to come back.",
    )

    log_level: LogLevel = LogLevel.INFO
    log_format: LogFormat = LogFormat.JSON

    ops_host: str = Field(default="127.0.0.1")
    """Address of /metrics, /healthz, /readyz."""

    ops_metrics_token: str = Field(default="", max_length=256)
    """When set, /metrics answers only `Authorization: Bearer <token>` (an ops port on a node's
    network, which no NetworkPolicy covers; a Secret)."""

    ops_port: int | None = ranged(
        None, 0, 65535, "Unset: the service's default port; 0: any free port (tests)."
    )

    instance_id: str = Field(default="local-1", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    """Names this instance in logs and metrics (the pod name on Kubernetes)."""

    environment: Environment = Field(default=Environment.PRODUCTION)
    """production (the default) or development (the local stack, tests)."""

    allow_test_phones: bool = Field(default=False)
    """Development only: extensions may ring the local stack's phones (Local/<n>@test-phones,
    Local/<app>~<n>@test-apps); production refuses to start with it."""

    @model_validator(mode="after")
    def _test_phones_in_development_only(self) -> CommonSettings:
        if self.allow_test_phones and self.environment is not Environment.DEVELOPMENT:
            raise ValueError(
                "RCP_ALLOW_TEST_PHONES is for development only: it lets extensions ring Local "
                "channels into the dialplan; unset it, or set RCP_ENVIRONMENT=development on a "
                "developer's machine"
            )
        return self

    def production_problems(self) -> list[str]:
        """What keeps these settings out of production, one line per variable: a secret
        missing or left at a development value. None in development."""
        if self.environment is Environment.DEVELOPMENT:
            return []
        return self.unfit_for_production()

    def unfit_for_production(self) -> list[str]:
        """The problems `production_problems` reports; each settings class adds its own."""
        problems = []
        try:
            password = urlsplit(self.database_url).password
        except ValueError:  # several hosts, or a port that is no number: not for urlsplit
            password = None
        # A URL without a password takes libpq's PGPASSWORD (Kubernetes gives it from a Secret).
        password = password or os.environ.get("PGPASSWORD")
        if password in DEVELOPMENT_DATABASE_PASSWORDS:
            problems.append(unfit("RCP_DATABASE_URL", "has a password of the local stack"))
        if self.effective_nats_user and not self.nats_password_of_user():
            where = f"RCP_NATS_CREDENTIALS_DIR/{self.effective_nats_user}"
            problems.append(unfit("RCP_NATS_PASSWORD", f"missing (nor in {where})"))
        return problems

    @field_validator("database_url")
    @classmethod
    def _postgres_dsn(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("nats_url")
    @classmethod
    def _nats_urls(cls, value: str) -> str:
        for url in cls.split_urls(value):
            if not url.startswith(("nats://", "tls://", "ws://", "wss://")):
                raise ValueError(f"{url!r} is not a nats://, tls://, ws:// or wss:// URL")
        return value

    @staticmethod
    def split_urls(value: str) -> list[str]:
        """The comma-separated URLs of a NATS setting, stripped of blanks."""
        return [part.strip() for part in value.split(",") if part.strip()]

    @property
    def nats_servers(self) -> list[str]:
        """The NATS servers to connect to."""
        return self.split_urls(self.nats_url)

    @property
    def effective_nats_user(self) -> str:
        """The NATS user this process connects as ("": none, anonymous)."""
        return self.nats_user or self.default_nats_user

    def nats_password_of_user(self) -> str:
        """The NATS user's password: the setting, else the local stack's file, else ""."""
        if self.nats_password or not self.effective_nats_user:
            return self.nats_password
        try:
            return (self.nats_credentials_dir / self.effective_nats_user).read_text().strip()
        except OSError:  # no such file: not the local stack (the server will say no)
            return ""

    @property
    def effective_ops_port(self) -> int:
        """The ops port: the setting, or this service's default when unset."""
        return self.default_ops_port if self.ops_port is None else self.ops_port


class AriSettings(CommonSettings):
    """Where Asterisk's ARI is and how to log in: shared by stasis, the local stack and tests."""

    ari_url: str = Field(default="http://127.0.0.1:8088")
    """Asterisk HTTP base URL."""

    ari_user: str = Field(default="receptionist", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    ari_password: str = Field(default=DEVELOPMENT_ARI_PASSWORD, min_length=8, max_length=128)
    ari_app: str = Field(default="receptionist", pattern=r"^[A-Za-z0-9_-]{1,64}$")

    @field_validator("ari_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    def unfit_for_production(self) -> list[str]:
        """The ARI password is the development one."""
        return super().unfit_for_production() + left_at_development_value(
            "RCP_ARI_PASSWORD", self.ari_password, DEVELOPMENT_ARI_PASSWORD
        )


class TokenSettings(CommonSettings):
    """The pepper of admin tokens' stored hashes: a Secret in production."""

    token_pepper: str = Field(default=DEVELOPMENT_TOKEN_PEPPER, min_length=16, max_length=256)

    def unfit_for_production(self) -> list[str]:
        """The token pepper is the development one."""
        return super().unfit_for_production() + left_at_development_value(
            "RCP_TOKEN_PEPPER", self.token_pepper, DEVELOPMENT_TOKEN_PEPPER
        )


class TrunkSettings(CommonSettings):
    """How outside numbers are dialled (the stasis service's setting); the admin service reads
    it too, so that the trunk's endpoint is never a tenant's device."""

    stasis_trunk_dial_template: str = Field(default=DEFAULT_TRUNK_DIAL_TEMPLATE)
    """How a virtual extension's outside number is dialled; {number} is E.164."""

    @field_validator("stasis_trunk_dial_template")
    @classmethod
    def _one_number_field(cls, value: str) -> str:
        fields = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
        if fields != ["number"]:
            raise ValueError("must contain {number} once and no other {field}")
        return value

    @model_validator(mode="after")
    def _local_trunk_in_development_only(self) -> TrunkSettings:
        if self.stasis_trunk_dial_template.startswith("Local/") and not self.allow_test_phones:
            raise ValueError(
                "RCP_STASIS_TRUNK_DIAL_TEMPLATE: a Local channel trunk (the local stack's test "
                "phones) needs RCP_ALLOW_TEST_PHONES, which is for development only"
            )
        return self

    @property
    def reserved_endpoints(self) -> frozenset[str]:
        """The PJSIP endpoints no extension may ring: the carrier trunk, and the trunk the
        dial template goes through."""
        trunk = trunk_endpoint(self.stasis_trunk_dial_template)
        return frozenset({"carrier", *([trunk] if trunk else [])})


def _subject_scope(service: str, who_sets_one: str) -> Any:
    """A service's subject scope setting: empty, or a word appended to its subjects."""
    return Field(
        default="",
        pattern=r"^[A-Za-z0-9_-]{0,64}$",
        description=f"Appended to {service} subjects (empty in production; {who_sets_one}).",
    )


class MediaScopeSettings(CommonSettings):
    """The media service's subject scope: its own setting, read by the services that call it."""

    media_nats_scope: str = _subject_scope(
        "the media service's", "tests and parallel stacks on one NATS set one"
    )


class DirectoryScopeSettings(CommonSettings):
    """The directory's subject scope: its own setting, read by stasis, which asks it."""

    directory_nats_scope: str = _subject_scope(
        "the directory's", "tests and benchmarks give each instance its own"
    )


def refuse_unfit_for_production(settings: CommonSettings, program: str) -> None:
    """In production, stop with exit status 2 and one line per secret that is missing or
    left at a development value."""
    problems = settings.production_problems()
    for problem in problems:
        print(f"{program}: refusing to start in production: {problem}", file=sys.stderr)  # noqa: T201
    if problems:
        raise SystemExit(2)
