"""The unit of work every write of the admin API goes through.

A write runs in one transaction that also records its audit entry; the config-changed event
is published only after the commit, so that a service refreshing on it reads what was
written. What the database refuses becomes an API error here, once (`database_errors`), and
optimistic concurrency (ETag / If-Match) is checked here too. The audio of prompts a write
deleted is forgotten by the media service after the commit too (its files are the media
service's: only it removes them).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, get_args
from uuid import UUID

import asyncpg
import nats.errors
import structlog
from asyncpg.pool import PoolConnectionProxy
from rcp.config_store import BUMP_CONFIG_VERSIONS, Encoded, read_encoded
from rcp.contracts import ConfigChanged
from rcp.db.scope import Scope, ScopedPool
from rcp.endpoints import REFUSAL_MESSAGES, endpoint_refusal
from rcp.errors import ErrorCode, ReceptionistError
from rcp.settings import TrunkSettings

from rcp_admin import schemas as s
from rcp_admin.auth import LinkRules, Principal, SessionRules, TokenLifetime
from rcp_admin.errors import (
    EMAIL_TAKEN,
    ENDPOINT_NOT_ALLOWED,
    ENDPOINT_TAKEN,
    IN_USE,
    NUMBER_IN_USE,
    NUMBER_TAKEN,
    PRECONDITION_FAILED,
    VALIDATION_FAILED,
    ApiError,
    not_found,
)
from rcp_admin.memory import Memory
from rcp_admin.ports import ConfigPublisher, Mailer, MediaGateway
from rcp_admin.simulation import Lookups

if TYPE_CHECKING:  # asyncpg's proxy is generic for type checkers only
    Connection = PoolConnectionProxy[asyncpg.Record]

Reader = Any  # where reads go: the write's connection, or the pool

OutT = TypeVar("OutT", bound=s.Out)

log = structlog.get_logger(__name__)

# Tokens and voicemail are not configuration: nobody caches them, so no event is published.
CONFIG_ENTITIES = frozenset(get_args(ConfigChanged.model_fields["entity"].annotation))

# A write's audit entries, one for each tenant it changed ($2, in order; [None]: a write of no
# tenant's; before and after as JSON text, `audit_text`), and the bump of the configuration
# version of the tenants $1 names (a change of configuration; none: no bump), in one round trip.
AUDIT_AND_BUMP = f"""
    WITH audited AS (
        INSERT INTO audit_log (tenant_id, actor_token_id, actor, action, entity, entity_key,
                               before, after, request_id, actor_user_id)
        SELECT tenant, $3::uuid, $4::text, $5::text, $6::text, $7::text, $8::text::jsonb,
               $9::text::jsonb, $10::text, $11::uuid
          FROM unnest($2::uuid[]) WITH ORDINALITY AS entry(tenant, n) ORDER BY n)
    {BUMP_CONFIG_VERSIONS}"""


async def fetch_one(
    reader: Reader, missing: tuple[str, str], query: str, *args: Any
) -> asyncpg.Record:
    """The one row a query finds; if none, 404 (`missing`: what was not found, and the field
    that named it)."""
    row: asyncpg.Record | None = await reader.fetchrow(query, *args)
    if row is None:
        raise not_found(*missing)
    return row


async def set_columns(
    connection: Connection, table: str, values: Mapping[str, Any], **where: Any
) -> None:
    """`UPDATE table SET` the columns `values` names (none: nothing is run) on the rows `where`
    matches; the table's and the columns' names are constants."""
    if not values:
        return
    conditions = " AND ".join(f"{name} = ${n}" for n, name in enumerate(where, start=1))
    assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(values, start=len(where) + 1))
    await connection.execute(
        f"UPDATE {table} SET {assignments} WHERE {conditions}", *where.values(), *values.values()
    )


@dataclass
class Change:
    """What one write did, for its audit entry and its config-changed event."""

    connection: Connection
    tenant_id: UUID | None
    entity: str
    action: str
    key: str | None = None
    before: Any = None
    after: Any = None
    extra_events: list[tuple[str, str | None]] = field(default_factory=list)
    # Content keys of the uploads and recordings whose prompts this write deleted.
    audio_to_forget: list[str] = field(default_factory=list)
    # A second tenant the write changed too (a phone number moved from it): the entry is
    # audited for it as well, and config-changed published for it.
    other_tenant_id: UUID | None = None

    async def delete_one(
        self, model: type[s.Out], missing: tuple[str, str], query: str, *args: Any
    ) -> asyncpg.Record:
        """Run a `DELETE ... RETURNING *`, keep what it removed and return its row; if it
        removed nothing, 404 (`missing`: what was not found, and the field that named it)."""
        row = await fetch_one(self.connection, missing, query, *args)
        self.before = jsonable(model.model_validate(dict(row)))
        return row

    def record(self, before: s.Out | None, after: s.Out | None, key: str | None = None) -> None:
        """Keep the representations before and after the write (and the key, if it moved)."""
        self.before, self.after = jsonable(before), jsonable(after)
        if key is not None:
            self.key = key


@dataclass(frozen=True)
class EndpointRules:
    """Which Asterisk endpoints a device may be, where this service runs (its settings)."""

    # Development only: the local stack's test phones (Local/<n>@test-phones...).
    test_phones: bool = False
    # PJSIP endpoints that are no device (the carrier trunk).
    reserved: frozenset[str] = frozenset({"carrier"})

    @classmethod
    def of(cls, settings: TrunkSettings) -> EndpointRules:
        """The rules the settings make: test phones in development, the trunk reserved."""
        return cls(settings.allow_test_phones, settings.reserved_endpoints)

    def check(self, endpoint: str, field_name: str = "endpoint") -> None:
        """Refuse an endpoint no extension may ring, saying why."""
        refusal = endpoint_refusal(endpoint, test_phones=self.test_phones, reserved=self.reserved)
        if refusal is not None:
            raise ApiError(
                ENDPOINT_NOT_ALLOWED,
                REFUSAL_MESSAGES[refusal],
                field_name,
                {"refusal": refusal.value},
            )


@dataclass(frozen=True)
class Store:
    """What every resource's logic works through: the database, the bus, the media service.

    Every statement runs in a transaction scoped to the caller (`pool`, a `ScopedPool`): a
    tenant token's requests see only their tenant's rows, whatever their queries forget.
    """

    pool: ScopedPool
    publisher: ConfigPublisher
    token_pepper: str
    media: MediaGateway | None = None
    endpoints: EndpointRules = field(default_factory=EndpointRules)
    token_lifetime: TokenLifetime = field(default_factory=TokenLifetime)
    sessions: SessionRules = field(default_factory=SessionRules)
    links: LinkRules = field(default_factory=LinkRules)
    mailer: Mailer | None = None
    lookups: Lookups | None = None
    """The directory and media services the menu simulator asks (`rcp_admin.simulation`)."""
    memory: Memory = field(default_factory=Memory)
    """Answers and verified tokens kept between requests (`rcp_admin.memory`), forgotten by
    every write of their tenant."""

    def everyone(self) -> ScopedPool:
        """Where to look up what is not yet anyone's (the account signing in, a link's owner,
        the caller's own session): every tenant's rows, in carrier scope."""
        return self.pool.scoped(Scope.carrier())

    def scoped_to(self, principal: Principal) -> Store:
        """The same store, in the scope of one caller (made on every request: its fields
        copied, the pool replaced, at a fifth of the cost of `dataclasses.replace`)."""
        scoped = object.__new__(Store)
        scoped.__dict__.update(self.__dict__, pool=self.pool.scoped(principal.scope))
        return scoped

    @asynccontextmanager
    async def write(
        self,
        actor: Principal,
        tenant_id: UUID | None,
        entity: str,
        action: str,
        key: str | None = None,
        request_id: str | None = None,
    ) -> AsyncIterator[Change]:
        """One transaction, its audit entry, then (after the commit) config-changed; a change of
        configuration adds 1 to its tenants' configuration version in the transaction."""
        with database_errors():
            async with self.pool.transaction() as connection:
                change = Change(connection, tenant_id, entity, action, key)
                yield change
                changed = [t for t in (change.tenant_id, change.other_tenant_id) if t is not None]
                configuration = bool(changed) and entity in CONFIG_ENTITIES
                await connection.execute(
                    AUDIT_AND_BUMP,
                    changed if configuration else [],
                    [change.tenant_id, change.other_tenant_id][
                        : 1 if change.other_tenant_id is None else 2
                    ],
                    actor.token_id,
                    actor.name,
                    f"{entity}.{change.action}",
                    entity,
                    change.key,
                    audit_text(change.before),
                    audit_text(change.after),
                    request_id,
                    actor.user_id,
                )
                snapshots: dict[UUID, Encoded] = {}
                if configuration:
                    # Read here, after the bump: the rows as this write leaves them, with its
                    # version (concurrent writers of the tenant wait on the bumped row). A
                    # tenant out of the caller's scope is read again after the commit.
                    for tenant in changed:
                        if self.pool.scope.carrier_wide or self.pool.scope.tenant_id == tenant:
                            snapshots[tenant] = await read_encoded(connection, tenant)
        for tenant in changed:  # committed: this instance's next reads see the write
            self.memory.forget_tenant(tenant, tokens=entity == "tenant")
        if change.tenant_id is not None and change.audio_to_forget:
            await self.forget_audio(change.tenant_id, change.audio_to_forget)
        if change.tenant_id is not None and entity in CONFIG_ENTITIES:
            await self.publisher.changed(
                change.tenant_id, entity, change.key, snapshots.get(change.tenant_id)
            )
            for other_entity, other_key in change.extra_events:
                await self.publisher.changed(change.tenant_id, other_entity, other_key)
        if change.other_tenant_id is not None and entity in CONFIG_ENTITIES:
            await self.publisher.changed(
                change.other_tenant_id, entity, change.key, snapshots.get(change.other_tenant_id)
            )

    @asynccontextmanager
    async def tenant_write(
        self,
        actor: Principal,
        tenant_id: UUID,
        entity: str,
        action: str,
        key: str | None = None,
        request_id: str | None = None,
        *,
        lock: bool = False,
    ) -> AsyncIterator[Change]:
        """A write to one tenant's data (`write`) that first checks the actor may see the tenant,
        reading its row in the transaction (`lock`: FOR UPDATE)."""
        async with self.write(actor, tenant_id, entity, action, key, request_id) as change:
            await self.tenant_row(actor, tenant_id, change.connection, lock=lock)
            yield change

    async def forget_audio(self, tenant_id: UUID, keys: list[str]) -> None:
        """Ask the media service to delete the audio of deleted prompts now. Should it not
        answer, nothing is lost: its own purge deletes audio no prompt plays within a day."""
        if self.media is None or not keys:
            return
        try:
            kept = await self.media.forget(tenant_id, keys)
        except (ReceptionistError, nats.errors.Error) as error:
            log.warning("admin.forget_audio_failed", tenant_id=str(tenant_id), error=repr(error))
            return
        if kept:
            log.info("admin.audio_kept", tenant_id=str(tenant_id), kept=len(kept))

    async def tenant_row(
        self,
        actor: Principal,
        tenant_id: UUID,
        connection: Connection | None = None,
        lock: bool = False,
    ) -> asyncpg.Record:
        """The tenant's row, if the actor may see it (on `connection`, else the pool)."""
        actor.require_tenant(tenant_id)
        return await fetch_one(
            self.pool if connection is None else connection,
            ("tenant", "tenant_id"),
            "SELECT * FROM tenants WHERE id = $1" + (" FOR UPDATE" if lock else ""),
            tenant_id,
        )

    @asynccontextmanager
    async def tenant_read(self, actor: Principal, tenant_id: UUID) -> AsyncIterator[Connection]:
        """A read of one tenant's data: one transaction (one connection, one scope set) for the
        check that the actor may see the tenant and every statement of the read."""
        async with self.pool.transaction() as connection:
            await self.tenant_row(actor, tenant_id, connection)
            yield connection

    async def tenant_rows(
        self, actor: Principal, tenant_id: UUID, query: str, *args: Any
    ) -> list[asyncpg.Record]:
        """The rows of a query on one tenant's data (`$1` is the tenant), if the actor may."""
        async with self.tenant_read(actor, tenant_id) as connection:
            rows: list[asyncpg.Record] = await connection.fetch(query, tenant_id, *args)
        return rows

    async def tenant_one(
        self, actor: Principal, tenant_id: UUID, missing: tuple[str, str], query: str, *args: Any
    ) -> asyncpg.Record:
        """The one row of a query on one tenant's data (`$1` is the tenant), if the actor may;
        if none, 404 (`missing`: what was not found, and the field that named it)."""
        await self.tenant_row(actor, tenant_id)
        return await fetch_one(self.pool, missing, query, tenant_id, *args)

    def simulator_lookups(self) -> Lookups:
        """The services the menu simulator asks, or 503 where this process has none."""
        if self.lookups is None:
            raise ApiError(ErrorCode.UNAVAILABLE, "the simulator needs NATS, not connected here")
        return self.lookups

    def media_gateway(self) -> MediaGateway:
        """The media service, or 503 where this process has none."""
        if self.media is None:
            raise ApiError(
                ErrorCode.UNAVAILABLE, "audio needs the media service, not connected here"
            )
        return self.media


