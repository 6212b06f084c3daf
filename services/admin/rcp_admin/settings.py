"""Settings of the admin service (environment variables RCP_*)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from rcp.settings import MediaScopeSettings, TokenSettings, TrunkSettings


class Settings(TokenSettings, TrunkSettings, MediaScopeSettings):
    """The admin service's settings."""

    service_name: ClassVar[str] = "admin"
    default_nats_user: ClassVar[str] = "admin"
    default_ops_port: ClassVar[int] = 9104

    admin_http_host: str = Field(default="127.0.0.1", description="Address of the REST API.")
    admin_http_port: int = Field(default=8080, ge=0, le=65535, description="0: any free port.")
    admin_rate_per_s: float = Field(
        default=20.0, gt=0, le=10000, description="Requests per second per token."
    )
    admin_upload_max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, le=1024**3, description="Largest prompt upload accepted."
    )
    admin_rate_burst: int = Field(
        default=60, ge=1, le=100000, description="Requests a token may burst."
    )


class CliSettings(Settings):
    """The command line's settings: the admin service's, connecting to NATS as `cli`."""

    default_nats_user: ClassVar[str] = "cli"
