"""Export and import: a tenant's whole receptionist as one JSON document.

An import replaces the receptionist, its menus and keys, extensions, ring groups and
conference rooms in one transaction: it all applies, or nothing does. Menus are named, not
numbered by id, so that a document imports into another tenant.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aiohttp import web

from rcp_admin import publishing
from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import UNKNOWN_TARGET, ApiError
from rcp_admin.resources import extensions, menus, prompts, receptionist, schedule
from rcp_admin.resources.conference_rooms import CONFERENCE_ROOMS
from rcp_admin.resources.extensions import EXTENSIONS
from rcp_admin.resources.ring_groups import RING_GROUPS
from rcp_admin.routing import TENANT, Call, Routes, answer
from rcp_admin.unit_of_work import Change, Store

ROUTES = Routes(TENANT)

# Rooms with their PINs as stored (hashed): an import gives them back as they were.
ROOMS = """SELECT number, name, pin_hash, pin_too_short FROM conference_rooms
            WHERE tenant_id = $1 ORDER BY number"""


async def export(store: Store, actor: Principal, tenant_id: UUID) -> s.TenantExport:
    """The tenant's receptionist as a document an import takes back."""
    await store.tenant_row(actor, tenant_id)
    settings = await receptionist.settings(store.pool, tenant_id)
    groups = await RING_GROUPS.list_all(store, actor, tenant_id)
    keys = (await receptionist.keys(store.pool, tenant_id)).items
    all_menus = await menus.list_all(store, actor, tenant_id)
    hours = await schedule.model(store.pool, tenant_id)
    days = (await schedule.list_holidays(store, actor, tenant_id)).items
    return s.TenantExport(
        receptionist=s.ExportReceptionist(
            greeting=prompts.tts_of(settings.greeting),
            **settings.model_dump(exclude={"greeting"}),
        ),
        extensions=[
            s.ExtensionCreate(
                **e.model_dump(
                    include=set(s.ExtensionCreate.model_fields)
                    - {"voicemail_greeting", "spoken_name"}
                ),
                # Text to speak travels; an uploaded or recorded greeting does not (its audio
                # stays with the tenant that has it): the standard greeting is heard instead.
                voicemail_greeting=prompts.tts_of(e.voicemail_greeting),
                spoken_name=_spoken_name(e.spoken_name),
            )
            for e in await EXTENSIONS.list_all(store, actor, tenant_id)
        ],
        ring_groups=[
            s.RingGroupCreate(**g.model_dump(include=set(s.RingGroupCreate.model_fields)))
            for g in groups
        ],
        conference_rooms=[
            s.ExportConferenceRoom.model_validate(dict(r))
            for r in await store.pool.fetch(ROOMS, tenant_id)
        ],
        keys=_export_keys(keys),
        first_menu_name=all_menus.items[0].name,
        menus=[
            s.ExportMenu(
                name=m.name,
                language=m.language,
                greeting=prompts.tts_of(m.greeting),
                dial_extension_enabled=m.dial_extension_enabled,
                menu_timeout_s=m.menu_timeout_s,
                inter_digit_timeout_s=m.inter_digit_timeout_s,
                keys=_export_keys(m.keys),
            )
            for m in all_menus.items
            if not m.first
        ],
        schedule=s.ExportSchedule(
            weekly=hours.weekly,  # type: ignore[arg-type]
            closed_menu=hours.menus.closed.name if hours.menus.closed else None,
            holiday_menu=hours.menus.holiday.name if hours.menus.holiday else None,
            override_closed_menu=(
                hours.menus.override_closed.name if hours.menus.override_closed else None
            ),
        ),
        holidays=[
            s.HolidayCreate(name=h.name, start=h.start, end=h.end, yearly=h.yearly) for h in days
        ],
    )


def _spoken_name(prompt: s.Prompt | None) -> s.TtsPrompt | s.GreetingRef | None:
    """A spoken name as an import takes it back: its text, or its recording by prompt id (a
    recording is audio of this tenant's: another tenant's import refuses the id, 422
    `unknown_target` on the field, until it is uploaded there and named by its new id)."""
    if prompt is None:
        return None
    return prompts.tts_of(prompt) or s.GreetingRef(prompt_id=prompt.id)


