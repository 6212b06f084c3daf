"""Menus: the receptionist is a set of menus, and a key may open another one.

The first menu is the receptionist itself: its language, greeting, dial-extension toggle and
time-outs are the receptionist's (`/receptionist` reads and writes the same), and every other
menu inherits whichever of them it leaves null. A menu that neither an entry point (the first
menu) nor any key leads to is saved all the same, with a warning (`menu_unreachable`).
Writes take If-Match like the receptionist's.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from uuid import UUID

from aiohttp import web
from rcp.db import receptionists

from rcp_admin import publishing
from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import IN_USE, VALIDATION_FAILED, ApiError, not_found
from rcp_admin.resources import prompts
from rcp_admin.resources import receptionist as reception
from rcp_admin.routing import TENANT, Call, Routes, answer, created, no_content, with_etag
from rcp_admin.unit_of_work import Reader, Store, check_if_match, jsonable, set_columns

if TYPE_CHECKING:
    from rcp_admin.unit_of_work import Connection

ROUTES = Routes(TENANT)

UNREACHABLE = "menu_unreachable"
SETTINGS = ("language", "dial_extension_enabled", "menu_timeout_s", "inter_digit_timeout_s")


async def entry_points(reader: Reader, tenant_id: UUID) -> set[UUID]:
    """The menus a call may start in: the first one, and those the schedule's states name."""
    named = await reader.fetchrow(
        """SELECT closed_menu_id, holiday_menu_id, override_menu_id FROM schedules
            WHERE tenant_id = $1""",
        tenant_id,
    )
    states = {menu for menu in (named.values() if named else ()) if menu is not None}
    return {await reception.first_menu_id(reader, tenant_id), *states}


async def _schedule_users(reader: Reader, tenant_id: UUID, menu_id: UUID) -> list[str]:
    row = await reader.fetchrow(
        """SELECT closed_menu_id = $2 AS closed, holiday_menu_id = $2 AS holiday,
                  override_menu_id = $2 AS override_closed
             FROM schedules WHERE tenant_id = $1""",
        tenant_id,
        menu_id,
    )
    return [
        f"the schedule's {state.replace('_', ' ')} state"
        for state, used in (row or {}).items()
        if used
    ]


async def _reachable(reader: Reader, tenant_id: UUID) -> set[UUID]:
    """The menus a caller can reach from an entry point, key after key."""
    links: dict[UUID, set[UUID]] = {}
    for row in await reader.fetch(
        """SELECT menu_id, target_menu_id FROM key_assignments
            WHERE tenant_id = $1 AND target_menu_id IS NOT NULL""",
        tenant_id,
    ):
        links.setdefault(row["menu_id"], set()).add(row["target_menu_id"])
    seen = await entry_points(reader, tenant_id)
    waiting = list(seen)
    while waiting:
        for target in links.get(waiting.pop(), ()):
            if target not in seen:
                seen.add(target)
                waiting.append(target)
    return seen


async def _models(reader: Reader, tenant_id: UUID, only: UUID | None = None) -> list[s.Menu]:
    settings = await reader.fetchrow(receptionists.SELECT, tenant_id)
    if settings is None:
        raise not_found("receptionist", "tenant_id")
    defaults = receptionists.settings_of(settings)
    rows = await reader.fetch(
        "SELECT * FROM menus WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id = $2)"
        " ORDER BY NOT is_first, name",
        tenant_id,
        only,
    )
    if only is not None and not rows:
        raise not_found("menu", "menu_id")
    greetings = {
        r["id"]: prompts.model(r)
        for r in await reader.fetch(
            """SELECT * FROM prompts WHERE tenant_id = $1 AND id IN (
                   SELECT greeting_prompt_id FROM menus WHERE tenant_id = $1
                   UNION SELECT greeting_prompt_id FROM receptionists WHERE tenant_id = $1)""",
            tenant_id,
        )
    }
    openers: dict[UUID, list[s.OpenedBy]] = {}
    for row in await reader.fetch(
        """SELECT k.target_menu_id, k.menu_id, m.name, k.digit FROM key_assignments k
             JOIN menus m ON m.tenant_id = k.tenant_id AND m.id = k.menu_id
            WHERE k.tenant_id = $1 AND k.target_menu_id IS NOT NULL
            ORDER BY m.name, k.digit""",
        tenant_id,
    ):
        openers.setdefault(row["target_menu_id"], []).append(
            s.OpenedBy(menu_id=row["menu_id"], menu_name=row["name"], digit=row["digit"])
        )
    reachable = await _reachable(reader, tenant_id)
    models = []
    for row in rows:
        first = row["is_first"]
        own: dict[str, Any] = (
            {name: defaults[name] for name in SETTINGS}
            if first
            else {name: row[name] for name in SETTINGS}
        )
        greeting_id = settings["greeting_prompt_id"] if first else row["greeting_prompt_id"]
        warnings = (
            []
            if row["id"] in reachable
            else [
                s.ApiWarning(
                    code=UNREACHABLE,
                    message=f"no key opens menu {row['name']} and no state of the schedule "
                    "starts calls in it: callers cannot reach it",
                )
            ]
        )
        models.append(
            s.Menu(
                id=row["id"],
                name=row["name"],
                first=first,
                greeting=greetings.get(greeting_id) if greeting_id else None,
                effective=s.MenuSettings(
                    **{n: defaults[n] if own[n] is None else own[n] for n in SETTINGS}
                ),
                keys=(await reception.keys(reader, tenant_id, row["id"])).items,
                opened_by=openers.get(row["id"], []),
                warnings=warnings,
                **own,
            )
        )
    return models


