"""The services' PostgreSQL pool on the real server: closing it never waits for ever."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
import structlog
from rcp.db.pool import create_pool, database_unreachable
from rcp.db.scope import CARRIER_SETTING, TENANT_SETTING, Scope, ScopedPool
from rcp.settings import CommonSettings


async def test_closing_the_pool_cuts_a_connection_held_past_the_patience(
    migrated_url: str,
) -> None:
    # A query stuck behind a lock, or a holder that never releases: the service's shutdown
    # must go on. Here the holder sleeps in the server for far longer than the patience.
    settings = CommonSettings(database_url=migrated_url)
    loop = asyncio.get_running_loop()
    with structlog.testing.capture_logs() as logs:
        async with create_pool(settings, "tests", close_patience_s=1.0) as pool:
            connection = await pool.acquire()
            stuck = asyncio.create_task(connection.execute("SELECT pg_sleep(300)"))
            await asyncio.sleep(0.3)  # the query is under way
            closing_started = loop.time()
    closed_in = loop.time() - closing_started
    (outcome,) = await asyncio.gather(stuck, return_exceptions=True)
    assert closed_in < 60  # far below the query's 300 s: the patience bounded it
    assert [entry["event"] for entry in logs] == ["db.pool_close_cut"]
    assert isinstance(outcome, asyncpg.ConnectionDoesNotExistError)  # cut, not finished


async def test_closing_an_idle_pool_is_quiet(migrated_url: str) -> None:
    settings = CommonSettings(database_url=migrated_url)
    with structlog.testing.capture_logs() as logs:
        async with create_pool(settings, "tests", close_patience_s=1.0) as pool:
            assert await pool.fetchval("SELECT 1") == 1
    assert logs == []


async def test_a_connection_back_from_the_pool_keeps_no_transaction_and_no_scope_of_its_last_user(
    migrated_url: str,
) -> None:
    # Releases skip asyncpg's session reset (RESET ALL ...): what the next user must not
    # inherit is a transaction left open or the last transaction's row-security scope.
    tenant = uuid.uuid4()
    settings = CommonSettings(database_url=migrated_url, database_pool_min=1, database_pool_max=1)
    async with create_pool(settings, "tests") as pool:
        async with ScopedPool(pool, Scope.tenant(tenant)).transaction() as scoped:
            inside = await scoped.fetchval("SELECT current_setting($1, true)", TENANT_SETTING)
        abandoned = await pool.acquire()
        await abandoned.execute("BEGIN")
        await abandoned.execute("SELECT set_config($1, 'on', true)", CARRIER_SETTING)
        abandoned_pid = abandoned.get_server_pid()
        await pool.release(abandoned)
        async with pool.acquire() as connection:
            assert connection.is_in_transaction() is False
            after = await connection.fetchrow(
                "SELECT pg_backend_pid() AS pid, current_setting($1, true) AS tenant, "
                "current_setting($2, true) AS carrier",
                TENANT_SETTING,
                CARRIER_SETTING,
            )
            assert after is not None
            same_session = after["pid"] == abandoned_pid
    assert inside == str(tenant)
    assert same_session  # one connection in the pool: the very session was reused
    assert (after["tenant"] or "", after["carrier"] or "") == ("", "")


@pytest.mark.parametrize(
    ("error", "unreachable"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (asyncpg.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.TooManyConnectionsError("too many clients"), True),
        (asyncpg.ConnectionDoesNotExistError("closed"), True),
        (
            asyncpg.ObjectNotInPrerequisiteStateError(
                'database "x" is not currently accepting connections'
            ),
            True,
        ),
        (
            asyncpg.ObjectNotInPrerequisiteStateError("currval of sequence is not yet defined"),
            False,
        ),
        (asyncpg.UniqueViolationError("duplicate key"), False),
        (ValueError("a bug"), False),
    ],
)
def test_only_errors_of_reaching_the_database_count_as_unreachable(
    error: Exception, unreachable: bool
) -> None:
    assert database_unreachable(error) is unreachable
