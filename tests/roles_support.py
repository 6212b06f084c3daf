"""The services' own database roles in tests: each service logs in as its role, never as the
tables' owner, so that every test exercises its grants and row-level security."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from rcp.db.pool import create_pool
from rcp.settings import CommonSettings
from rcp_devstack.roles import ensure_logins, role_url
from rcp_devstack.settings import StackSettings

SERVICES = ("admin", "stasis", "directory", "media")


def service_url(url: str, service: str) -> str:
    """The URL of `url`'s database for a service's own role (the stack's password)."""
    return role_url(url, service, StackSettings().database_services_password)


async def ensure_service_logins(url: str) -> None:
    """Let the service roles log in (through `url`, whose user owns the tables)."""
    await ensure_logins(url, StackSettings().database_services_password)


@asynccontextmanager
async def service_pool(url: str, service: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool of the service's role on `url`'s database, made as the services make theirs."""
    settings = CommonSettings(database_url=service_url(url, service), database_pool_max=4)
    async with create_pool(settings, f"tests-{service}") as pool:
        yield pool


@asynccontextmanager
async def connected_as(url: str, service: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to `url`'s database as the service's role."""
    connection = await asyncpg.connect(service_url(url, service), timeout=10)
    try:
        yield connection
    finally:
        await connection.close()


async def rows_of(connection: Any, table: str) -> list[str]:
    """Every row of a table the connection can see, each as its JSON text, sorted."""
    rows = await connection.fetch(f"SELECT row_to_json(t)::text AS row FROM {table} t")
    return sorted(row["row"] for row in rows)
