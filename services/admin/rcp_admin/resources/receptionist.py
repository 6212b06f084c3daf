"""The receptionist: its greeting, timeouts and retries, and what each of its ten keys does.

Both are read with an ETag and written with If-Match, so that two admins editing the menu at
once never overwrite each other unknowingly. The receptionist is its first menu: these
endpoints read and write that menu's settings and keys (`resources.menus` has the others, and
the same key functions below work on any menu).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
from aiohttp import web
from rcp.db import receptionists

from rcp_admin import publishing
from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import UNKNOWN_TARGET, VALIDATION_FAILED, ApiError, not_found
from rcp_admin.resources import extensions, prompts
from rcp_admin.routing import TENANT, Call, Routes, with_etag
from rcp_admin.unit_of_work import (
    Change,
    Reader,
    Rendered,
    Store,
    check_if_match,
    fetch_one,
    rendered,
    set_columns,
)

if TYPE_CHECKING:
    from rcp_admin.unit_of_work import Connection

# Where a transfer key's target lives: its table, and the key's column pointing at it.
ROUTES = Routes(TENANT)

# The comments of the versions these endpoints publish (they edit and publish in one step).
PUBLISHED_BY_PATCH = "published by PATCH /receptionist"
PUBLISHED_BY_KEYS = "published by a change of /receptionist/keys"


KEY_TARGET_TABLES = {
    "extension": ("extensions", "target_extension_id"),
    "virtual_extension": ("extensions", "target_extension_id"),
    "voicemail": ("extensions", "target_extension_id"),
    "ring_group": ("ring_groups", "target_ring_group_id"),
    "conference": ("conference_rooms", "target_conference_id"),
}
# The kind of extension a transfer to an extension needs (a voicemail takes either).
EXTENSION_KINDS = {"extension": "physical", "virtual_extension": "virtual"}
TABLE_NOUNS = {
    "extensions": "extension",
    "ring_groups": "ring group",
    "conference_rooms": "conference room",
}


async def settings(reader: Reader, tenant_id: UUID) -> s.Receptionist:
    """The receptionist's settings as the API shows them."""
    row = await fetch_one(reader, ("receptionist", "tenant_id"), receptionists.SELECT, tenant_id)
    greeting = None
    if row["greeting_prompt_id"] is not None:
        prompt_row = await reader.fetchrow(
            "SELECT * FROM prompts WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            row["greeting_prompt_id"],
        )
        greeting = None if prompt_row is None else prompts.model(prompt_row)
    return s.Receptionist(greeting=greeting, **receptionists.settings_of(row))


async def greeting_id(
    connection: Connection, tenant_id: UUID, greeting: s.TtsPrompt | s.GreetingRef | None
) -> UUID | None:
    """The prompt a greeting names, created first if it is text to speak."""
    if greeting is None:
        return None
    if isinstance(greeting, s.TtsPrompt):
        return (await prompts.insert_tts(connection, tenant_id, greeting)).id
    return await prompts.id_of(connection, tenant_id, greeting.prompt_id, "greeting.prompt_id")


async def read(store: Store, actor: Principal, tenant_id: UUID) -> s.Receptionist:
    """The receptionist's settings."""
    async with store.tenant_read(actor, tenant_id) as connection:
        return await settings(connection, tenant_id)


# The tenant's row, if the caller may see it, and the lock on its receptionist's row: one
# round trip. (Rows this statement reads beside the lock are those of before the lock was
# granted: what must not change under the lock is read by the next statements.)
LOCK = """
    SELECT t.id, r.locked FROM tenants t
      LEFT JOIN LATERAL (SELECT true AS locked FROM receptionists
                          WHERE tenant_id = t.id FOR UPDATE) r ON true
     WHERE t.id = $1"""


async def locked(actor: Principal, tenant_id: UUID, change: Change) -> Connection:
    """The write's connection, holding the receptionist's row until it commits (404 if the
    actor may not see the tenant)."""
    actor.require_tenant(tenant_id)
    await fetch_one(change.connection, ("tenant", "tenant_id"), LOCK, tenant_id)
    return change.connection


