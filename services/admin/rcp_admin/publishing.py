"""Publishing the receptionist: the draft compiled into numbered versions, and their summaries.

The draft is the receptionist's tables; a version is their document
(`rcp.db.receptionists.read_document`) as it was published, without the manual override
(which is not versioned). `resources.versions` has the API; the resources that edit the draft
call `baseline` before a draft-only edit, and `publish_draft` where an edit publishes at once.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any
from uuid import UUID

from rcp.contracts.receptionist import KeyDoc, MenuDoc, ReceptionistDocument
from rcp.db import receptionists

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import not_found
from rcp_admin.unit_of_work import Reader

if TYPE_CHECKING:
    from rcp_admin.unit_of_work import Connection

VERSION = """SELECT number, summary, comment, published_by, published_at, rolled_back_from
               FROM receptionist_versions"""


def document_of(raw: Any) -> ReceptionistDocument:
    """A document as a version row holds it."""
    return ReceptionistDocument.model_validate(json.loads(raw) if isinstance(raw, str) else raw)


def _versioned(document: ReceptionistDocument) -> dict[str, Any]:
    """A document as versions compare and keep it: without the override, which is not versioned."""
    kept: dict[str, Any] = json.loads(
        document.model_copy(
            update={
                "schedule": document.schedule.model_copy(
                    update={"override_mode": None, "override_until": None}
                )
            }
        ).model_dump_json()
    )
    return kept


async def _draft(reader: Reader, tenant_id: UUID) -> ReceptionistDocument:
    document = await receptionists.read_document(reader, tenant_id)
    if document is None:
        raise not_found("receptionist", "tenant_id")
    return document


async def latest_version(reader: Reader, tenant_id: UUID) -> tuple[int, dict[str, Any]] | None:
    """The latest version's number and document, if any."""
    row = await reader.fetchrow(
        "SELECT number, document FROM receptionist_versions WHERE tenant_id = $1"
        " ORDER BY number DESC LIMIT 1",
        tenant_id,
    )
    if row is None:
        return None
    raw = row["document"]
    return row["number"], json.loads(raw) if isinstance(raw, str) else raw


# --- the summary ----------------------------------------------------------------------------


async def _names(reader: Reader, tenant_id: UUID) -> dict[UUID, str]:
    """What keys point at, in words: "extension 101 (Amélie Poulain)", "ring group 200 (...)"."""
    names: dict[UUID, str] = {}
    for row in await reader.fetch(
        """SELECT id, 'extension ' || number || coalesce(' (' || nullif(btrim(first_name || ' '
                  || last_name), '') || ')', '') AS said FROM extensions WHERE tenant_id = $1
           UNION ALL SELECT id, 'ring group ' || number || ' (' || name || ')' FROM ring_groups
            WHERE tenant_id = $1
           UNION ALL SELECT id, 'conference room ' || number || ' (' || name || ')'
             FROM conference_rooms WHERE tenant_id = $1""",
        tenant_id,
    ):
        names[row["id"]] = row["said"]
    return names


def _said(key: KeyDoc | None, names: dict[UUID, str], menus: dict[UUID, str]) -> str:
    if key is None:
        return "nothing"
    match key.action:
        case "dial_by_name":
            return "dial by name"
        case "play_announcement":
            return "an announcement"
        case "open_menu":
            return f"opens menu {menus.get(key.menu_id, '?') if key.menu_id else '?'}"
        case _:
            target = names.get(key.target_id, "?") if key.target_id else "?"
            return f"{'voicemail of ' if key.target_kind == 'voicemail' else ''}{target}"


SETTING_WORDS = {
    "language": "language",
    "dial_extension_enabled": "dial-extension",
    "menu_timeout_s": "menu time-out",
    "inter_digit_timeout_s": "inter-digit time-out",
    "menu_max_retries": "menu retries",
    "name_max_retries": "name retries",
    "transfer_ring_s": "ring time",
    "exhausted_extension_id": "last-retry extension",
}


def summary(
    before: ReceptionistDocument | None, after: ReceptionistDocument, names: dict[UUID, str]
) -> list[str]:
    """What changed from one document to the next, one line each, in words an admin reads."""
    if before is None:
        return ["first version: the receptionist as it was"]
    lines: list[str] = []
    menus = {m.id: m.name for m in (*before.menus, *after.menus)}
    for field, word in SETTING_WORDS.items():
        old, new = getattr(before.settings, field), getattr(after.settings, field)
        if old != new:
            if field == "exhausted_extension_id":
                old, new = names.get(old, old or "none"), names.get(new, new or "none")
            lines.append(f"{word}: {old} → {new}")
    if before.settings.greeting_prompt_id != after.settings.greeting_prompt_id:
        lines.append("greeting of the first menu changed")
    old_menus = {m.id: m for m in before.menus}
    new_menus = {m.id: m for m in after.menus}
    for menu_id, menu in new_menus.items():
        old = old_menus.get(menu_id)
        if old is None:
            lines.append(f"menu {menu.name} added")
        lines += _menu_changes(old, menu, names, menus)
    lines += [f"menu {m.name} removed" for i, m in old_menus.items() if i not in new_menus]
    lines += _schedule_changes(before, after, menus)
    return lines or ["no change"]