async def one(reader: Reader, tenant_id: UUID, menu_id: UUID) -> s.Menu:
    """One menu as the API shows it."""
    return (await _models(reader, tenant_id, menu_id))[0]


async def list_all(store: Store, actor: Principal, tenant_id: UUID) -> s.MenuList:
    """The tenant's menus, the first one first, then by name."""
    async with store.tenant_read(actor, tenant_id) as connection:
        return s.MenuList(items=await _models(connection, tenant_id))


async def read(store: Store, actor: Principal, tenant_id: UUID, menu_id: UUID) -> s.Menu:
    """One menu."""
    async with store.tenant_read(actor, tenant_id) as connection:
        return await one(connection, tenant_id, menu_id)


async def _own_values(
    connection: Connection, tenant_id: UUID, body: s.MenuFields, fields: set[str]
) -> dict[str, Any]:
    """The columns a menu body sets (a greeting written as text becomes a prompt first)."""
    values: dict[str, Any] = {name: getattr(body, name) for name in SETTINGS if name in fields}
    if "greeting" in fields:
        values["greeting_prompt_id"] = await reception.greeting_id(
            connection, tenant_id, body.greeting
        )
    return values


async def create(
    store: Store, actor: Principal, tenant_id: UUID, body: s.MenuCreate, request_id: str | None
) -> s.Menu:
    """Add a menu (reachable once a key opens it)."""
    async with store.write(actor, tenant_id, "menu", "create", body.name, request_id) as change:
        connection = await reception.locked(actor, tenant_id, change)
        await publishing.baseline(connection, tenant_id, actor)
        values = await _own_values(connection, tenant_id, body, body.model_fields_set)
        columns = ["tenant_id", "name", *values]
        menu_id: UUID = await connection.fetchval(
            f"INSERT INTO menus ({', '.join(columns)}) "
            f"VALUES ({', '.join(f'${i + 1}' for i in range(len(columns)))}) RETURNING id",
            tenant_id,
            body.name,
            *values.values(),
        )
        after = await one(connection, tenant_id, menu_id)
        change.key = str(menu_id)
        change.after = jsonable(after)
    return after


async def update(
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    menu_id: UUID,
    body: s.MenuPatch,
    if_match: str | None,
    request_id: str | None,
) -> s.Menu:
    """Rename a menu or change its settings (null: inherit); the first menu's settings are the
    receptionist's, and cannot be null."""
    async with store.write(actor, tenant_id, "menu", "update", str(menu_id), request_id) as change:
        connection = await reception.locked(actor, tenant_id, change)
        before = await one(connection, tenant_id, menu_id)
        check_if_match(if_match, before)
        await publishing.baseline(connection, tenant_id, actor)
        fields = set(body.model_fields_set)
        if "name" in fields:
            await connection.execute(
                "UPDATE menus SET name = $3 WHERE tenant_id = $1 AND id = $2",
                tenant_id,
                menu_id,
                body.name,
            )
        if before.first:
            await _update_first(connection, tenant_id, body, fields)
        else:
            values = await _own_values(connection, tenant_id, body, fields)
            await set_columns(connection, "menus", values, tenant_id=tenant_id, id=menu_id)
        after = await one(connection, tenant_id, menu_id)
        change.record(before, after)
    return after


async def _update_first(
    connection: Connection, tenant_id: UUID, body: s.MenuPatch, fields: set[str]
) -> None:
    for name in SETTINGS:
        if name in fields and getattr(body, name) is None:
            raise ApiError(
                VALIDATION_FAILED,
                f"{name} cannot be null on the first menu: its settings are the receptionist's",
                name,
            )
    values = await _own_values(connection, tenant_id, body, fields)
    await set_columns(connection, "receptionists", values, tenant_id=tenant_id)


