"""Alembic migrations of Receptionist's schema, and the helpers they share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import asyncpg
from alembic import op
from sqlalchemy.util import await_only


def _driver() -> asyncpg.Connection:
    """The migration's own asyncpg connection (inside its transaction)."""
    driver = op.get_bind().connection.dbapi_connection
    if driver is None:
        raise RuntimeError("the migration's connection is closed")
    connection: asyncpg.Connection = driver.driver_connection
    return connection


def execute_script(sql: str) -> None:
    """Run a multi-statement SQL script inside the migration's transaction.

    asyncpg runs each SQLAlchemy statement as a prepared statement, which refuses more than
    one command; its plain `execute` takes a whole script, so go to the driver directly.
    """
    await_only(_driver().execute(sql))


def fetch(sql: str, *args: Any) -> list[asyncpg.Record]:
    """The rows of one query, inside the migration's transaction (for data migrations)."""
    rows: list[asyncpg.Record] = await_only(_driver().fetch(sql, *args))
    return rows


def execute_many(sql: str, rows: Iterable[Sequence[Any]]) -> None:
    """Run one statement for each row of arguments, inside the migration's transaction."""
    await_only(_driver().executemany(sql, rows))


def touch_updated_at(*tables: str) -> str:
    """SQL giving each table a trigger that sets its `updated_at` on every UPDATE (through
    `rcp_touch_updated_at()`, revision 0001's). Applied revisions call it: its SQL never changes.
    """
    return "".join(
        f"CREATE TRIGGER {table}_touch BEFORE UPDATE ON {table}\n"
        "    FOR EACH ROW EXECUTE FUNCTION rcp_touch_updated_at();\n"
        for table in tables
    )


def sql_steps(upgrade: str, downgrade: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """The `upgrade` and `downgrade` of a revision that is one SQL script each way."""
    return lambda: execute_script(upgrade), lambda: execute_script(downgrade)


def row_security(table: str, key: str = "tenant_id") -> str:
    """SQL putting a tenant-owned table under row-level security (revision 0008's rule, which
    every later table with a `tenant_id` follows): enabled and forced, so that its owner obeys
    it too; the owner (the role that migrates) sees every row; the admin role sees the rows
    whose `key` is in its transaction's scope (`rcp_in_scope`). The services get their own
    policies (`service_policy`). Applied revisions call it: its SQL never changes.
    """
    return (
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;\n"
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;\n"
        f"CREATE POLICY {table}_owner ON {table} TO CURRENT_USER USING (true) WITH CHECK (true);\n"
        f"CREATE POLICY {table}_admin ON {table} TO rcp_admin\n"
        f"    USING (rcp_in_scope({key})) WITH CHECK (rcp_in_scope({key}));\n"
    )


def service_policy(table: str, role: str, command: str) -> str:
    """SQL letting a service role, which answers for every tenant, run `command` (SELECT,
    INSERT, UPDATE, DELETE or ALL) on every row of a table its grants let it touch.
    Applied revisions call it: its SQL never changes."""
    using = "" if command == "INSERT" else " USING (true)"
    check = "" if command in ("SELECT", "DELETE") else " WITH CHECK (true)"
    name = f"{table}_{role.removeprefix('rcp_')}_{command.lower()}"
    return f"CREATE POLICY {name} ON {table} FOR {command} TO {role}{using}{check};\n"
