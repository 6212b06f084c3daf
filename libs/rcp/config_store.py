"""The configuration store: what calls run on, in a replicated JetStream key-value bucket.

Admin writes, after every committed configuration change (a publish, a rollback, an extension,
a number moved...), the tenant's whole configuration as its rows say (a `snapshot`: the
tenant, its published receptionist, extensions, ring groups, rooms, outbound policy and
limits) and the number -> tenant routing of its numbers. Stasis reads them from here and
watches them, so that a call needs no PostgreSQL: an outage of the database changes nothing
for callers, even of a tenant never called before.

Keys, under the namespace of the database they mirror (its name: several databases, e.g. the
test suite's, share one bucket without seeing each other's keys):
- `<namespace>.tenant.<tenant id>`: the tenant's snapshot (JSON); `{"tenant": null}` for a
  tenant that is gone;
- `<namespace>.number.<digits of the E.164 number>`: the id of the tenant it is routed to;
- `<namespace>.backfilled`: what the admin service's last complete backfill stored by (the
  snapshots' format, the database's schema revision): while they hold, a snapshot stored with
  its tenant's configuration version is as the database has it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit
from uuid import UUID

import asyncpg
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client as NatsClient
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KeyValue

from rcp.contracts.receptionist import ReceptionistDocument
from rcp.db import receptionists
from rcp.db.pool import DATABASE_FAILURES
from rcp.db.scope import Scope, ScopedPool
from rcp.outbound import LIMIT_BOUNDS, POLICY_COLUMNS
from rcp.telemetry import Metrics

# PostgreSQL or NATS not answering now: logged, tried again later.
_STORE_FAILURES: tuple[type[Exception], ...] = (*DATABASE_FAILURES, nats.errors.Error)

log = structlog.get_logger(__name__)

BUCKET = "rcp_config"
"""The bucket's name (the permissions of `rcp.nats_access` name its subjects)."""
STREAM = f"KV_{BUCKET}"

Snapshot = dict[str, Any]
"""A tenant's configuration rows, as JSON: `tenant`, `config_version`, `version`, `document`,
`extensions`, `ring_groups`, `rooms`, `policy`, `limits`, `numbers`."""

TENANT_OF_NUMBER = """
    SELECT t.id, t.status FROM phone_numbers n JOIN tenants t ON t.id = n.tenant_id
     WHERE n.e164 = $1"""

TENANT = "SELECT name, locale, timezone, status FROM tenants WHERE id = $1"

NUMBERS = "SELECT e164 FROM phone_numbers WHERE tenant_id = $1 ORDER BY e164"

# A physical extension rings its device's endpoint; one left with a dial string from before
# devices (revision 0004) keeps it, and the call flow rings it only if it is a device's.
EXTENSIONS = """
    SELECT e.id, e.number, e.kind, e.first_name, e.last_name,
           COALESCE(d.endpoint, e.legacy_dial_string) AS endpoint, e.external_number,
           e.voicemail_enabled, e.reachable_by_extension, e.reachable_by_name, e.name_prompt_id,
           e.voicemail_greeting_prompt_id
      FROM extensions e
      LEFT JOIN devices d ON d.tenant_id = e.tenant_id AND d.id = e.device_id
     WHERE e.tenant_id = $1"""

RING_GROUPS = """
    SELECT g.id, g.number, g.name, g.strategy, g.ring_seconds, g.no_answer_action,
           f.number AS no_answer_number,
           COALESCE(ARRAY(SELECT e.number FROM ring_group_members m
                            JOIN extensions e ON e.tenant_id = m.tenant_id AND e.id = m.extension_id
                           WHERE m.tenant_id = g.tenant_id AND m.ring_group_id = g.id
                           ORDER BY m.position), '{}') AS members
      FROM ring_groups g
      LEFT JOIN extensions f ON f.tenant_id = g.tenant_id AND f.id = g.no_answer_extension_id
     WHERE g.tenant_id = $1"""

ROOMS = "SELECT id, number, name, pin_hash FROM conference_rooms WHERE tenant_id = $1"

POLICY = f"SELECT {', '.join(POLICY_COLUMNS)} FROM outbound_policies WHERE tenant_id = $1"

LIMITS = f"SELECT {', '.join(LIMIT_BOUNDS)} FROM tenant_limits WHERE tenant_id = $1"

