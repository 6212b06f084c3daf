"""Conference rooms: callers who reach the same room talk together, behind an optional PIN."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg

from rcp_admin import schemas as s
from rcp_admin.resources.numbered import NumberedEntity, keys_using
from rcp_admin.unit_of_work import returned

if TYPE_CHECKING:
    from rcp_admin.unit_of_work import Connection


class ConferenceRooms(NumberedEntity):
    """Conference rooms: a name and an optional PIN."""

    entity = "conference_room"
    operations = "room"
    models = (s.ConferenceRoomCreate, s.ConferenceRoomPatch, s.ConferenceRoom, s.ConferenceRoomList)
    unused = "no key uses"

    async def insert(
        self, connection: Connection, tenant_id: UUID, values: dict[str, Any]
    ) -> asyncpg.Record:
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

    async def replace(
        self, connection: Connection, tenant_id: UUID, row_id: UUID, values: dict[str, Any]
    ) -> asyncpg.Record:
        """Rewrite a room (a null PIN removes it)."""
        row = await connection.fetchrow(
            """UPDATE conference_rooms SET number = $3, name = $4, pin = $5
                WHERE tenant_id = $1 AND id = $2 RETURNING *""",
            tenant_id,
            row_id,
            values["number"],
            values["name"],
            values["pin"],
        )
        return returned(row)

    async def users(self, connection: Connection, tenant_id: UUID, row_id: UUID) -> list[str]:
        """The keys that transfer to it."""
        return await keys_using(connection, tenant_id, "target_conference_id", row_id)


CONFERENCE_ROOMS = ConferenceRooms()
ROUTES = CONFERENCE_ROOMS.routes()
