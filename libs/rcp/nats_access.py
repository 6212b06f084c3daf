"""Who may publish and subscribe to what on NATS: the one table the servers' authorization is
made from (the local stack's `nats-server.conf`, the Helm values) and the tests check.

Each process connects as a user of its own, with a password (a Kubernetes Secret in
production, a file the local stack writes on a developer's machine), and may publish and
subscribe only to what its row names. Replies need no row: a responder answers the requests
it received (`allow_responses`), and each user's inbox is under a prefix of its own
(`inbox_prefix`), which no other user may subscribe to.

To add a subject: build it in `rcp.subjects`, then name it in the rows of the users that
publish it and of those that subscribe to it, here. `rcp-ops-generate` rewrites the Helm
values from this table; the local stack reloads its server's users on `rcp-stack infra`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rcp import config_store, subjects

# JetStream's API, by the stream (or object store) an operation is about.
JS_API = "$JS.API"


def _stream_api(stream: str, *operations: str) -> tuple[str, ...]:
    return tuple(f"{JS_API}.STREAM.{operation}.{stream}" for operation in operations)


def _consumer_api(stream: str, *operations: str) -> tuple[str, ...]:
    """The operations on `stream`'s consumers, named (`.<consumer>...`) or not."""
    return tuple(
        subject
        for operation in operations
        for subject in (
            f"{JS_API}.CONSUMER.{operation}.{stream}",
            f"{JS_API}.CONSUMER.{operation}.{stream}.>",
        )
    )


def _object_store(bucket: str, *, write: bool, read: bool) -> tuple[str, ...]:
    """What a client of nats-py's object store publishes to use the bucket `bucket`."""
    stream = f"OBJ_{bucket}"
    allowed = [
        *_stream_api(stream, "INFO", "CREATE", "PURGE"),
        # An object's description, read by a direct get of its subject
        # (`rcp.media_client.MediaInbox`); never STREAM.MSG.GET nor a direct get by sequence,
        # which read any message, the chunks of everyone's audio included.
        f"{JS_API}.DIRECT.GET.{stream}.$O.{bucket}.M.>",
        f"$O.{bucket}.M.>",  # an object's description, and its deletion
    ]
    if write:
        allowed.append(f"$O.{bucket}.C.>")  # the chunks
    if read:
        # nats-py finds the stream of the chunks' subject by asking for stream names.
        allowed += [
            *_consumer_api(stream, "CREATE", "DELETE"),
            f"{JS_API}.STREAM.NAMES",
            f"$JS.FC.{stream}.>",
        ]
    return tuple(allowed)


def _key_value(bucket: str, *, write: bool, read: bool) -> tuple[str, ...]:
    """What a client of nats-py's key-value store publishes to use the bucket `bucket`."""
    stream = f"KV_{bucket}"
    allowed = [
        *_stream_api(stream, "INFO", "CREATE", "MSG.GET"),
        f"{JS_API}.DIRECT.GET.{stream}.>",
    ]
    if write:
        allowed.append(f"$KV.{bucket}.>")  # put and delete
    if read:  # watches: an ordered consumer (created without a name), with flow control
        allowed += [
            f"{JS_API}.CONSUMER.CREATE.{stream}",
            *_consumer_api(stream, "CREATE", "DELETE", "INFO"),
            f"$JS.FC.{stream}.>",
        ]
    return tuple(allowed)


EVENTS_STREAM_ADMIN = _stream_api(subjects.EVENTS_STREAM, "INFO", "CREATE", "UPDATE")
CALL_RECORDS_CONSUMER = (
    *_consumer_api(subjects.EVENTS_STREAM, "CREATE", "DURABLE.CREATE", "INFO", "MSG.NEXT"),
    f"$JS.ACK.{subjects.EVENTS_STREAM}.>",
)
MEDIA_INBOX_WRITER = _object_store(subjects.MEDIA_INBOX_BUCKET, write=True, read=False)
MEDIA_INBOX_READER = _object_store(subjects.MEDIA_INBOX_BUCKET, write=False, read=True)
CONFIG_STORE_WRITER = _key_value(config_store.BUCKET, write=True, read=False)
CONFIG_STORE_READER = _key_value(config_store.BUCKET, write=False, read=True)
# nats.micro's discovery and stats (`$SRV.PING`, `$SRV.INFO.<name>`...), answered by services.
MICRO_DISCOVERY = ("$SRV.>",)


def _asks(*requests: subjects.TenantRequest) -> tuple[str, ...]:
    return tuple(subject for request in requests for subject in request.permitted())


@dataclass(frozen=True)
class NatsUser:
    """One NATS user: who connects as it, and what it may publish and subscribe to."""

    name: str
    purpose: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...] = ()
    responds: bool = False
    """It answers requests (publishes once to the reply subject of a request it received)."""
    production: bool = True
    """A user of production (the Helm values, the Secret); False: the local stack's only."""

    @property
    def inbox(self) -> str:
        """The prefix of the user's inboxes (replies to its requests, JetStream deliveries)."""
        return inbox_prefix(self.name)

    def permissions(self) -> dict[str, Any]:
        """Its `permissions` block of a nats-server configuration."""
        permissions: dict[str, Any] = {
            # Its own inbox too: a readiness probe sends a message round the server to it.
            "publish": {"allow": _once(*self.publish, f"{self.inbox}.>")},
            "subscribe": {"allow": _once(*self.subscribe, f"{self.inbox}.>")},
        }
        if self.responds:
            permissions["allow_responses"] = True
        return permissions


