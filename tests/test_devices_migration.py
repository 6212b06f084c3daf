"""Revision 0004 on a database that holds the demo tenants as revision 0003 left them, and
dial strings of every kind a tenant could write before: devices are made of what were device
endpoints, the rest is kept and flagged, PINs are hashed (three-digit ones flagged), the audit
log loses the PINs it held, and the downgrade gives the dial strings back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from rcp.db.migrate import downgrade, upgrade
from rcp.pins import HASHED, verify_pin

# As the demo seeding of revision 0003 wrote them (deploy/local/rcp_devstack/demo.py then).
DEMO_TENANTS = (("demo", "Démo SARL", "fr-FR"), ("demo-en", "Demo Ltd", "en-GB"))
DEMO_PHONES = (
    ("101", "Amélie", "Poulain", "Local/101@test-phones"),
    ("102", "Jean-Pierre", "Lefèvre", "Local/102@test-phones"),
    ("103", "Seán", "O'Brien", "Local/103@test-phones"),
)
# What else a tenant's token could write as a dial string before devices.
ODD = (
    ("110", "PJSIP/alice"),  # a device
    ("111", "PJSIP/alice"),  # the same phone for a second extension: one device
    ("112", "PJSIP/+88212345678@carrier"),  # a satellite number through the trunk
    ("113", "PJSIP/carrier"),  # the trunk itself
    ("114", "PJSIP/carrier/sip:x@any-host"),  # an INVITE to any host
    ("115", "Local/+33199000002@from-carrier"),  # another tenant's receptionist
    ("116", "Local/s@receptionist-unavailable"),
    ("117", "SIP/legacy"),
    ("118", "Local/rcp-app~tag.118@test-apps/n"),  # a test's phone
)


async def _seed_revision_0003(url: str) -> None:
    db = await asyncpg.connect(url)
    try:
        async with db.transaction():
            for slug, name, locale in DEMO_TENANTS:
                tenant = await db.fetchval(
                    "INSERT INTO tenants (slug, name, locale) VALUES ($1, $2, $3) RETURNING id",
                    slug,
                    name,
                    locale,
                )
                for number, first, last, dial in DEMO_PHONES:
                    await db.execute(
                        """INSERT INTO extensions (tenant_id, number, kind, first_name, last_name,
                                                   dial_string) VALUES ($1, $2, 'physical', $3, $4, $5)""",
                        tenant,
                        number,
                        first,
                        last,
                        dial,
                    )
                await db.execute(
                    """INSERT INTO extensions (tenant_id, number, kind, first_name, last_name,
                                               external_number)
                       VALUES ($1, '104', 'virtual', 'Françoise', 'Le Gall', '+33199000104')""",
                    tenant,
                )
                await db.execute(
                    """INSERT INTO conference_rooms (tenant_id, number, name)
                       VALUES ($1, '300', 'Salle Monet')""",
                    tenant,
                )
            demo = await db.fetchval("SELECT id FROM tenants WHERE slug = 'demo'")
            for number, dial in ODD:
                await db.execute(
                    """INSERT INTO extensions (tenant_id, number, kind, last_name, dial_string)
                       VALUES ($1, $2, 'physical', 'Odd', $3)""",
                    demo,
                    number,
                    dial,
                )
            # A later tenant that rang the demo's phone too: the older tenant keeps it.
            later = await db.fetchval(
                """INSERT INTO tenants (slug, name, created_at)
                   VALUES ('later', 'Later', now() + interval '1 day') RETURNING id"""
            )
            await db.execute(
                """INSERT INTO extensions (tenant_id, number, kind, last_name, dial_string)
                   VALUES ($1, '101', 'physical', 'Shared', 'PJSIP/alice')""",
                later,
            )
            for number, pin in (("301", "123"), ("302", "4321")):
                await db.execute(
                    "INSERT INTO conference_rooms (tenant_id, number, name, pin) VALUES ($1, $2, 'R', $3)",
                    demo,
                    number,
                    pin,
                )
            await db.execute(
                """INSERT INTO audit_log (tenant_id, actor, action, entity, entity_key, before, after)
                   VALUES ($1, 'tests', 'conference_room.update', 'conference_room', '302',
                           '{"number": "302", "pin": "1111"}', '{"number": "302", "pin": "4321"}')""",
                demo,
            )
    finally:
        await db.close()


async def _rows(url: str, query: str, *args: Any) -> list[dict[str, Any]]:
    db = await asyncpg.connect(url)
    try:
        return [dict(r) for r in await db.fetch(query, *args)]
    finally:
        await db.close()


EXTENSIONS = """
    SELECT t.slug, e.number, e.legacy_dial_string, d.name AS device, d.endpoint
      FROM extensions e JOIN tenants t ON t.id = e.tenant_id
      LEFT JOIN devices d ON d.tenant_id = e.tenant_id AND d.id = e.device_id
     WHERE e.kind = 'physical' ORDER BY t.slug, e.number"""


@pytest.fixture
def upgraded(make_database: Callable[[], str]) -> str:
    url = make_database()
    upgrade(url, "0003", configure_logging=False)
    asyncio.run(_seed_revision_0003(url))
    upgrade(url, configure_logging=False)
    return url


def test_dial_strings_that_are_devices_become_devices_the_rest_is_kept_as_it_was(
    upgraded: str,
) -> None:
    rows = asyncio.run(_rows(upgraded, EXTENSIONS))
    by = {(r["slug"], r["number"]): r for r in rows}
    for slug in ("demo", "demo-en"):
        for number, _, _, dial in DEMO_PHONES:
            assert by[slug, number]["endpoint"] == dial
            assert by[slug, number]["device"] == f"{number}-test-phones"
            assert by[slug, number]["legacy_dial_string"] is None
    assert by["demo", "110"]["device"] == by["demo", "111"]["device"] == "alice"
    assert by["demo", "118"]["device"] == "rcp-app-tag.118-test-apps-n"
    kept = {n: d for n, d in ODD if n in {"112", "113", "114", "115", "116", "117"}}
    for number, dial in kept.items():
        assert (by["demo", number]["device"], by["demo", number]["legacy_dial_string"]) == (
            None,
            dial,
        )
    # The phone rang for two tenants: the older keeps it, the later one is flagged.
    assert (by["later", "101"]["device"], by["later", "101"]["legacy_dial_string"]) == (
        None,
        "PJSIP/alice",
    )
    devices = asyncio.run(_rows(upgraded, "SELECT count(*) AS n FROM devices"))
    assert devices[0]["n"] == 3 + 3 + 2  # demo: 3 phones, alice, a test app; demo-en: 3


def test_pins_are_hashed_and_a_three_digit_pin_still_opens_its_room_flagged(
    upgraded: str,
) -> None:
    rooms = asyncio.run(
        _rows(upgraded, "SELECT number, pin_hash, pin_too_short FROM conference_rooms")
    )
    by = {(r["number"], r["pin_hash"] is None): r for r in rooms}
    short, four = by["301", False], by["302", False]
    assert HASHED.match(short["pin_hash"])
    assert HASHED.match(four["pin_hash"])
    assert verify_pin("123", short["pin_hash"])
    assert short["pin_too_short"]
    assert verify_pin("4321", four["pin_hash"])
    assert not four["pin_too_short"]
    assert not verify_pin("1234", four["pin_hash"])
    columns = asyncio.run(
        _rows(
            upgraded,
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'conference_rooms'",
        )
    )
    assert "pin" not in {c["column_name"] for c in columns}


def test_the_audit_log_no_longer_holds_pins(upgraded: str) -> None:
    (entry,) = asyncio.run(
        _rows(upgraded, "SELECT before, after FROM audit_log WHERE entity = 'conference_room'")
    )
    before, after = (json.loads(entry[side]) for side in ("before", "after"))
    assert (before["pin"], after["pin"]) == ("***", "***")
    assert after["number"] == "302"


def test_the_downgrade_gives_dial_strings_back_once_no_room_has_a_pin(upgraded: str) -> None:
    with pytest.raises(RuntimeError, match="PINs stored hashed"):
        downgrade(upgraded, "0003", configure_logging=False)
    asyncio.run(
        _rows(upgraded, "UPDATE conference_rooms SET pin_hash = NULL, pin_too_short = false")
    )
    downgrade(upgraded, "0003", configure_logging=False)
    rows = asyncio.run(
        _rows(
            upgraded,
            """SELECT t.slug, e.number, e.dial_string FROM extensions e
                 JOIN tenants t ON t.id = e.tenant_id WHERE e.kind = 'physical'""",
        )
    )
    by = {(r["slug"], r["number"]): r["dial_string"] for r in rows}
    assert by["demo", "101"] == "Local/101@test-phones"
    assert by["demo", "110"] == by["later", "101"] == "PJSIP/alice"
    assert by["demo", "112"] == "PJSIP/+88212345678@carrier"
