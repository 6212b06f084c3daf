"""Conference rooms: callers who reach the same room talk together, behind an optional PIN."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg

from rcp_admin import schemas as s
from rcp_admin.resources.numbered import NumberedEntity, keys_using
from rcp_admin.unit_of_work import Reader, returned

if TYPE_CHECKING:
    from rcp_admin.unit_of_work import Connection


async def _model(_: Reader, __: UUID, row: asyncpg.Record) -> s.ConferenceRoom:
    return s.ConferenceRoom.model_validate(dict(row))


async def insert(connection: Connection, tenant_id: UUID, values: dict[str, Any]) -> asyncpg.Record:
    """A new room."""
    row = await connection.fetchrow(
        """INSERT INTO conference_rooms (tenant_id, number, name, pin) VALUES ($1, $2, $3, $4)
           RETURNING *""",
        tenant_id,
        values["number"],
        values["name"],
        values["pin"],
    )
    return returned(row)


async def _update(
    connection: Connection,
    tenant_id: UUID,
    current: asyncpg.Record,
    before: s.ConferenceRoom,
    body: s.ConferenceRoomPatch,
) -> asyncpg.Record:
    values = before.model_dump() | body.model_dump(exclude_unset=True)
    row = await connection.fetchrow(
        """UPDATE conference_rooms SET number = $3, name = $4, pin = $5
            WHERE tenant_id = $1 AND id = $2 RETURNING *""",
        tenant_id,
        current["id"],
        values["number"],
        values["name"],
        values["pin"],
    )
    return returned(row)


async def _users(connection: Connection, tenant_id: UUID, room_id: UUID) -> list[str]:
    return await keys_using(connection, tenant_id, "target_conference_id", room_id)


CONFERENCE_ROOMS = NumberedEntity(
    entity="conference_room",
    table="conference_rooms",
    noun="conference room",
    path="conference-rooms",
    operation=("room", "rooms"),
    bodies=(s.ConferenceRoomCreate, s.ConferenceRoomPatch),
    models=(s.ConferenceRoom, s.ConferenceRoomList),
    summaries=(
        "Create a conference room",
        "List conference rooms",
        "Read a conference room",
        "Change a conference room",
        "Delete a conference room no key uses",
    ),
    to_model=_model,
    insert=insert,
    update=_update,
    users=_users,
)
ROUTES = CONFERENCE_ROOMS.routes()
