"""Apply or revert the schema with Alembic (`rcp-migrate upgrade head`, `... downgrade base`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config

from rcp.settings import CommonSettings

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


def main() -> None:
    """Command line: rcp-migrate {upgrade,downgrade,current,history} [revision]."""
    parser = argparse.ArgumentParser(prog="rcp-migrate", description=__doc__)
    parser.add_argument("action", choices=["upgrade", "downgrade", "current", "history"])
    parser.add_argument("revision", nargs="?", default=None)
    parser.add_argument("--database-url", default=None, help="defaults to RCP_DATABASE_URL")
    args = parser.parse_args()
    url = args.database_url or CommonSettings().database_url
    config = alembic_config(url)
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