def _menu_changes(
    old: MenuDoc | None, new: MenuDoc, names: dict[UUID, str], menus: dict[UUID, str]
) -> list[str]:
    lines = []
    if old is not None:
        if old.name != new.name:
            lines.append(f"menu {old.name} renamed {new.name}")
        for field in (
            "language",
            "dial_extension_enabled",
            "menu_timeout_s",
            "inter_digit_timeout_s",
        ):
            before, after = getattr(old, field), getattr(new, field)
            if before != after:
                lines.append(
                    f"menu {new.name}: {SETTING_WORDS[field]} {before or 'inherited'} → "
                    f"{after or 'inherited'}"
                )
        if old.greeting_prompt_id != new.greeting_prompt_id:
            lines.append(f"menu {new.name}: greeting changed")
    old_keys = old.keys if old is not None else {}
    for digit in "0123456789":
        was, now = old_keys.get(digit), new.keys.get(digit)
        if was != now:
            lines.append(
                f"menu {new.name}, key {digit}: {_said(was, names, menus)} → "
                f"{_said(now, names, menus)}"
            )
    return lines


def _schedule_changes(
    before: ReceptionistDocument, after: ReceptionistDocument, menus: dict[UUID, str]
) -> list[str]:
    lines = []
    old, new = before.schedule, after.schedule
    for day in s.WEEKDAY_NAMES:
        was = ", ".join(f"{r.start}-{r.end}" for r in old.weekly.get(day, [])) or "closed"
        now = ", ".join(f"{r.start}-{r.end}" for r in new.weekly.get(day, [])) or "closed"
        if was != now:
            lines.append(f"hours on {day}: {was} → {now}")
    for field, state in (
        ("closed_menu_id", "closed"),
        ("holiday_menu_id", "holiday"),
        ("override_menu_id", "override closed"),
    ):
        was_id, now_id = getattr(old, field), getattr(new, field)
        if was_id != now_id:
            was = menus.get(was_id, "the default") if was_id else "the default"
            now = menus.get(now_id, "the default") if now_id else "the default"
            lines.append(f"menu when {state}: {was} → {now}")
    old_days = {(h.name, h.start, h.end, h.yearly) for h in old.holidays}
    new_days = {(h.name, h.start, h.end, h.yearly) for h in new.holidays}
    lines += [
        f"holiday {n} ({a}{'' if a == b else f' to {b}'}) added"
        for n, a, b, _ in sorted(new_days - old_days)
    ]
    lines += [
        f"holiday {n} ({a}{'' if a == b else f' to {b}'}) removed"
        for n, a, b, _ in sorted(old_days - new_days)
    ]
    return lines


# --- publishing -----------------------------------------------------------------------------


async def _insert_version(
    connection: Connection,
    tenant_id: UUID,
    document: dict[str, Any],
    lines: list[str],
    actor: Principal,
    comment: str | None,
    rolled_back_from: int | None = None,
) -> s.Version:
    row = await connection.fetchrow(
        """INSERT INTO receptionist_versions (tenant_id, number, document, summary, comment,
                                              published_by, rolled_back_from)
           VALUES ($1, coalesce((SELECT max(number) FROM receptionist_versions
                                  WHERE tenant_id = $1), 0) + 1,
                   $2, $3, $4, $5, $6)
           RETURNING number, summary, comment, published_by, published_at, rolled_back_from""",
        tenant_id,
        document,
        lines,
        comment,
        actor.name,
        rolled_back_from,
    )
    return version_of(row)


def version_of(row: Any) -> s.Version:
    """A version row as the API shows it."""
    values = dict(row)
    raw = values["summary"]
    values["summary"] = json.loads(raw) if isinstance(raw, str) else raw
    return s.Version.model_validate(values)


async def baseline(connection: Connection, tenant_id: UUID, actor: Principal) -> None:
    """Before a draft-only edit of a tenant that never published: publish the receptionist as
    it is (callers hear it so far), so that the edit waits for a publish."""
    if await connection.fetchval(
        "SELECT true FROM receptionist_versions WHERE tenant_id = $1 LIMIT 1", tenant_id
    ):
        return
    document = _versioned(await _draft(connection, tenant_id))
    await _insert_version(
        connection, tenant_id, document, summary(None, document_of(document), {}), actor, None
    )


async def publish_draft(
    connection: Connection,
    tenant_id: UUID,
    actor: Principal,
    comment: str | None,
    rolled_back_from: int | None = None,
    allow_unchanged: bool = False,
) -> s.Version | None:
    """Publish the draft as the next version; None if it is the latest version already."""
    document = _versioned(await _draft(connection, tenant_id))
    latest = await latest_version(connection, tenant_id)
    if latest is not None and latest[1] == document and not allow_unchanged:
        return None
    before = document_of(latest[1]) if latest is not None else None
    lines = summary(before, document_of(document), await _names(connection, tenant_id))
    if rolled_back_from is not None:
        lines = [f"rollback to version {rolled_back_from}", *lines]
    return await _insert_version(
        connection, tenant_id, document, lines, actor, comment, rolled_back_from
    )


async def draft(reader: Reader, tenant_id: UUID) -> s.Draft:
    """Whether the draft differs from what callers hear, and how."""
    document = _versioned(await _draft(reader, tenant_id))
    latest = await latest_version(reader, tenant_id)
    fingerprint = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32]
    if latest is None:
        return s.Draft(changed=False, published=None, summary=[], fingerprint=fingerprint)
    changed = latest[1] != document
    lines = (
        summary(document_of(latest[1]), document_of(document), await _names(reader, tenant_id))
        if changed
        else []
    )
    return s.Draft(changed=changed, published=latest[0], summary=lines, fingerprint=fingerprint)


async def publish_if_versioned(
    connection: Connection, tenant_id: UUID, actor: Principal, comment: str
) -> s.Version | None:
    """Publish the draft at once, for the edits that always did take effect at once; a tenant
    that never published needs nothing (its tables are what callers hear)."""
    if not await connection.fetchval(
        "SELECT true FROM receptionist_versions WHERE tenant_id = $1 LIMIT 1", tenant_id
    ):
        return None
    return await publish_draft(connection, tenant_id, actor, comment)
