"""A tenant's receptionist, read the same way by the admin API and the call flow: its row,
and the whole of it (settings, menus, keys) as one document."""

from __future__ import annotations

import json
from datetime import datetime
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
      FROM menus WHERE tenant_id = $1"""

KEYS = """
    SELECT menu_id, digit, action, prompt_id, target_kind,
           COALESCE(target_extension_id, target_ring_group_id, target_conference_id) AS target_id,
           target_menu_id
      FROM key_assignments WHERE tenant_id = $1"""


def _utc(column: str) -> str:
    """A timestamp column as JSON text in UTC, whatever the session's time zone (as asyncpg
    would read it: a document holds the same text however it was read)."""
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


SCHEDULE = f"""
    SELECT weekly, override_mode, {_utc("override_until")} AS override_until, closed_menu_id,
           holiday_menu_id, override_menu_id
      FROM schedules WHERE tenant_id = $1"""

HOLIDAYS = """
    SELECT id, name, start_date AS start, end_date AS end, yearly
      FROM holidays WHERE tenant_id = $1"""

# The receptionist's rows as one JSON value, read in one round trip (one statement: one
# consistent read): `settings` null if the tenant has no receptionist.
DOCUMENT_ROWS = f"""json_build_object(
    'settings', (SELECT row_to_json(r) FROM ({SETTINGS_ROW}) r),
    'menus', (SELECT coalesce(json_agg(r ORDER BY NOT r.first, r.name), '[]') FROM ({MENUS}) r),
    'keys', (SELECT coalesce(json_agg(r ORDER BY r.digit), '[]') FROM ({KEYS}) r),
    'schedule', (SELECT row_to_json(r) FROM ({SCHEDULE}) r),
    'holidays',
        (SELECT coalesce(json_agg(r ORDER BY r.start, r.name), '[]') FROM ({HOLIDAYS}) r))"""


def _decoded(value: Any) -> Any:
    """A JSON value: decoded already by the pool's codec (`rcp.db.pool`), or text."""
    return json.loads(value) if isinstance(value, str) else value


def document_of(rows: Any) -> ReceptionistDocument | None:
    """The document `DOCUMENT_ROWS` read; None if the tenant has no receptionist."""
    rows = _decoded(rows)
    if rows["settings"] is None:
        return None
    keys: dict[str, dict[str, KeyDoc]] = {}
    for key in rows["keys"]:
        keys.setdefault(key["menu_id"], {})[key["digit"]] = KeyDoc(
            action=key["action"],
            prompt_id=key["prompt_id"],
            target_kind=key["target_kind"],
            target_id=key["target_id"],
            menu_id=key["target_menu_id"],
        )
    menus = [MenuDoc(**menu, keys=keys.get(menu["id"], {})) for menu in rows["menus"]]
    holidays = [HolidayDoc(**holiday) for holiday in rows["holidays"]]
    schedule = rows["schedule"]
    return ReceptionistDocument(
        settings=SettingsDoc(**rows["settings"]),
        menus=menus,
        schedule=(
            ScheduleDoc(holidays=holidays)
            if schedule is None
            else ScheduleDoc(**schedule | {"holidays": holidays})
        ),
    )


async def read_document(connection: Reader, tenant_id: UUID) -> ReceptionistDocument | None:
    """The receptionist's rows as one document (one statement: a consistent read); None if the
    tenant has no receptionist."""
    return document_of(await connection.fetchval(f"SELECT {DOCUMENT_ROWS}", tenant_id))


# What callers hear, as three columns of one statement (`PUBLISHED` reads them alone;
# `rcp.config_store` reads them with the rest of a snapshot): the latest version, the override
# as it is now, and the draft's rows (only while no version exists).
PUBLISHED_COLUMNS = f"""
    (SELECT row_to_json(v) FROM (
        SELECT number, document FROM receptionist_versions
         WHERE tenant_id = $1 ORDER BY number DESC LIMIT 1) v) AS published,
    (SELECT row_to_json(o) FROM (
        SELECT override_mode, {_utc("override_until")} AS override_until
          FROM schedules WHERE tenant_id = $1) o) AS override,
    CASE WHEN NOT EXISTS (SELECT FROM receptionist_versions WHERE tenant_id = $1)
         THEN {DOCUMENT_ROWS} END AS draft"""

PUBLISHED = f"SELECT {PUBLISHED_COLUMNS}"


def published_of(row: Any) -> tuple[int | None, ReceptionistDocument | None]:
    """What callers hear, from a row with `PUBLISHED_COLUMNS`: the latest published version
    (its number and document), with the manual override as it is now (it is not versioned);
    with no version yet, the draft (version None)."""
    published = _decoded(row["published"])
    if published is None:
        return None, document_of(row["draft"])
    document = ReceptionistDocument.model_validate(_decoded(published["document"]))
    override = _decoded(row["override"]) or {}
    mode, until = override.get("override_mode"), override.get("override_until")
    schedule = document.schedule.model_copy(
        update={
            "override_mode": None if mode is None else OverrideMode(mode),
            "override_until": None if until is None else datetime.fromisoformat(until),
        }
    )
    number: int = published["number"]
    return number, document.model_copy(update={"schedule": schedule})


async def read_published(
    connection: Reader, tenant_id: UUID
) -> tuple[int | None, ReceptionistDocument | None]:
    """What callers hear (`published_of`), read in one statement: a tenant that never
    published is heard as its tables say."""
    return published_of(await connection.fetchrow(PUBLISHED, tenant_id))