def etag_of(model: s.Out) -> str:
    """A strong ETag: the hash of the representation the client saw."""
    return rendered(model).etag


@dataclass(frozen=True)
class Rendered:
    """A representation as the client receives it: its JSON and its ETag."""

    json: str
    etag: str


def rendered(model: s.Out) -> Rendered:
    """A model's JSON and the ETag hashing it (made once, for answers kept in memory)."""
    text = model.model_dump_json()
    return Rendered(text, f'"{hashlib.sha256(text.encode()).hexdigest()[:32]}"')


def check_if_match(if_match: str | None, current: s.Out) -> None:
    """Refuse a write based on a stale read (no If-Match: no check)."""
    if if_match is None:
        return
    wanted = {tag.strip() for tag in if_match.split(",")}
    if "*" not in wanted and etag_of(current) not in wanted:
        raise ApiError(
            PRECONDITION_FAILED,
            "this was changed since you read it: reload, then apply your change again",
            "If-Match",
        )


# Fields whose values the audit log never holds, at any depth: PINs, their hashes, tokens and
# their hashes, passwords and secrets. No model the API audits has them today (a room says
# `has_pin`); this is the last line, for a field added later.
SECRET_FIELDS = frozenset(
    {
        "pin",
        "pin_hash",
        "token",
        "token_hash",
        "password",
        "password_hash",
        "current_password",
        "new_password",
        "secret",
        "secret_hash",
        "csrf_token",
        "pepper",
        "ari_password",
    }
)
MASK = "***"


