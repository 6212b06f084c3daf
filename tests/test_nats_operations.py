"""Every JetStream operation a service really does works under its own NATS user, and a user
whose row of `rcp.nats_access.USERS` does not name it is refused (the server's permissions
violation is observed): the media inbox (an object store), the configuration store (a
key-value bucket, read and watched), the events stream and the call records consumer.

On a nats-server of the module's own (`private_nats`) with the users of this checkout's table
and the stack's passwords, so that a change to the table is proven before the shared server
is reloaded with it. The operations are the product's own (`media_inbox`, `NatsInbox`,
`ConfigStore`, `ensure_streams`, the consumer's settings), not copies of the API calls.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient
from rcp import subjects
from rcp.config_store import MISSING, ConfigStore, KeyChange
from rcp.media_client import media_inbox
from rcp.messaging import ensure_streams, nats_options, reached_server
from rcp.settings import CommonSettings
from rcp_devstack.natsserver import private_nats
from rcp_devstack.settings import StackSettings
from rcp_media.inbox import NatsInbox
from rcp_stasis.call_records import consumer_config

# A refused JetStream request gets no answer: the violation is the server's word, and the
# client gives up after this (the permitted user's requests are answered in milliseconds).
REFUSED_WAIT_S = 1.0
AUDIO = b"RIFF" + bytes(range(256)) * 600  # three chunks of the object store's 128 KiB
VIOLATION = "permissions violation"


@dataclass
class Login:
    """A connection as one user, and the permission violations the server sent it."""

    client: NatsClient
    violations: list[str] = field(default_factory=list)

    async def settled(self) -> list[str]:
        """The violations, once everything sent before has reached the server."""
        await reached_server(self.client)
        return [error.lower() for error in self.violations]


@pytest.fixture(scope="module")
def server_url(settings: StackSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("nats")
    with private_nats(directory, settings.nats_credentials_dir) as server:
        yield server.url


@asynccontextmanager
async def logged_in(url: str, settings: StackSettings, user: str) -> AsyncIterator[Login]:
    violations: list[str] = []
    login = Login(await _connect(url, settings, user, violations), violations)
    try:
        yield login
    finally:
        await login.client.close()


async def _connect(url: str, settings: StackSettings, user: str, into: list[str]) -> NatsClient:
    async def collect(error: Exception) -> None:
        if VIOLATION in str(error).lower():
            into.append(str(error))

    options = nats_options(
        CommonSettings(
            nats_url=url, nats_user=user, nats_credentials_dir=settings.nats_credentials_dir
        )
    )
    return await nats.connect(url, allow_reconnect=False, error_cb=collect, **options)


def refused(violations: list[str], what: str, subject: str) -> bool:
    """Whether the server refused `what` (publish, subscription) on `subject`."""
    return f'{VIOLATION} for {what} to "{subject.lower()}"' in " ".join(violations)


async def _inbox_with_audio(url: str, settings: StackSettings, writer: str) -> str:
    name = f"test-{uuid.uuid4().hex}"
    async with logged_in(url, settings, writer) as login:
        store = await media_inbox(login.client)
        await store.put(name, AUDIO)
        assert await login.settled() == []
    return name


@pytest.mark.parametrize("writer", ["stasis", "admin", "cli"])
async def test_a_service_that_hands_audio_over_puts_it_in_the_media_inbox(
    server_url: str, settings: StackSettings, tmp_path: Path, writer: str
) -> None:
    name = await _inbox_with_audio(server_url, settings, writer)
    async with logged_in(server_url, settings, "media") as media:
        inbox = NatsInbox(await media_inbox(media.client))
        assert await inbox.size(name) == len(AUDIO)
        await inbox.fetch(name, tmp_path / "audio")
        await inbox.remove(name)
        assert await inbox.size(name) is None
        assert await media.settled() == []
    assert (tmp_path / "audio").read_bytes() == AUDIO


async def test_media_cannot_put_audio_in_its_inbox(
    server_url: str, settings: StackSettings
) -> None:
    async with logged_in(server_url, settings, "media") as media:
        store = await media_inbox(media.client)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(store.put(f"test-{uuid.uuid4().hex}", AUDIO), REFUSED_WAIT_S)
        violations = await media.settled()
    chunks = f'for publish to "$o.{subjects.MEDIA_INBOX_BUCKET}.c.'
    assert violations, "the server refused nothing"
    assert all(chunks in violation for violation in violations), violations


async def test_stasis_hands_audio_over_but_cannot_read_any_back(
    server_url: str, settings: StackSettings, tmp_path: Path
) -> None:
    name = await _inbox_with_audio(server_url, settings, "admin")
    async with logged_in(server_url, settings, "stasis") as stasis:
        inbox = NatsInbox(await media_inbox(stasis.client))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(inbox.fetch(name, tmp_path / "audio"), REFUSED_WAIT_S)
        violations = await stasis.settled()
    # Reading the chunks starts by finding their stream: what only the reader's row grants.
    assert refused(violations, "publish", "$JS.API.STREAM.NAMES"), violations


@pytest.mark.parametrize("writer", ["stasis", "admin"])
async def test_a_service_that_hands_audio_over_cannot_read_any_message_of_the_inbox_by_sequence(
    server_url: str, settings: StackSettings, writer: str
) -> None:
    """nats-py's own object store reads descriptions by STREAM.MSG.GET, which returns any
    message, the chunks of another's audio included: the writers may not use it."""
    await _inbox_with_audio(server_url, settings, "cli")
    stream = f"OBJ_{subjects.MEDIA_INBOX_BUCKET}"
    async with logged_in(server_url, settings, writer) as login:
        js = login.client.jetstream(timeout=REFUSED_WAIT_S)
        with pytest.raises(TimeoutError):
            await js.get_msg(stream, seq=1)
        with pytest.raises(TimeoutError):
            await js.get_msg(stream, seq=1, direct=True)
        chunks = f"$O.{subjects.MEDIA_INBOX_BUCKET}.C.>"
        with pytest.raises(TimeoutError):
            await js.get_last_msg(stream, chunks, direct=True)
        violations = await login.settled()
    assert refused(violations, "publish", f"$JS.API.STREAM.MSG.GET.{stream}"), violations
    assert refused(violations, "publish", f"$JS.API.DIRECT.GET.{stream}"), violations
    assert refused(violations, "publish", f"$JS.API.DIRECT.GET.{stream}.{chunks}"), violations