async def update(
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    body: s.ReceptionistPatch,
    if_match: str | None,
    request_id: str | None,
) -> s.Receptionist:
    """Change the receptionist's settings (If-Match: only if unchanged since read)."""
    async with store.write(actor, tenant_id, "receptionist", "update", None, request_id) as change:
        connection = await locked(actor, tenant_id, change)
        before = await settings(connection, tenant_id)
        check_if_match(if_match, before)
        fields = body.model_fields_set
        updates: dict[str, Any] = {
            name: getattr(body, name)
            for name in fields
            if name not in ("greeting", "exhausted_extension")
        }
        for name, value in updates.items():
            if value is None:
                raise ApiError(VALIDATION_FAILED, f"{name} cannot be null", name)
        if "greeting" in fields:
            updates["greeting_prompt_id"] = await greeting_id(connection, tenant_id, body.greeting)
        if "exhausted_extension" in fields:
            updates["exhausted_extension_id"] = (
                None
                if body.exhausted_extension is None
                else await extensions.id_of(
                    connection, tenant_id, body.exhausted_extension, "exhausted_extension"
                )
            )
        await set_columns(connection, "receptionists", updates, tenant_id=tenant_id)
        await publishing.publish_if_versioned(connection, tenant_id, actor, PUBLISHED_BY_PATCH)
        after = await settings(connection, tenant_id)
        change.record(before, after)
    return after


async def first_menu_id(reader: Reader, tenant_id: UUID) -> UUID:
    """The id of the receptionist's first menu."""
    row = await fetch_one(
        reader,
        ("receptionist", "tenant_id"),
        "SELECT id FROM menus WHERE tenant_id = $1 AND is_first",
        tenant_id,
    )
    found: UUID = row["id"]
    return found


# A key as the API shows it, with the names of what it reaches (`key_of` reads them), from
# `key_assignments k`.
KEY_COLUMNS = """k.digit, k.action, k.prompt_id, k.target_kind, k.target_menu_id,
    e.number AS e_number,
    concat_ws(' ', nullif(e.first_name, ''), nullif(e.last_name, '')) AS e_name,
    g.number AS g_number, g.name AS g_name, c.number AS c_number, c.name AS c_name,
    m.name AS m_name"""
KEY_JOINS = """
    LEFT JOIN extensions e ON e.tenant_id = k.tenant_id AND e.id = k.target_extension_id
    LEFT JOIN ring_groups g ON g.tenant_id = k.tenant_id AND g.id = k.target_ring_group_id
    LEFT JOIN conference_rooms c ON c.tenant_id = k.tenant_id AND c.id = k.target_conference_id
    LEFT JOIN menus m ON m.tenant_id = k.tenant_id AND m.id = k.target_menu_id"""

# A menu ($2; null: the first) and its assigned keys, one row each (one row with a null
# digit if none is), and whether the tenant has published versions: one round trip.
MENU_KEYS = f"""
    SELECT o.id AS of_menu,
           EXISTS (SELECT FROM receptionist_versions WHERE tenant_id = $1) AS versioned,
           {KEY_COLUMNS}
      FROM menus o
      LEFT JOIN key_assignments k ON k.tenant_id = o.tenant_id AND k.menu_id = o.id
      {KEY_JOINS}
     WHERE o.tenant_id = $1 AND (o.id = $2 OR ($2::uuid IS NULL AND o.is_first))"""


# Each key as it reads when nothing is assigned to it (models are frozen: made once).
UNASSIGNED = {digit: s.Key(digit=digit, assigned=False) for digit in "0123456789"}


@dataclass(frozen=True)
class MenuKeys:
    """A menu's ten keys, as read with `menu_keys`."""

    menu_id: UUID
    keys: s.KeyList
    versioned: bool
    """Whether the tenant has published versions (then an edit of the keys that takes effect
    at once publishes the draft). Read after the receptionist's lock, it holds until the write
    commits: publishing takes that lock too."""

    def assigned(self, digit: str, key: s.Key | None) -> s.KeyList:
        """The ten keys once `digit` is `key` (None: unassigned)."""
        items = list(self.keys.items)
        items[int(digit)] = UNASSIGNED[digit] if key is None else key
        return s.KeyList(items=items)


