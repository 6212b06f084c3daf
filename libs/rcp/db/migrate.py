"""Apply or revert the schema with Alembic (`rcp-migrate upgrade head`, `... downgrade base`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from rcp.settings import CommonSettings, refuse_unfit_for_production

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def sqlalchemy_url(dsn: str) -> str:
    """The asyncpg dialect URL SQLAlchemy needs for a plain postgresql:// DSN."""
    for scheme in ("postgresql://", "postgres://"):
        if dsn.startswith(scheme):
            return "postgresql+asyncpg://" + dsn[len(scheme) :]
    return dsn


def alembic_config(database_url: str, *, configure_logging: bool = True) -> Config:
    """An Alembic config pointing at this package's migrations and the given database."""
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = configure_logging
    return config


def upgrade(database_url: str, revision: str = "head", *, configure_logging: bool = True) -> None:
    """Bring the schema up to `revision` (blocking; run it in a thread from async code)."""
    command.upgrade(alembic_config(database_url, configure_logging=configure_logging), revision)


def downgrade(database_url: str, revision: str, *, configure_logging: bool = True) -> None:
    """Take the schema down to `revision` (blocking)."""
    command.downgrade(alembic_config(database_url, configure_logging=configure_logging), revision)


def at_head(database_url: str) -> bool:
    """Whether the database's schema is at the newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    return asyncio.run(_current_revision(database_url)) == head


async def _current_revision(database_url: str) -> str | None:
    try:
        connection = await asyncpg.connect(database_url, timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        revision: str | None = await connection.fetchval("SELECT version_num FROM alembic_version")
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await connection.close()
    return revision


def wait_for_head(database_url: str, timeout_s: float, poll_s: float = 2.0) -> bool:
    """Wait until the migrations Job has brought the schema to head (services' init step)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if at_head(database_url):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)


def main() -> None:
    """Command line: rcp-migrate {upgrade,downgrade,current,history,check,wait} [revision]."""
    parser = argparse.ArgumentParser(prog="rcp-migrate", description=__doc__)
    parser.add_argument(
        "action", choices=["upgrade", "downgrade", "current", "history", "check", "wait"]
    )
    parser.add_argument("revision", nargs="?", default=None)
    parser.add_argument("--database-url", default=None, help="defaults to RCP_DATABASE_URL")
    parser.add_argument("--timeout", type=float, default=600, help="for wait: seconds")
    args = parser.parse_args()
    url = args.database_url
    if url is None:
        settings = CommonSettings()
        refuse_unfit_for_production(settings, "rcp-migrate")
        url = settings.database_url
    config = alembic_config(url)
    if args.action == "check":
        sys.exit(0 if at_head(url) else 1)
    if args.action == "wait":
        sys.exit(0 if wait_for_head(url, args.timeout) else 1)
    if args.action == "upgrade":
        command.upgrade(config, args.revision or "head")
    elif args.action == "downgrade":
        if not args.revision:
            parser.error("downgrade needs a revision (for example: -1 or base)")
        command.downgrade(config, args.revision)
    elif args.action == "current":
        command.current(config, verbose=True)
    else:
        command.history(config)


if __name__ == "__main__":
    main()