@pytest.mark.parametrize("stranger", ["directory", "retention"])
async def test_a_service_with_no_audio_to_hand_over_cannot_open_the_media_inbox(
    server_url: str, settings: StackSettings, stranger: str
) -> None:
    async with logged_in(server_url, settings, stranger) as login:
        js = login.client.jetstream(timeout=REFUSED_WAIT_S)
        with pytest.raises(TimeoutError):
            await js.object_store(subjects.MEDIA_INBOX_BUCKET)
        violations = await login.settled()
    info = f"$JS.API.STREAM.INFO.OBJ_{subjects.MEDIA_INBOX_BUCKET}"
    assert refused(violations, "publish", info), violations


@pytest.mark.parametrize(
    ("writer", "reader"), [("admin", "stasis"), ("cli", "stasis"), ("admin", "directory")]
)
async def test_admin_writes_the_configuration_store_and_stasis_and_the_directory_read_and_watch_it(
    server_url: str, settings: StackSettings, writer: str, reader: str
) -> None:
    namespace, tenant = f"db_{uuid.uuid4().hex[:8]}", uuid.uuid4()
    async with (
        logged_in(server_url, settings, writer) as admin,
        logged_in(server_url, settings, reader) as stasis,
    ):
        written = await ConfigStore.open(admin.client, namespace)
        read = await ConfigStore.open(stasis.client, namespace)
        watcher = await read.kv.watch(read.watched_keys())
        await written.put(tenant, {"tenant": None, "numbers": ["+33100"]})
        assert await read.snapshot(tenant) == {"tenant": None, "numbers": ["+33100"]}
        assert await read.tenant_of("+33100") == tenant
        await written.put(tenant, {"tenant": None, "numbers": []})
        seen: list[KeyChange | None] = []
        async with asyncio.timeout(10):
            while KeyChange(number="+33100") not in seen:
                entry = await watcher.updates(timeout=10)  # type: ignore[no-untyped-call]
                if entry is not None:
                    seen.append(read.key_change(entry.key))
        await watcher.stop()  # type: ignore[no-untyped-call]
        assert await read.tenant_of("+33100") is MISSING
        assert (await admin.settled(), await stasis.settled()) == ([], [])


@pytest.mark.parametrize("reader", ["stasis", "directory"])
async def test_a_reader_of_the_configuration_store_cannot_write_it(
    server_url: str, settings: StackSettings, reader: str
) -> None:
    namespace, tenant = f"db_{uuid.uuid4().hex[:8]}", uuid.uuid4()
    async with logged_in(server_url, settings, reader) as login:
        store = await ConfigStore.open(login.client, namespace)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(store.put(tenant, {"tenant": None, "numbers": []}), 1)
        violations = await login.settled()
    key = f"$KV.{store.kv._name}.{store.tenant_key(tenant)}"
    assert refused(violations, "publish", key), violations


