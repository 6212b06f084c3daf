"""Settings of the media service (environment variables RCP_*)."""

from __future__ import annotations

from typing import ClassVar

from rcp.settings import CommonSettings


class Settings(CommonSettings):
    """The media service's settings."""

    service_name: ClassVar[str] = "media"
    default_ops_port: ClassVar[int] = 9103
