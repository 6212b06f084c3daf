"""The services' database roles on the local stack's PostgreSQL: each logs in as its own.

Revision 0008 creates the roles (rcp_admin, rcp_stasis, rcp_directory, rcp_media) without
login; here the stack lets them log in with its development password, and hands each service
a URL of its own (the stack's URL, another user). Migrations and the demo seeding keep the
stack's URL: its user owns the tables.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import asyncpg

from rcp_devstack.postgres import Dsn

# service -> its database role (revision 0008's)
SERVICE_ROLES = {
    "admin": "rcp_admin",
    "stasis": "rcp_stasis",
    "directory": "rcp_directory",
    "media": "rcp_media",
}
# Roles belong to the whole server, which several checkouts' tests may share: whoever changes
# one takes this lock first (concurrent ALTER ROLE of one role fails "tuple concurrently
# updated").
ROLES_LOCK = 0x7263_7072_6F6C  # "rcprol"


def role_url(url: str, service: str, password: str) -> str:
    """The URL of `url`'s server and database for the service's own role."""
    dsn = Dsn.parse(url)
    user = SERVICE_ROLES[service]
    return f"postgresql://{user}:{quote(password, safe='')}@{dsn.host}:{dsn.port}/{dsn.database}"


async def _logs_in(url: str) -> bool:
    try:
        connection = await asyncpg.connect(url, timeout=10)
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
        return False
    await connection.close()
    return True


async def ensure_logins(owner_url: str, password: str) -> None:
    """Let every service role log in with `password` (through `owner_url`, whose user may
    alter roles); a role that already does is left alone. The roles must exist (revision
    0007 on any database of the server made them)."""
    missing = [
        service
        for service in SERVICE_ROLES
        if not await _logs_in(role_url(owner_url, service, password))
    ]
    if not missing:
        return
    # The lock is taken in the server's `postgres` database, the one every caller shares.
    dsn = Dsn.parse(owner_url)
    auth = f"{quote(dsn.user, safe='')}:{quote(dsn.password, safe='')}"
    connection = await asyncpg.connect(
        f"postgresql://{auth}@{dsn.host}:{dsn.port}/postgres", timeout=10
    )
    try:
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", ROLES_LOCK)
            for service in missing:
                role = SERVICE_ROLES[service]
                # ALTER ROLE takes no parameters: the password goes in as a quoted literal.
                literal = await connection.fetchval("SELECT quote_literal($1::text)", password)
                await connection.execute(f"ALTER ROLE {role} LOGIN PASSWORD {literal}")
    finally:
        await connection.close()


def ensure_logins_sync(owner_url: str, password: str) -> None:
    """`ensure_logins` from synchronous code."""
    asyncio.run(ensure_logins(owner_url, password))