CONFIG_VERSION = "SELECT version FROM config_versions WHERE tenant_id = $1"

# Adds 1 to the configuration version of the tenants a write changes ($1), in the write's
# transaction (before it commits: the lock makes concurrent writers to a tenant take turns, so
# the versions follow the commits). Revision 0013: the tenants' rows are locked in one order,
# so that a write that changes two tenants (a number moved) does not deadlock with another; a
# tenant gone is skipped.
BUMP_CONFIG_VERSIONS = """
    INSERT INTO config_versions (tenant_id, version)
    SELECT id, 1 FROM tenants WHERE id = ANY($1::uuid[]) ORDER BY id
        ON CONFLICT (tenant_id) DO UPDATE SET version = config_versions.version + 1"""


def namespace_of(database_url: str) -> str:
    """The keys' namespace for a database: its name, with what a key may not hold replaced."""
    name = urlsplit(database_url).path.lstrip("/") or "receptionist"
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def number_token(e164: str) -> str:
    """A phone number as a key's last token (a key may not hold `+`)."""
    return e164.removeprefix("+")


# The rows of a snapshot, in one round trip (one statement: one consistent read): each as
# JSON text (ids and text as strings, arrays as lists; the store keeps that text as it is,
# `Encoded`), the receptionist as `receptionists.PUBLISHED_COLUMNS` reads it.
ROWS = f"""
    SELECT (SELECT row_to_json(r) FROM ({TENANT}) r)::text AS tenant,
           ({CONFIG_VERSION}) AS config_version,
           (SELECT coalesce(json_agg(r), '[]') FROM ({EXTENSIONS}) r)::text AS extensions,
           (SELECT coalesce(json_agg(r), '[]') FROM ({RING_GROUPS}) r)::text AS ring_groups,
           (SELECT coalesce(json_agg(r), '[]') FROM ({ROOMS}) r)::text AS rooms,
           (SELECT row_to_json(r) FROM ({POLICY}) r)::text AS policy,
           (SELECT row_to_json(r) FROM ({LIMITS}) r)::text AS limits,
           ARRAY({NUMBERS}) AS numbers,
           {receptionists.PUBLISHED_COLUMNS}"""

# The parts of a snapshot that are rows' JSON as PostgreSQL wrote it.
ROW_PARTS = ("extensions", "ring_groups", "rooms", "policy", "limits")

# Raise when what `read_encoded` writes changes without ROWS or the document's schema changing.
SNAPSHOT_FORMAT = 1


def snapshot_format() -> str:
    """What the snapshots this code writes are made of (a digest of their reading and of the
    receptionist document's schema): a snapshot stored by other code may differ even at the
    same configuration version."""
    schema = json.dumps(ReceptionistDocument.model_json_schema(), sort_keys=True)
    made_of = f"{SNAPSHOT_FORMAT}\n{ROWS}\n{schema}".encode()
    return hashlib.sha256(made_of).hexdigest()[:16]


# Each tenant's configuration version (0: none yet), for the backfill, in one round trip.
BACKFILL_VERSIONS = """
    SELECT t.id, coalesce(v.version, 0) AS version
      FROM tenants t LEFT JOIN config_versions v ON v.tenant_id = t.id
     ORDER BY t.id"""


@dataclass(frozen=True)
class Encoded:
    """A snapshot encoded once, as the store keeps it: `value`, its JSON (the rows' parts as
    PostgreSQL wrote them, never decoded and encoded again), and `head`, what `ConfigStore.put`
    compares and routes of it (`tenant`, `config_version`, `numbers`)."""

    head: Snapshot
    value: bytes

    @classmethod
    def of(cls, snapshot: Snapshot) -> Encoded:
        """A snapshot given as values, encoded."""
        compared = ("tenant", "config_version", "numbers")
        head: Snapshot = {name: snapshot[name] for name in compared if name in snapshot}
        return cls(head, json.dumps(snapshot).encode())