def key_of(row: asyncpg.Record, prompt: s.Prompt | None) -> s.Key:
    """An assigned key from a row with `KEY_COLUMNS` (and the prompt it plays, if any)."""
    target = None
    if row["target_kind"] is not None:
        prefix = {"ring_group": "g", "conference": "c"}.get(row["target_kind"], "e")
        target = s.KeyTarget(
            kind=row["target_kind"],
            number=row[f"{prefix}_number"],
            name=row[f"{prefix}_name"],
        )
    return s.Key(
        digit=row["digit"],
        assigned=True,
        action=row["action"],
        prompt=prompt,
        target=target,
        menu=(
            s.MenuRef(id=row["target_menu_id"], name=row["m_name"])
            if row["target_menu_id"] is not None
            else None
        ),
    )


async def menu_keys(reader: Reader, tenant_id: UUID, menu_id: UUID | None = None) -> MenuKeys:
    """All ten keys of a menu (None: the first), assigned or not, in one round trip (two if a
    key plays a prompt); 404 if there is no such menu."""
    rows = await reader.fetch(MENU_KEYS, tenant_id, menu_id)
    if not rows:
        raise not_found(
            *(("receptionist", "tenant_id") if menu_id is None else ("menu", "menu_id"))
        )
    # Only keys that play an announcement have a prompt: a menu without one (transfers only,
    # the common case) costs no second round trip.
    prompt_ids = [r["prompt_id"] for r in rows if r["prompt_id"] is not None]
    key_prompts = await prompts.models_of(reader, tenant_id, prompt_ids) if prompt_ids else {}
    by_digit = {r["digit"]: r for r in rows if r["digit"] is not None}
    items = [
        UNASSIGNED[digit]
        if (row := by_digit.get(digit)) is None
        else key_of(row, key_prompts.get(row["prompt_id"]))
        for digit in "0123456789"
    ]
    return MenuKeys(rows[0]["of_menu"], s.KeyList(items=items), rows[0]["versioned"])


async def keys(reader: Reader, tenant_id: UUID, menu_id: UUID | None = None) -> s.KeyList:
    """All ten keys of a menu (None: the first), assigned or not."""
    return (await menu_keys(reader, tenant_id, menu_id)).keys


# A key's upsert, with what it reaches found in the same statement (`t`: the target, by
# number or id, `$7`; `$8`: the extension kind a transfer needs, if any). It returns the key as
# the API shows it and the target's kind, or no row when there is no such target; a target
# of another kind returns its kind and writes nothing. `{target}` is one of `TARGETS`.
UPSERT = """
    WITH t AS ({target}),
    k AS (
      INSERT INTO key_assignments (tenant_id, menu_id, digit, action, prompt_id, target_kind,
                                   target_extension_id, target_ring_group_id,
                                   target_conference_id, target_menu_id)
      SELECT $1, $2, $3, $4, $5, $6, {columns} FROM t
       WHERE $8::text IS NULL OR t.kind::text = $8::text
      ON CONFLICT (tenant_id, menu_id, digit) DO UPDATE SET
          action = EXCLUDED.action, prompt_id = EXCLUDED.prompt_id,
          target_kind = EXCLUDED.target_kind,
          target_extension_id = EXCLUDED.target_extension_id,
          target_ring_group_id = EXCLUDED.target_ring_group_id,
          target_conference_id = EXCLUDED.target_conference_id,
          target_menu_id = EXCLUDED.target_menu_id
      RETURNING *)
    SELECT t.kind AS target_is, {key_columns} FROM t LEFT JOIN k ON true {key_joins}"""

# What a key reaches, by its table ($7: the target's number, or the menu's id): the id and,
# for an extension, its kind. A key that reaches nothing has one empty target.
TARGETS = {
    "extensions": "SELECT id, kind FROM extensions WHERE tenant_id = $1 AND number = $7",
    "ring_groups": "SELECT id, NULL AS kind FROM ring_groups WHERE tenant_id = $1 AND number = $7",
    "conference_rooms": (
        "SELECT id, NULL AS kind FROM conference_rooms WHERE tenant_id = $1 AND number = $7"
    ),
    "menus": "SELECT id, NULL AS kind FROM menus WHERE tenant_id = $1 AND id = $7::text::uuid",
    None: "SELECT NULL::uuid AS id, NULL::text AS kind WHERE $7::text IS NULL",
}
TARGET_COLUMNS = (
    "target_extension_id",
    "target_ring_group_id",
    "target_conference_id",
    "target_menu_id",
)


