"""The asyncpg connection pool every service uses."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import structlog

from rcp.settings import CommonSettings

log = structlog.get_logger(__name__)

CLOSE_PATIENCE_S = 10.0
"""How long closing waits for connections still held (a query under way) before cutting them."""


async def _init_connection(connection: asyncpg.Connection) -> None:
    # JSON columns come back as Python objects, not strings.
    for kind in ("json", "jsonb"):
        await connection.set_type_codec(
            kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _reset_connection(connection: asyncpg.Connection) -> None:
    """What a connection given back to the pool must shed before its next user, beyond what
    asyncpg always does on release (roll back a transaction left open, drop listeners):
    nothing. Our code keeps no session state: the row-security scope is set per transaction
    (rcp.db.scope), and nothing LISTENs, takes session-level advisory locks or SETs a session
    setting (cursors live in transactions). asyncpg's default reset would run `SELECT
    pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every release all the same:
    one more round trip per statement, about a tenth of the admin API's CPU under load
    (bench/admin)."""


@asynccontextmanager
async def create_pool(
    settings: CommonSettings, application_name: str, close_patience_s: float = CLOSE_PATIENCE_S
) -> AsyncIterator[asyncpg.Pool]:
    """A pool sized by the settings; closed when the block exits.

    Closing waits for the connections still held, for `close_patience_s` at most, then
    terminates them: a stuck holder never keeps a service from stopping.
    """
    pool = await asyncpg.create_pool(
        dsn=settings.database_url,
        min_size=settings.database_pool_min,
        max_size=settings.database_pool_max,
        command_timeout=settings.database_command_timeout_s,
        init=_init_connection,
        reset=_reset_connection,
        server_settings={"application_name": f"{application_name}/{settings.instance_id}"},
    )
    try:
        yield pool
    finally:
        try:
            async with asyncio.timeout(close_patience_s):
                await pool.close()
        except TimeoutError:
            log.warning("db.pool_close_cut", patience_s=close_patience_s)
            pool.terminate()


async def check_pool(pool: asyncpg.Pool) -> None:
    """Readiness: the database answers a trivial query."""
    async with pool.acquire() as connection:
        await connection.fetchval("SELECT 1")


DATABASE_FAILURES: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)
"""What a statement raises when PostgreSQL refused it or could not be reached, or cut the
connection under it (asyncpg.InternalClientError: "cannot switch to state ...; another
operation is in progress", a connection the server ended mid-statement; the pool replaces
it): what a caller that degrades or retries on a database failure catches."""

# SQLSTATE classes that say the server cannot be used now, not that a query was wrong:
# connection exceptions, insufficient resources, operator intervention (shutting down,
# starting up).
_UNREACHABLE_CLASSES = frozenset({"08", "53", "57"})


def database_unreachable(error: BaseException) -> bool:
    """Whether an error means PostgreSQL cannot be reached now (try again later), rather than
    a fault of the request or of our own code."""
    if isinstance(error, OSError | asyncpg.InterfaceError | TimeoutError):
        return True  # refused, reset, timed out, or a connection that was cut
    if isinstance(error, asyncpg.InternalClientError):
        # A connection cut by the server in the middle of a query ("cannot switch to state
        # ...; another operation is in progress"): it is thrown away, the next one is new.
        return True
    if isinstance(error, asyncpg.PostgresError):
        state = str(getattr(error, "sqlstate", "") or "")
        if state[:2] in _UNREACHABLE_CLASSES:
            return True
        # A database whose ALLOW_CONNECTIONS is off refuses with 55000 ("not currently
        # accepting connections"), a state shared with query errors: told apart by the text.
        return state == "55000" and "accepting connections" in str(error)
    return False