async def read_encoded(connection: Any, tenant_id: UUID) -> Encoded:
    """The tenant's configuration rows as one snapshot, read in one statement: consistent,
    with the version that orders them (the rows as the writes up to that version left them);
    `tenant` None if the tenant is gone."""
    rows = await connection.fetchrow(ROWS, tenant_id)
    if rows["tenant"] is None:
        return Encoded.of({"tenant": None, "numbers": []})
    version, document = receptionists.published_of(rows)
    head = {
        "tenant": json.loads(rows["tenant"]),
        "config_version": rows["config_version"] or 0,
        "numbers": list(rows["numbers"]),
    }
    parts = {
        "tenant": rows["tenant"],
        "config_version": json.dumps(head["config_version"]),
        "version": json.dumps(version),
        "document": "null" if document is None else document.model_dump_json(),
        **{name: rows[name] or "null" for name in ROW_PARTS},
        "numbers": json.dumps(head["numbers"]),
    }
    value = "{" + ", ".join(f'"{name}": {text}' for name, text in parts.items()) + "}"
    return Encoded(head, value.encode())


async def read_snapshot(connection: Any, tenant_id: UUID) -> Snapshot:
    """The tenant's configuration as values (`read_encoded`, decoded)."""
    return cast(Snapshot, json.loads((await read_encoded(connection, tenant_id)).value))


class Missing:
    """What the store answers for a key it does not have (the caller may ask PostgreSQL)."""


MISSING = Missing()

T = TypeVar("T")


async def or_missing(
    answer: Awaitable[T | Missing], logger: Any, event: str, **context: str
) -> T | Missing:
    """What the store answers; MISSING too when it cannot answer (a NATS error, logged as a
    warning `event` with `context`): either way the caller then reads PostgreSQL."""
    try:
        return await answer
    except nats.errors.Error as error:
        logger.warning(event, **context, error=repr(error))
        return MISSING


@dataclass(frozen=True)
class KeyChange:
    """One key of the namespace that changed: a tenant's snapshot, or a number's routing."""

    tenant_id: UUID | None = None
    number: str | None = None


