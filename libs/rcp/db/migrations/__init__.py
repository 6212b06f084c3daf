"""Alembic migrations of Receptionist's schema, and the helper they share."""

from __future__ import annotations

from alembic import op
from sqlalchemy.util import await_only


def execute_script(sql: str) -> None:
    """Run a multi-statement SQL script inside the migration's transaction.

    asyncpg runs each SQLAlchemy statement as a prepared statement, which refuses more than
    one command; its plain `execute` takes a whole script, so go to the driver directly.
    """
    driver = op.get_bind().connection.dbapi_connection
    if driver is None:
        raise RuntimeError("the migration's connection is closed")
    await_only(driver.driver_connection.execute(sql))
