"""Ring groups: several extensions rung at once or in turn, and what happens if none answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg

from rcp_admin import schemas as s
from rcp_admin.errors import VALIDATION_FAILED, ApiError
from rcp_admin.resources import extensions
from rcp_admin.resources.numbered import NumberedEntity, keys_using
from rcp_admin.unit_of_work import Reader, returned

if TYPE_CHECKING:
    from rcp_admin.unit_of_work import Connection


async def _model(reader: Reader, tenant_id: UUID, row: asyncpg.Record) -> s.RingGroup:
    members = await reader.fetch(
        """SELECT e.number FROM ring_group_members m JOIN extensions e
             ON e.tenant_id = m.tenant_id AND e.id = m.extension_id
            WHERE m.tenant_id = $1 AND m.ring_group_id = $2 ORDER BY m.position""",
        tenant_id,
        row["id"],
    )
    fallback = None
    if row["no_answer_extension_id"] is not None:
        fallback = await reader.fetchval(
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


async def _fallback_id(
    connection: Connection, tenant_id: UUID, no_answer: s.NoAnswer
) -> UUID | None:
    """The extension a group falls back to, for the actions that have one."""
    if no_answer.action in ("voicemail", "extension"):
        if no_answer.extension is None:
            raise ApiError(
                VALIDATION_FAILED,
                f"no_answer {no_answer.action} needs an extension",
                "no_answer.extension",
            )
        return await extensions.id_of(
            connection, tenant_id, no_answer.extension, "no_answer.extension"
        )
    if no_answer.extension is not None:
        raise ApiError(
            VALIDATION_FAILED,
            f"no_answer {no_answer.action} takes no extension",
            "no_answer.extension",
        )
    return None


async def _write(
    connection: Connection, tenant_id: UUID, group_id: UUID | None, values: dict[str, Any]
) -> asyncpg.Record:
    """Insert (no id) or update a group, then set its members in order."""
    members = values["members"]
    if len(set(members)) != len(members):
        raise ApiError(VALIDATION_FAILED, "a member is listed twice", "members")
    member_ids = [
        await extensions.id_of(
            connection,
            tenant_id,
            number,
            f"members[{index}]",
            "a ring group member must be an extension of this tenant",
        )
        for index, number in enumerate(members)
    ]
    no_answer = s.NoAnswer.model_validate(values["no_answer"])
    fallback_id = await _fallback_id(connection, tenant_id, no_answer)
    params = (
        values["number"],
        values["name"],
        values["strategy"],
        values["ring_seconds"],
        no_answer.action,
        fallback_id,
    )
    if group_id is None:
        row = await connection.fetchrow(
            """INSERT INTO ring_groups (tenant_id, number, name, strategy, ring_seconds,
                                       no_answer_action, no_answer_extension_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *""",
            tenant_id,
            *params,
        )
    else:
        row = await connection.fetchrow(
            """UPDATE ring_groups SET number = $3, name = $4, strategy = $5, ring_seconds = $6,
                      no_answer_action = $7, no_answer_extension_id = $8
                WHERE tenant_id = $1 AND id = $2 RETURNING *""",
            tenant_id,
            group_id,
            *params,
        )
        await connection.execute(
            "DELETE FROM ring_group_members WHERE tenant_id = $1 AND ring_group_id = $2",
            tenant_id,
            group_id,
        )
    row = returned(row)
    await connection.executemany(
        """INSERT INTO ring_group_members (tenant_id, ring_group_id, extension_id, position)
           VALUES ($1, $2, $3, $4)""",
        [(tenant_id, row["id"], member, position) for position, member in enumerate(member_ids)],
    )
    return row


class RingGroups(NumberedEntity):
    """Ring groups: their members in order, and a fallback when nobody answers."""

    entity = "ring_group"
    models = (s.RingGroupCreate, s.RingGroupPatch, s.RingGroup, s.RingGroupList)
    unused = "no key uses"
    patch_keeps_nulls = False

    async def to_model(self, reader: Reader, tenant_id: UUID, row: asyncpg.Record) -> s.RingGroup:
        """A group with its members' and fallback's numbers."""
        return await _model(reader, tenant_id, row)

    async def insert(
        self, connection: Connection, tenant_id: UUID, values: dict[str, Any]
    ) -> asyncpg.Record:
        """A new group with its members."""
        return await _write(connection, tenant_id, None, values)

    async def replace(
        self, connection: Connection, tenant_id: UUID, row_id: UUID, values: dict[str, Any]
    ) -> asyncpg.Record:
        """Rewrite a group, members replaced as a whole."""
        return await _write(connection, tenant_id, row_id, values)

    async def users(self, connection: Connection, tenant_id: UUID, row_id: UUID) -> list[str]:
        """The keys that transfer to it."""
        return await keys_using(connection, tenant_id, "target_ring_group_id", row_id)


RING_GROUPS = RingGroups()
ROUTES = RING_GROUPS.routes()