class ConfigStore:
    """The bucket, seen through one database's namespace."""

    def __init__(self, kv: KeyValue, namespace: str) -> None:
        self.kv = kv
        self.namespace = namespace
        # What this process last stored for each tenant: the key's revision, and what of the
        # snapshot `put` compares (tenant, config_version, numbers). A revision is one value:
        # a compare-and-set on it that succeeds replaced exactly that.
        self._stored: dict[UUID, tuple[int, Snapshot]] = {}

    @classmethod
    async def open(cls, nc: NatsClient, namespace: str, replicas: int = 1) -> ConfigStore:
        """The bucket, created on first use (`replicas`: its copies on a cluster's servers)."""
        js = nc.jetstream()
        try:
            kv = await js.key_value(BUCKET)
        except nats.js.errors.BucketNotFoundError:
            config = KeyValueConfig(
                bucket=BUCKET,
                description="What calls run on: tenants' configurations, numbers' tenants",
                history=1,
                storage=StorageType.FILE,
                replicas=replicas,
            )
            kv = await js.create_key_value(config=config)
        return cls(kv, namespace)

    def tenant_key(self, tenant_id: UUID) -> str:
        return f"{self.namespace}.tenant.{tenant_id}"

    def number_key(self, e164: str) -> str:
        return f"{self.namespace}.number.{number_token(e164)}"

    def backfilled_key(self) -> str:
        return f"{self.namespace}.backfilled"

    async def backfilled(self) -> Snapshot | Missing:
        """What the last complete backfill stored by (`format`, `revision`), or MISSING."""
        raw = await self._get(self.backfilled_key())
        if isinstance(raw, Missing):
            return raw
        return cast(Snapshot, json.loads(raw))

    async def stored_versions(self) -> dict[UUID, int | None]:
        """The configuration version of each tenant's stored snapshot (None: a tenant gone),
        all read by one watch of the namespace's tenant keys, not a request per tenant."""
        versions: dict[UUID, int | None] = {}
        watcher = await self.kv.watch(f"{self.namespace}.tenant.*", ignore_deletes=True)
        try:
            async for entry in watcher:
                if entry is None:  # all the store holds was delivered
                    break
                change = self.key_change(entry.key)
                if change is None or change.tenant_id is None or not entry.value:
                    continue
                stored = json.loads(entry.value)
                gone = stored.get("tenant") is None
                versions[change.tenant_id] = None if gone else int(stored["config_version"])
        finally:
            with contextlib.suppress(Exception):
                await watcher.stop()  # type: ignore[no-untyped-call]
        return versions

    def watched_keys(self) -> str:
        """What a watch of this namespace follows."""
        return f"{self.namespace}.>"

    async def changes(self) -> AsyncIterator[KeyChange]:
        """The keys of this namespace that change from now on, as long as the caller iterates
        (what the store held before is not a change: the reader has read it or will)."""
        watcher = await self.kv.watch(self.watched_keys())
        started = False  # the watch first delivers what the store holds, then None
        try:
            async for entry in watcher:
                if entry is None:
                    started = True
                    continue
                change = self.key_change(entry.key) if started else None
                if change is not None:
                    yield change
        finally:
            with contextlib.suppress(Exception):
                await watcher.stop()  # type: ignore[no-untyped-call]

    def key_change(self, key: str) -> KeyChange | None:
        """What a watched key is about (None: not a key of this namespace)."""
        namespace, _, rest = key.partition(".")
        kind, _, token = rest.partition(".")
        if namespace != self.namespace or not token or "." in token:
            return None
        if kind == "number":
            return KeyChange(number=f"+{token}")
        if kind != "tenant":
            return None
        try:
            return KeyChange(tenant_id=UUID(token))
        except ValueError:
            return None

    async def _get(self, key: str) -> bytes | Missing:
        try:
            entry = await self.kv.get(key)
        except nats.js.errors.KeyNotFoundError:
            return MISSING
        return entry.value or b""

    async def snapshot(self, tenant_id: UUID) -> Snapshot | Missing:
        """The tenant's snapshot, or MISSING."""
        raw = await self._get(self.tenant_key(tenant_id))
        if isinstance(raw, Missing):
            return raw
        return cast(Snapshot, json.loads(raw))

    async def snapshot_or(
        self,
        tenant_id: UUID,
        read: Callable[[Snapshot], T],
        fallback: Callable[[UUID], Awaitable[T]],
        logger: Any,
        event: str,
    ) -> T:
        """`read` of the tenant's snapshot; what `fallback` reads (PostgreSQL) instead when the
        store lacks the tenant or cannot answer (logged as a warning `event`)."""
        snapshot = await or_missing(
            self.snapshot(tenant_id), logger, event, tenant_id=str(tenant_id)
        )
        if isinstance(snapshot, Missing):
            return await fallback(tenant_id)
        return read(snapshot)

    async def tenant_of(self, e164: str) -> UUID | Missing:
        """The tenant a number is routed to, or MISSING."""
        raw = await self._get(self.number_key(e164))
        if isinstance(raw, Missing):
            return raw
        return UUID(raw.decode())

    async def put(self, tenant_id: UUID, snapshot: Snapshot | Encoded) -> bool:
        """Store a tenant's snapshot and the routing of its numbers, unless the store holds a
        newer snapshot (`supersedes`: whoever stores last, the newest stays); forget the
        routing of the numbers it no longer has (unless another tenant has taken them since).
        The snapshot's key is replaced only if it did not change meanwhile (compare-and-set on
        its revision), else all is done again. Whether the snapshot was stored."""
        encoded = snapshot if isinstance(snapshot, Encoded) else Encoded.of(snapshot)
        head = encoded.head
        key = self.tenant_key(tenant_id)
        routed: set[str] = set()  # the numbers routed here, in case a newer snapshot wins
        # First as this process last stored it (no get: if another wrote since, the
        # compare-and-set fails and the key is read).
        remembered = self._stored.pop(tenant_id, None)
        while True:
            revision: int | None
            before: Snapshot | None
            if remembered is not None:
                (revision, before), remembered = remembered, None
            else:
                try:
                    entry = await self.kv.get(key)
                except nats.js.errors.KeyNotFoundError:
                    entry = None
                revision = None if entry is None else entry.revision
                before = None if entry is None else cast(Snapshot, json.loads(entry.value or b"{}"))
            if before is not None and not supersedes(head, before):
                if routed:  # an earlier turn routed numbers: as the newer snapshot says
                    await self._route(tenant_id, before.get("numbers", []), routed)
                return False
            had = set() if before is None else set(before.get("numbers", []))
            routed |= had
            await self._route(tenant_id, head["numbers"], routed)
            routed |= set(head["numbers"])
            try:
                if revision is None:
                    stored = await self.kv.create(key, encoded.value)
                else:
                    stored = await self.kv.update(key, encoded.value, last=revision)
            except nats.js.errors.KeyWrongLastSequenceError:
                continue  # another writer stored this tenant meanwhile: look again
            self._stored[tenant_id] = (stored, head)
            return True

    async def _route(self, tenant_id: UUID, numbers: list[str], had: set[str]) -> None:
        """Route `numbers` to the tenant; forget the routing of those of `had` it no longer
        has (unless another tenant has taken them since)."""
        for e164 in numbers:
            await self.kv.put(self.number_key(e164), str(tenant_id).encode())
        for e164 in had - set(numbers):
            if await self.tenant_of(e164) == tenant_id:
                await self.kv.delete(self.number_key(e164))