def _export_keys(keys: list[s.Key]) -> list[s.ExportKey]:
    exported = []
    for key in keys:
        if not key.assigned:
            continue
        if key.menu is not None:
            assignment: s.ExportAssignment = s.ExportOpenMenu(
                action="open_menu", menu=key.menu.name
            )
        else:
            assignment = receptionist.assignment_of(key)  # type: ignore[assignment]
        exported.append(s.ExportKey(digit=key.digit, assignment=assignment))
    return exported


async def _assign_keys(
    change: Change,
    tenant_id: UUID,
    menu_id: UUID,
    keys: list[s.ExportKey],
    menu_ids: dict[str, UUID],
    prefix: str,
) -> None:
    for key in keys:
        field = f"{prefix}keys[{key.digit}]."
        assignment: s.KeyAssignment
        if isinstance(key.assignment, s.ExportOpenMenu):
            target = menu_ids.get(key.assignment.menu)
            if target is None:
                raise ApiError(
                    UNKNOWN_TARGET,
                    f"there is no menu {key.assignment.menu} in the document",
                    f"{field}menu",
                )
            assignment = s.OpenMenu(action="open_menu", menu_id=target)
        else:
            assignment = key.assignment
        await receptionist.assign(
            change.connection, tenant_id, key.digit, assignment, field, menu_id=menu_id
        )


async def _replace(change: Change, tenant_id: UUID, body: s.TenantExport) -> None:
    connection = change.connection
    for table in ("key_assignments", "ring_groups", "conference_rooms"):
        await connection.execute(f"DELETE FROM {table} WHERE tenant_id = $1", tenant_id)
    # The schedule names menus about to go: it is written again below (its override, which is
    # no configuration but a switch, stays as it is).
    override = await connection.fetchrow(
        "DELETE FROM schedules WHERE tenant_id = $1 RETURNING override_mode, override_until",
        tenant_id,
    )
    await connection.execute("DELETE FROM holidays WHERE tenant_id = $1", tenant_id)
    await connection.execute("DELETE FROM menus WHERE tenant_id = $1 AND NOT is_first", tenant_id)
    await connection.execute(
        "UPDATE receptionists SET exhausted_extension_id = NULL WHERE tenant_id = $1",
        tenant_id,
    )
    await connection.execute("DELETE FROM extensions WHERE tenant_id = $1", tenant_id)
    for index, extension in enumerate(body.extensions):
        prefix = f"extensions[{index}]."
        values = extensions.checked(extension.model_dump(), prefix)
        await EXTENSIONS.insert(connection, tenant_id, values, prefix)
    for group in body.ring_groups:
        await RING_GROUPS.insert(connection, tenant_id, group.model_dump())
    for room in body.conference_rooms:
        await CONFERENCE_ROOMS.insert(connection, tenant_id, room.model_dump())
    settings = body.receptionist
    exhausted = (
        None
        if settings.exhausted_extension is None
        else await extensions.id_of(
            connection, tenant_id, settings.exhausted_extension, "receptionist.exhausted_extension"
        )
    )
    await connection.execute(
        """UPDATE receptionists SET greeting_prompt_id = $2, language = $3, dial_extension_enabled = $4,
                  menu_timeout_s = $5, inter_digit_timeout_s = $6, menu_max_retries = $7,
                  name_max_retries = $8, transfer_ring_s = $9, exhausted_extension_id = $10
            WHERE tenant_id = $1""",
        tenant_id,
        await receptionist.greeting_id(connection, tenant_id, settings.greeting),
        settings.language,
        settings.dial_extension_enabled,
        settings.menu_timeout_s,
        settings.inter_digit_timeout_s,
        settings.menu_max_retries,
        settings.name_max_retries,
        settings.transfer_ring_s,
        exhausted,
    )
    first = await receptionist.first_menu_id(connection, tenant_id)
    if body.first_menu_name is not None:
        await connection.execute(
            "UPDATE menus SET name = $3 WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            first,
            body.first_menu_name,
        )
    menu_ids = {await connection.fetchval("SELECT name FROM menus WHERE id = $1", first): first}
    for menu in body.menus:
        menu_ids[menu.name] = await connection.fetchval(
            """INSERT INTO menus (tenant_id, name, language, greeting_prompt_id,
                                  dial_extension_enabled, menu_timeout_s, inter_digit_timeout_s)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
            tenant_id,
            menu.name,
            menu.language,
            await receptionist.greeting_id(connection, tenant_id, menu.greeting),
            menu.dial_extension_enabled,
            menu.menu_timeout_s,
            menu.inter_digit_timeout_s,
        )
    await _assign_keys(change, tenant_id, first, body.keys, menu_ids, "")
    for index, menu in enumerate(body.menus):
        await _assign_keys(
            change, tenant_id, menu_ids[menu.name], menu.keys, menu_ids, f"menus[{index}]."
        )
    if body.schedule is not None:
        await _write_schedule(connection, tenant_id, body.schedule, menu_ids)
    if override is not None and override["override_mode"] is not None:
        await connection.execute(
            """INSERT INTO schedules (tenant_id, override_mode, override_until) VALUES ($1, $2, $3)
               ON CONFLICT (tenant_id) DO UPDATE SET override_mode = EXCLUDED.override_mode,
                   override_until = EXCLUDED.override_until""",
            tenant_id,
            override["override_mode"],
            override["override_until"],
        )
    for holiday in body.holidays:
        await connection.execute(
            """INSERT INTO holidays (tenant_id, name, start_date, end_date, yearly)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
            tenant_id,
            holiday.name,
            holiday.start,
            holiday.end or holiday.start,
            holiday.yearly,
        )


