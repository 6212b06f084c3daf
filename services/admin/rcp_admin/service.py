"""The admin API's logic: every read and write of a tenant's configuration.

Each write runs in one transaction that also records the audit entry; the config-changed
event is published only after the commit, so that a service refreshing on it reads what
was written. Database errors are turned into API errors in `_database_errors`, once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, get_args
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from rcp.contracts import ConfigChanged
from rcp.errors import ErrorCode
from rcp.tokens import issue_token

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import (
    IN_USE,
    NUMBER_IN_USE,
    NUMBER_TAKEN,
    PRECONDITION_FAILED,
    TENANT_ACTIVE,
    UNKNOWN_TARGET,
    VALIDATION_FAILED,
    ApiError,
    not_found,
)
from rcp_admin.media import MediaGateway

if TYPE_CHECKING:  # asyncpg's proxy is generic for type checkers only
    Connection = PoolConnectionProxy[asyncpg.Record]

CONFIG_ENTITIES = frozenset(get_args(ConfigChanged.model_fields["entity"].annotation))

KEY_TARGET_TABLES = {
    "extension": ("extensions", "target_extension_id"),
    "virtual_extension": ("extensions", "target_extension_id"),
    "voicemail": ("extensions", "target_extension_id"),
    "ring_group": ("ring_groups", "target_ring_group_id"),
    "conference": ("conference_rooms", "target_conference_id"),
}


class ConfigPublisher(Protocol):
    """Tells the other services that a tenant's configuration changed."""

    async def changed(self, tenant_id: UUID, entity: str, key: str | None) -> None:
        """Announce one committed change."""


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


def etag_of(model: s.Out) -> str:
    """A strong ETag: the hash of the representation the client saw."""
    digest = hashlib.sha256(model.model_dump_json().encode()).hexdigest()[:32]
    return f'"{digest}"'


def _check_if_match(if_match: str | None, current: s.Out) -> None:
    if if_match is None:
        return
    wanted = {tag.strip() for tag in if_match.split(",")}
    if "*" not in wanted and etag_of(current) not in wanted:
        raise ApiError(
            PRECONDITION_FAILED,
            "this was changed since you read it: reload, then apply your change again",
            "If-Match",
        )


def _jsonable(model: s.Out | None) -> Any:
    return None if model is None else json.loads(model.model_dump_json())


@contextmanager
def _database_errors() -> Iterator[None]:
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
        if constraint == "tenants_slug_key":
            raise ApiError(ErrorCode.CONFLICT, "a tenant already has this slug", "slug") from error
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


