"""NATS accounts and permissions on the stack's real server: no anonymous connection, a wrong
password refused, and each user held to its row of `rcp.nats_access.USERS` (a violation is
the server's own answer, and nothing reaches the subscribers)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats_support import login
from rcp import nats_access, subjects
from rcp.errors import ErrorCode
from rcp.messaging import NatsLoginRefused, connect_nats, nats_options, reached_server
from rcp.settings import CommonSettings
from rcp_devstack.natsserver import private_nats
from rcp_devstack.settings import REPO_ROOT, StackSettings

TENANT = uuid.uuid4()
CALL_EVENT = subjects.call_event(TENANT, "started")
CONFIG_CHANGE = subjects.config_changed(TENANT)
PERMISSIONS_VIOLATION = "permissions violation"
# The server's answer, as nats-py hands it over (lower-cased).
DENIED = 'nats: permissions violation for {what} to "{subject}"'


def denied(what: str, subject: str) -> str:
    return DENIED.format(what=what, subject=subject.lower())


@asynccontextmanager
async def connected_as(
    settings: StackSettings, user: str
) -> AsyncIterator[tuple[NatsClient, list[str]]]:
    """A connection as `user`, and the errors the server sends it (permission violations)."""
    errors: list[str] = []

    async def collect(error: Exception) -> None:
        errors.append(str(error))

    client = await nats.connect(
        settings.nats_url, allow_reconnect=False, error_cb=collect, **login(user, settings)
    )
    try:
        yield client, errors
    finally:
        await client.close()


async def violations_of(
    settings: StackSettings, user: str, act: Callable[[NatsClient], Awaitable[object]]
) -> list[str]:
    """The violations the server answers `user` doing `act` (read once a message sent after
    it has come back: the server answers in order)."""
    async with connected_as(settings, user) as (client, errors):
        await act(client)
        await reached_server(client)
        return [error for error in errors if PERMISSIONS_VIOLATION in error.lower()]


@asynccontextmanager
async def watching(nats_client: NatsClient, subject: str) -> AsyncIterator[list[bytes]]:
    """What the test suite's own user sees published on `subject` meanwhile."""
    seen: list[bytes] = []

    async def keep(msg: Msg) -> None:
        seen.append(msg.data)

    subscription = await nats_client.subscribe(subject, cb=keep)
    await reached_server(nats_client)
    try:
        yield seen
    finally:
        await reached_server(nats_client)
        await subscription.unsubscribe()


async def refusal(url: str, **options: Any) -> Exception:
    """Why the server does not let a client in with these options (it must not)."""
    client = NatsClient()
    try:
        await client.connect(url, allow_reconnect=False, connect_timeout=5, **options)
    except Exception as error:
        return error
    finally:
        # nats-py leaves the socket of a refused connection open; after a failed TLS
        # handshake its close() waits for ever, hence the bound.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(client.close(), 2)
    pytest.fail(f"{url} let the client in")


async def test_an_anonymous_connection_is_refused(settings: StackSettings) -> None:
    refused = await refusal(settings.nats_url)
    assert isinstance(refused, nats.errors.Error)
    assert "Authorization Violation" in str(refused)


async def test_a_wrong_password_is_refused_at_once_with_a_line_saying_where_it_comes_from(
    settings: StackSettings,
) -> None:
    wrong = CommonSettings(nats_url=settings.nats_url, nats_user="directory", nats_password="no")
    with pytest.raises(NatsLoginRefused) as refused:
        async with connect_nats(wrong, "tests-wrong-password"):
            pass
    assert refused.value.code == ErrorCode.UNAUTHORIZED
    assert "NATS refused the user 'directory'" in refused.value.message
    assert "RCP_NATS_PASSWORD" in refused.value.message


async def test_the_directory_cannot_publish_a_call_event_or_a_config_change(
    settings: StackSettings, nats_client: NatsClient
) -> None:
    async def forge(client: NatsClient) -> None:
        await client.publish(CALL_EVENT, b'{"forged": true}')
        await client.publish(CONFIG_CHANGE, b'{"forged": true}')

    async with (
        watching(nats_client, CALL_EVENT) as events,
        watching(nats_client, CONFIG_CHANGE) as changes,
    ):
        refused = await violations_of(settings, "directory", forge)
    assert refused == [
        denied("publish", CALL_EVENT),
        denied("publish", CONFIG_CHANGE),
    ]
    assert (events, changes) == ([], [])


@pytest.mark.parametrize("user", [row.name for row in nats_access.USERS])
async def test_only_stasis_publishes_call_events_and_only_admin_and_the_cli_config_changes(
    settings: StackSettings, user: str
) -> None:
    async def publish_both(client: NatsClient) -> None:
        await client.publish(CALL_EVENT, b"{}")
        await client.publish(CONFIG_CHANGE, b"{}")

    refused = await violations_of(settings, user, publish_both)
    may_publish = {
        CALL_EVENT: user in {"stasis", "tests"},
        CONFIG_CHANGE: user in {"admin", "cli", "tests"},
    }
    for subject, allowed in may_publish.items():
        assert any(subject in error for error in refused) is not allowed, (user, subject)