def _once(*subjects_: str) -> list[str]:
    """The subjects in their order, each once (the store helpers overlap)."""
    return list(dict.fromkeys(subjects_))


def inbox_prefix(user: str) -> str:
    """Where a user's inboxes are: `_INBOX.<user>.<id>`, so that no other user reads them."""
    return f"_INBOX.{user}"


# What writes tenants' configuration publishes: the admin API, and the command line, which
# does what the API does.
CONFIGURATION_WRITER = (
    subjects.CONFIG_CHANGED_ALL,
    *_asks(subjects.MEDIA_ENSURE_PROMPT, subjects.MEDIA_INGEST_UPLOAD, subjects.MEDIA_FORGET),
    *MEDIA_INBOX_WRITER,
    *CONFIG_STORE_WRITER,
)

USERS: tuple[NatsUser, ...] = (
    NatsUser(
        "stasis",
        "rcp-stasis: live calls; the call records consumer",
        publish=(
            subjects.CALL_EVENTS_ALL,
            subjects.VOICEMAIL_LEFT_ALL,
            *_asks(subjects.DIRECTORY_SEARCH),
            *_asks(subjects.MEDIA_ENSURE_PROMPT, subjects.MEDIA_INGEST_RECORDING),
            *MEDIA_INBOX_WRITER,
            *EVENTS_STREAM_ADMIN,
            *CALL_RECORDS_CONSUMER,
            *CONFIG_STORE_READER,
        ),
        subscribe=(subjects.CONFIG_CHANGED_ALL,),
    ),
    NatsUser(
        "directory",
        "rcp-directory: answers dial-by-name lookups; indexes what the config store holds",
        publish=CONFIG_STORE_READER,
        subscribe=(
            *_asks(subjects.DIRECTORY_SEARCH, subjects.DIRECTORY_REVERSE),
            subjects.CONFIG_CHANGED_ALL,
            *MICRO_DISCOVERY,
        ),
        responds=True,
    ),
    NatsUser(
        "media",
        "rcp-media: answers for prompts, ingests audio, forgets it; emails voicemail",
        publish=MEDIA_INBOX_READER,
        subscribe=(
            *_asks(
                subjects.MEDIA_ENSURE_PROMPT,
                subjects.MEDIA_INGEST_UPLOAD,
                subjects.MEDIA_INGEST_RECORDING,
                subjects.MEDIA_FORGET,
            ),
            *MICRO_DISCOVERY,
            # A wake-up for the voicemail outbox (the message's row is what is sent).
            subjects.VOICEMAIL_LEFT_ALL,
        ),
        responds=True,
    ),
    NatsUser(
        "admin",
        "rcp-admin: the REST API; the only publisher of config changes",
        publish=(
            *CONFIGURATION_WRITER,
            *_asks(subjects.DIRECTORY_SEARCH),  # the menu simulator's dial by name
            # The backfill at start reads the versions the store holds in one watch.
            *CONFIG_STORE_READER,
        ),
        # Every instance forgets what it keeps in memory of a tenant its peers changed.
        subscribe=(subjects.CONFIG_CHANGED_ALL,),
    ),
    NatsUser(
        "cli",
        "the receptionist command line: what the admin API does",
        publish=CONFIGURATION_WRITER,
    ),
    NatsUser(
        "retention",
        "the retention job (receptionist retention apply): forgets expired recordings",
        publish=_asks(subjects.MEDIA_FORGET),
    ),
    NatsUser(
        "stack",
        "rcp-stack, the local stack: checks that JetStream answers",
        publish=(f"{JS_API}.INFO",),
        production=False,
    ),
    NatsUser(
        "tests",
        "the test suite and the benchmarks, which play every part: everything",
        publish=(">",),
        subscribe=(">",),
        production=False,
    ),
)


def user(name: str) -> NatsUser:
    """The row of one user; KeyError for a user the table does not have."""
    for candidate in USERS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no NATS user {name!r} (rcp.nats_access.USERS)")


def production_users() -> list[NatsUser]:
    """The users a production server has (the Helm values, the Secret's keys)."""
    return [candidate for candidate in USERS if candidate.production]


def authorization(
    passwords: Mapping[str, str], users: Iterable[NatsUser] = USERS
) -> dict[str, Any]:
    """The `authorization` block of a nats-server configuration: `users`, each with the
    password `passwords` gives it (a literal, or a `$VARIABLE` the server reads from its
    environment), and no anonymous access."""
    return {
        "users": [
            {"user": row.name, "password": passwords[row.name], "permissions": row.permissions()}
            for row in users
        ]
    }