async def delete(
    store: Store, actor: Principal, tenant_id: UUID, menu_id: UUID, request_id: str | None
) -> None:
    """Delete a menu no key opens (and never the first)."""
    async with store.write(actor, tenant_id, "menu", "delete", str(menu_id), request_id) as change:
        connection = await reception.locked(actor, tenant_id, change)
        before = await one(connection, tenant_id, menu_id)
        if before.first:
            raise ApiError(
                IN_USE, "the first menu is the receptionist itself: it cannot be deleted", None
            )
        openers = [f"key {o.digit} of menu {o.menu_name}" for o in before.opened_by]
        openers += await _schedule_users(connection, tenant_id, menu_id)
        if openers:
            raise ApiError(
                IN_USE,
                f"menu {before.name} is opened by {', '.join(openers)}: change those keys first",
                None,
                {"used_by": openers},
            )
        await publishing.baseline(connection, tenant_id, actor)
        await connection.execute(
            "DELETE FROM menus WHERE tenant_id = $1 AND id = $2", tenant_id, menu_id
        )
        change.record(before, None)


async def read_keys(store: Store, actor: Principal, tenant_id: UUID, menu_id: UUID) -> s.KeyList:
    """The ten keys of a menu."""
    async with store.tenant_read(actor, tenant_id) as connection:
        await one(connection, tenant_id, menu_id)
        return await reception.keys(connection, tenant_id, menu_id)


def _menu_id(c: Call) -> UUID:
    return c.path_uuid("menu_id", "menu")


@ROUTES.get("/menus", response=s.MenuList)
async def list_menus(c: Call) -> web.Response:
    """List the receptionist's menus, with their keys and warnings"""
    return answer(await list_all(c.store, c.principal, c.tenant_id))


@ROUTES.post("/menus", body=s.MenuCreate, response=s.Menu, status=HTTPStatus.CREATED)
async def create_menu(c: Call) -> web.Response:
    """Add a menu (a key that opens it makes it reachable)"""
    body = await c.body(s.MenuCreate)
    return created(await create(c.store, c.principal, c.tenant_id, body, c.request_id))


@ROUTES.get("/menus/{menu_id}", response=s.Menu, etag=True)
async def get_menu(c: Call) -> web.Response:
    """Read a menu (with ETag)"""
    return with_etag(await read(c.store, c.principal, c.tenant_id, _menu_id(c)))


@ROUTES.patch("/menus/{menu_id}", body=s.MenuPatch, response=s.Menu, etag=True)
async def patch_menu(c: Call) -> web.Response:
    """Rename a menu or change its settings (If-Match)"""
    body = await c.body(s.MenuPatch)
    return with_etag(
        await update(c.store, c.principal, c.tenant_id, _menu_id(c), body, c.if_match, c.request_id)
    )


@ROUTES.delete("/menus/{menu_id}", status=HTTPStatus.NO_CONTENT)
async def delete_menu(c: Call) -> web.Response:
    """Delete a menu no key opens"""
    await delete(c.store, c.principal, c.tenant_id, _menu_id(c), c.request_id)
    return no_content()


@ROUTES.get("/menus/{menu_id}/keys", response=s.KeyList, etag=True)
async def get_menu_keys(c: Call) -> web.Response:
    """A menu's ten keys (with ETag)"""
    return with_etag(await read_keys(c.store, c.principal, c.tenant_id, _menu_id(c)))


@ROUTES.put("/menus/{menu_id}/keys/{digit}", body=s.KeyAssignment, response=s.KeyList, etag=True)
async def put_menu_key(c: Call) -> web.Response:
    """Assign a key of a menu (If-Match)"""
    digit, menu_id = c.digit, _menu_id(c)
    body = await c.body(s.KeyAssignment)
    return with_etag(
        await reception.set_key(
            c.store, c.principal, c.tenant_id, digit, body, c.if_match, c.request_id, menu_id
        )
    )


@ROUTES.delete("/menus/{menu_id}/keys/{digit}", response=s.KeyList, etag=True)
async def delete_menu_key(c: Call) -> web.Response:
    """Unassign a key of a menu (If-Match)"""
    digit, menu_id = c.digit, _menu_id(c)
    return with_etag(
        await reception.set_key(
            c.store, c.principal, c.tenant_id, digit, None, c.if_match, c.request_id, menu_id
        )
    )
