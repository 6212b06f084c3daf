"""Settings of the admin service (environment variables RCP_*)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from rcp.settings import CommonSettings


class TokenSettings(CommonSettings):
    """The pepper of admin tokens' stored hashes: a Secret in production."""

    token_pepper: str = Field(default="receptionist-dev-pepper", min_length=16, max_length=256)


class Settings(TokenSettings):
    """The admin service's settings."""

    service_name: ClassVar[str] = "admin"
    default_ops_port: ClassVar[int] = 9104
