"""Extensions: a tenant's phones (physical) and outside numbers (virtual) in its numbering plan."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg

from rcp_admin import schemas as s
from rcp_admin.errors import IN_USE, UNKNOWN_TARGET, VALIDATION_FAILED, ApiError
from rcp_admin.resources.numbered import NumberedEntity, keys_using
from rcp_admin.unit_of_work import Reader, returned

if TYPE_CHECKING:
    from rcp_admin.unit_of_work import Connection

COLUMNS = (
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


def _invalid(message: str, field: str) -> ApiError:
    return ApiError(VALIDATION_FAILED, message, field)


def checked(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """An extension's fields, once the rules that tie them together hold."""
    if values["kind"] == "physical":
        if values.get("external_number") is not None:
            raise _invalid(
                "a physical extension has no external_number", f"{prefix}external_number"
            )
        if not values.get("dial_string"):
            raise _invalid(
                "a physical extension needs a dial_string, e.g. PJSIP/alice",
                f"{prefix}dial_string",
            )
    else:
        if values.get("dial_string") is not None:
            raise _invalid("a virtual extension has no dial_string", f"{prefix}dial_string")
        if not values.get("external_number"):
            raise _invalid(
                "a virtual extension needs an external_number (E.164)",
                f"{prefix}external_number",
            )
    if not (values.get("first_name") or values.get("last_name")):
        raise _invalid("an extension needs a first or a last name", f"{prefix}last_name")
    return values


async def id_of(
    connection: Reader, tenant_id: UUID, number: str, field_name: str, message: str | None = None
) -> UUID:
    """The id of an extension that something else points at; 422 naming the field if none."""
    found: UUID | None = await connection.fetchval(
        "SELECT id FROM extensions WHERE tenant_id = $1 AND number = $2", tenant_id, number
    )
    if found is None:
        raise ApiError(UNKNOWN_TARGET, message or f"there is no extension {number}", field_name)
    return found


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


class Extensions(NumberedEntity):
    """Extensions: checked as a whole, and never deleted while something points at them."""

    entity = "extension"
    models = (s.ExtensionCreate, s.ExtensionPatch, s.Extension, s.ExtensionList)
    unused = "nothing uses any more"
    in_use_hint = ": change those first"

    def prepare(self, values: dict[str, Any]) -> dict[str, Any]:
        """The rules that tie an extension's fields together hold."""
        return checked(values)

    async def insert(
        self, connection: Connection, tenant_id: UUID, values: dict[str, Any]
    ) -> asyncpg.Record:
        """Insert checked values."""
        row = await connection.fetchrow(
            """INSERT INTO extensions (tenant_id, number, kind, first_name, last_name, dial_string,
                                       external_number, voicemail_enabled, reachable_by_extension,
                                       reachable_by_name)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *""",
            tenant_id,
            *(values[k] for k in COLUMNS),
        )
        return returned(row)

    async def update(
        self,
        connection: Connection,
        tenant_id: UUID,
        current: asyncpg.Record,
        before: s.Extension,
        body: s.ExtensionPatch,
    ) -> asyncpg.Record:
        """Apply a patch; a new kind drops the other kind's destination unless given."""
        merged = before.model_dump() | body.model_dump(exclude_unset=True)
        if "kind" in body.model_fields_set and body.kind != before.kind:
            other = "external_number" if body.kind == "physical" else "dial_string"
            if other not in body.model_fields_set:
                merged[other] = None
        values = checked(merged)
        if values["kind"] != before.kind:
            await _refuse_kind_change_while_targeted(
                connection, tenant_id, current["id"], before.kind
            )
        row = await connection.fetchrow(
            """UPDATE extensions SET number = $3, kind = $4, first_name = $5, last_name = $6,
                      dial_string = $7, external_number = $8, voicemail_enabled = $9,
                      reachable_by_extension = $10, reachable_by_name = $11
                WHERE tenant_id = $1 AND id = $2 RETURNING *""",
            tenant_id,
            current["id"],
            *(values[k] for k in COLUMNS),
        )
        return returned(row)

    async def users(self, connection: Connection, tenant_id: UUID, row_id: UUID) -> list[str]:
        """Keys, ring groups (as members or fallback) and the receptionist's last retry."""
        users = await keys_using(connection, tenant_id, "target_extension_id", row_id)
        users += [
            f"ring group {r['number']}"
            for r in await connection.fetch(
                """SELECT DISTINCT g.number FROM ring_groups g
                 LEFT JOIN ring_group_members m ON m.tenant_id = g.tenant_id AND m.ring_group_id = g.id
                WHERE g.tenant_id = $1 AND (m.extension_id = $2 OR g.no_answer_extension_id = $2)
                ORDER BY g.number""",
                tenant_id,
                row_id,
            )
        ]
        if await connection.fetchval(
            "SELECT 1 FROM receptionists WHERE tenant_id = $1 AND exhausted_extension_id = $2",
            tenant_id,
            row_id,
        ):
            users.append("the receptionist's last-retry target")
        return users


EXTENSIONS = Extensions()
ROUTES = EXTENSIONS.routes()
