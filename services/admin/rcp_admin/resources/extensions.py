"""Extensions: a tenant's phones (physical) and outside numbers (virtual) in its numbering plan.

A physical extension rings one of the tenant's devices (`devices`), named in the extension; an
extension saved before devices existed may still hold its old dial string
(`legacy_dial_string`), shown and kept until a device replaces it. A virtual extension's
number is checked against the carrier's outbound policy when it is written (422
`destination_not_allowed`); one saved before a policy that now refuses it stays, flagged
(`destination_allowed: false`), and calls to it are refused by the stasis service.

Its voicemail may have an email address (new messages are emailed there by the media
service) and a greeting of its own: a prompt, chosen as text to speak or as one of the
tenant's prompts (an upload, a recording made in the browser).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
from rcp.outbound import OutboundPolicy, check

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import IN_USE, UNKNOWN_TARGET, VALIDATION_FAILED, ApiError
from rcp_admin.resources import devices, prompts
from rcp_admin.resources.numbered import NumberedEntity, keys_using
from rcp_admin.resources.outbound_policy import check_destination, refusal_of, tenant_policy
from rcp_admin.unit_of_work import Reader, Store, returned

if TYPE_CHECKING:
    from rcp_admin.unit_of_work import Connection

COLUMNS = (
    "number",
    "kind",
    "first_name",
    "last_name",
    "device",
    "external_number",
    "voicemail_enabled",
    "reachable_by_extension",
    "reachable_by_name",
    "voicemail_email",
)
GREETING = "voicemail_greeting"


def _invalid(message: str, field: str) -> ApiError:
    return ApiError(VALIDATION_FAILED, message, field)


# An extension with its device's name.
SELECT = """
    SELECT e.*, d.name AS device FROM extensions e
      LEFT JOIN devices d ON d.tenant_id = e.tenant_id AND d.id = e.device_id
     WHERE e.tenant_id = $1"""


def checked(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """An extension's fields, once the rules that tie them together hold (a physical one may
    keep a `legacy_dial_string` instead of a device)."""
    if values["kind"] == "physical":
        if values.get("external_number") is not None:
            raise _invalid(
                "a physical extension has no external_number", f"{prefix}external_number"
            )
        if not values.get("device") and not values.get("legacy_dial_string"):
            raise _invalid(
                "a physical extension needs a device: choose one of the tenant's devices",
                f"{prefix}device",
            )
    else:
        if values.get("device") is not None:
            raise _invalid("a virtual extension has no device", f"{prefix}device")
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


def _model(
    row: asyncpg.Record,
    device: str | None,
    policy: OutboundPolicy,
    greeting: s.Prompt | None,
    spoken_name: s.Prompt | None = None,
) -> s.Extension:
    """An extension row as the API shows it, with the policy's verdict on its outside number,
    its voicemail greeting and its spoken name."""
    outside = row["external_number"] if row["kind"] == "virtual" else None
    verdict = check(policy, outside) if outside else None
    return s.Extension.model_validate(
        dict(row)
        | {
            "device": device,
            "destination_allowed": verdict.allowed if verdict else None,
            "destination_refusal": refusal_of(verdict),
            GREETING: greeting,
            "spoken_name": spoken_name,
        }
    )


async def _greetings(
    reader: Reader, tenant_id: UUID, rows: list[asyncpg.Record]
) -> dict[UUID, s.Prompt]:
    """The prompts of these extensions' voicemail greetings and spoken names, by id."""
    ids = [
        prompt_id
        for r in rows
        for prompt_id in (r["voicemail_greeting_prompt_id"], r["name_prompt_id"])
        if prompt_id
    ]
    return await prompts.models_of(reader, tenant_id, ids) if ids else {}


async def _target_ids(
    connection: Connection, tenant_id: UUID, values: dict[str, Any], prefix: str
) -> UUID | None:
    """The device a physical extension rings (one of the tenant's own); for a virtual one,
    None once the carrier's policy allows its number."""
    if values["kind"] == "virtual":
        await check_destination(
            connection, tenant_id, values["external_number"], f"{prefix}external_number"
        )
        return None
    if values.get("device") is None:
        return None  # keeps its legacy dial string
    return await devices.id_of(connection, tenant_id, values["device"], f"{prefix}device")


