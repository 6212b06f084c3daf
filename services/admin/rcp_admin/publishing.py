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

Line = dict[str, str]
"""One line of a summary, in each language the web manager speaks: `en`, `fr`."""

LANGUAGES = ("en", "fr")


def _line(en: str, fr: str) -> Line:
    return {"en": en, "fr": fr}


def in_language(lines: list[Any], language: str) -> list[str]:
    """A summary's lines in one language (a line stored before summaries were translated is
    English only, and shown as it is)."""
    return [
        str(line.get(language) or line["en"]) if isinstance(line, dict) else str(line)
        for line in lines
    ]


def by_language(lines: list[Any]) -> dict[str, list[str]]:
    """A summary in every language of `LANGUAGES`."""
    return {language: in_language(lines, language) for language in LANGUAGES}


_KINDS = {
    "extension": ("extension", "poste"),
    "ring group": ("ring group", "groupe d’appels"),
    "conference room": ("conference room", "salle de conférence"),
}
_DAYS_FR = {
    "mon": "lundi",
    "tue": "mardi",
    "wed": "mercredi",
    "thu": "jeudi",
    "fri": "vendredi",
    "sat": "samedi",
    "sun": "dimanche",
}


async def _names(reader: Reader, tenant_id: UUID) -> dict[UUID, Line]:
    """What keys point at, in words: "extension 101 (Amélie Poulain)", "ring group 200 (...)"."""
    names: dict[UUID, Line] = {}
    for row in await reader.fetch(
        """SELECT id, 'extension' AS kind, number,
                  nullif(btrim(first_name || ' ' || last_name), '') AS name
             FROM extensions WHERE tenant_id = $1
           UNION ALL SELECT id, 'ring group', number, name FROM ring_groups WHERE tenant_id = $1
           UNION ALL SELECT id, 'conference room', number, name
             FROM conference_rooms WHERE tenant_id = $1""",
        tenant_id,
    ):
        named = f" ({row['name']})" if row["name"] else ""
        en, fr = _KINDS[row["kind"]]
        names[row["id"]] = _line(f"{en} {row['number']}{named}", f"{fr} {row['number']}{named}")
    return names


_UNKNOWN = _line("?", "?")


def _said(key: KeyDoc | None, names: dict[UUID, Line], menus: dict[UUID, str]) -> Line:
    if key is None:
        return _line("nothing", "rien")
    match key.action:
        case "dial_by_name":
            return _line("dial by name", "annuaire par nom")
        case "play_announcement":
            return _line("an announcement", "une annonce")
        case "open_menu":
            menu = menus.get(key.menu_id, "?") if key.menu_id else "?"
            return _line(f"opens menu {menu}", f"ouvre le menu {menu}")
        case _:
            target = names.get(key.target_id, _UNKNOWN) if key.target_id else _UNKNOWN
            if key.target_kind == "voicemail":
                return _line(f"voicemail of {target['en']}", f"messagerie du {target['fr']}")
            return target


SETTING_WORDS = {
    "language": ("language", "langue"),
    "dial_extension_enabled": ("dial-extension", "composition du poste"),
    "menu_timeout_s": ("menu time-out", "délai du menu"),
    "inter_digit_timeout_s": ("inter-digit time-out", "délai entre les touches"),
    "menu_max_retries": ("menu retries", "essais du menu"),
    "name_max_retries": ("name retries", "essais du nom"),
    "transfer_ring_s": ("ring time", "durée de sonnerie"),
    "exhausted_extension_id": ("last-retry extension", "poste après le dernier essai"),
}


def _value(value: Any, fr: bool) -> str:
    """A setting's value as a person reads it."""
    if isinstance(value, bool):
        return ("oui" if value else "non") if fr else ("yes" if value else "no")
    return str(value)


def summary(
    before: ReceptionistDocument | None, after: ReceptionistDocument, names: dict[UUID, Line]
) -> list[Line]:
    """What changed from one document to the next, one line each, in words an admin reads."""
    if before is None:
        return [
            _line(
                "first version: the receptionist as it was",
                "première version : la réceptionniste telle qu’elle était",
            )
        ]
    lines: list[Line] = []
    menus = {m.id: m.name for m in (*before.menus, *after.menus)}
    for field, (en, fr) in SETTING_WORDS.items():
        old, new = getattr(before.settings, field), getattr(after.settings, field)
        if old != new:
            if field == "exhausted_extension_id":
                none = _line("none", "aucun")
                was, now = names.get(old, none), names.get(new, none)
                lines.append(
                    _line(f"{en}: {was['en']} → {now['en']}", f"{fr} : {was['fr']} → {now['fr']}")
                )
            else:
                lines.append(
                    _line(
                        f"{en}: {_value(old, False)} → {_value(new, False)}",
                        f"{fr} : {_value(old, True)} → {_value(new, True)}",
                    )
                )
    if before.settings.greeting_prompt_id != after.settings.greeting_prompt_id:
        lines.append(_line("greeting of the first menu changed", "accueil du premier menu modifié"))
    old_menus = {m.id: m for m in before.menus}
    new_menus = {m.id: m for m in after.menus}
    for menu_id, menu in new_menus.items():
        old = old_menus.get(menu_id)
        if old is None:
            lines.append(_line(f"menu {menu.name} added", f"menu {menu.name} ajouté"))
        lines += _menu_changes(old, menu, names, menus)
    lines += [
        _line(f"menu {m.name} removed", f"menu {m.name} supprimé")
        for i, m in old_menus.items()
        if i not in new_menus
    ]
    lines += _schedule_changes(before, after, menus)
    return lines or [_line("no change", "aucun changement")]


