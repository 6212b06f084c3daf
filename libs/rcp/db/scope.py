"""Row-level security's scope: which tenants' rows a transaction of the admin role sees.

Every tenant-owned table lets the admin role reach only the rows of the tenant named by the
transaction-local setting `rcp.tenant_id`, or every row when `rcp.carrier` is `on` (revision
0007, `rcp_in_scope`). Neither set: no row at all. `ScopedPool` runs each statement, or each
block of them, in a transaction that sets both first, so a query that forgets its tenant
filter still sees nothing of another tenant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

if TYPE_CHECKING:  # asyncpg's proxy is generic for type checkers only
    Connection = PoolConnectionProxy[asyncpg.Record]

TENANT_SETTING = "rcp.tenant_id"
CARRIER_SETTING = "rcp.carrier"
_APPLY = "SELECT set_config($1, $2, true), set_config($3, $4, true)"


@dataclass(frozen=True)
class Scope:
    """One tenant's rows, the carrier's view of every tenant, or (neither) no row at all."""

    tenant_id: UUID | None = None
    carrier_wide: bool = False

    @classmethod
    def carrier(cls) -> Scope:
        """Every tenant's rows: carrier tokens, the operator's command line, authentication."""
        return cls(carrier_wide=True)

    @classmethod
    def tenant(cls, tenant_id: UUID) -> Scope:
        """One tenant's rows only: a tenant token's requests."""
        return cls(tenant_id=tenant_id)

    @classmethod
    def nothing(cls) -> Scope:
        """No row: where code forgot to say whose rows it works on."""
        return cls()

    def settings(self) -> tuple[str, str]:
        """The values of `TENANT_SETTING` and `CARRIER_SETTING` that make this scope."""
        tenant = "" if self.tenant_id is None else str(self.tenant_id)
        return tenant, "on" if self.carrier_wide else ""

    async def apply(self, connection: Any) -> None:
        """Set the scope for the rest of `connection`'s current transaction."""
        tenant, carrier = self.settings()
        await connection.execute(_APPLY, TENANT_SETTING, tenant, CARRIER_SETTING, carrier)

    def begin(self) -> str:
        """The statements that open a transaction of this scope, sent together (one round
        trip): `BEGIN`, then the settings. Their values are a UUID's text, `on` or empty:
        written into the text as they are, nothing in them needs quoting."""
        tenant, carrier = self.settings()
        return (
            f"BEGIN; SELECT set_config('{TENANT_SETTING}', '{tenant}', true), "
            f"set_config('{CARRIER_SETTING}', '{carrier}', true)"
        )


class ScopedPool:
    """A pool whose every statement runs in a transaction of one scope.

    `transaction()` is a block of statements in one transaction; `fetch`, `fetchrow`,
    `fetchval` and `execute` each run one statement in a transaction of its own.
    """

    def __init__(self, pool: asyncpg.Pool, scope: Scope) -> None:
        self.pool = pool
        self.scope = scope

    def scoped(self, scope: Scope) -> ScopedPool:
        """The same pool in another scope."""
        return ScopedPool(self.pool, scope)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection in a transaction of this scope: committed if the block ends well,
        rolled back if it raises.

        The transaction is begun and scoped in one round trip (`Scope.begin`) rather than
        through asyncpg's `Connection.transaction()`, which sends `BEGIN` alone: the block
        must not open a transaction of its own (asyncpg refuses one inside a transaction it
        did not start). A connection given back in a transaction (its `ROLLBACK` failed) is
        rolled back by the pool's release."""
        async with self.pool.acquire() as connection:
            await connection.execute(self.scope.begin())
            try:
                yield connection
            except BaseException:
                if not connection.is_closed():
                    await connection.execute("ROLLBACK")
                raise
            await connection.execute("COMMIT")

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        """The rows of one statement."""
        async with self.transaction() as connection:
            rows: list[asyncpg.Record] = await connection.fetch(query, *args)
            return rows

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        """The first row of one statement, or None."""
        async with self.transaction() as connection:
            row: asyncpg.Record | None = await connection.fetchrow(query, *args)
            return row

    async def fetchval(self, query: str, *args: Any) -> Any:
        """The first value of one statement's first row, or None."""
        async with self.transaction() as connection:
            return await connection.fetchval(query, *args)

    async def execute(self, query: str, *args: Any) -> str:
        """Run one statement; its status (e.g. `UPDATE 1`)."""
        async with self.transaction() as connection:
            status: str = await connection.execute(query, *args)
            return status


async def bypasses_row_security(reader: Any) -> bool:
    """Whether the role `reader` (a connection or pool) logs in as escapes row-level
    security: a superuser, a role with BYPASSRLS, or the tables' owner (or a member of its
    role), whose policy shows it every row."""
    escapes: bool = await reader.fetchval(
        """SELECT r.rolsuper OR r.rolbypassrls OR EXISTS (
                  SELECT FROM pg_tables t
                   WHERE t.schemaname = 'public' AND t.tablename = 'tenants'
                     AND pg_has_role(current_user, t.tableowner, 'MEMBER'))
             FROM pg_roles r WHERE r.rolname = current_user"""
    )
    return escapes
