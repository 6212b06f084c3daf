"""Settings of the directory service (environment variables RCP_*)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from rcp.settings import DirectoryScopeSettings


class Settings(DirectoryScopeSettings):
    """The directory service's settings."""

    service_name: ClassVar[str] = "directory"
    default_nats_user: ClassVar[str] = "directory"
    default_ops_port: ClassVar[int] = 9102

    database_pool_min: int = Field(default=0, ge=0, le=100)
    """Connections opened at start: none, so that the directory starts and serves from the
    configuration store while PostgreSQL is away (it reads it only for a tenant the store lacks)."""

    directory_min_digits: int = Field(default=3, ge=1, le=16)
    """Digits a search needs unless the caller ended entry early with #."""

    directory_index_max_bytes: int = Field(default=512 * 1024 * 1024, ge=1024 * 1024)
    """Memory for tenants' indexes; the least recently used are evicted past it."""

    directory_index_max_age_s: float = Field(default=300.0, gt=0, le=86400)
    """An index older than this is reloaded in the background when next used: the safety net for
    config-changed events missed while disconnected from NATS."""

    directory_max_in_flight: int = Field(default=256, ge=1, le=10000)
    """Requests one instance works on at once; NATS holds the rest."""