def _menu_changes(
    old: MenuDoc | None, new: MenuDoc, names: dict[UUID, Line], menus: dict[UUID, str]
) -> list[Line]:
    lines = []
    if old is not None:
        if old.name != new.name:
            lines.append(
                _line(f"menu {old.name} renamed {new.name}", f"menu {old.name} renommé {new.name}")
            )
        for field in (
            "language",
            "dial_extension_enabled",
            "menu_timeout_s",
            "inter_digit_timeout_s",
        ):
            before, after = getattr(old, field), getattr(new, field)
            if before != after:
                en, fr = SETTING_WORDS[field]
                was_en = "inherited" if before is None else _value(before, False)
                now_en = "inherited" if after is None else _value(after, False)
                was_fr = "hérité" if before is None else _value(before, True)
                now_fr = "hérité" if after is None else _value(after, True)
                lines.append(
                    _line(
                        f"menu {new.name}: {en} {was_en} → {now_en}",
                        f"menu {new.name} : {fr} {was_fr} → {now_fr}",
                    )
                )
        if old.greeting_prompt_id != new.greeting_prompt_id:
            lines.append(
                _line(f"menu {new.name}: greeting changed", f"menu {new.name} : accueil modifié")
            )
    old_keys = old.keys if old is not None else {}
    for digit in "0123456789":
        was, now = old_keys.get(digit), new.keys.get(digit)
        if was != now:
            said_was, said_now = _said(was, names, menus), _said(now, names, menus)
            lines.append(
                _line(
                    f"menu {new.name}, key {digit}: {said_was['en']} → {said_now['en']}",
                    f"menu {new.name}, touche {digit} : {said_was['fr']} → {said_now['fr']}",
                )
            )
    return lines


def _schedule_changes(
    before: ReceptionistDocument, after: ReceptionistDocument, menus: dict[UUID, str]
) -> list[Line]:
    lines = []
    old, new = before.schedule, after.schedule
    for day in s.WEEKDAY_NAMES:
        was = ", ".join(f"{r.start}-{r.end}" for r in old.weekly.get(day, []))
        now = ", ".join(f"{r.start}-{r.end}" for r in new.weekly.get(day, []))
        if was != now:
            lines.append(
                _line(
                    f"hours on {day}: {was or 'closed'} → {now or 'closed'}",
                    f"horaires du {_DAYS_FR[day]} : {was or 'fermé'} → {now or 'fermé'}",
                )
            )
    for field, state, state_fr in (
        ("closed_menu_id", "closed", "fermé"),
        ("holiday_menu_id", "holiday", "jour férié"),
        ("override_menu_id", "override closed", "fermé exceptionnellement"),
    ):
        was_id, now_id = getattr(old, field), getattr(new, field)
        if was_id != now_id:
            was_en = menus.get(was_id, "the default") if was_id else "the default"
            now_en = menus.get(now_id, "the default") if now_id else "the default"
            was_fr = menus.get(was_id, "celui par défaut") if was_id else "celui par défaut"
            now_fr = menus.get(now_id, "celui par défaut") if now_id else "celui par défaut"
            lines.append(
                _line(
                    f"menu when {state}: {was_en} → {now_en}",
                    f"menu si {state_fr} : {was_fr} → {now_fr}",
                )
            )
    old_days = {(h.name, h.start, h.end, h.yearly) for h in old.holidays}
    new_days = {(h.name, h.start, h.end, h.yearly) for h in new.holidays}
    for days, en, fr in (
        (sorted(new_days - old_days), "added", "ajouté"),
        (sorted(old_days - new_days), "removed", "supprimé"),
    ):
        for n, a, b, _ in days:
            span_en = "" if a == b else f" to {b}"
            span_fr = "" if a == b else f" au {b}"
            lines.append(
                _line(f"holiday {n} ({a}{span_en}) {en}", f"jour férié {n} ({a}{span_fr}) {fr}")
            )
    return lines


# --- publishing -----------------------------------------------------------------------------


async def _insert_version(
    connection: Connection,
    tenant_id: UUID,
    document: dict[str, Any],
    lines: list[Line],
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
    lines = json.loads(raw) if isinstance(raw, str) else raw
    values["summary"] = in_language(lines, "en")
    values["summary_by_language"] = by_language(lines)
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
        back = rolled_back_from
        lines = [_line(f"rollback to version {back}", f"retour à la version {back}"), *lines]
    return await _insert_version(
        connection, tenant_id, document, lines, actor, comment, rolled_back_from
    )


async def draft(reader: Reader, tenant_id: UUID) -> s.Draft:
    """Whether the draft differs from what callers hear, and how."""
    document = _versioned(await _draft(reader, tenant_id))
    latest = await latest_version(reader, tenant_id)
    fingerprint = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32]
    if latest is None:
        return s.Draft(
            changed=False,
            published=None,
            summary=[],
            summary_by_language=by_language([]),
            fingerprint=fingerprint,
        )
    changed = latest[1] != document
    lines = (
        summary(document_of(latest[1]), document_of(document), await _names(reader, tenant_id))
        if changed
        else []
    )
    return s.Draft(
        changed=changed,
        published=latest[0],
        summary=in_language(lines, "en"),
        summary_by_language=by_language(lines),
        fingerprint=fingerprint,
    )


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
