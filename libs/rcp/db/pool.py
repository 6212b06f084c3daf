"""The asyncpg connection pool every service uses."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from rcp.settings import CommonSettings


async def _init_connection(connection: asyncpg.Connection) -> None:
    # JSON columns come back as Python objects, not strings.
    for kind in ("json", "jsonb"):
        await connection.set_type_codec(
            kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


@asynccontextmanager
async def create_pool(
    settings: CommonSettings, application_name: str
) -> AsyncIterator[asyncpg.Pool]:
    """A pool sized by the settings; closed when the block exits."""
    pool = await asyncpg.create_pool(
        dsn=settings.database_url,
        min_size=settings.database_pool_min,
        max_size=settings.database_pool_max,
        command_timeout=settings.database_command_timeout_s,
        init=_init_connection,
        server_settings={"application_name": f"{application_name}/{settings.instance_id}"},
    )
    try:
        yield pool
    finally:
        await pool.close()


async def check_pool(pool: asyncpg.Pool) -> None:
    """Readiness: the database answers a trivial query."""
    async with pool.acquire() as connection:
        await connection.fetchval("SELECT 1")