class AdminService:
    """Reads and writes the configuration of tenants."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        publisher: ConfigPublisher,
        token_pepper: str,
        media: MediaGateway | None = None,
    ) -> None:
        self._pool = pool
        self._publisher = publisher
        self._pepper = token_pepper
        self._media = media

    # --- plumbing ----------------------------------------------------------------------

    @asynccontextmanager
    async def _write(
        self,
        actor: Principal,
        tenant_id: UUID | None,
        entity: str,
        action: str,
        key: str | None = None,
        request_id: str | None = None,
    ) -> AsyncIterator[Change]:
        with _database_errors():
            async with self._pool.acquire() as connection, connection.transaction():
                change = Change(connection, tenant_id, entity, action, key)
                yield change
                await connection.execute(
                    """INSERT INTO audit_log (tenant_id, actor_token_id, actor, action, entity,
                                              entity_key, before, after, request_id)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
                    change.tenant_id,
                    actor.token_id,
                    actor.name,
                    f"{entity}.{change.action}",
                    entity,
                    change.key,
                    change.before,
                    change.after,
                    request_id,
                )
        # Tokens and voicemail are not configuration: nobody caches them.
        if change.tenant_id is not None and entity in CONFIG_ENTITIES:
            await self._publisher.changed(change.tenant_id, entity, change.key)
            for other_entity, other_key in change.extra_events:
                await self._publisher.changed(change.tenant_id, other_entity, other_key)

    async def _tenant_row(
        self,
        connection: Connection | asyncpg.Pool,
        actor: Principal,
        tenant_id: UUID,
        lock: bool = False,
    ) -> asyncpg.Record:
        actor.require_tenant(tenant_id)
        row = await connection.fetchrow(
            "SELECT * FROM tenants WHERE id = $1" + (" FOR UPDATE" if lock else ""), tenant_id
        )
        if row is None:
            raise not_found("tenant", "tenant_id")
        return row

    # --- tenants -------------------------------------------------------------------------

    async def create_tenant(
        self, actor: Principal, body: s.TenantCreate, request_id: str | None
    ) -> s.Tenant:
        actor.require_carrier()
        async with self._write(actor, None, "tenant", "create", body.slug, request_id) as change:
            row = await change.connection.fetchrow(
                """INSERT INTO tenants (slug, name, locale, timezone) VALUES ($1, $2, $3, $4)
                   RETURNING *""",
                body.slug,
                body.name,
                body.locale,
                body.timezone,
            )
            row = _returned(row)
            await change.connection.execute(
                "INSERT INTO receptionists (tenant_id, language) VALUES ($1, $2)",
                row["id"],
                body.locale,
            )
            tenant = s.Tenant.model_validate(dict(row))
            change.tenant_id, change.key, change.after = (
                row["id"],
                str(row["id"]),
                _jsonable(tenant),
            )
        return tenant

    async def list_tenants(self, actor: Principal) -> s.TenantList:
        rows = await self._pool.fetch(
            "SELECT * FROM tenants WHERE $1::uuid IS NULL OR id = $1 ORDER BY slug", actor.tenant_id
        )
        return s.TenantList(items=[s.Tenant.model_validate(dict(r)) for r in rows])

    async def get_tenant(self, actor: Principal, tenant_id: UUID) -> s.Tenant:
        return s.Tenant.model_validate(dict(await self._tenant_row(self._pool, actor, tenant_id)))

    async def patch_tenant(
        self, actor: Principal, tenant_id: UUID, body: s.TenantPatch, request_id: str | None
    ) -> s.Tenant:
        actor.require_carrier()
        async with self._write(
            actor, tenant_id, "tenant", "update", str(tenant_id), request_id
        ) as change:
            before = s.Tenant.model_validate(
                dict(await self._tenant_row(change.connection, actor, tenant_id, lock=True))
            )
            values = before.model_dump() | body.model_dump(exclude_unset=True, exclude_none=True)
            row = await change.connection.fetchrow(
                """UPDATE tenants SET name = $2, locale = $3, timezone = $4, status = $5
                    WHERE id = $1 RETURNING *""",
                tenant_id,
                values["name"],
                values["locale"],
                values["timezone"],
                values["status"],
            )
            after = s.Tenant.model_validate(dict(_returned(row)))
            change.before, change.after = _jsonable(before), _jsonable(after)
        return after

    async def delete_tenant(
        self, actor: Principal, tenant_id: UUID, request_id: str | None
    ) -> None:
        actor.require_carrier()
        async with self._write(
            actor, tenant_id, "tenant", "delete", str(tenant_id), request_id
        ) as change:
            row = await self._tenant_row(change.connection, actor, tenant_id, lock=True)
            if row["status"] != "suspended":
                raise ApiError(
                    TENANT_ACTIVE,
                    "a tenant is deleted with everything it owns, voicemail included: "
                    "suspend it first (PATCH status=suspended), then delete it",
                    "status",
                )
            change.before = _jsonable(s.Tenant.model_validate(dict(row)))
            await change.connection.execute("DELETE FROM tenants WHERE id = $1", tenant_id)

    # --- tokens --------------------------------------------------------------------------

    async def issue_token(
        self, actor: Principal, tenant_id: UUID | None, body: s.TokenCreate, request_id: str | None
    ) -> s.IssuedToken:
        actor.require_carrier()
        issued = issue_token(self._pepper)
        async with self._write(actor, tenant_id, "token", "issue", None, request_id) as change:
            if tenant_id is not None:
                await self._tenant_row(change.connection, actor, tenant_id)
            row = await change.connection.fetchrow(
                """INSERT INTO admin_tokens (scope, tenant_id, name, token_hash, token_prefix, expires_at)
                   VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
                "carrier" if tenant_id is None else "tenant",
                tenant_id,
                body.name,
                issued.digest,
                issued.prefix,
                body.expires_at,
            )
            token = _token(row)
            change.key, change.after = str(token.id), _jsonable(token)
        return s.IssuedToken(**token.model_dump(), token=issued.token)

    async def list_tokens(self, actor: Principal, tenant_id: UUID | None) -> s.TokenList:
        actor.require_carrier()
        if tenant_id is not None:
            await self._tenant_row(self._pool, actor, tenant_id)
        rows = await self._pool.fetch(
            """SELECT * FROM admin_tokens WHERE tenant_id IS NOT DISTINCT FROM $1
               ORDER BY created_at""",
            tenant_id,
        )
        return s.TokenList(items=[_token(r) for r in rows])

    async def revoke_token(
        self, actor: Principal, tenant_id: UUID | None, token_id: UUID, request_id: str | None
    ) -> None:
        actor.require_carrier()
        async with self._write(
            actor, tenant_id, "token", "revoke", str(token_id), request_id
        ) as change:
            row = await change.connection.fetchrow(
                """UPDATE admin_tokens SET revoked_at = coalesce(revoked_at, now())
                    WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2 RETURNING *""",
                token_id,
                tenant_id,
            )
            if row is None:
                raise not_found("token", "token_id")
            change.after = _jsonable(_token(row))

    # --- numbers -------------------------------------------------------------------------

    async def add_number(
        self, actor: Principal, tenant_id: UUID, body: s.NumberCreate, request_id: str | None
    ) -> s.PhoneNumber:
        actor.require_carrier()
        async with self._write(
            actor, tenant_id, "number", "create", body.e164, request_id
        ) as change:
            await self._tenant_row(change.connection, actor, tenant_id)
            row = await change.connection.fetchrow(
                "INSERT INTO phone_numbers (e164, tenant_id) VALUES ($1, $2) RETURNING *",
                body.e164,
                tenant_id,
            )
            number = s.PhoneNumber.model_validate(dict(_returned(row)))
            change.after = _jsonable(number)
        return number

    async def list_numbers(self, actor: Principal, tenant_id: UUID) -> s.NumberList:
        await self._tenant_row(self._pool, actor, tenant_id)
        rows = await self._pool.fetch(
            "SELECT * FROM phone_numbers WHERE tenant_id = $1 ORDER BY e164", tenant_id
        )
        return s.NumberList(items=[s.PhoneNumber.model_validate(dict(r)) for r in rows])

    async def delete_number(
        self, actor: Principal, tenant_id: UUID, e164: str, request_id: str | None
    ) -> None:
        actor.require_carrier()
        async with self._write(actor, tenant_id, "number", "delete", e164, request_id) as change:
            await self._tenant_row(change.connection, actor, tenant_id)
            row = await change.connection.fetchrow(
                "DELETE FROM phone_numbers WHERE e164 = $1 AND tenant_id = $2 RETURNING *",
                e164,
                tenant_id,
            )
            if row is None:
                raise not_found("number", "e164")
            change.before = _jsonable(s.PhoneNumber.model_validate(dict(row)))

    # --- extensions ----------------------------------------------------------------------

    async def _extension_row(
        self,
        connection: Connection | asyncpg.Pool,
        tenant_id: UUID,
        number: str,
        field_name: str = "number",
    ) -> asyncpg.Record:
        row = await connection.fetchrow(
            "SELECT * FROM extensions WHERE tenant_id = $1 AND number = $2", tenant_id, number
        )
        if row is None:
            raise not_found(f"extension {number}", field_name)
        return row

    async def create_extension(
        self, actor: Principal, tenant_id: UUID, body: s.ExtensionCreate, request_id: str | None
    ) -> s.Extension:
        values = _extension_values(body.model_dump())
        async with self._write(
            actor, tenant_id, "extension", "create", body.number, request_id
        ) as change:
            await self._tenant_row(change.connection, actor, tenant_id)
            row = await change.connection.fetchrow(
                INSERT_EXTENSION + " RETURNING *",
                tenant_id,
                *(values[k] for k in EXTENSION_COLUMNS),
            )
            extension = s.Extension.model_validate(dict(_returned(row)))
            change.after = _jsonable(extension)
        return extension

    async def list_extensions(self, actor: Principal, tenant_id: UUID) -> s.ExtensionList:
        await self._tenant_row(self._pool, actor, tenant_id)
        rows = await self._pool.fetch(
            "SELECT * FROM extensions WHERE tenant_id = $1 ORDER BY number", tenant_id
        )
        return s.ExtensionList(items=[s.Extension.model_validate(dict(r)) for r in rows])

    async def get_extension(self, actor: Principal, tenant_id: UUID, number: str) -> s.Extension:
        await self._tenant_row(self._pool, actor, tenant_id)
        return s.Extension.model_validate(
            dict(await self._extension_row(self._pool, tenant_id, number))
        )

    async def patch_extension(
        self,
        actor: Principal,
        tenant_id: UUID,
        number: str,
        body: s.ExtensionPatch,
        request_id: str | None,
    ) -> s.Extension:
        async with self._write(
            actor, tenant_id, "extension", "update", number, request_id
        ) as change:
            await self._tenant_row(change.connection, actor, tenant_id)
            current = await self._extension_row(change.connection, tenant_id, number)
            before = s.Extension.model_validate(dict(current))
            merged = before.model_dump() | body.model_dump(exclude_unset=True)
            if "kind" in body.model_fields_set and body.kind != before.kind:
                # Changing kind drops the other kind's destination unless the patch gives it.
                other = "external_number" if body.kind == "physical" else "dial_string"
                if other not in body.model_fields_set:
                    merged[other] = None
            values = _extension_values(merged)
            if values["kind"] != before.kind:
                await _refuse_kind_change_while_targeted(
                    change.connection, tenant_id, current["id"], before.kind
                )
            row = await change.connection.fetchrow(
                """UPDATE extensions SET number = $3, kind = $4, first_name = $5, last_name = $6,
                          dial_string = $7, external_number = $8, voicemail_enabled = $9,
                          reachable_by_extension = $10, reachable_by_name = $11
                    WHERE tenant_id = $1 AND id = $2 RETURNING *""",
                tenant_id,
                current["id"],
                *(values[k] for k in EXTENSION_COLUMNS),
            )
            after = s.Extension.model_validate(dict(_returned(row)))
            change.key, change.before, change.after = (
                after.number,
                _jsonable(before),
                _jsonable(after),
            )
        return after

    async def delete_extension(
        self, actor: Principal, tenant_id: UUID, number: str, request_id: str | None
    ) -> None:
        async with self._write(
            actor, tenant_id, "extension", "delete", number, request_id
        ) as change:
            await self._tenant_row(change.connection, actor, tenant_id)
            row = await self._extension_row(change.connection, tenant_id, number)
            users = await _extension_users(change.connection, tenant_id, row["id"])
            if users:
                raise ApiError(
                    IN_USE,
                    f"extension {number} is still used by {', '.join(users)}: change those first",
                    "number",
                    {"used_by": users},
                )
            await change.connection.execute("DELETE FROM extensions WHERE id = $1", row["id"])
            change.before = _jsonable(s.Extension.model_validate(dict(row)))

    # --- ring groups ---------------------------------------------------------------------

    async def _ring_group(
        self, connection: Connection | asyncpg.Pool, tenant_id: UUID, row: asyncpg.Record
    ) -> s.RingGroup:
        members = await connection.fetch(
            """SELECT e.number FROM ring_group_members m JOIN extensions e
                 ON e.tenant_id = m.tenant_id AND e.id = m.extension_id
                WHERE m.tenant_id = $1 AND m.ring_group_id = $2 ORDER BY m.position""",
            tenant_id,
            row["id"],
        )
        fallback = None
        if row["no_answer_extension_id"] is not None:
            fallback = await connection.fetchval(
                "SELECT number FROM extensions WHERE tenant_id = $1 AND id = $2",
                tenant_id,
                row["no_answer_extension_id"],
            )
        return s.RingGroup(
            number=row["number"],
            name=row["name"],
            strategy=row["strategy"],
            ring_seconds=row["ring_seconds"],
            members=[m["number"] for m in members],
            no_answer=s.NoAnswer(action=row["no_answer_action"], extension=fallback),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    async def _ring_group_row(
        self, connection: Connection | asyncpg.Pool, tenant_id: UUID, number: str
    ) -> asyncpg.Record:
        row = await connection.fetchrow(
            "SELECT * FROM ring_groups WHERE tenant_id = $1 AND number = $2", tenant_id, number
        )
        if row is None:
            raise not_found(f"ring group {number}", "number")
        return row

    async def _write_ring_group(
        self, change: Change, tenant_id: UUID, group_id: UUID | None, values: dict[str, Any]
    ) -> asyncpg.Record:
        members = values["members"]
        if len(set(members)) != len(members):
            raise ApiError(VALIDATION_FAILED, "a member is listed twice", "members")
        member_ids = []
        for index, number in enumerate(members):
            member_ids.append(
                await _extension_id(
                    change.connection,
                    tenant_id,
                    number,
                    f"members[{index}]",
                    "a ring group member must be an extension of this tenant",
                )
            )
        no_answer = s.NoAnswer.model_validate(values["no_answer"])
        fallback_id = None
        if no_answer.action in ("voicemail", "extension"):
            if no_answer.extension is None:
                raise ApiError(
                    VALIDATION_FAILED,
                    f"no_answer {no_answer.action} needs an extension",
                    "no_answer.extension",
                )
            fallback_id = await _extension_id(
                change.connection, tenant_id, no_answer.extension, "no_answer.extension"
            )
        elif no_answer.extension is not None:
            raise ApiError(
                VALIDATION_FAILED,
                f"no_answer {no_answer.action} takes no extension",
                "no_answer.extension",
            )
        params = (
            values["number"],
            values["name"],
            values["strategy"],
            values["ring_seconds"],
            no_answer.action,
            fallback_id,
        )
        if group_id is None:
            row = await change.connection.fetchrow(
                """INSERT INTO ring_groups (tenant_id, number, name, strategy, ring_seconds,
                                           no_answer_action, no_answer_extension_id)
                   VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *""",
                tenant_id,
                *params,
            )
        else:
            row = await change.connection.fetchrow(
                """UPDATE ring_groups SET number = $3, name = $4, strategy = $5, ring_seconds = $6,
                          no_answer_action = $7, no_answer_extension_id = $8
                    WHERE tenant_id = $1 AND id = $2 RETURNING *""",
                tenant_id,
                group_id,
                *params,
            )
            await change.connection.execute(
                "DELETE FROM ring_group_members WHERE tenant_id = $1 AND ring_group_id = $2",
                tenant_id,
                group_id,
            )
        row = _returned(row)
        await change.connection.executemany(
            """INSERT INTO ring_group_members (tenant_id, ring_group_id, extension_id, position)
               VALUES ($1, $2, $3, $4)""",
            [
                (tenant_id, row["id"], member, position)
                for position, member in enumerate(member_ids)
            ],
        )
        return row

    async def create_ring_group(
        self, actor: Principal, tenant_id: UUID, body: s.RingGroupCreate, request_id: str | None
    ) -> s.RingGroup:
        async with self._write(
            actor, tenant_id, "ring_group", "create", body.number, request_id
        ) as change:
            await self._tenant_row(change.connection, actor, tenant_id)
            row = await self._write_ring_group(change, tenant_id, None, body.model_dump())
            group = await self._ring_group(change.connection, tenant_id, row)
            change.after = _jsonable(group)
        return group

    async def list_ring_groups(self, actor: Principal, tenant_id: UUID) -> s.RingGroupList:
        await self._tenant_row(self._pool, actor, tenant_id)
        rows = await self._pool.fetch(
            "SELECT * FROM ring_groups WHERE tenant_id = $1 ORDER BY number", tenant_id
        )
        return s.RingGroupList(
            items=[await self._ring_group(self._pool, tenant_id, r) for r in rows]
        )

    async def get_ring_group(self, actor: Principal, tenant_id: UUID, number: str) -> s.RingGroup:
        await self._tenant_row(self._pool, actor, tenant_id)
        return await self._ring_group(
            self._pool, tenant_id, await self._ring_group_row(self._pool, tenant_id, number)
        )

    async def patch_ring_group(
        self,
        actor: Principal,
        tenant_id: UUID,
        number: str,
        body: s.RingGroupPatch,
        request_id: str | None,
    ) -> s.RingGroup:
        async with self._write(
            actor, tenant_id, "ring_group", "update", number, request_id
        ) as change:
            await self._tenant_row(change.connection, actor, tenant_id)
            current = await self._ring_group_row(change.connection, tenant_id, number)
            before = await self._ring_group(change.connection, tenant_id, current)
            values = before.model_dump() | body.model_dump(exclude_unset=True, exclude_none=True)
            row = await self._write_ring_group(change, tenant_id, current["id"], values)
            after = await self._ring_group(change.connection, tenant_id, row)
            change.key, change.before, change.after = (
                after.number,
                _jsonable(before),
                _jsonable(after),
            )
        return after

    async def delete_ring_group(
        self, actor: Principal, tenant_id: UUID, number: str, request_id: str | None
    ) -> None:
        async with self._write(
            actor, tenant_id, "ring_group", "delete", number, request_id
        ) as change:
            await self._tenant_row(change.connection, actor, tenant_id)
            row = await self._ring_group_row(change.connection, tenant_id, number)
            await _refuse_while_keys_use(
                change.connection,
                tenant_id,
                "target_ring_group_id",
                row["id"],
                f"ring group {number}",
            )
            change.before = _jsonable(await self._ring_group(change.connection, tenant_id, row))
            await change.connection.execute("DELETE FROM ring_groups WHERE id = $1", row["id"])

    # --- conference rooms ----------------------------------------------------------------

    async def _room_row(
        self, connection: Connection | asyncpg.Pool, tenant_id: UUID, number: str
    ) -> asyncpg.Record:
        row = await connection.fetchrow(
            "SELECT * FROM conference_rooms WHERE tenant_id = $1 AND number = $2", tenant_id, number
        )
        if row is None:
            raise not_found(f"conference room {number}", "number")
        return row

    async def create_room(
        self,
        actor: Principal,
        tenant_id: UUID,
        body: s.ConferenceRoomCreate,
        request_id: str | None,
    ) -> s.ConferenceRoom:
        async with self._write(
            actor, tenant_id, "conference_room", "create", body.number, request_id
        ) as change:
            await self._tenant_row(change.connection, actor, tenant_id)
            row = await change.connection.fetchrow(
                """INSERT INTO conference_rooms (tenant_id, number, name, pin) VALUES ($1, $2, $3, $4)
                   RETURNING *""",
                tenant_id,
                body.number,
                body.name,
                body.pin,
            )
            room = s.ConferenceRoom.model_validate(dict(_returned(row)))
            change.after = _jsonable(room)
        return room

    async def list_rooms(self, actor: Principal, tenant_id: UUID) -> s.ConferenceRoomList:
        await self._tenant_row(self._pool, actor, tenant_id)
        rows = await self._pool.fetch(
            "SELECT * FROM conference_rooms WHERE tenant_id = $1 ORDER BY number", tenant_id
        )
        return s.ConferenceRoomList(items=[s.ConferenceRoom.model_validate(dict(r)) for r in rows])

    async def get_room(self, actor: Principal, tenant_id: UUID, number: str) -> s.ConferenceRoom:
        await self._tenant_row(self._pool, actor, tenant_id)
        return s.ConferenceRoom.model_validate(
            dict(await self._room_row(self._pool, tenant_id, number))
        )

    async def patch_room(
        self,
        actor: Principal,
        tenant_id: UUID,
        number: str,
        body: s.ConferenceRoomPatch,
        request_id: str | None,
    ) -> s.ConferenceRoom:
        async with self._write(
            actor, tenant_id, "conference_room", "update", number, request_id
        ) as change:
            await self._tenant_row(change.connection, actor, tenant_id)
            current = await self._room_row(change.connection, tenant_id, number)
            before = s.ConferenceRoom.model_validate(dict(current))
            values = before.model_dump() | body.model_dump(exclude_unset=True)
            row = await change.connection.fetchrow(
                """UPDATE conference_rooms SET number = $3, name = $4, pin = $5
                    WHERE tenant_id = $1 AND id = $2 RETURNING *""",
                tenant_id,
                current["id"],
                values["number"],
                values["name"],
                values["pin"],
            )
            after = s.ConferenceRoom.model_validate(dict(_returned(row)))
            change.key, change.before, change.after = (
                after.number,
                _jsonable(before),
                _jsonable(after),
            )
        return after

    async def delete_room(
        self, actor: Principal, tenant_id: UUID, number: str, request_id: str | None
    ) -> None:
        async with self._write(
            actor, tenant_id, "conference_room", "delete", number, request_id
        ) as change:
            await self._tenant_row(change.connection, actor, tenant_id)
            row = await self._room_row(change.connection, tenant_id, number)
            await _refuse_while_keys_use(
                change.connection,
                tenant_id,
                "target_conference_id",
                row["id"],
                f"conference room {number}",
            )
            change.before = _jsonable(s.ConferenceRoom.model_validate(dict(row)))
            await change.connection.execute("DELETE FROM conference_rooms WHERE id = $1", row["id"])

    # --- prompts -------------------------------------------------------------------------

    async def create_tts_prompt(
        self, actor: Principal, tenant_id: UUID, body: s.TtsPrompt, request_id: str | None
    ) -> s.Prompt:
        async with self._write(actor, tenant_id, "prompt", "create", None, request_id) as change:
            await self._tenant_row(change.connection, actor, tenant_id)
            prompt = await _insert_tts_prompt(change.connection, tenant_id, body)
            change.key, change.after = str(prompt.id), _jsonable(prompt)
        return prompt

    async def list_prompts(self, actor: Principal, tenant_id: UUID) -> s.PromptList:
        await self._tenant_row(self._pool, actor, tenant_id)
        rows = await self._pool.fetch(
            "SELECT * FROM prompts WHERE tenant_id = $1 AND source <> 'recording' ORDER BY created_at",
            tenant_id,
        )
        return s.PromptList(items=[_prompt(r) for r in rows])

    async def get_prompt(self, actor: Principal, tenant_id: UUID, prompt_id: UUID) -> s.Prompt:
        await self._tenant_row(self._pool, actor, tenant_id)
        row = await self._pool.fetchrow(
            "SELECT * FROM prompts WHERE tenant_id = $1 AND id = $2", tenant_id, prompt_id
        )
        if row is None:
            raise not_found("prompt", "prompt_id")
        return _prompt(row)

    def _media_gateway(self) -> MediaGateway:
        if self._media is None:
            raise ApiError(
                ErrorCode.UNAVAILABLE, "audio needs the media service, not connected here"
            )
        return self._media

    async def upload_prompt(
        self,
        actor: Principal,
        tenant_id: UUID,
        data: bytes,
        filename: str | None,
        request_id: str | None,
    ) -> s.Prompt:
        """Hand an uploaded audio file to the media service; it becomes a ready prompt."""
        await self._tenant_row(self._pool, actor, tenant_id)
        prompt_id = await self._media_gateway().upload(tenant_id, data, filename)
        async with self._write(
            actor, tenant_id, "prompt", "upload", str(prompt_id), request_id
        ) as change:
            row = await change.connection.fetchrow(
                "SELECT * FROM prompts WHERE tenant_id = $1 AND id = $2", tenant_id, prompt_id
            )
            prompt = _prompt(_returned(row))
            change.after = _jsonable(prompt)
        return prompt

    async def prompt_audio(
        self, actor: Principal, tenant_id: UUID, prompt_id: UUID
    ) -> AsyncIterator[bytes]:
        """A prompt's audio, after checking the prompt is this tenant's."""
        await self.get_prompt(actor, tenant_id, prompt_id)
        return self._media_gateway().audio(tenant_id, prompt_id)

    async def voicemail_audio(
        self, actor: Principal, tenant_id: UUID, message_id: UUID
    ) -> AsyncIterator[bytes]:
        """A voicemail message's recording."""
        await self._tenant_row(self._pool, actor, tenant_id)
        prompt_id = await self._pool.fetchval(
            "SELECT prompt_id FROM voicemail_messages WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            message_id,
        )
        if prompt_id is None:
            raise not_found("voicemail message", "message_id")
        return self._media_gateway().audio(tenant_id, prompt_id)

    # --- receptionist and keys -----------------------------------------------------------

    async def _receptionist(
        self, connection: Connection | asyncpg.Pool, tenant_id: UUID
    ) -> s.Receptionist:
        row = await connection.fetchrow(
            """SELECT r.*, e.number AS exhausted_number FROM receptionists r
                 LEFT JOIN extensions e ON e.tenant_id = r.tenant_id AND e.id = r.exhausted_extension_id
                WHERE r.tenant_id = $1""",
            tenant_id,
        )
        if row is None:
            raise not_found("receptionist", "tenant_id")
        greeting = None
        if row["greeting_prompt_id"] is not None:
            prompt_row = await connection.fetchrow(
                "SELECT * FROM prompts WHERE tenant_id = $1 AND id = $2",
                tenant_id,
                row["greeting_prompt_id"],
            )
            greeting = None if prompt_row is None else _prompt(prompt_row)
        return s.Receptionist(
            greeting=greeting,
            language=row["language"],
            dial_extension_enabled=row["dial_extension_enabled"],
            menu_timeout_s=row["menu_timeout_s"],
            inter_digit_timeout_s=row["inter_digit_timeout_s"],
            menu_max_retries=row["menu_max_retries"],
            name_max_retries=row["name_max_retries"],
            transfer_ring_s=row["transfer_ring_s"],
            exhausted_extension=row["exhausted_number"],
        )

    async def get_receptionist(self, actor: Principal, tenant_id: UUID) -> s.Receptionist:
        await self._tenant_row(self._pool, actor, tenant_id)
        return await self._receptionist(self._pool, tenant_id)

    async def patch_receptionist(
        self,
        actor: Principal,
        tenant_id: UUID,
        body: s.ReceptionistPatch,
        if_match: str | None,
        request_id: str | None,
    ) -> s.Receptionist:
        async with self._write(
            actor, tenant_id, "receptionist", "update", None, request_id
        ) as change:
            connection = change.connection
            await self._tenant_row(connection, actor, tenant_id)
            await connection.execute(
                "SELECT 1 FROM receptionists WHERE tenant_id = $1 FOR UPDATE", tenant_id
            )
            before = await self._receptionist(connection, tenant_id)
            _check_if_match(if_match, before)
            fields = body.model_fields_set
            updates: dict[str, Any] = {
                name: getattr(body, name)
                for name in fields
                if name not in ("greeting", "exhausted_extension")
            }
            for name, value in updates.items():
                if value is None:
                    raise ApiError(VALIDATION_FAILED, f"{name} cannot be null", name)
            if "greeting" in fields:
                updates["greeting_prompt_id"] = await self._greeting_id(
                    connection, tenant_id, body.greeting
                )
            if "exhausted_extension" in fields:
                updates["exhausted_extension_id"] = (
                    None
                    if body.exhausted_extension is None
                    else (
                        await _extension_id(
                            connection, tenant_id, body.exhausted_extension, "exhausted_extension"
                        )
                    )
                )
            if updates:
                columns = list(updates)
                assignments = ", ".join(f"{column} = ${i + 2}" for i, column in enumerate(columns))
                await connection.execute(
                    f"UPDATE receptionists SET {assignments} WHERE tenant_id = $1",
                    tenant_id,
                    *(updates[c] for c in columns),
                )
            after = await self._receptionist(connection, tenant_id)
            change.before, change.after = _jsonable(before), _jsonable(after)
        return after

    async def _greeting_id(
        self, connection: Connection, tenant_id: UUID, greeting: s.TtsPrompt | s.GreetingRef | None
    ) -> UUID | None:
        if greeting is None:
            return None
        if isinstance(greeting, s.TtsPrompt):
            return (await _insert_tts_prompt(connection, tenant_id, greeting)).id
        return await _prompt_id(connection, tenant_id, greeting.prompt_id, "greeting.prompt_id")

    async def _keys(self, connection: Connection | asyncpg.Pool, tenant_id: UUID) -> s.KeyList:
        rows = await connection.fetch(
            """SELECT k.*, e.number AS e_number, concat_ws(' ', nullif(e.first_name, ''), nullif(e.last_name, '')) AS e_name,
                      g.number AS g_number, g.name AS g_name, c.number AS c_number, c.name AS c_name
                 FROM key_assignments k
                 LEFT JOIN extensions e ON e.tenant_id = k.tenant_id AND e.id = k.target_extension_id
                 LEFT JOIN ring_groups g ON g.tenant_id = k.tenant_id AND g.id = k.target_ring_group_id
                 LEFT JOIN conference_rooms c ON c.tenant_id = k.tenant_id AND c.id = k.target_conference_id
                WHERE k.tenant_id = $1""",
            tenant_id,
        )
        prompts = {
            r["id"]: _prompt(r)
            for r in await connection.fetch(
                """SELECT * FROM prompts WHERE tenant_id = $1 AND id IN
                   (SELECT prompt_id FROM key_assignments WHERE tenant_id = $1)""",
                tenant_id,
            )
        }
        by_digit = {r["digit"]: r for r in rows}
        keys = []
        for digit in "0123456789":
            row = by_digit.get(digit)
            if row is None:
                keys.append(s.Key(digit=digit, assigned=False))
                continue
            target = None
            if row["target_kind"] is not None:
                prefix = {"ring_group": "g", "conference": "c"}.get(row["target_kind"], "e")
                target = s.KeyTarget(
                    kind=row["target_kind"],
                    number=row[f"{prefix}_number"],
                    name=row[f"{prefix}_name"],
                )
            keys.append(
                s.Key(
                    digit=digit,
                    assigned=True,
                    action=row["action"],
                    prompt=prompts.get(row["prompt_id"]),
                    target=target,
                )
            )
        return s.KeyList(items=keys)

    async def get_keys(self, actor: Principal, tenant_id: UUID) -> s.KeyList:
        await self._tenant_row(self._pool, actor, tenant_id)
        return await self._keys(self._pool, tenant_id)

    async def put_key(
        self,
        actor: Principal,
        tenant_id: UUID,
        digit: str,
        body: s.KeyAssignment,
        if_match: str | None,
        request_id: str | None,
    ) -> s.KeyList:
        async with self._write(actor, tenant_id, "key", "assign", digit, request_id) as change:
            connection = change.connection
            await self._tenant_row(connection, actor, tenant_id)
            await connection.execute(
                "SELECT 1 FROM receptionists WHERE tenant_id = $1 FOR UPDATE", tenant_id
            )
            before = await self._keys(connection, tenant_id)
            _check_if_match(if_match, before)
            await _assign_key(connection, tenant_id, digit, body)
            after = await self._keys(connection, tenant_id)
            change.before = _jsonable(before.items[int(digit)])
            change.after = _jsonable(after.items[int(digit)])
        return after

    async def delete_key(
        self,
        actor: Principal,
        tenant_id: UUID,
        digit: str,
        if_match: str | None,
        request_id: str | None,
    ) -> s.KeyList:
        async with self._write(actor, tenant_id, "key", "unassign", digit, request_id) as change:
            connection = change.connection
            await self._tenant_row(connection, actor, tenant_id)
            await connection.execute(
                "SELECT 1 FROM receptionists WHERE tenant_id = $1 FOR UPDATE", tenant_id
            )
            before = await self._keys(connection, tenant_id)
            _check_if_match(if_match, before)
            await connection.execute(
                "DELETE FROM key_assignments WHERE tenant_id = $1 AND digit = $2", tenant_id, digit
            )
            after = await self._keys(connection, tenant_id)
            change.before = _jsonable(before.items[int(digit)])
        return after

    # --- directory -----------------------------------------------------------------------

    async def get_directory(self, actor: Principal, tenant_id: UUID) -> s.DirectoryList:
        await self._tenant_row(self._pool, actor, tenant_id)
        rows = await self._pool.fetch(
            "SELECT * FROM extensions WHERE tenant_id = $1 ORDER BY number", tenant_id
        )
        return s.DirectoryList(items=[s.DirectoryEntry.model_validate(dict(r)) for r in rows])

    async def patch_directory(
        self, actor: Principal, tenant_id: UUID, body: s.DirectoryPatch, request_id: str | None
    ) -> s.DirectoryList:
        async with self._write(actor, tenant_id, "directory", "update", None, request_id) as change:
            connection = change.connection
            await self._tenant_row(connection, actor, tenant_id)
            seen: set[str] = set()
            before, after = [], []
            for index, entry in enumerate(body.entries):
                if entry.number in seen:
                    raise ApiError(
                        VALIDATION_FAILED,
                        f"extension {entry.number} is listed twice",
                        f"entries[{index}].number",
                    )
                seen.add(entry.number)
                row = await connection.fetchrow(
                    "SELECT * FROM extensions WHERE tenant_id = $1 AND number = $2",
                    tenant_id,
                    entry.number,
                )
                if row is None:
                    raise not_found(f"extension {entry.number}", f"entries[{index}].number")
                updated = await connection.fetchrow(
                    """UPDATE extensions
                          SET reachable_by_extension = coalesce($3, reachable_by_extension),
                              reachable_by_name = coalesce($4, reachable_by_name)
                        WHERE tenant_id = $1 AND id = $2 RETURNING *""",
                    tenant_id,
                    row["id"],
                    entry.reachable_by_extension,
                    entry.reachable_by_name,
                )
                before.append(_jsonable(s.DirectoryEntry.model_validate(dict(row))))
                after.append(_jsonable(s.DirectoryEntry.model_validate(dict(updated))))  # type: ignore[arg-type]
            change.before, change.after = before, after
        return await self.get_directory(actor, tenant_id)

    # --- voicemail, calls, audit ---------------------------------------------------------

    async def list_voicemail(self, actor: Principal, tenant_id: UUID) -> s.VoicemailList:
        await self._tenant_row(self._pool, actor, tenant_id)
        rows = await self._pool.fetch(
            "SELECT * FROM voicemail_messages WHERE tenant_id = $1 ORDER BY created_at DESC",
            tenant_id,
        )
        return s.VoicemailList(items=[s.VoicemailMessage.model_validate(dict(r)) for r in rows])

    async def delete_voicemail(
        self, actor: Principal, tenant_id: UUID, message_id: UUID, request_id: str | None
    ) -> None:
        async with self._write(
            actor, tenant_id, "voicemail", "delete", str(message_id), request_id
        ) as change:
            await self._tenant_row(change.connection, actor, tenant_id)
            row = await change.connection.fetchrow(
                "DELETE FROM voicemail_messages WHERE tenant_id = $1 AND id = $2 RETURNING *",
                tenant_id,
                message_id,
            )
            if row is None:
                raise not_found("voicemail message", "id")
            change.before = _jsonable(s.VoicemailMessage.model_validate(dict(row)))

    async def list_calls(
        self,
        actor: Principal,
        tenant_id: UUID,
        since: datetime | None,
        before: datetime | None,
        outcome: str | None,
        limit: int,
    ) -> s.CallList:
        await self._tenant_row(self._pool, actor, tenant_id)
        rows = await self._pool.fetch(
            """SELECT * FROM call_records WHERE tenant_id = $1
                  AND ($2::timestamptz IS NULL OR started_at >= $2)
                  AND ($3::timestamptz IS NULL OR started_at < $3)
                  AND ($4::text IS NULL OR outcome = $4)
                ORDER BY started_at DESC LIMIT $5""",
            tenant_id,
            since,
            before,
            outcome,
            limit + 1,
        )
        items = [s.CallRecord.model_validate(dict(r)) for r in rows[:limit]]
        return s.CallList(
            items=items, next_before=items[-1].started_at if len(rows) > limit else None
        )

    async def list_audit(
        self, actor: Principal, tenant_id: UUID, before_id: int | None, limit: int
    ) -> s.AuditList:
        await self._tenant_row(self._pool, actor, tenant_id)
        rows = await self._pool.fetch(
            """SELECT * FROM audit_log WHERE tenant_id = $1 AND ($2::bigint IS NULL OR id < $2)
                ORDER BY id DESC LIMIT $3""",
            tenant_id,
            before_id,
            limit + 1,
        )
        items = [s.AuditEntry.model_validate(dict(r)) for r in rows[:limit]]
        return s.AuditList(items=items, next_before_id=items[-1].id if len(rows) > limit else None)

    # --- export / import -----------------------------------------------------------------

    async def export_tenant(self, actor: Principal, tenant_id: UUID) -> s.TenantExport:
        await self._tenant_row(self._pool, actor, tenant_id)
        receptionist = await self._receptionist(self._pool, tenant_id)
        extensions = (await self.list_extensions(actor, tenant_id)).items
        groups = (await self.list_ring_groups(actor, tenant_id)).items
        rooms = (await self.list_rooms(actor, tenant_id)).items
        keys = (await self._keys(self._pool, tenant_id)).items
        greeting = receptionist.greeting
        return s.TenantExport(
            receptionist=s.ExportReceptionist(
                greeting=_tts_of(greeting),
                **receptionist.model_dump(exclude={"greeting"}),
            ),
            extensions=[
                s.ExtensionCreate(**e.model_dump(include=set(s.ExtensionCreate.model_fields)))
                for e in extensions
            ],
            ring_groups=[
                s.RingGroupCreate(**g.model_dump(include=set(s.RingGroupCreate.model_fields)))
                for g in groups
            ],
            conference_rooms=[
                s.ConferenceRoomCreate(
                    **r.model_dump(include=set(s.ConferenceRoomCreate.model_fields))
                )
                for r in rooms
            ],
            keys=[
                s.ExportKey(digit=k.digit, assignment=_assignment_of(k)) for k in keys if k.assigned
            ],
        )

    async def import_tenant(
        self, actor: Principal, tenant_id: UUID, body: s.TenantExport, request_id: str | None
    ) -> s.TenantExport:
        """Replace the tenant's receptionist, keys, extensions, groups and rooms, atomically."""
        async with self._write(
            actor, tenant_id, "tenant", "import", str(tenant_id), request_id
        ) as change:
            connection = change.connection
            await self._tenant_row(connection, actor, tenant_id, lock=True)
            for table in ("key_assignments", "ring_groups", "conference_rooms"):
                await connection.execute(f"DELETE FROM {table} WHERE tenant_id = $1", tenant_id)
            await connection.execute(
                "UPDATE receptionists SET exhausted_extension_id = NULL WHERE tenant_id = $1",
                tenant_id,
            )
            await connection.execute("DELETE FROM extensions WHERE tenant_id = $1", tenant_id)
            for index, extension in enumerate(body.extensions):
                values = _extension_values(extension.model_dump(), f"extensions[{index}].")
                await connection.execute(
                    INSERT_EXTENSION,
                    tenant_id,
                    *(values[k] for k in EXTENSION_COLUMNS),
                )
            for group in body.ring_groups:
                await self._write_ring_group(change, tenant_id, None, group.model_dump())
            for room in body.conference_rooms:
                await connection.execute(
                    "INSERT INTO conference_rooms (tenant_id, number, name, pin) VALUES ($1, $2, $3, $4)",
                    tenant_id,
                    room.number,
                    room.name,
                    room.pin,
                )
            settings = body.receptionist
            exhausted = (
                None
                if settings.exhausted_extension is None
                else await _extension_id(
                    connection,
                    tenant_id,
                    settings.exhausted_extension,
                    "receptionist.exhausted_extension",
                )
            )
            greeting = (
                None
                if settings.greeting is None
                else (await _insert_tts_prompt(connection, tenant_id, settings.greeting)).id
            )
            await connection.execute(
                """UPDATE receptionists SET greeting_prompt_id = $2, language = $3, dial_extension_enabled = $4,
                          menu_timeout_s = $5, inter_digit_timeout_s = $6, menu_max_retries = $7,
                          name_max_retries = $8, transfer_ring_s = $9, exhausted_extension_id = $10
                    WHERE tenant_id = $1""",
                tenant_id,
                greeting,
                settings.language,
                settings.dial_extension_enabled,
                settings.menu_timeout_s,
                settings.inter_digit_timeout_s,
                settings.menu_max_retries,
                settings.name_max_retries,
                settings.transfer_ring_s,
                exhausted,
            )
            for key in body.keys:
                await _assign_key(
                    connection, tenant_id, key.digit, key.assignment, f"keys[{key.digit}]."
                )
            change.after = {
                "extensions": len(body.extensions),
                "ring_groups": len(body.ring_groups),
                "conference_rooms": len(body.conference_rooms),
                "keys": len(body.keys),
            }
        return await self.export_tenant(actor, tenant_id)


# --- helpers -------------------------------------------------------------------------------

INSERT_EXTENSION = """
    INSERT INTO extensions (tenant_id, number, kind, first_name, last_name, dial_string,
                            external_number, voicemail_enabled, reachable_by_extension, reachable_by_name)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"""

EXTENSION_COLUMNS = (
    "number",
    "kind",
    "first_name",
    "last_name",
    "dial_string",
    "external_number",
    "voicemail_enabled",
    "reachable_by_extension",
    "reachable_by_name",
)


def _extension_values(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Check the rules that tie an extension's fields together."""
    if values["kind"] == "physical":
        if values.get("external_number") is not None:
            raise ApiError(
                VALIDATION_FAILED,
                "a physical extension has no external_number",
                f"{prefix}external_number",
            )
        if not values.get("dial_string"):
            raise ApiError(
                VALIDATION_FAILED,
                "a physical extension needs a dial_string, e.g. PJSIP/alice",
                f"{prefix}dial_string",
            )
    else:
        if values.get("dial_string") is not None:
            raise ApiError(
                VALIDATION_FAILED, "a virtual extension has no dial_string", f"{prefix}dial_string"
            )
        if not values.get("external_number"):
            raise ApiError(
                VALIDATION_FAILED,
                "a virtual extension needs an external_number (E.164)",
                f"{prefix}external_number",
            )
    if not (values.get("first_name") or values.get("last_name")):
        raise ApiError(
            VALIDATION_FAILED, "an extension needs a first or a last name", f"{prefix}last_name"
        )
    return values


async def _extension_id(
    connection: Connection,
    tenant_id: UUID,
    number: str,
    field_name: str,
    message: str | None = None,
) -> UUID:
    found: UUID | None = await connection.fetchval(
        "SELECT id FROM extensions WHERE tenant_id = $1 AND number = $2", tenant_id, number
    )
    if found is None:
        raise ApiError(UNKNOWN_TARGET, message or f"there is no extension {number}", field_name)
    return found


async def _prompt_id(
    connection: Connection, tenant_id: UUID, prompt_id: UUID, field_name: str
) -> UUID:
    found: UUID | None = await connection.fetchval(
        "SELECT id FROM prompts WHERE tenant_id = $1 AND id = $2 AND source <> 'recording'",
        tenant_id,
        prompt_id,
    )
    if found is None:
        raise ApiError(UNKNOWN_TARGET, "there is no such prompt", field_name)
    return found


async def _insert_tts_prompt(
    connection: Connection, tenant_id: UUID, body: s.TtsPrompt
) -> s.Prompt:
    row = await connection.fetchrow(
        """INSERT INTO prompts (tenant_id, source, tts_text, language, voice)
           VALUES ($1, 'tts', $2, $3, $4) RETURNING *""",
        tenant_id,
        body.text,
        body.language,
        body.voice,
    )
    row = _returned(row)
    return _prompt(row)


async def _refuse_while_keys_use(
    connection: Connection, tenant_id: UUID, column: str, target_id: UUID, what: str
) -> None:
    """Deleting what a key transfers to is refused, naming the keys (column: a constant)."""
    digits = await connection.fetch(
        f"SELECT digit FROM key_assignments WHERE tenant_id = $1 AND {column} = $2 ORDER BY digit",
        tenant_id,
        target_id,
    )
    if digits:
        users = [f"key {d['digit']}" for d in digits]
        raise ApiError(
            IN_USE, f"{what} is still used by {', '.join(users)}", "number", {"used_by": users}
        )


async def _extension_users(
    connection: Connection, tenant_id: UUID, extension_id: UUID
) -> list[str]:
    """What still points at an extension, in words an admin understands."""
    users = [
        f"key {r['digit']}"
        for r in await connection.fetch(
            "SELECT digit FROM key_assignments WHERE tenant_id = $1 AND target_extension_id = $2 ORDER BY digit",
            tenant_id,
            extension_id,
        )
    ]
    users += [
        f"ring group {r['number']}"
        for r in await connection.fetch(
            """SELECT DISTINCT g.number FROM ring_groups g
             LEFT JOIN ring_group_members m ON m.tenant_id = g.tenant_id AND m.ring_group_id = g.id
            WHERE g.tenant_id = $1 AND (m.extension_id = $2 OR g.no_answer_extension_id = $2)
            ORDER BY g.number""",
            tenant_id,
            extension_id,
        )
    ]
    if await connection.fetchval(
        "SELECT 1 FROM receptionists WHERE tenant_id = $1 AND exhausted_extension_id = $2",
        tenant_id,
        extension_id,
    ):
        users.append("the receptionist's last-retry target")
    return users


async def _refuse_kind_change_while_targeted(
    connection: Connection, tenant_id: UUID, extension_id: UUID, kind: str
) -> None:
    target_kind = "extension" if kind == "physical" else "virtual_extension"
    digits = [
        r["digit"]
        for r in await connection.fetch(
            """SELECT digit FROM key_assignments WHERE tenant_id = $1 AND target_extension_id = $2
              AND target_kind = $3 ORDER BY digit""",
            tenant_id,
            extension_id,
            target_kind,
        )
    ]
    if digits:
        users = [f"key {d}" for d in digits]
        raise ApiError(
            IN_USE,
            f"the kind cannot change while {', '.join(users)} transfer to it as a {kind} extension",
            "kind",
            {"used_by": users},
        )


async def _assign_key(
    connection: Connection, tenant_id: UUID, digit: str, body: s.KeyAssignment, prefix: str = ""
) -> None:
    prompt_id = target_kind = None
    targets: dict[str, UUID | None] = {
        "target_extension_id": None,
        "target_ring_group_id": None,
        "target_conference_id": None,
    }
    if isinstance(body, s.PlayAnnouncement):
        if (body.prompt is None) == (body.prompt_id is None):
            raise ApiError(
                VALIDATION_FAILED,
                "give either prompt (text to speak) or prompt_id",
                f"{prefix}prompt",
            )
        prompt_id = (
            (await _insert_tts_prompt(connection, tenant_id, body.prompt)).id
            if body.prompt is not None
            else await _prompt_id(connection, tenant_id, body.prompt_id, f"{prefix}prompt_id")  # type: ignore[arg-type]
        )
    elif isinstance(body, s.Transfer):
        target_kind = body.target.kind
        table, column = KEY_TARGET_TABLES[target_kind]
        row = await connection.fetchrow(
            f"SELECT id, {'kind' if table == 'extensions' else 'NULL AS kind'} FROM {table} "
            "WHERE tenant_id = $1 AND number = $2",
            tenant_id,
            body.target.number,
        )
        noun = {
            "extensions": "extension",
            "ring_groups": "ring group",
            "conference_rooms": "conference room",
        }[table]
        if row is None:
            raise ApiError(
                UNKNOWN_TARGET, f"there is no {noun} {body.target.number}", f"{prefix}target.number"
            )
        wanted = {"extension": "physical", "virtual_extension": "virtual"}.get(target_kind)
        if wanted is not None and row["kind"] != wanted:
            raise ApiError(
                UNKNOWN_TARGET,
                f"extension {body.target.number} is {row['kind']}, not {wanted}: "
                f"use kind {'extension' if row['kind'] == 'physical' else 'virtual_extension'}",
                f"{prefix}target.kind",
            )
        targets[column] = row["id"]
    await connection.execute(
        """INSERT INTO key_assignments (tenant_id, digit, action, prompt_id, target_kind,
                                        target_extension_id, target_ring_group_id, target_conference_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (tenant_id, digit) DO UPDATE SET
               action = EXCLUDED.action, prompt_id = EXCLUDED.prompt_id, target_kind = EXCLUDED.target_kind,
               target_extension_id = EXCLUDED.target_extension_id,
               target_ring_group_id = EXCLUDED.target_ring_group_id,
               target_conference_id = EXCLUDED.target_conference_id""",
        tenant_id,
        digit,
        body.action,
        prompt_id,
        target_kind,
        *targets.values(),
    )


def _returned(row: asyncpg.Record | None) -> asyncpg.Record:
    """The row a statement with RETURNING gave back: it always gives one when it ran."""
    if row is None:
        raise RuntimeError("the statement returned no row")
    return row


def _prompt(row: asyncpg.Record) -> s.Prompt:
    return s.Prompt(
        id=row["id"],
        source=row["source"],
        text=row["tts_text"],
        language=row["language"],
        voice=row["voice"],
        original_filename=row["original_filename"],
        status=row["status"],
        error_code=row["error_code"],
        duration_ms=row["duration_ms"],
        created_at=row["created_at"],
    )


def _token(row: asyncpg.Record | None) -> s.Token:
    row = _returned(row)
    return s.Token(
        id=row["id"],
        scope=row["scope"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        prefix=row["token_prefix"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


def _tts_of(prompt: s.Prompt | None) -> s.TtsPrompt | None:
    if prompt is None or prompt.source != "tts" or prompt.text is None or prompt.language is None:
        return None
    return s.TtsPrompt(text=prompt.text, language=prompt.language, voice=prompt.voice)


def _assignment_of(key: s.Key) -> s.DialByName | s.PlayAnnouncement | s.Transfer:
    if key.action == "transfer" and key.target is not None:
        return s.Transfer(
            action="transfer",
            target=s.TransferTarget(kind=key.target.kind, number=key.target.number),
        )
    if key.action == "play_announcement" and key.prompt is not None:
        tts = _tts_of(key.prompt)
        if tts is not None:
            return s.PlayAnnouncement(action="play_announcement", prompt=tts)
        return s.PlayAnnouncement(action="play_announcement", prompt_id=key.prompt.id)
    return s.DialByName(action="dial_by_name")