def masked(value: Any) -> Any:
    """An audit entry's before or after with every secret field's value masked (the values
    of `AuditJson` in it decoded)."""
    if isinstance(value, AuditJson):
        return masked(json.loads(value.text))
    if isinstance(value, dict):
        return {
            key: MASK if key in SECRET_FIELDS and item is not None else masked(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


@dataclass(frozen=True)
class AuditJson:
    """A response model's JSON, made once, for an audit entry (`jsonable`)."""

    text: str


def jsonable(model: s.Out | None) -> AuditJson | None:
    """A response model as the audit log keeps it: its JSON, encoded once."""
    return None if model is None else AuditJson(model.model_dump_json())


def audit_text(value: Any) -> str | None:
    """An audit entry's before or after (`AuditJson`, or plain values) as the JSON text written,
    every secret field's value masked (`masked`). A model's JSON in which no secret field's
    name is written goes as it is, neither decoded nor encoded again."""
    if value is None:
        return None
    if isinstance(value, AuditJson):
        if not any(f'"{name}"' in value.text for name in SECRET_FIELDS):
            return value.text
        value = json.loads(value.text)
    return json.dumps(masked(value))


def page(
    rows: list[asyncpg.Record], limit: int, model: type[OutT]
) -> tuple[list[OutT], OutT | None]:
    """A page of at most `limit` items from `limit + 1` rows, and its last item if more follow."""
    items = [model.model_validate(dict(r)) for r in rows[:limit]]
    return items, items[-1] if len(rows) > limit else None


def returned(row: asyncpg.Record | None) -> asyncpg.Record:
    """The row a statement with RETURNING gave back: it always gives one when it ran."""
    if row is None:
        raise RuntimeError("the statement returned no row")
    return row


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn what the database refused into errors that name the field to fix."""
    try:
        yield
    except asyncpg.UniqueViolationError as error:
        constraint = error.constraint_name or ""
        if constraint == "numbering_plan_pkey" or constraint.endswith("tenant_id_number_key"):
            detail = error.message if constraint == "numbering_plan_pkey" else ""
            raise ApiError(
                NUMBER_IN_USE,
                detail or "this number is already used in the tenant's numbering plan",
                "number",
            ) from error
        if constraint == "phone_numbers_pkey":
            raise ApiError(
                NUMBER_TAKEN, "this number is already routed to a tenant", "e164"
            ) from error
        if constraint == "users_email_key":
            raise ApiError(
                EMAIL_TAKEN, "this email address already has an account", "email"
            ) from error
        if constraint == "tenants_slug_key":
            raise ApiError(ErrorCode.CONFLICT, "a tenant already has this slug", "slug") from error
        if constraint in ("devices_endpoint_one_tenant", "devices_tenant_id_endpoint_key"):
            raise ApiError(
                ENDPOINT_TAKEN,
                "this endpoint is already a device (a phone rings for one tenant)",
                "endpoint",
            ) from error
        if constraint == "devices_tenant_id_name_key":
            raise ApiError(
                ErrorCode.CONFLICT, "the tenant already has a device of this name", "name"
            ) from error
        raise ApiError(ErrorCode.CONFLICT, "this conflicts with an existing entry") from error
    except asyncpg.NotNullViolationError as error:
        raise ApiError(
            VALIDATION_FAILED, f"{error.column_name} cannot be null", error.column_name
        ) from error
    except asyncpg.CheckViolationError as error:
        raise ApiError(
            VALIDATION_FAILED, f"the value breaks the rule {error.constraint_name}", None
        ) from error
    except asyncpg.ForeignKeyViolationError as error:
        raise ApiError(
            IN_USE,
            "this is still used by something else",
            None,
            {"constraint": error.constraint_name},
        ) from error