def supersedes(snapshot: Snapshot, stored: Snapshot) -> bool:
    """Whether a snapshot may replace the one stored: a tenant gone always does, and nothing
    replaces it (an id is never reused); else the higher configuration version wins (an equal
    one holds the same writes: the later read replaces it)."""
    if snapshot["tenant"] is None:
        return True
    if stored.get("tenant") is None:
        return False
    return int(snapshot.get("config_version", 0)) >= int(stored.get("config_version", 0))


class StoringConfigPublisher:
    """A `ConfigPublisher` that first writes the tenant's snapshot to the store, then
    announces the change. A failure to store is logged and counted, never fatal: the write
    is committed, and the next change (or the backfill at admin start) stores it."""

    def __init__(
        self,
        inner: Any,
        nc: NatsClient,
        pool: asyncpg.Pool,
        metrics: Metrics,
        namespace: str,
        replicas: int = 1,
    ) -> None:
        self._inner = inner
        self._nc = nc
        self._pool = ScopedPool(pool, Scope.carrier())
        self._metrics = metrics
        self._namespace = namespace
        self._replicas = replicas
        self._store: ConfigStore | None = None
        # One store at a time per tenant in this process (the compare-and-set orders those of
        # other processes), so that a snapshot losing the race leaves no number's routing; a
        # lock per tenant ever stored, kept.
        self._storing: dict[UUID, asyncio.Lock] = {}

    async def opened(self) -> ConfigStore:
        """The store, opened (the bucket created) on first use."""
        if self._store is None:
            self._store = await ConfigStore.open(self._nc, self._namespace, self._replicas)
        return self._store

    async def store(self, tenant_id: UUID, snapshot: Snapshot | Encoded | None = None) -> None:
        """Write the tenant's snapshot: `snapshot` (read by the committed write itself), or
        as the database has it now."""
        store = await self.opened()
        async with self._storing.setdefault(tenant_id, asyncio.Lock()):
            await store.put(tenant_id, snapshot or await self._read(tenant_id))

    async def _read(self, tenant_id: UUID) -> Encoded:
        """The tenant's snapshot as the database has it now."""
        async with (
            self._pool.pool.acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            await self._pool.scope.apply(connection)
            return await read_encoded(connection, tenant_id)

    async def changed(
        self,
        tenant_id: UUID,
        entity: str,
        key: str | None,
        snapshot: Snapshot | Encoded | None = None,
    ) -> None:
        """Store the tenant's configuration (`snapshot`, read in the change's own transaction
        after its configuration version was bumped; else read again now), then announce the
        change."""
        try:
            await self.store(tenant_id, snapshot)
        except _STORE_FAILURES as error:
            self._metrics.nats_errors.labels(kind=type(error).__name__).inc()
            log.warning("admin.config_not_stored", tenant_id=str(tenant_id), error=repr(error))
        await self._inner.changed(tenant_id, entity, key)

    async def backfill(self) -> int:
        """Store the configuration of every tenant the store lacks or holds at another
        configuration version than the database's (at admin start: those from before the
        store, and any change whose storing failed); how many were stored. A tenant stored
        at its version is left as it is, unless the snapshots' format or the database's
        schema revision changed since the last complete backfill: then every tenant is
        stored again (and, once all are, that backfill marked complete)."""
        store = await self.opened()
        rows = await self._pool.fetch(BACKFILL_VERSIONS)
        revision = await self._pool.fetchval("SELECT version_num FROM alembic_version")
        made_by = {"format": snapshot_format(), "revision": revision}
        as_stored = await store.backfilled() == made_by
        stored = await store.stored_versions() if as_stored else {}
        stale = [row["id"] for row in rows if stored.get(row["id"]) != row["version"]]
        for tenant_id in stale:
            await self.store(tenant_id)
        if not as_stored:
            await store.kv.put(store.backfilled_key(), json.dumps(made_by).encode())
        return len(stale)
