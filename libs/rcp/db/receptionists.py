"""A tenant's receptionist, read the same way by the admin API and the call flow: its row,
and the whole of it (settings, menus, keys) as one document."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import asyncpg

from rcp.contracts.receptionist import (
    HolidayDoc,
    KeyDoc,
    MenuDoc,
    ReceptionistDocument,
    ScheduleDoc,
    SettingsDoc,
)
from rcp.vocabulary import OverrideMode

Reader = Any  # a connection or a pool: anything with fetch and fetchrow

# The row, with its last-retry target resolved to the extension's number.
SELECT = """
    SELECT r.greeting_prompt_id, r.language, r.dial_extension_enabled, r.menu_timeout_s,
           r.inter_digit_timeout_s, r.menu_max_retries, r.name_max_retries, r.transfer_ring_s,
           e.number AS exhausted_number
      FROM receptionists r
      LEFT JOIN extensions e ON e.tenant_id = r.tenant_id AND e.id = r.exhausted_extension_id
     WHERE r.tenant_id = $1"""

SETTINGS = (
    "language",
    "dial_extension_enabled",
    "menu_timeout_s",
    "inter_digit_timeout_s",
    "menu_max_retries",
    "name_max_retries",
    "transfer_ring_s",
)


def settings_of(row: asyncpg.Record) -> dict[str, Any]:
    """The settings a row read with `SELECT` holds, by name (the greeting apart)."""
    return {name: row[name] for name in SETTINGS} | {"exhausted_extension": row["exhausted_number"]}


SETTINGS_ROW = """
    SELECT greeting_prompt_id, language, dial_extension_enabled, menu_timeout_s,
           inter_digit_timeout_s, menu_max_retries, name_max_retries, transfer_ring_s,
           exhausted_extension_id
      FROM receptionists WHERE tenant_id = $1"""

MENUS = """
    SELECT id, name, is_first AS first, language, greeting_prompt_id, dial_extension_enabled,
           menu_timeout_s, inter_digit_timeout_s
      FROM menus WHERE tenant_id = $1 ORDER BY NOT is_first, name"""

KEYS = """
    SELECT menu_id, digit, action, prompt_id, target_kind,
           COALESCE(target_extension_id, target_ring_group_id, target_conference_id) AS target_id,
           target_menu_id
      FROM key_assignments WHERE tenant_id = $1 ORDER BY digit"""


SCHEDULE = """
    SELECT weekly, override_mode, override_until, closed_menu_id, holiday_menu_id,
           override_menu_id
      FROM schedules WHERE tenant_id = $1"""

HOLIDAYS = """
    SELECT id, name, start_date AS start, end_date AS end, yearly
      FROM holidays WHERE tenant_id = $1 ORDER BY start_date, name"""


async def read_schedule(connection: Reader, tenant_id: UUID) -> ScheduleDoc:
    """The tenant's hours, holidays and override (no row: always open)."""
    holidays = [HolidayDoc(**dict(row)) for row in await connection.fetch(HOLIDAYS, tenant_id)]
    row = await connection.fetchrow(SCHEDULE, tenant_id)
    if row is None:
        return ScheduleDoc(holidays=holidays)
    values = dict(row)
    weekly = values.pop("weekly")
    return ScheduleDoc(
        weekly=json.loads(weekly) if isinstance(weekly, str) else weekly,
        holidays=holidays,
        **values,
    )


async def read_document(connection: Reader, tenant_id: UUID) -> ReceptionistDocument | None:
    """The receptionist's rows as one document (in one transaction, for a consistent read);
    None if the tenant has no receptionist."""
    row = await connection.fetchrow(SETTINGS_ROW, tenant_id)
    if row is None:
        return None
    keys: dict[UUID, dict[str, KeyDoc]] = {}
    for key in await connection.fetch(KEYS, tenant_id):
        keys.setdefault(key["menu_id"], {})[key["digit"]] = KeyDoc(
            action=key["action"],
            prompt_id=key["prompt_id"],
            target_kind=key["target_kind"],
            target_id=key["target_id"],
            menu_id=key["target_menu_id"],
        )
    menus = [
        MenuDoc(**dict(menu), keys=keys.get(menu["id"], {}))
        for menu in await connection.fetch(MENUS, tenant_id)
    ]
    return ReceptionistDocument(
        settings=SettingsDoc(**dict(row)),
        menus=menus,
        schedule=await read_schedule(connection, tenant_id),
    )


PUBLISHED = """
    SELECT number, document FROM receptionist_versions
     WHERE tenant_id = $1 ORDER BY number DESC LIMIT 1"""

OVERRIDE = "SELECT override_mode, override_until FROM schedules WHERE tenant_id = $1"


async def read_published(
    connection: Reader, tenant_id: UUID
) -> tuple[int | None, ReceptionistDocument | None]:
    """What callers hear: the latest published version (its number and document), with the
    manual override as it is now (it is not versioned); with no version yet, the draft
    (version None): a tenant that never published is heard as its tables say."""
    row = await connection.fetchrow(PUBLISHED, tenant_id)
    if row is None:
        return None, await read_document(connection, tenant_id)
    raw = row["document"]
    document = ReceptionistDocument.model_validate(json.loads(raw) if isinstance(raw, str) else raw)
    override = await connection.fetchrow(OVERRIDE, tenant_id)
    mode = override["override_mode"] if override else None
    schedule = document.schedule.model_copy(
        update={
            "override_mode": None if mode is None else OverrideMode(mode),
            "override_until": override["override_until"] if override else None,
        }
    )
    number: int = row["number"]
    return number, document.model_copy(update={"schedule": schedule})
