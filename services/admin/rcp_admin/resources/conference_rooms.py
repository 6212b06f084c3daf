"""Conference rooms: callers who reach the same room talk together, behind an optional PIN.

A PIN is written in clear and stored only as a salted hash (`rcp.pins`): no answer, export or
audit entry ever shows it again. Hashing takes about 50 ms of CPU, in a thread.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
from rcp.pins import hash_pin

from rcp_admin import schemas as s
from rcp_admin.resources.numbered import NumberedEntity, keys_using
from rcp_admin.unit_of_work import Reader, returned

if TYPE_CHECKING:
    from rcp_admin.unit_of_work import Connection


async def stored_pin(values: dict[str, Any]) -> tuple[str | None, bool]:
    """A room's PIN columns (hash, too short) from a body: a PIN in clear is hashed; an
    export's hash is taken as it is."""
    if values.get("pin"):
        return await asyncio.to_thread(hash_pin, values["pin"]), False
    if values.get("pin_hash"):
        return values["pin_hash"], bool(values.get("pin_too_short"))
    return None, False


class ConferenceRooms(NumberedEntity):
    """Conference rooms: a name and an optional PIN."""

    entity = "conference_room"
    operations = "room"
    models = (s.ConferenceRoomCreate, s.ConferenceRoomPatch, s.ConferenceRoom, s.ConferenceRoomList)
    unused = "no key uses"

    async def to_model(self, reader: Reader, tenant_id: UUID, row: asyncpg.Record) -> Any:
        """A room, saying whether it has a PIN (never the PIN)."""
        return s.ConferenceRoom.model_validate(dict(row) | {"has_pin": row["pin_hash"] is not None})

    async def insert(
        self, connection: Connection, tenant_id: UUID, values: dict[str, Any]
    ) -> asyncpg.Record:
        """A new room."""
        pin_hash, too_short = await stored_pin(values)
        row = await connection.fetchrow(
            """INSERT INTO conference_rooms (tenant_id, number, name, pin_hash, pin_too_short)
               VALUES ($1, $2, $3, $4, $5) RETURNING *""",
            tenant_id,
            values["number"],
            values["name"],
            pin_hash,
            too_short,
        )
        return returned(row)

    async def update(
        self,
        connection: Connection,
        tenant_id: UUID,
        current: asyncpg.Record,
        before: s.ConferenceRoom,
        body: s.ConferenceRoomPatch,
    ) -> asyncpg.Record:
        """Change a room; a PIN given replaces the one before, a null PIN removes it."""
        if "pin" in body.model_fields_set:
            pin_hash, too_short = await stored_pin({"pin": body.pin})
        else:
            pin_hash, too_short = current["pin_hash"], current["pin_too_short"]
        row = await connection.fetchrow(
            """UPDATE conference_rooms SET number = $3, name = $4, pin_hash = $5, pin_too_short = $6
                WHERE tenant_id = $1 AND id = $2 RETURNING *""",
            tenant_id,
            current["id"],
            body.number or before.number,
            body.name or before.name,
            pin_hash,
            too_short,
        )
        return returned(row)

    async def users(self, connection: Connection, tenant_id: UUID, row_id: UUID) -> list[str]:
        """The keys that transfer to it."""
        return await keys_using(connection, tenant_id, "target_conference_id", row_id)


CONFERENCE_ROOMS = ConferenceRooms()
ROUTES = CONFERENCE_ROOMS.routes()
