"""Export and import: a tenant's whole receptionist as one JSON document, or as an archive.

An import replaces the receptionist, its menus and keys, extensions, ring groups and
conference rooms in one transaction: it all applies, or nothing does. Menus are named, not
numbered by id, so that a document imports into another tenant.

The archive (application/zip) is the document (`receptionist.json`) with the uploaded audio it
plays (`audio/<name>`, named by `{"file": ...}` in the document): it imports into another
tenant or another installation, each file going through the media service's ingestion like any
upload. The JSON document alone carries no audio: an uploaded greeting is left out of it, an
uploaded announcement is named by its `prompt_id` (which only its own tenant has).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any
from uuid import UUID

from aiohttp import web
from pydantic import ValidationError
from rcp.errors import ErrorCode

from rcp_admin import publishing
from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import (
    MALFORMED_ARCHIVE,
    PAYLOAD_TOO_LARGE,
    UNKNOWN_TARGET,
    VALIDATION_FAILED,
    ApiError,
)
from rcp_admin.resources import extensions, menus, prompts, receptionist, schedule
from rcp_admin.resources.conference_rooms import CONFERENCE_ROOMS
from rcp_admin.resources.extensions import EXTENSIONS
from rcp_admin.resources.ring_groups import RING_GROUPS
from rcp_admin.routing import (
    MAX_JSON_BYTES,
    TENANT,
    UPLOAD_LIMIT_KEY,
    Call,
    Routes,
    answer,
    validation_error,
)
from rcp_admin.unit_of_work import Change, Store

ROUTES = Routes(TENANT)

ZIP = "application/zip"
DOCUMENT = "receptionist.json"  # the archive's document; its audio files are `audio/<name>`
AUDIO_NAME = re.compile(r"audio/[A-Za-z0-9][A-Za-z0-9._-]{0,120}")
ARCHIVE_FILES = 20  # an archive may weigh the document and this many uploads at their limit

# An uploaded prompt's id -> its file name in the archive being written (None: a JSON export).
Files = dict[UUID, str] | None

# Rooms with their PINs as stored (hashed): an import gives them back as they were.
ROOMS = """SELECT number, name, pin_hash, pin_too_short FROM conference_rooms
            WHERE tenant_id = $1 ORDER BY number"""


async def export(
    store: Store, actor: Principal, tenant_id: UUID, files: Files = None
) -> s.TenantExport:
    """The tenant's receptionist as a document an import takes back; with `files`, its
    uploaded greetings and announcements are named as archive files (and listed there)."""
    await store.tenant_row(actor, tenant_id)
    settings = await receptionist.settings(store.pool, tenant_id)
    groups = await RING_GROUPS.list_all(store, actor, tenant_id)
    keys = (await receptionist.keys(store.pool, tenant_id)).items
    all_menus = await menus.list_all(store, actor, tenant_id)
    hours = await schedule.model(store.pool, tenant_id)
    days = (await schedule.list_holidays(store, actor, tenant_id)).items
    return s.TenantExport(
        receptionist=s.ExportReceptionist(
            greeting=_greeting(settings.greeting, files),
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
        keys=_export_keys(keys, files),
        first_menu_name=all_menus.items[0].name,
        menus=[
            s.ExportMenu(
                name=m.name,
                language=m.language,
                greeting=_greeting(m.greeting, files),
                dial_extension_enabled=m.dial_extension_enabled,
                menu_timeout_s=m.menu_timeout_s,
                inter_digit_timeout_s=m.inter_digit_timeout_s,
                keys=_export_keys(m.keys, files),
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


def _archived(prompt: s.Prompt | None, files: Files) -> str | None:
    """The archive file of an uploaded prompt (None: not archived, or no archive)."""
    if files is None or prompt is None or prompt.source != "upload" or prompt.status != "ready":
        return None
    return files.setdefault(prompt.id, f"audio/{prompt.id}.wav")


def _greeting(prompt: s.Prompt | None, files: Files) -> s.TtsPrompt | s.AudioFile | None:
    file = _archived(prompt, files)
    return prompts.tts_of(prompt) if file is None else s.AudioFile(file=file)


def _spoken_name(prompt: s.Prompt | None) -> s.TtsPrompt | s.GreetingRef | None:
    """A spoken name as an import takes it back: its text, or its recording by prompt id (a
    recording is audio of this tenant's: another tenant's import refuses the id, 422
    `unknown_target` on the field, until it is uploaded there and named by its new id)."""
    if prompt is None:
        return None
    return prompts.tts_of(prompt) or s.GreetingRef(prompt_id=prompt.id)


def _export_keys(keys: list[s.Key], files: Files) -> list[s.ExportKey]:
    exported = []
    for key in keys:
        if not key.assigned:
            continue
        assignment: s.ExportAssignment
        if key.menu is not None:
            assignment = s.ExportOpenMenu(action="open_menu", menu=key.menu.name)
        elif (file := _archived(key.prompt, files)) is not None:
            assignment = s.ExportAnnouncement(action="play_announcement", file=file)
        else:
            plain = receptionist.assignment_of(key)
            if isinstance(plain, s.PlayAnnouncement):
                assignment = s.ExportAnnouncement(**plain.model_dump())
            else:
                assignment = plain  # type: ignore[assignment]
        exported.append(s.ExportKey(digit=key.digit, assignment=assignment))
    return exported


def _prompt_of(
    choice: s.TtsPrompt | s.AudioFile | None, audio: dict[str, UUID], field: str
) -> s.TtsPrompt | s.GreetingRef | None:
    """A greeting of the document as the tenant's own (an archive file: the prompt made of it)."""
    if not isinstance(choice, s.AudioFile):
        return choice
    found = audio.get(choice.file)
    if found is None:
        raise ApiError(
            UNKNOWN_TARGET,
            f"{choice.file} is an audio file of an export archive: import the archive "
            f"(Content-Type: {ZIP}), not its document alone",
            field,
        )
    return s.GreetingRef(prompt_id=found)


