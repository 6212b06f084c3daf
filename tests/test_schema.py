"""The database itself refuses cross-tenant references and invalid values."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from schema_support import insert_device


async def tenant(db: asyncpg.Connection, name: str) -> uuid.UUID:
    """A new tenant (with its receptionist) under a slug no other test uses."""
    tenant_id: uuid.UUID = await db.fetchval(
        "INSERT INTO tenants (slug, name) VALUES ($1, $2) RETURNING id",
        f"{name}-{uuid.uuid4().hex[:8]}",
        name.title(),
    )
    await db.execute("INSERT INTO receptionists (tenant_id) VALUES ($1)", tenant_id)
    return tenant_id


async def extension(
    db: asyncpg.Connection, tenant_id: uuid.UUID, number: str, kind: str = "physical"
) -> uuid.UUID:
    physical = kind == "physical"
    name = f"desk-{number}-{uuid.uuid4().hex[:6]}"
    device = await insert_device(db, tenant_id, name) if physical else None
    outside = None if physical else "+33612345678"
    extension_id: uuid.UUID = await db.fetchval(
        """INSERT INTO extensions (tenant_id, number, kind, first_name, last_name, device_id,
                                   external_number)
           VALUES ($1, $2, $3, 'Amélie', 'Poulain', $4, $5) RETURNING id""",
        tenant_id,
        number,
        kind,
        device,
        outside,
    )
    return extension_id


async def transfer_key(
    db: asyncpg.Connection, tenant_id: uuid.UUID, digit: str, kind: str, extension_id: uuid.UUID
) -> None:
    """Assign a key that transfers to an extension (or its voicemail)."""
    await db.execute(
        """INSERT INTO key_assignments (tenant_id, digit, action, target_kind, target_extension_id)
           VALUES ($1, $2, 'transfer', $3, $4)""",
        tenant_id,
        digit,
        kind,
        extension_id,
    )


async def test_key_cannot_transfer_to_another_tenants_extension(db: asyncpg.Connection) -> None:
    acme = await tenant(db, "acme")
    other = await tenant(db, "other")
    foreign = await extension(db, other, "101")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await transfer_key(db, acme, "3", "extension", foreign)


async def test_key_can_transfer_to_own_extension(db: asyncpg.Connection) -> None:
    acme = await tenant(db, "acme")
    own = await extension(db, acme, "101")
    await transfer_key(db, acme, "3", "extension", own)
    assert await db.fetchval("SELECT count(*) FROM key_assignments WHERE tenant_id = $1", acme) == 1


async def test_transfer_kind_must_match_the_extension_kind(db: asyncpg.Connection) -> None:
    acme = await tenant(db, "acme")
    virtual = await extension(db, acme, "150", kind="virtual")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await transfer_key(db, acme, "3", "extension", virtual)
    # Voicemail takes an extension of either kind.
    await transfer_key(db, acme, "4", "voicemail", virtual)


async def test_announcement_prompt_of_another_tenant_is_refused(db: asyncpg.Connection) -> None:
    acme = await tenant(db, "acme")
    other = await tenant(db, "other")
    prompt = await db.fetchval(
        "INSERT INTO prompts (tenant_id, source, tts_text, language) VALUES ($1, 'tts', 'Bonjour', 'fr-FR') RETURNING id",
        other,
    )
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await db.execute(
            "INSERT INTO key_assignments (tenant_id, digit, action, prompt_id) VALUES ($1, '2', 'play_announcement', $2)",
            acme,
            prompt,
        )


@pytest.mark.parametrize("digit", ["10", "a", "*", "#", "", "-1"])
async def test_key_digit_outside_0_to_9_is_refused(db: asyncpg.Connection, digit: str) -> None:
    acme = await tenant(db, "acme")
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            "INSERT INTO key_assignments (tenant_id, digit, action) VALUES ($1, $2, 'dial_by_name')",
            acme,
            digit,
        )


async def test_one_assignment_per_digit(db: asyncpg.Connection) -> None:
    acme = await tenant(db, "acme")
    await db.execute(
        "INSERT INTO key_assignments (tenant_id, digit, action) VALUES ($1, '1', 'dial_by_name')",
        acme,
    )
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute(
            "INSERT INTO key_assignments (tenant_id, digit, action) VALUES ($1, '1', 'dial_by_name')",
            acme,
        )


async def test_transfer_without_target_is_refused(db: asyncpg.Connection) -> None:
    acme = await tenant(db, "acme")
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            "INSERT INTO key_assignments (tenant_id, digit, action, target_kind) VALUES ($1, '5', 'transfer', 'extension')",
            acme,
        )


@pytest.mark.parametrize(
    "table_sql",
    [
        "INSERT INTO ring_groups (tenant_id, number, name) VALUES ($1, '101', 'Accueil')",
        "INSERT INTO conference_rooms (tenant_id, number, name) VALUES ($1, '101', 'Salle')",
    ],
    ids=["ring_group", "conference_room"],
)
async def test_number_already_used_in_the_numbering_plan_is_refused(
    db: asyncpg.Connection, table_sql: str
) -> None:
    acme = await tenant(db, "acme")
    await extension(db, acme, "101")
    with pytest.raises(asyncpg.UniqueViolationError, match="101 is already used by an extension"):
        await db.execute(table_sql, acme)


async def test_same_number_in_two_tenants_is_allowed(db: asyncpg.Connection) -> None:
    acme, other = await tenant(db, "acme"), await tenant(db, "other")
    await extension(db, acme, "101")
    await extension(db, other, "101")
    owners = await db.fetchval(
        "SELECT count(*) FROM numbering_plan WHERE number = '101' AND tenant_id = ANY($1::uuid[])",
        [acme, other],
    )
    assert owners == 2


async def test_renumbering_moves_the_number_and_frees_the_old_one(db: asyncpg.Connection) -> None:
    acme = await tenant(db, "acme")
    ext = await extension(db, acme, "101")
    await db.execute("UPDATE extensions SET number = '111' WHERE id = $1", ext)
    await db.execute(
        "INSERT INTO conference_rooms (tenant_id, number, name) VALUES ($1, '101', 'Salle')", acme
    )
    plan = await db.fetch(
        "SELECT number, owner_kind FROM numbering_plan WHERE tenant_id = $1 ORDER BY number", acme
    )
    assert [(row["number"], row["owner_kind"]) for row in plan] == [
        ("101", "conference_room"),
        ("111", "extension"),
    ]


async def test_renumbering_onto_a_used_number_is_refused(db: asyncpg.Connection) -> None:
    acme = await tenant(db, "acme")
    await db.execute(
        "INSERT INTO ring_groups (tenant_id, number, name) VALUES ($1, '200', 'Accueil')", acme
    )
    ext = await extension(db, acme, "101")
    with pytest.raises(asyncpg.UniqueViolationError, match="used by a ring group"):
        await db.execute("UPDATE extensions SET number = '200' WHERE id = $1", ext)


async def test_deleting_an_extension_frees_its_number(db: asyncpg.Connection) -> None:
    acme = await tenant(db, "acme")
    ext = await extension(db, acme, "101")
    await db.execute("DELETE FROM extensions WHERE id = $1", ext)
    await db.execute(
        "INSERT INTO ring_groups (tenant_id, number, name) VALUES ($1, '101', 'Accueil')", acme
    )
    assert (
        await db.fetchval("SELECT owner_kind FROM numbering_plan WHERE tenant_id = $1", acme)
        == "ring_group"
    )


@pytest.mark.parametrize(
    "e164",
    [
        "0123456789",
        "+0123456789",
        "+33 1 23 45 67 89",
        "+3312",
        "33123456789",
        "+331234567890123456",
    ],
)
async def test_invalid_e164_phone_number_is_refused(db: asyncpg.Connection, e164: str) -> None:
    acme = await tenant(db, "acme")
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("INSERT INTO phone_numbers (e164, tenant_id) VALUES ($1, $2)", e164, acme)


async def test_phone_number_routes_to_one_tenant_only(db: asyncpg.Connection) -> None:
    acme = await tenant(db, "acme")
    other = await tenant(db, "other")
    number = f"+3319900{uuid.uuid4().int % 10**5:05d}"
    await db.execute("INSERT INTO phone_numbers (e164, tenant_id) VALUES ($1, $2)", number, acme)
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute(
            "INSERT INTO phone_numbers (e164, tenant_id) VALUES ($1, $2)", number, other
        )


async def test_virtual_extension_needs_an_e164_outside_number(db: asyncpg.Connection) -> None:
    acme = await tenant(db, "acme")
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            """INSERT INTO extensions (tenant_id, number, kind, last_name, external_number)
               VALUES ($1, '150', 'virtual', 'Dupont', '0612345678')""",
            acme,
        )
    device = await insert_device(db, acme, "bob")
    with pytest.raises(asyncpg.CheckViolationError, match="extensions_kind_target"):
        await db.execute(
            """INSERT INTO extensions (tenant_id, number, kind, last_name, device_id)
               VALUES ($1, '150', 'virtual', 'Dupont', $2)""",
            acme,
            device,
        )


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("locale", "french"),
        ("timezone", "Europe/Nowhere"),
        ("status", "gone"),
        ("slug", "Bad Slug"),
    ],
)
async def test_invalid_tenant_values_are_refused(
    db: asyncpg.Connection, column: str, value: str
) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            f"INSERT INTO tenants (slug, name, {column}) VALUES ('acme', 'Acme', $1)"
            if column != "slug"
            else "INSERT INTO tenants (slug, name) VALUES ($1, 'Acme')",
            value,
        )


async def test_ring_group_member_of_another_tenant_is_refused(db: asyncpg.Connection) -> None:
    acme = await tenant(db, "acme")
    foreign = await extension(db, await tenant(db, "other"), "101")
    group = await db.fetchval(
        "INSERT INTO ring_groups (tenant_id, number, name) VALUES ($1, '200', 'Accueil') RETURNING id",
        acme,
    )
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await db.execute(
            "INSERT INTO ring_group_members (tenant_id, ring_group_id, extension_id, position) VALUES ($1, $2, $3, 0)",
            acme,
            group,
            foreign,
        )


async def test_voicemail_outlives_its_deleted_extension(db: asyncpg.Connection) -> None:
    acme = await tenant(db, "acme")
    ext = await extension(db, acme, "101")
    recording = await db.fetchval(
        """INSERT INTO prompts (tenant_id, source, status, content_hash)
           VALUES ($1, 'recording', 'ready', repeat('a', 64)) RETURNING id""",
        acme,
    )
    message = await db.fetchval(
        """INSERT INTO voicemail_messages (tenant_id, extension_id, extension_number, prompt_id, duration_ms)
           VALUES ($1, $2, '101', $3, 4200) RETURNING id""",
        acme,
        ext,
        recording,
    )
    await db.execute("DELETE FROM extensions WHERE id = $1", ext)
    row = await db.fetchrow(
        "SELECT extension_id, extension_number FROM voicemail_messages WHERE id = $1", message
    )
    assert row is not None
    assert (row["extension_id"], row["extension_number"]) == (None, "101")
    # Its recording cannot be deleted while the message exists.
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await db.execute("DELETE FROM prompts WHERE id = $1", recording)


async def test_extension_used_by_a_key_cannot_be_deleted(db: asyncpg.Connection) -> None:
    acme = await tenant(db, "acme")
    ext = await extension(db, acme, "101")
    await transfer_key(db, acme, "0", "extension", ext)
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await db.execute("DELETE FROM extensions WHERE id = $1", ext)


async def test_tenant_token_needs_its_tenant_and_carrier_token_none(db: asyncpg.Connection) -> None:
    acme = await tenant(db, "acme")
    insert = """INSERT INTO admin_tokens (scope, tenant_id, name, token_hash, token_prefix)
                VALUES ($1, $2, 'ops', $3, 'abcd1234')"""
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(insert, "tenant", None, b"x" * 32)
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(insert, "carrier", acme, b"y" * 32)


async def test_duplicate_extension_number_is_refused_and_upsert_still_works(
    db: asyncpg.Connection,
) -> None:
    acme = await tenant(db, "acme")
    await extension(db, acme, "101")
    with pytest.raises(asyncpg.UniqueViolationError):
        await extension(db, acme, "101")
    await db.execute(
        """INSERT INTO extensions (tenant_id, number, kind, last_name, device_id)
           VALUES ($1, '101', 'physical', 'Martin', $2)
           ON CONFLICT (tenant_id, number) DO UPDATE SET last_name = EXCLUDED.last_name""",
        acme,
        await insert_device(db, acme, "carol"),
    )
    rows = await db.fetch("SELECT last_name FROM extensions WHERE tenant_id = $1", acme)
    assert [row["last_name"] for row in rows] == ["Martin"]
    assert await db.fetchval("SELECT count(*) FROM numbering_plan WHERE tenant_id = $1", acme) == 1
