"""Settings of the stasis service (environment variables RCP_*)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator
from rcp.settings import CommonSettings


class AriSettings(CommonSettings):
    """Where Asterisk's ARI is and how to log in: shared by stasis, the local stack and tests."""

    ari_url: str = Field(default="http://127.0.0.1:8088", description="Asterisk HTTP base URL.")
    ari_user: str = Field(default="receptionist", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    ari_password: str = Field(default="receptionist-dev", min_length=8, max_length=128)
    ari_app: str = Field(default="receptionist", pattern=r"^[A-Za-z0-9_-]{1,64}$")

    @field_validator("ari_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class Settings(AriSettings):
    """The stasis service's settings."""

    service_name: ClassVar[str] = "stasis"
    default_ops_port: ClassVar[int] = 9101