def _upsert(table: str | None, column: str | None) -> str:
    """The upsert of a key reaching a row of `table` through its `column` (None: nothing)."""
    return UPSERT.format(
        target=TARGETS[table],
        columns=", ".join("t.id" if name == column else "NULL::uuid" for name in TARGET_COLUMNS),
        key_columns=KEY_COLUMNS,
        key_joins=KEY_JOINS,
    )


def _unknown_target(body: s.Transfer | s.OpenMenu, prefix: str, kind: str | None) -> ApiError:
    """Why a key cannot reach its target: there is none (`kind` None), or an extension of
    another kind (`kind`)."""
    if isinstance(body, s.OpenMenu):
        return ApiError(
            UNKNOWN_TARGET,
            f"there is no menu {body.menu_id}: list the tenant's menus with GET .../menus",
            f"{prefix}menu_id",
        )
    number = body.target.number
    if kind is None:
        table, _ = KEY_TARGET_TABLES[body.target.kind]
        return ApiError(
            UNKNOWN_TARGET, f"there is no {TABLE_NOUNS[table]} {number}", f"{prefix}target.number"
        )
    wanted = EXTENSION_KINDS[body.target.kind]
    return ApiError(
        UNKNOWN_TARGET,
        f"extension {number} is {kind}, not {wanted}: "
        f"use kind {'extension' if kind == 'physical' else 'virtual_extension'}",
        f"{prefix}target.kind",
    )


async def assign(
    connection: Connection,
    tenant_id: UUID,
    digit: str,
    body: s.KeyAssignment,
    prefix: str = "",
    menu_id: UUID | None = None,
) -> s.Key:
    """Set what one key of a menu (None: the first) does (`prefix` names the fields in errors,
    e.g. in an import); the key as the API now shows it. A transfer or a menu is found and
    the key written in one round trip; 422 if there is no such target."""
    if menu_id is None:
        menu_id = await first_menu_id(connection, tenant_id)
    prompt_id = target_kind = wanted = None
    prompt: s.Prompt | None = None
    table = column = reference = None
    if isinstance(body, s.PlayAnnouncement):
        if (body.prompt is None) == (body.prompt_id is None):
            raise ApiError(
                VALIDATION_FAILED,
                "give either prompt (text to speak) or prompt_id",
                f"{prefix}prompt",
            )
        if body.prompt is not None:
            prompt = await prompts.insert_tts(connection, tenant_id, body.prompt)
            prompt_id = prompt.id
        elif body.prompt_id is not None:
            prompt_id = await prompts.id_of(
                connection, tenant_id, body.prompt_id, f"{prefix}prompt_id"
            )
    elif isinstance(body, s.Transfer):
        target_kind = body.target.kind
        table, column = KEY_TARGET_TABLES[target_kind]
        reference, wanted = body.target.number, EXTENSION_KINDS.get(target_kind)
    elif isinstance(body, s.OpenMenu):
        table, column, reference = "menus", "target_menu_id", str(body.menu_id)
    row = await connection.fetchrow(
        _upsert(table, column),
        tenant_id,
        menu_id,
        digit,
        body.action,
        prompt_id,
        target_kind,
        reference,
        wanted,
    )
    if row is None or row["digit"] is None:
        if not isinstance(body, s.Transfer | s.OpenMenu):  # nothing to miss: always written
            raise RuntimeError("the key's upsert wrote nothing")
        raise _unknown_target(body, prefix, None if row is None else row["target_is"])
    if prompt is None and prompt_id is not None:
        prompt = (await prompts.models_of(connection, tenant_id, [prompt_id])).get(prompt_id)
    return key_of(row, prompt)