async def test_admin_lists_the_versions_the_configuration_store_holds_by_watching_it(
    server_url: str, settings: StackSettings
) -> None:
    # Its backfill at start reads every stored tenant's version in one watch of the bucket it
    # writes; before, admin could write the store but not watch it.
    namespace, tenant = f"db_{uuid.uuid4().hex[:8]}", uuid.uuid4()
    async with logged_in(server_url, settings, "admin") as admin:
        store = await ConfigStore.open(admin.client, namespace)
        await store.put(tenant, {"tenant": None, "numbers": []})
        assert await store.stored_versions() == {tenant: None}
        assert await admin.settled() == []


@pytest.mark.parametrize("stranger", ["media", "retention"])
async def test_a_service_that_runs_no_call_cannot_open_the_configuration_store(
    server_url: str, settings: StackSettings, stranger: str
) -> None:
    async with logged_in(server_url, settings, stranger) as login:
        js = login.client.jetstream(timeout=REFUSED_WAIT_S)
        with pytest.raises(TimeoutError):
            await js.key_value("rcp_config")
        violations = await login.settled()
    assert refused(violations, "publish", "$JS.API.STREAM.INFO.KV_rcp_config"), violations


async def test_stasis_publishes_call_events_and_consumes_them_into_call_records(
    server_url: str, settings: StackSettings
) -> None:
    tenant = uuid.uuid4()
    durable = f"records-{uuid.uuid4().hex[:10]}"
    async with logged_in(server_url, settings, "stasis") as stasis:
        js = stasis.client.jetstream()
        await ensure_streams(js)
        ack = await js.publish(subjects.call_event(tenant, "started"), b"{}")
        pulled = await js.pull_subscribe(
            subjects.CALL_EVENTS_ALL,
            durable=durable,
            stream=subjects.EVENTS_STREAM,
            config=consumer_config(durable, subjects.CALL_EVENTS_ALL),
        )
        messages = await pulled.fetch(100, timeout=5)
        assert ack.seq in [message.metadata.sequence.stream for message in messages]
        for message in messages:
            await message.ack()
        assert await stasis.settled() == []


@pytest.mark.parametrize("stranger", ["admin", "media", "directory"])
async def test_only_stasis_publishes_to_the_events_stream_or_reads_it(
    server_url: str, settings: StackSettings, stranger: str
) -> None:
    subject = subjects.call_event(uuid.uuid4(), "started")
    durable = f"records-{uuid.uuid4().hex[:10]}"
    async with logged_in(server_url, settings, "stasis") as stasis:
        await ensure_streams(stasis.client.jetstream())
    async with logged_in(server_url, settings, stranger) as login:
        js = login.client.jetstream(timeout=REFUSED_WAIT_S)
        with pytest.raises(nats.errors.Error):
            await js.publish(subject, b"{}")
        with pytest.raises(nats.errors.Error):
            await js.pull_subscribe(
                subjects.CALL_EVENTS_ALL,
                durable=durable,
                stream=subjects.EVENTS_STREAM,
                config=consumer_config(durable, subjects.CALL_EVENTS_ALL),
            )
        violations = await login.settled()
    assert refused(violations, "publish", subject), violations
    assert any("$js.api.consumer" in v and "rcp_events" in v for v in violations), violations


async def test_stasis_wakes_media_for_a_voicemail_and_the_directory_cannot_listen(
    server_url: str, settings: StackSettings
) -> None:
    subject = subjects.voicemail_left(uuid.uuid4())
    async with (
        logged_in(server_url, settings, "media") as media,
        logged_in(server_url, settings, "directory") as directory,
        logged_in(server_url, settings, "stasis") as stasis,
    ):
        woken = await media.client.subscribe(subjects.VOICEMAIL_LEFT_ALL)
        await directory.client.subscribe(subjects.VOICEMAIL_LEFT_ALL)
        await reached_server(media.client)
        await stasis.client.publish(subject, b"{}")
        message = await woken.next_msg(timeout=5)
        assert message.subject == subject
        assert (await media.settled(), await stasis.settled()) == ([], [])
        assert refused(await directory.settled(), "subscription", subjects.VOICEMAIL_LEFT_ALL)
