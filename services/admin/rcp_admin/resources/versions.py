"""Versions of the receptionist: a draft admins edit, numbered versions callers hear.

The draft is the receptionist's tables (settings, menus, keys, weekly hours, holidays and the
menu of each state); publishing compiles them into one document stored as the tenant's next
version, with who, when, an optional comment and a readable summary of what changed since the
version before (`rcp_admin.publishing`). Stasis loads the latest version (a call keeps the one
it started with). Rolling back writes an older version's document into the draft and
publishes it as a new version; discarding the draft writes the latest version back.

`/receptionist` and `/receptionist/keys` edit and publish in one step (so API users of
before are not broken: what they write is heard at once, along with any pending draft
change), and so does an import; menus, the schedule and holidays edit the draft only. A
tenant that never published is heard as its tables say: the first draft-only edit publishes
the receptionist as it was, as version 1, before changing anything. The manual override is
not versioned.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import TYPE_CHECKING
from uuid import UUID

from aiohttp import web
from rcp.contracts.receptionist import ReceptionistDocument

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import NOTHING_TO_PUBLISH, ApiError, not_found
from rcp_admin.publishing import (
    VERSION,
    document_of,
    draft,
    latest_version,
    publish_draft,
    version_of,
)
from rcp_admin.resources import receptionist as reception
from rcp_admin.routing import TENANT, Call, Routes, answer, created, with_etag
from rcp_admin.unit_of_work import Store, check_if_match, jsonable

if TYPE_CHECKING:
    from rcp_admin.unit_of_work import Connection

ROUTES = Routes(TENANT)

MAX_NUMBER_DIGITS = 9  # a version number fits an integer column


async def write_document(
    connection: Connection, tenant_id: UUID, document: ReceptionistDocument
) -> None:
    """Make the draft say what a document says (menus keep their ids; the override stays)."""
    settings = document.settings.model_dump()
    columns = list(settings)
    await connection.execute(
        f"UPDATE receptionists SET {', '.join(f'{c} = ${i + 2}' for i, c in enumerate(columns))}"
        " WHERE tenant_id = $1",
        tenant_id,
        *settings.values(),
    )
    await connection.execute("DELETE FROM key_assignments WHERE tenant_id = $1", tenant_id)
    await connection.execute(
        """UPDATE schedules SET closed_menu_id = NULL, holiday_menu_id = NULL,
                  override_menu_id = NULL WHERE tenant_id = $1""",
        tenant_id,
    )
    keep = [m.id for m in document.menus]
    await connection.execute(
        "DELETE FROM menus WHERE tenant_id = $1 AND NOT is_first AND NOT id = ANY($2::uuid[])",
        tenant_id,
        keep,
    )
    for menu in document.menus:
        if menu.first:
            await connection.execute(
                "UPDATE menus SET name = $2 WHERE tenant_id = $1 AND is_first", tenant_id, menu.name
            )
            menu_id = await reception.first_menu_id(connection, tenant_id)
        else:
            menu_id = menu.id
            await connection.execute(
                """INSERT INTO menus (tenant_id, id, name, language, greeting_prompt_id,
                                      dial_extension_enabled, menu_timeout_s, inter_digit_timeout_s)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                   ON CONFLICT (tenant_id, id) DO UPDATE SET name = EXCLUDED.name,
                       language = EXCLUDED.language, greeting_prompt_id = EXCLUDED.greeting_prompt_id,
                       dial_extension_enabled = EXCLUDED.dial_extension_enabled,
                       menu_timeout_s = EXCLUDED.menu_timeout_s,
                       inter_digit_timeout_s = EXCLUDED.inter_digit_timeout_s""",
                tenant_id,
                menu.id,
                menu.name,
                menu.language,
                menu.greeting_prompt_id,
                menu.dial_extension_enabled,
                menu.menu_timeout_s,
                menu.inter_digit_timeout_s,
            )
        for digit, key in menu.keys.items():
            column = {
                "ring_group": "target_ring_group_id",
                "conference": "target_conference_id",
            }.get(key.target_kind or "", "target_extension_id")
            targets: dict[str, UUID | None] = {
                "target_extension_id": None,
                "target_ring_group_id": None,
                "target_conference_id": None,
            }
            if key.target_kind is not None:
                targets[column] = key.target_id
            await connection.execute(
                """INSERT INTO key_assignments (tenant_id, menu_id, digit, action, prompt_id,
                       target_kind, target_extension_id, target_ring_group_id,
                       target_conference_id, target_menu_id)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
                tenant_id,
                menu_id,
                digit,
                key.action,
                key.prompt_id,
                key.target_kind,
                *targets.values(),
                key.menu_id,
            )
    schedule = document.schedule
    await connection.execute(
        """INSERT INTO schedules (tenant_id, weekly, closed_menu_id, holiday_menu_id, override_menu_id)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (tenant_id) DO UPDATE SET weekly = EXCLUDED.weekly,
               closed_menu_id = EXCLUDED.closed_menu_id, holiday_menu_id = EXCLUDED.holiday_menu_id,
               override_menu_id = EXCLUDED.override_menu_id""",
        tenant_id,
        {day: [r.model_dump() for r in ranges] for day, ranges in schedule.weekly.items()},
        schedule.closed_menu_id,
        schedule.holiday_menu_id,
        schedule.override_menu_id,
    )
    await connection.execute("DELETE FROM holidays WHERE tenant_id = $1", tenant_id)
    for holiday in schedule.holidays:
        await connection.execute(
            """INSERT INTO holidays (tenant_id, id, name, start_date, end_date, yearly)
               VALUES ($1, coalesce($2, gen_random_uuid()), $3, $4, $5, $6)""",
            tenant_id,
            holiday.id,
            holiday.name,
            holiday.start,
            holiday.end,
            holiday.yearly,
        )