def assignment_of(key: s.Key) -> s.DialByName | s.PlayAnnouncement | s.Transfer | s.OpenMenu:
    """What a key does, as one would assign it again."""
    if key.action == "open_menu" and key.menu is not None:
        return s.OpenMenu(action="open_menu", menu_id=key.menu.id)
    if key.action == "transfer" and key.target is not None:
        return s.Transfer(
            action="transfer",
            target=s.TransferTarget(kind=key.target.kind, number=key.target.number),
        )
    if key.action == "play_announcement" and key.prompt is not None:
        tts = prompts.tts_of(key.prompt)
        if tts is not None:
            return s.PlayAnnouncement(action="play_announcement", prompt=tts)
        return s.PlayAnnouncement(action="play_announcement", prompt_id=key.prompt.id)
    return s.DialByName(action="dial_by_name")


async def read_keys(store: Store, actor: Principal, tenant_id: UUID) -> Rendered:
    """All ten keys, as answered (JSON and ETag): kept in memory between reads
    (`rcp_admin.memory`), the same for every caller who may see the tenant."""
    actor.require_tenant(tenant_id)

    async def read() -> Rendered:
        async with store.tenant_read(actor, tenant_id) as connection:
            return rendered(await keys(connection, tenant_id))

    return await store.memory.read(tenant_id, "keys", read)


async def set_key(
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    digit: str,
    body: s.KeyAssignment | None,
    if_match: str | None,
    request_id: str | None,
    menu_id: UUID | None = None,
) -> s.KeyList:
    """Assign a key of a menu (None: the first; body None: unassign it), if the menu's keys are
    unchanged since read (If-Match)."""
    action = "unassign" if body is None else "assign"
    key = digit if menu_id is None else f"{menu_id}/{digit}"
    async with store.write(actor, tenant_id, "key", action, key, request_id) as change:
        connection = await locked(actor, tenant_id, change)
        publish = menu_id is None  # /receptionist/keys edits and publishes in one step
        before = await menu_keys(connection, tenant_id, menu_id)
        check_if_match(if_match, before.keys)
        if not publish:
            await publishing.baseline(connection, tenant_id, actor)
        if body is None:
            await connection.execute(
                "DELETE FROM key_assignments WHERE tenant_id = $1 AND menu_id = $2 AND digit = $3",
                tenant_id,
                before.menu_id,
                digit,
            )
            assigned = None
        else:
            assigned = await assign(connection, tenant_id, digit, body, menu_id=before.menu_id)
        if publish and before.versioned:
            await publishing.publish_draft(connection, tenant_id, actor, PUBLISHED_BY_KEYS)
        # The keys after: those before but the one assigned (the receptionist's lock kept the
        # others as they were).
        after = before.assigned(digit, assigned)
        change.record(before.keys.items[int(digit)], assigned)
    return after


@ROUTES.get("/receptionist", response=s.Receptionist, etag=True)
async def get_receptionist(c: Call) -> web.Response:
    """Read the receptionist's settings (with ETag)"""
    return with_etag(await read(c.store, c.principal, c.tenant_id))


@ROUTES.patch("/receptionist", body=s.ReceptionistPatch, response=s.Receptionist, etag=True)
async def patch_receptionist(c: Call) -> web.Response:
    """Change greeting, dial-extension, timeouts, retries (If-Match)"""
    body = await c.body(s.ReceptionistPatch)
    return with_etag(
        await update(c.store, c.principal, c.tenant_id, body, c.if_match, c.request_id)
    )


@ROUTES.get("/receptionist/keys", response=s.KeyList, etag=True)
async def get_keys(c: Call) -> web.Response:
    """All ten keys (with ETag)"""
    return with_etag(await read_keys(c.store, c.principal, c.tenant_id))


@ROUTES.put("/receptionist/keys/{digit}", body=s.KeyAssignment, response=s.KeyList, etag=True)
async def put_key(c: Call) -> web.Response:
    """Assign a key (If-Match)"""
    digit = c.digit
    body = await c.body(s.KeyAssignment)
    return with_etag(
        await set_key(c.store, c.principal, c.tenant_id, digit, body, c.if_match, c.request_id)
    )


@ROUTES.delete("/receptionist/keys/{digit}", response=s.KeyList, etag=True)
async def delete_key(c: Call) -> web.Response:
    """Unassign a key (If-Match)"""
    return with_etag(
        await set_key(c.store, c.principal, c.tenant_id, c.digit, None, c.if_match, c.request_id)
    )
