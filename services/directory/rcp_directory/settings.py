"""Settings of the directory service (environment variables RCP_*)."""

from __future__ import annotations

from typing import ClassVar

from rcp.settings import CommonSettings


class Settings(CommonSettings):
    """The directory service's settings."""

    service_name: ClassVar[str] = "directory"
    default_ops_port: ClassVar[int] = 9102
