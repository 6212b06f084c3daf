"""Fixtures on the real local stack: PostgreSQL, NATS with JetStream, Asterisk 22.

Nothing here skips: a missing service is an error, and with RCP_FORBID_SKIPS=1 (set by
`./rcp test`) a skipped test fails the run.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from nats.aio.client import Client as NatsClient
from nats_support import as_user
from rcp.db.migrate import upgrade
from rcp.interpreter import guard_ast_parse
from rcp.messaging import connect_nats
from rcp_devstack.asterisk import ari_answers, ensure_dialplan
from rcp_devstack.postgres import Dsn
from rcp_devstack.settings import StackSettings
from stasis_e2e_support import Phones, Stack, phones, receptionist_stack

# Debian bookworm's Python 3.11.2 can end a run in an INTERNALERROR while pytest formats a
# failure (see rcp.interpreter): guard the parser before any test runs.
guard_ast_parse()

# The tests run on a developer's machine: the services they start (in this process or as
# children) may use the local stack's development secrets, which production refuses.
os.environ.setdefault("RCP_ENVIRONMENT", "development")

# A test that fails on purpose, run only by test_failure_reports.py in a pytest of its own.
collect_ignore_glob = [] if os.environ.get("RCP_FAILURE_SAMPLE") == "1" else ["samples/*"]

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember every skipped test."""
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when tests were skipped and skips are forbidden."""
    if _skipped and os.environ.get("RCP_FORBID_SKIPS") == "1":
        session.config.get_terminal_writer().line(
            f"RCP_FORBID_SKIPS: {len(_skipped)} skipped test(s) count as failures: "
            + ", ".join(_skipped),
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def settings() -> StackSettings:
    """The local stack's settings (the same environment variables as the services)."""
    return StackSettings()


def _with_database(url: str, database: str) -> str:
    dsn = Dsn.parse(url)
    auth = f"{dsn.user}:{dsn.password}@" if dsn.password else f"{dsn.user}@"
    return f"postgresql://{auth}{dsn.host}:{dsn.port}/{database}"


async def _admin_execute(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url, timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def make_database(settings: StackSettings) -> Iterator[object]:
    """A factory of fresh, empty databases on the stack's server; all dropped at the end."""
    created: list[str] = []
    admin_url = _with_database(settings.database_url, "postgres")

    def make() -> str:
        name = f"rcp_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_admin_execute(admin_url, f'CREATE DATABASE "{name}"'))
        created.append(name)
        return _with_database(settings.database_url, name)

    yield make
    for name in created:
        asyncio.run(_admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _migrated(make_database: object) -> str:
    from roles_support import ensure_service_logins  # noqa: PLC0415 - tests/ is on the path

    assert callable(make_database)
    url: str = make_database()
    upgrade(url, configure_logging=False)
    asyncio.run(ensure_service_logins(url))
    return url


@pytest.fixture(scope="session")
def migrated_url(make_database: object) -> str:
    """A database migrated to the latest revision, shared by the session. Its URL is the
    tables' owner's (tests seed and inspect through it); services get their own roles'
    (`roles_support.service_url`), which may log in."""
    return _migrated(make_database)


@pytest.fixture
def own_url(make_database: object) -> str:
    """A migrated database of the test's own, for a test that takes it away (refuses its
    connections) and must not disturb the others."""
    return _migrated(make_database)


@pytest_asyncio.fixture
async def db(migrated_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the session's migrated database (each statement commits on its own;
    tests keep apart by creating their own tenants)."""
    connection = await asyncpg.connect(migrated_url, timeout=10)
    try:
        yield connection
    finally:
        await connection.close()


@pytest_asyncio.fixture
async def nats_client(settings: StackSettings) -> AsyncIterator[NatsClient]:
    """A connection to the stack's NATS server through the libs/ helper, as the test suite's
    user (`tests`, which may publish and subscribe to anything)."""
    async with connect_nats(as_user(settings), "tests") as client:
        yield client


# Contexts the tests dial into: a checkout sharing the Asterisk may have rendered a dialplan
# from before them, so they are put back if missing.
TEST_CONTEXTS = ("test-phones", "test-carrier", "test-apps")


@pytest.fixture(scope="session")
def asterisk(settings: StackSettings) -> StackSettings:
    """The stack's Asterisk, which must be up (./rcp test starts it)."""
    if not ari_answers(settings):
        pytest.fail(f"Asterisk ARI does not answer at {settings.ari_url}: run ./rcp infra first")
    ensure_dialplan(settings, TEST_CONTEXTS)
    return settings


@pytest_asyncio.fixture
async def admin_with_media(migrated_url: str, tmp_path: Path) -> AsyncIterator[object]:
    """The admin API with a real media service behind it, on subjects of their own."""
    from admin_support import running_admin  # noqa: PLC0415 - tests/ is on the path
    from media_support import media_settings, running_media  # noqa: PLC0415

    scope = f"admin{uuid.uuid4().hex[:10]}"
    async with (
        running_media(media_settings(migrated_url, tmp_path / "media", media_nats_scope=scope)),
        running_admin(
            migrated_url, media_nats_scope=scope, admin_upload_max_bytes=2 * 1024 * 1024
        ) as admin,
    ):
        yield admin


@pytest_asyncio.fixture
async def admin(migrated_url: str) -> AsyncIterator[object]:
    """The admin API running on the session's migrated database."""
    from admin_support import running_admin  # noqa: PLC0415 - tests/ is on the path

    async with running_admin(migrated_url) as running:
        yield running


@pytest_asyncio.fixture
async def web(admin: object) -> AsyncIterator[object]:
    """Headless Chromium (Debian's) and the web manager served by the `admin` app."""
    from admin_support import Admin  # noqa: PLC0415 - tests/ is on the path
    from web_support import Web, chromium  # noqa: PLC0415

    assert isinstance(admin, Admin)
    async with chromium() as browser:
        yield Web(browser, admin)


@pytest_asyncio.fixture
async def web_with_media(admin_with_media: object) -> AsyncIterator[object]:
    """The web manager in Chromium, with a real media service behind the admin API."""
    from admin_support import Admin  # noqa: PLC0415 - tests/ is on the path
    from web_support import Web, chromium  # noqa: PLC0415

    assert isinstance(admin_with_media, Admin)
    async with chromium() as browser:
        yield Web(browser, admin_with_media)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    asterisk: StackSettings, migrated_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """The receptionist's services on the local Asterisk, one set per test module that asks
    for it (a module that needs them otherwise defines its own `stack`)."""
    media_dir: Path = tmp_path_factory.mktemp("media")
    async with receptionist_stack(asterisk, migrated_url, media_dir) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lines(stack: Stack) -> AsyncIterator[Phones]:
    """The test phones of the module's `stack`."""
    async with phones(stack) as held:
        yield held