@pytest.mark.parametrize(
    ("user", "subject"),
    [
        ("directory", subjects.EVENTS_ALL),  # callers' numbers
        ("media", subjects.EVENTS_ALL),
        ("admin", subjects.EVENTS_ALL),
        ("directory", subjects.MEDIA_ENSURE_PROMPT.every_tenant()),  # taking media's requests
        ("media", subjects.DIRECTORY_SEARCH.every_tenant()),
        ("directory", f"{nats_access.inbox_prefix('stasis')}.>"),  # another user's replies
        ("admin", "_INBOX.>"),
    ],
)
async def test_a_service_cannot_read_what_is_not_its_own(
    settings: StackSettings, user: str, subject: str
) -> None:
    async def listen(client: NatsClient) -> None:
        await client.subscribe(subject)

    refused = await violations_of(settings, user, listen)
    assert refused == [denied("subscription", subject)]


async def test_media_answers_only_its_requests_and_asks_nothing_of_the_directory(
    settings: StackSettings,
) -> None:
    search = subjects.DIRECTORY_SEARCH.subject(TENANT)

    async def ask_directory(client: NatsClient) -> None:
        await client.publish(search, b"{}", reply=client.new_inbox())

    assert await violations_of(settings, "media", ask_directory) == [denied("publish", search)]


def test_admin_hears_every_config_change_to_forget_what_it_keeps_in_memory() -> None:
    assert subjects.CONFIG_CHANGED_ALL in nats_access.user("admin").subscribe


def test_every_user_has_its_own_name_and_production_has_no_test_user() -> None:
    names = [row.name for row in nats_access.USERS]
    assert len(names) == len(set(names))
    production = {row.name for row in nats_access.production_users()}
    assert production == {"stasis", "directory", "media", "admin", "cli", "retention"}
    for row in nats_access.production_users():
        assert ">" not in row.publish
        assert ">" not in row.subscribe


def test_the_operations_guide_makes_a_password_for_every_production_user() -> None:
    guide = (REPO_ROOT / "docs" / "operations.md").read_text()
    listed = re.search(r"for user in ([a-z ]+); do", guide)
    assert listed is not None
    assert listed.group(1).split() == [row.name for row in nats_access.production_users()]


def _openssl(*args: str | Path) -> None:
    command = ["openssl", *map(str, args)]  # Debian's, which ca-certificates brings
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@pytest.fixture
def tls_files(tmp_path: Path) -> dict[str, Path]:
    """A CA, another CA, and a certificate for 127.0.0.1 the first one signed (openssl)."""
    files = {name: tmp_path / name for name in ("ca.crt", "ca.key", "other.crt", "other.key")}
    for ca in ("ca", "other"):
        _openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "1", "-subj", f"/CN={ca}",
            "-keyout", files[f"{ca}.key"], "-out", files[f"{ca}.crt"],
        )  # fmt: skip
    server_key, request = tmp_path / "server.key", tmp_path / "server.csr"
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-subj", "/CN=nats", "-keyout", server_key, "-out", request,
    )  # fmt: skip
    names = tmp_path / "names.ext"
    names.write_text("subjectAltName=IP:127.0.0.1\n")
    files["server.crt"], files["server.key"] = tmp_path / "server.crt", server_key
    _openssl(
        "x509", "-req", "-in", request, "-CA", files["ca.crt"], "-CAkey", files["ca.key"],
        "-CAcreateserial", "-days", "1", "-extfile", names, "-out", files["server.crt"],
    )  # fmt: skip
    return files


async def test_over_tls_a_client_checks_the_server_against_its_ca_setting(
    tmp_path: Path, settings: StackSettings, tls_files: dict[str, Path]
) -> None:
    tls = (
        f'tls {{\n  cert_file: "{tls_files["server.crt"]}"\n'
        f'  key_file: "{tls_files["server.key"]}"\n}}\n'
    )
    with private_nats(tmp_path / "nats", settings.nats_credentials_dir, tls) as server:
        assert server.url.startswith("tls://")
        trusting = CommonSettings(
            nats_url=server.url, nats_user="directory", nats_tls_ca_file=tls_files["ca.crt"]
        )
        async with connect_nats(trusting, "tests-tls") as client:
            await reached_server(client)
            assert client.connected_url is not None
            assert client.connected_url.scheme == "tls"
        stranger = CommonSettings(
            nats_url=server.url, nats_user="directory", nats_tls_ca_file=tls_files["other.crt"]
        )
        refused = await refusal(server.url, **nats_options(stranger))
        assert isinstance(refused, ssl.SSLCertVerificationError)