def audio_files(body: s.TenantExport) -> list[tuple[str, str]]:
    """The archive files a document plays, each with the field that names it."""
    named: list[tuple[str, str]] = []

    def keys(items: list[s.ExportKey], prefix: str) -> None:
        for key in items:
            if isinstance(key.assignment, s.ExportAnnouncement) and key.assignment.file:
                named.append((key.assignment.file, f"{prefix}keys[{key.digit}].file"))

    if isinstance(body.receptionist.greeting, s.AudioFile):
        named.append((body.receptionist.greeting.file, "receptionist.greeting.file"))
    keys(body.keys, "")
    for index, menu in enumerate(body.menus):
        if isinstance(menu.greeting, s.AudioFile):
            named.append((menu.greeting.file, f"menus[{index}].greeting.file"))
        keys(menu.keys, f"menus[{index}].")
    return named


async def _assign_keys(
    change: Change,
    tenant_id: UUID,
    menu_id: UUID,
    keys: list[s.ExportKey],
    menu_ids: dict[str, UUID],
    prefix: str,
    audio: dict[str, UUID],
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
        elif isinstance(key.assignment, s.ExportAnnouncement):
            played = key.assignment
            if played.file is not None:
                if played.prompt is not None or played.prompt_id is not None:
                    raise ApiError(
                        VALIDATION_FAILED,
                        "give one of prompt, prompt_id or file",
                        f"{field}file",
                    )
                ref = _prompt_of(s.AudioFile(file=played.file), audio, f"{field}file")
                assert isinstance(ref, s.GreetingRef)  # noqa: S101 - a file names a prompt
                played = s.ExportAnnouncement(action=played.action, prompt_id=ref.prompt_id)
            assignment = s.PlayAnnouncement(
                action=played.action, prompt=played.prompt, prompt_id=played.prompt_id
            )
        else:
            assignment = key.assignment
        await receptionist.assign(
            change.connection, tenant_id, key.digit, assignment, field, menu_id=menu_id
        )


async def _replace(
    change: Change, tenant_id: UUID, body: s.TenantExport, audio: dict[str, UUID]
) -> None:
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
        await receptionist.greeting_id(
            connection,
            tenant_id,
            _prompt_of(settings.greeting, audio, "receptionist.greeting.file"),
        ),
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
    for index, menu in enumerate(body.menus):
        greeting = _prompt_of(menu.greeting, audio, f"menus[{index}].greeting.file")
        menu_ids[menu.name] = await connection.fetchval(
            """INSERT INTO menus (tenant_id, name, language, greeting_prompt_id,
                                  dial_extension_enabled, menu_timeout_s, inter_digit_timeout_s)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
            tenant_id,
            menu.name,
            menu.language,
            await receptionist.greeting_id(connection, tenant_id, greeting),
            menu.dial_extension_enabled,
            menu.menu_timeout_s,
            menu.inter_digit_timeout_s,
        )
    await _assign_keys(change, tenant_id, first, body.keys, menu_ids, "", audio)
    for index, menu in enumerate(body.menus):
        await _assign_keys(
            change, tenant_id, menu_ids[menu.name], menu.keys, menu_ids, f"menus[{index}].", audio
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
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    body: s.TenantExport,
    request_id: str | None,
    audio: dict[str, UUID] | None = None,
) -> None:
    """Replace the tenant's receptionist, keys, extensions, groups and rooms, atomically
    (`audio`: the prompts made of an archive's files, by file name)."""
    async with store.tenant_write(
        actor, tenant_id, "tenant", "import", str(tenant_id), request_id, lock=True
    ) as change:
        await _replace(change, tenant_id, body, audio or {})
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


async def export_archive(store: Store, actor: Principal, tenant_id: UUID) -> bytes:
    """The document and the uploaded audio it plays, as one zip archive."""
    files: dict[UUID, str] = {}
    document = await export(store, actor, tenant_id, files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(DOCUMENT, document.model_dump_json(indent=2))
        for prompt_id, name in files.items():
            chunks = store.media_gateway().audio(tenant_id, prompt_id)
            archive.writestr(name, b"".join([chunk async for chunk in chunks]))
    return buffer.getvalue()


def _member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """One file of the archive, read no further than `limit` bytes (whatever its header says)."""
    try:
        with archive.open(name) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError) as error:
        raise ApiError(MALFORMED_ARCHIVE, f"{name} cannot be read: {error}", name) from error
    if len(data) > limit:
        raise ApiError(ErrorCode.FILE_TOO_LARGE, f"{name} is larger than {limit} bytes", name)
    return data


def read_archive(raw: bytes, limit: int) -> tuple[s.TenantExport, dict[str, bytes]]:
    """An archive's document and the audio files it names (4xx with a code if malformed:
    not a zip, a name that is not `receptionist.json` or `audio/<name>`, a named file missing,
    a file over the upload limit)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as error:
        raise ApiError(MALFORMED_ARCHIVE, f"the body is not a zip archive: {error}") from error
    with archive:
        names = set()
        for info in archive.infolist():
            if info.is_dir():
                continue
            if info.filename != DOCUMENT and not AUDIO_NAME.fullmatch(info.filename):
                raise ApiError(
                    MALFORMED_ARCHIVE,
                    f"the archive holds {info.filename!r}: only {DOCUMENT} and audio/<name> "
                    "files (letters, digits, '.', '-', '_') belong in it",
                    None,
                    {"file": info.filename},
                )
            names.add(info.filename)
        if DOCUMENT not in names:
            raise ApiError(MALFORMED_ARCHIVE, f"the archive has no {DOCUMENT}")
        try:
            body = s.TenantExport.model_validate(
                json.loads(_member(archive, DOCUMENT, MAX_JSON_BYTES))
            )
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ApiError(
                MALFORMED_ARCHIVE, f"{DOCUMENT} is not valid JSON: {error}", DOCUMENT
            ) from error
        except ValidationError as error:
            raise validation_error(error) from error
        audio: dict[str, bytes] = {}
        for name, field in audio_files(body):
            if name not in names:
                raise ApiError(UNKNOWN_TARGET, f"the archive has no file {name}", field)
            if name not in audio:
                audio[name] = _member(archive, name, limit)
    return body, audio


async def _archive_body(c: Call) -> bytes:
    """The request's zip body, read up to the archive limit."""
    limit = MAX_JSON_BYTES + ARCHIVE_FILES * c.request.app[UPLOAD_LIMIT_KEY]
    too_large = ApiError(PAYLOAD_TOO_LARGE, f"the archive is larger than {limit} bytes")
    if (c.request.content_length or 0) > limit:
        raise too_large
    raw = bytearray()
    async for chunk in c.request.content.iter_chunked(256 * 1024):
        raw += chunk
        if len(raw) > limit:
            raise too_large
    return bytes(raw)


async def import_archive(
    store: Store, actor: Principal, tenant_id: UUID, raw: bytes, limit: int, request_id: str | None
) -> None:
    """Import an archive: each audio file becomes a prompt through the media service's
    ingestion (as an upload), then the document is imported naming them (if it is refused,
    those prompts are deleted again)."""
    await store.tenant_row(actor, tenant_id)
    body, files = read_archive(raw, limit)
    audio: dict[str, UUID] = {}
    for name, data in files.items():
        try:
            prompt = await prompts.upload(
                store, actor, tenant_id, data, name.removeprefix("audio/"), request_id
            )
        except ApiError as error:
            raise ApiError(error.code, f"{name}: {error.message}", name, {"file": name}) from error
        audio[name] = prompt.id
    try:
        await import_(store, actor, tenant_id, body, request_id, audio)
    except ApiError:
        # The document is refused: the prompts made for it go too, so nothing of it stays.
        for prompt_id in audio.values():
            await prompts.delete(store, actor, tenant_id, prompt_id, request_id)
        raise


@ROUTES.get("/export", response=s.TenantExport, archive=True)
async def export_tenant(c: Call) -> web.Response:
    """The whole receptionist as one document (Accept: application/zip: the archive, with the
    uploaded audio)"""
    if ZIP not in c.request.headers.get("Accept", ""):
        return answer(await export(c.store, c.principal, c.tenant_id))
    data = await export_archive(c.store, c.principal, c.tenant_id)
    return web.Response(
        body=data,
        content_type=ZIP,
        headers={"Content-Disposition": 'attachment; filename="receptionist.zip"'},
    )


@ROUTES.post("/import", body=s.TenantExport, response=s.TenantExport, access="admin", archive=True)
async def import_tenant(c: Call) -> web.Response:
    """Replace the receptionist with a document, or an archive (application/zip), atomically"""
    if c.request.content_type == ZIP:
        raw = await _archive_body(c)
        limit = c.request.app[UPLOAD_LIMIT_KEY]
        await import_archive(c.store, c.principal, c.tenant_id, raw, limit, c.request_id)
    else:
        body = await c.body(s.TenantExport)
        await import_(c.store, c.principal, c.tenant_id, body, c.request_id)
    return answer(await export(c.store, c.principal, c.tenant_id))  # what it now is