async def _write_schedule(
    connection: Any, tenant_id: UUID, hours: s.ExportSchedule, menu_ids: dict[str, UUID]
) -> None:
    named = {}
    for field in ("closed_menu", "holiday_menu", "override_closed_menu"):
        name = getattr(hours, field)
        if name is not None and name not in menu_ids:
            raise ApiError(
                UNKNOWN_TARGET, f"there is no menu {name} in the document", f"schedule.{field}"
            )
        named[field] = menu_ids.get(name) if name is not None else None
    await connection.execute(
        """INSERT INTO schedules (tenant_id, weekly, closed_menu_id, holiday_menu_id,
                                  override_menu_id) VALUES ($1, $2, $3, $4, $5)""",
        tenant_id,
        {day: [r.model_dump() for r in ranges] for day, ranges in hours.weekly.items()},
        named["closed_menu"],
        named["holiday_menu"],
        named["override_closed_menu"],
    )


async def import_(
    store: Store, actor: Principal, tenant_id: UUID, body: s.TenantExport, request_id: str | None
) -> None:
    """Replace the tenant's receptionist, keys, extensions, groups and rooms, atomically."""
    async with store.tenant_write(
        actor, tenant_id, "tenant", "import", str(tenant_id), request_id, lock=True
    ) as change:
        await _replace(change, tenant_id, body)
        await publishing.publish_if_versioned(
            change.connection, tenant_id, actor, "published by an import"
        )
        change.after = {
            "extensions": len(body.extensions),
            "ring_groups": len(body.ring_groups),
            "conference_rooms": len(body.conference_rooms),
            "keys": len(body.keys),
            "menus": len(body.menus),
        }


@ROUTES.get("/export", response=s.TenantExport)
async def export_tenant(c: Call) -> web.Response:
    """The whole receptionist as one document"""
    return answer(await export(c.store, c.principal, c.tenant_id))


@ROUTES.post("/import", body=s.TenantExport, response=s.TenantExport, access="admin")
async def import_tenant(c: Call) -> web.Response:
    """Replace the receptionist with a document, atomically"""
    body = await c.body(s.TenantExport)
    await import_(c.store, c.principal, c.tenant_id, body, c.request_id)
    return answer(await export(c.store, c.principal, c.tenant_id))  # what it now is