class Extensions(NumberedEntity):
    """Extensions: checked as a whole, and never deleted while something points at them."""

    entity = "extension"
    models = (s.ExtensionCreate, s.ExtensionPatch, s.Extension, s.ExtensionList)
    unused = "nothing uses any more"
    in_use_hint = ": change those first"

    def prepare(self, values: dict[str, Any]) -> dict[str, Any]:
        """The rules that tie an extension's fields together hold."""
        return checked(values)

    async def to_model(self, reader: Reader, tenant_id: UUID, row: asyncpg.Record) -> s.Extension:
        """The extension, its device's name and the policy's verdict on its outside number."""
        device = await reader.fetchval(
            "SELECT name FROM devices WHERE tenant_id = $1 AND id = $2", tenant_id, row["device_id"]
        )
        found = await _greetings(reader, tenant_id, [row])
        return _model(
            row,
            device,
            await tenant_policy(reader, tenant_id),
            found.get(row["voicemail_greeting_prompt_id"]),
            found.get(row["name_prompt_id"]),
        )

    async def list_all(self, store: Store, actor: Principal, tenant_id: UUID) -> list[Any]:
        """All of the tenant's, by number (one read of the policy and greetings for all)."""
        rows = await store.tenant_rows(actor, tenant_id, SELECT + " ORDER BY e.number")
        policy = await tenant_policy(store.pool, tenant_id)
        greetings = await _greetings(store.pool, tenant_id, rows)
        return [
            _model(
                row,
                row["device"],
                policy,
                greetings.get(row["voicemail_greeting_prompt_id"]),
                greetings.get(row["name_prompt_id"]),
            )
            for row in rows
        ]

    async def insert(
        self, connection: Connection, tenant_id: UUID, values: dict[str, Any], prefix: str = ""
    ) -> asyncpg.Record:
        """Insert checked values: its device must be the tenant's, its outside number allowed,
        its greeting one of the tenant's prompts (or text, which becomes one)."""
        device_id = await _target_ids(connection, tenant_id, values, prefix)
        greeting_id = await prompts.chosen_id(
            connection, tenant_id, values.get(GREETING), f"{prefix}{GREETING}"
        )
        name_prompt_id = await prompts.chosen_id(
            connection, tenant_id, values.get("spoken_name"), f"{prefix}spoken_name"
        )
        row = await connection.fetchrow(
            """INSERT INTO extensions (tenant_id, number, kind, first_name, last_name, device_id,
                                       external_number, voicemail_enabled, reachable_by_extension,
                                       reachable_by_name, voicemail_email,
                                       voicemail_greeting_prompt_id, name_prompt_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING *""",
            tenant_id,
            *(device_id if k == "device" else values.get(k) for k in COLUMNS),
            greeting_id,
            name_prompt_id,
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
        """Apply a patch; a new kind drops the other kind's destination unless given. Only a
        destination written anew is checked: one the policy refuses now, saved before, stays."""
        given = body.model_fields_set
        merged = before.model_dump() | body.model_dump(exclude_unset=True)
        if "kind" in given and body.kind != before.kind:
            for other in (
                ("external_number",)
                if body.kind == "physical"
                else ("device", "legacy_dial_string")
            ):
                if other not in given:
                    merged[other] = None
        if merged.get("device") is not None:
            merged["legacy_dial_string"] = None  # a device replaces the dial string of old
        values = checked(merged)
        if values["kind"] != before.kind:
            await _refuse_kind_change_while_targeted(
                connection, tenant_id, current["id"], before.kind
            )
        changed = any(
            values[k] != getattr(before, k) for k in ("kind", "device", "external_number")
        )
        device_id = (
            await _target_ids(connection, tenant_id, values, "")
            if changed
            else (current["device_id"])
        )
        greeting_id = (
            await prompts.chosen_id(connection, tenant_id, body.voicemail_greeting, GREETING)
            if GREETING in given
            else current["voicemail_greeting_prompt_id"]
        )
        name_prompt_id = (
            await prompts.chosen_id(connection, tenant_id, body.spoken_name, "spoken_name")
            if "spoken_name" in given
            else current["name_prompt_id"]
        )
        row = await connection.fetchrow(
            """UPDATE extensions SET number = $3, kind = $4, first_name = $5, last_name = $6,
                      device_id = $7, external_number = $8, voicemail_enabled = $9,
                      reachable_by_extension = $10, reachable_by_name = $11,
                      voicemail_email = $12, legacy_dial_string = $13,
                      voicemail_greeting_prompt_id = $14, name_prompt_id = $15
                WHERE tenant_id = $1 AND id = $2 RETURNING *""",
            tenant_id,
            current["id"],
            *(device_id if k == "device" else values[k] for k in COLUMNS),
            values["legacy_dial_string"],
            greeting_id,
            name_prompt_id,
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