# --- operations -----------------------------------------------------------------------------


async def read_draft(store: Store, actor: Principal, tenant_id: UUID) -> s.Draft:
    """The draft's state: changed since the latest version or not, and the summary."""
    await store.tenant_row(actor, tenant_id)
    return await draft(store.pool, tenant_id)


async def publish(
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    body: s.PublishBody,
    if_match: str | None,
    request_id: str | None,
) -> s.Version:
    """Publish the draft (If-Match: only the draft the admin reviewed)."""
    async with store.write(actor, tenant_id, "version", "publish", None, request_id) as change:
        connection = await reception.locked(actor, tenant_id, change)
        check_if_match(if_match, await draft(connection, tenant_id))
        version = await publish_draft(connection, tenant_id, actor, body.comment)
        if version is None:
            raise ApiError(
                NOTHING_TO_PUBLISH, "the draft is the published version: nothing to publish"
            )
        change.key = str(version.number)
        change.after = jsonable(version)
    return version


async def discard(
    store: Store, actor: Principal, tenant_id: UUID, request_id: str | None
) -> s.Draft:
    """Throw the draft's changes away: the draft becomes the latest version again."""
    async with store.write(actor, tenant_id, "version", "discard", None, request_id) as change:
        connection = await reception.locked(actor, tenant_id, change)
        latest = await latest_version(connection, tenant_id)
        if latest is not None:
            await write_document(connection, tenant_id, document_of(latest[1]))
        after = await draft(connection, tenant_id)
        change.after = jsonable(after)
    return after


async def list_versions(store: Store, actor: Principal, tenant_id: UUID) -> s.VersionList:
    """Every published version, the latest first."""
    rows = await store.tenant_rows(
        actor, tenant_id, VERSION + " WHERE tenant_id = $1 ORDER BY number DESC"
    )
    return s.VersionList(items=[version_of(r) for r in rows])


async def read_version(
    store: Store, actor: Principal, tenant_id: UUID, number: int
) -> s.VersionWithDocument:
    """One version, with the document callers heard."""
    await store.tenant_row(actor, tenant_id)
    row = await store.pool.fetchrow(
        VERSION.replace("SELECT ", "SELECT document, ", 1)
        + " WHERE tenant_id = $1 AND number = $2",
        tenant_id,
        number,
    )
    if row is None:
        raise not_found(f"version {number}", "number")
    values = dict(row)
    raw = values.pop("document")
    version = version_of(values)
    return s.VersionWithDocument(
        **version.model_dump(), document=json.loads(raw) if isinstance(raw, str) else raw
    )


async def rollback(
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    number: int,
    body: s.PublishBody,
    request_id: str | None,
) -> s.Version:
    """Publish a copy of an older version as the next one (the draft becomes it too)."""
    async with store.write(
        actor, tenant_id, "version", "rollback", str(number), request_id
    ) as change:
        connection = await reception.locked(actor, tenant_id, change)
        raw = await connection.fetchval(
            "SELECT document FROM receptionist_versions WHERE tenant_id = $1 AND number = $2",
            tenant_id,
            number,
        )
        if raw is None:
            raise not_found(f"version {number}", "number")
        await write_document(connection, tenant_id, document_of(raw))
        version = await publish_draft(
            connection,
            tenant_id,
            actor,
            body.comment,
            rolled_back_from=number,
            allow_unchanged=True,
        )
        assert version is not None  # noqa: S101 - allow_unchanged always publishes
        change.after = jsonable(version)
    return version


def _number(c: Call) -> int:
    text = c.request.match_info["number"]
    if not text.isdigit() or len(text) > MAX_NUMBER_DIGITS:
        raise not_found("version", "number")
    return int(text)


@ROUTES.get("/receptionist/draft", response=s.Draft, etag=True)
async def get_draft(c: Call) -> web.Response:
    """Whether the draft has unpublished changes, and which (with ETag)"""
    return with_etag(await read_draft(c.store, c.principal, c.tenant_id))


@ROUTES.delete("/receptionist/draft", response=s.Draft, etag=True)
async def delete_draft(c: Call) -> web.Response:
    """Discard the draft's changes: back to the published version"""
    return with_etag(await discard(c.store, c.principal, c.tenant_id, c.request_id))


@ROUTES.post(
    "/receptionist/publish", body=s.PublishBody, response=s.Version, status=HTTPStatus.CREATED
)
async def post_publish(c: Call) -> web.Response:
    """Publish the draft as a new version (If-Match: the draft's ETag)"""
    body = await c.body(s.PublishBody)
    return created(await publish(c.store, c.principal, c.tenant_id, body, c.if_match, c.request_id))


@ROUTES.get("/receptionist/versions", response=s.VersionList)
async def get_versions(c: Call) -> web.Response:
    """List the published versions, the latest first"""
    return answer(await list_versions(c.store, c.principal, c.tenant_id))


@ROUTES.get("/receptionist/versions/{number}", response=s.VersionWithDocument)
async def get_version(c: Call) -> web.Response:
    """Read one version and its document"""
    return answer(await read_version(c.store, c.principal, c.tenant_id, _number(c)))


@ROUTES.post(
    "/receptionist/versions/{number}/rollback",
    body=s.PublishBody,
    response=s.Version,
    status=HTTPStatus.CREATED,
)
async def post_rollback(c: Call) -> web.Response:
    """Roll back: publish a copy of this version as a new one"""
    body = await c.body(s.PublishBody)
    return created(
        await rollback(c.store, c.principal, c.tenant_id, _number(c), body, c.request_id)
    )
