"""Revision 0005 on a database holding the demo tenants as revision 0004 left them: every
receptionist gets its first menu, every key lands on it, and the call flow reads the same
configuration as before; the downgrade gives the keys back as they were."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import UUID

import asyncpg
from rcp.callflow.config import DialByName, PlayAnnouncement, Transfer
from rcp.db.migrate import downgrade, upgrade
from rcp.vocabulary import TargetKind
from rcp_stasis.tenants import PostgresTenants

# As the demo seeding of revision 0004 wrote them (deploy/local/rcp_devstack/demo.py then).
DEMO_TENANTS = (("demo", "Démo SARL", "fr-FR"), ("demo-en", "Demo Ltd", "en-GB"))

KEYS = """SELECT tenant_id, digit, action, prompt_id, target_kind, target_extension_id,
                 target_ring_group_id, target_conference_id
            FROM key_assignments ORDER BY tenant_id, digit"""


async def _seed_revision_0004(url: str) -> dict[str, UUID]:
    db = await asyncpg.connect(url)
    tenants = {}
    try:
        async with db.transaction():
            for slug, name, locale in DEMO_TENANTS:
                tenant = await db.fetchval(
                    "INSERT INTO tenants (slug, name, locale) VALUES ($1, $2, $3) RETURNING id",
                    slug,
                    name,
                    locale,
                )
                tenants[slug] = tenant
                device = await db.fetchval(
                    """INSERT INTO devices (tenant_id, name, endpoint)
                       VALUES ($1, 'desk', $2) RETURNING id""",
                    tenant,
                    f"PJSIP/desk-{slug}",
                )
                amelie = await db.fetchval(
                    """INSERT INTO extensions (tenant_id, number, kind, last_name, device_id)
                       VALUES ($1, '101', 'physical', 'Poulain', $2) RETURNING id""",
                    tenant,
                    device,
                )
                group = await db.fetchval(
                    """INSERT INTO ring_groups (tenant_id, number, name)
                       VALUES ($1, '200', 'Accueil') RETURNING id""",
                    tenant,
                )
                room = await db.fetchval(
                    """INSERT INTO conference_rooms (tenant_id, number, name)
                       VALUES ($1, '300', 'Salle Monet') RETURNING id""",
                    tenant,
                )
                greeting, hours = [
                    await db.fetchval(
                        """INSERT INTO prompts (tenant_id, source, tts_text, language)
                           VALUES ($1, 'tts', $2, $3) RETURNING id""",
                        tenant,
                        text,
                        locale,
                    )
                    for text in ("Bienvenue", "Horaires")
                ]
                await db.execute(
                    """INSERT INTO receptionists (tenant_id, greeting_prompt_id, language,
                                                  dial_extension_enabled)
                       VALUES ($1, $2, $3, true)""",
                    tenant,
                    greeting,
                    locale,
                )
                for digit, action, prompt, kind, ext, grp, rm in (
                    ("1", "dial_by_name", None, None, None, None, None),
                    ("2", "play_announcement", hours, None, None, None, None),
                    ("3", "transfer", None, "ring_group", None, group, None),
                    ("4", "transfer", None, "conference", None, None, room),
                    ("0", "transfer", None, "extension", amelie, None, None),
                ):
                    await db.execute(
                        """INSERT INTO key_assignments (tenant_id, digit, action, prompt_id,
                               target_kind, target_extension_id, target_ring_group_id,
                               target_conference_id)
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
                        tenant,
                        digit,
                        action,
                        prompt,
                        kind,
                        ext,
                        grp,
                        rm,
                    )
    finally:
        await db.close()
    return tenants


async def _rows(url: str, query: str) -> list[asyncpg.Record]:
    db = await asyncpg.connect(url)
    try:
        return list(await db.fetch(query))
    finally:
        await db.close()


async def _configs(url: str, tenants: dict[str, UUID]) -> dict[str, object]:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        source = PostgresTenants(pool)
        return {slug: await source.load(tenant) for slug, tenant in tenants.items()}
    finally:
        await pool.close()


def test_the_demo_tenants_keys_land_on_their_first_menu_unchanged(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    upgrade(url, "0004", configure_logging=False)
    tenants = asyncio.run(_seed_revision_0004(url))
    before = asyncio.run(_rows(url, KEYS))

    upgrade(url, configure_logging=False)

    assert asyncio.run(_rows(url, KEYS)) == before
    menus = asyncio.run(_rows(url, "SELECT * FROM menus ORDER BY name"))
    assert [(m["name"], m["is_first"]) for m in menus] == [
        ("Main menu", True),
        ("Menu principal", True),
    ]
    on_first = asyncio.run(
        _rows(
            url,
            """SELECT count(*) AS n FROM key_assignments k JOIN menus m
                   ON m.tenant_id = k.tenant_id AND m.id = k.menu_id AND m.is_first""",
        )
    )
    assert on_first[0]["n"] == len(before) == 10
    configs = asyncio.run(_configs(url, tenants))
    for slug, locale in (("demo", "fr-FR"), ("demo-en", "en-GB")):
        config = configs[slug]
        assert config is not None
        keys = config.keys  # type: ignore[attr-defined]
        assert {d: type(a) for d, a in keys.items()} == {
            "0": Transfer,
            "1": DialByName,
            "2": PlayAnnouncement,
            "3": Transfer,
            "4": Transfer,
        }
        assert keys["3"] == Transfer(TargetKind.RING_GROUP, "200")
        assert keys["0"] == Transfer(TargetKind.EXTENSION, "101")
        first = config.first_menu  # type: ignore[attr-defined]
        assert (first.language, first.dial_extension_enabled) == (locale, True)
        assert first.greeting_prompt_id is not None

    downgrade(url, "0004", configure_logging=False)
    assert asyncio.run(_rows(url, KEYS)) == before
