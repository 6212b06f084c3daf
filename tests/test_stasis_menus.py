"""Menus on real calls through the local Asterisk: a sub-menu two levels deep and back with `*`,
an English sub-menu whose system prompts are English, and the schedule (open, closed, holiday,
override; each built around the current time) choosing the menu a call starts in, and a call
that keeps its version while another is published."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import pytest
import pytest_asyncio
from nats.aio.msg import Msg
from nats_support import as_user
from rcp import config_store, subjects
from rcp.contracts import ConfigChanged
from rcp.db import receptionists
from rcp.messaging import connect_nats, reached_server
from rcp.schedule import WEEKDAYS
from stasis_e2e_support import (
    Phones,
    Stack,
    Tenant,
    ended_call,
    kind,
    provision,
    steps_of,
    traced,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module")
async def tenant(stack: Stack, lines: Phones) -> AsyncIterator[Tenant]:
    found = await provision(stack.database_url, stack.phones_app)
    await _sub_menus(stack.database_url, found.id)
    yield found
    await lines.hang_up_everything()


async def _sub_menus(database_url: str, tenant_id: UUID) -> None:
    """Key 9 of the first menu opens "Sales" (English: 3 dial by name, 1 opens "Devis"),
    whose key 1 opens "Devis" (French: 1 rings extension 102)."""
    db = await asyncpg.connect(database_url)
    try:
        async with db.transaction():
            sales, quotes = [
                await db.fetchval(
                    "INSERT INTO menus (tenant_id, name, language) VALUES ($1, $2, $3) RETURNING id",
                    tenant_id,
                    name,
                    language,
                )
                for name, language in (("Sales", "en-GB"), ("Devis", None))
            ]
            first = await db.fetchval(
                "SELECT id FROM menus WHERE tenant_id = $1 AND is_first", tenant_id
            )
            for menu, digit, target in ((first, "9", sales), (sales, "1", quotes)):
                await db.execute(
                    """INSERT INTO key_assignments (tenant_id, menu_id, digit, action, target_menu_id)
                       VALUES ($1, $2, $3, 'open_menu', $4)""",
                    tenant_id,
                    menu,
                    digit,
                    target,
                )
            await db.execute(
                """INSERT INTO key_assignments (tenant_id, menu_id, digit, action)
                   VALUES ($1, $2, '3', 'dial_by_name')""",
                tenant_id,
                sales,
            )
            await db.execute(
                """INSERT INTO key_assignments (tenant_id, menu_id, digit, action, target_kind,
                                                target_extension_id)
                   SELECT $1, $2, '1', 'transfer', 'extension', id FROM extensions
                    WHERE tenant_id = $1 AND number = '102'""",
                tenant_id,
                quotes,
            )
    finally:
        await db.close()


async def test_a_sub_menu_two_levels_deep_and_back_to_the_first_with_star(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    caller = await lines.call(tenant)
    url = stack.database_url
    await traced(url, tenant, kind("menu", reason="greeting"))
    await lines.press(caller, "9")
    await traced(url, tenant, kind("menu", reason="opened", menu="Sales"))
    await lines.press(caller, "1")
    await traced(url, tenant, kind("menu", reason="opened", menu="Devis"))
    await lines.press(caller, "*")
    await traced(url, tenant, kind("menu", reason="back", menu="Sales"))
    await lines.press(caller, "*")
    await traced(url, tenant, kind("menu", reason="back", menu="Menu principal"))
    # Back on the first menu, its own keys act again: 2 is the opening hours.
    await lines.press(caller, "2")
    await traced(url, tenant, kind("announcement"))
    await lines.hang_up(caller)
    steps = steps_of(await ended_call(url, tenant))
    keys = [s["action"] for s in steps if s["step"] == "key"]
    assert keys == ["open_menu", "open_menu", "back", "back", "play_announcement"]
    await lines.stasis_holds_nothing()


async def test_an_english_sub_menu_says_no_match_in_english(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    asked: list[dict[str, object]] = []
    no_match = asyncio.Event()

    async def collect(msg: Msg) -> None:
        asked.append(json.loads(msg.data))
        if asked[-1].get("text") == "No name matches your entry.":
            no_match.set()

    scope = stack.stasis_settings.media_nats_scope
    async with connect_nats(as_user(stack.settings), "tests-menus") as nats:
        await nats.subscribe(subjects.MEDIA_ENSURE_PROMPT.every_tenant(scope), cb=collect)
        await reached_server(nats)
        caller = await lines.call(tenant)
        url = stack.database_url
        await traced(url, tenant, kind("menu", reason="greeting"))
        await lines.press(caller, "9")
        await traced(url, tenant, kind("menu", reason="opened", menu="Sales"))
        await lines.press(caller, "3")
        await traced(url, tenant, kind("key", action="dial_by_name"))
        await lines.press(caller, "999")  # WWW: nobody
        await traced(url, tenant, kind("lookup_result", total=0))
        await asyncio.wait_for(no_match.wait(), timeout=10)
        spoken = [
            (a["text"], a["language"]) for a in asked if str(a["tenant_id"]) == str(tenant.id)
        ]
        assert ("No name matches your entry.", "en-GB") in spoken
        assert ("To go back to the previous menu, press star.", "en-GB") in spoken
        assert not any(text == "Aucun nom ne correspond à votre saisie." for text, _ in spoken)
        await lines.hang_up(caller)
        await ended_call(url, tenant)
    await lines.stasis_holds_nothing()


# --- the schedule decides the first menu (built around the current time) --------------------


async def _schedule(database_url: str, tenant_id: UUID, **values: object) -> None:
    """Give the tenant a schedule: `weekly` and the menus of its states by menu name."""
    db = await asyncpg.connect(database_url)
    try:
        menus = {
            r["name"]: r["id"]
            for r in await db.fetch("SELECT id, name FROM menus WHERE tenant_id = $1", tenant_id)
        }
        await db.execute(
            """INSERT INTO schedules (tenant_id, weekly, closed_menu_id, holiday_menu_id,
                                      override_menu_id, override_mode, override_until)
               VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7)""",
            tenant_id,
            json.dumps(values.get("weekly", {})),
            menus.get(str(values.get("closed"))),
            menus.get(str(values.get("holiday"))),
            menus.get(str(values.get("override"))),
            values.get("override_mode"),
            values.get("override_until"),
        )
        for name, day in values.get("holidays", ()):  # type: ignore[attr-defined]
            await db.execute(
                """INSERT INTO holidays (tenant_id, name, start_date, end_date)
                   VALUES ($1, $2, $3, $3)""",
                tenant_id,
                name,
                day,
            )
    finally:
        await db.close()


def _paris_now() -> datetime:
    return datetime.now(ZoneInfo("Europe/Paris"))


def _all_day(day: int) -> dict[str, list[dict[str, str]]]:
    return {WEEKDAYS[day]: [{"start": "00:00", "end": "24:00"}]}


async def _first_menu_heard(stack: Stack, lines: Phones, tenant: Tenant) -> dict[str, object]:
    """Call, and return the trace's schedule step once the first menu has played."""
    caller = await lines.call(tenant)
    steps = await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    await lines.hang_up(caller)
    await ended_call(stack.database_url, tenant)
    schedule = next(s for s in steps if s["step"] == "schedule")
    menu = next(s for s in steps if s["step"] == "menu")
    return {**schedule, "first_menu": menu["menu"]}


async def test_within_the_hours_a_call_is_open_and_starts_in_the_first_menu(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    today = _paris_now().weekday()
    await _schedule(stack.database_url, tenant.id, weekly=_all_day(today), closed="Sales")
    heard = await _first_menu_heard(stack, lines, tenant)
    assert (heard["state"], heard["first_menu"]) == ("open", "Menu principal")
    assert heard["reason"] == f"open: {WEEKDAYS[today]} 00:00-24:00"


async def test_outside_the_hours_a_call_starts_in_the_closed_menu(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    tomorrow = (_paris_now().weekday() + 1) % 7
    await _schedule(stack.database_url, tenant.id, weekly=_all_day(tomorrow), closed="Sales")
    heard = await _first_menu_heard(stack, lines, tenant)
    assert (heard["state"], heard["first_menu"], heard["menu"]) == ("closed", "Sales", "Sales")
    assert str(heard["reason"]).endswith("outside hours")


async def test_on_a_holiday_a_call_starts_in_the_holiday_menu_and_the_trace_names_it(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    today = _paris_now()
    await _schedule(
        stack.database_url,
        tenant.id,
        weekly=_all_day(today.weekday()),
        closed="Sales",
        holiday="Devis",
        holidays=[("Inventaire", today.date())],
    )
    heard = await _first_menu_heard(stack, lines, tenant)
    assert (heard["state"], heard["reason"]) == ("holiday", "holiday: Inventaire")
    assert heard["first_menu"] == "Devis"


async def test_the_override_closes_even_within_the_hours_until_its_end(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    until = datetime.now(UTC) + timedelta(hours=1)
    await _schedule(
        stack.database_url,
        tenant.id,
        weekly=_all_day(_paris_now().weekday()),
        override="Sales",
        override_mode="closed",
        override_until=until,
    )
    heard = await _first_menu_heard(stack, lines, tenant)
    assert (heard["state"], heard["first_menu"]) == ("override_closed", "Sales")
    assert str(heard["reason"]).startswith("override: closed until ")


# --- versions: a call keeps the one it started with -----------------------------------------


async def _publish(database_url: str, tenant_id: UUID, number: int) -> None:
    """Publish the tenant's tables as version `number` (as the admin service does)."""
    db = await asyncpg.connect(database_url)
    try:
        document = await receptionists.read_document(db, tenant_id)
        assert document is not None
        await db.execute(
            """INSERT INTO receptionist_versions (tenant_id, number, document, published_by)
               VALUES ($1, $2, $3::jsonb, 'test')""",
            tenant_id,
            number,
            document.model_dump_json(),
        )
    finally:
        await db.close()


async def _changed(stack: Stack, tenant: Tenant) -> None:
    """Store the tenant's snapshot, then announce the change, as the admin service does
    (stasis itself may not: rcp.nats_access). Stored first, as admin does: stasis reads the
    store, and the store may hold an earlier snapshot (the stack's admin stores every tenant
    when it starts)."""
    db = await asyncpg.connect(stack.database_url)
    try:
        async with db.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await config_store.read_snapshot(db, tenant.id)
    finally:
        await db.close()
    event = ConfigChanged(tenant_id=tenant.id, entity="version", key=None)
    async with connect_nats(as_user(stack.settings), "tests-menus") as nats:
        store = await config_store.ConfigStore.open(
            nats, config_store.namespace_of(stack.database_url)
        )
        await store.put(tenant.id, snapshot)
        await nats.publish(subjects.config_changed(tenant.id), event.model_dump_json().encode())
        await reached_server(nats)


async def test_a_call_keeps_its_version_while_another_is_published_and_the_next_call_hears_it(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    url = stack.database_url
    await _publish(url, tenant.id, 1)  # key 2: the opening hours
    first = await lines.call(tenant)
    steps = await traced(url, tenant, kind("menu", reason="greeting"))
    assert next(s for s in steps if s["step"] == "schedule")["version"] == 1
    db = await asyncpg.connect(url)
    try:  # version 2: key 2 dials by name
        await db.execute(
            """UPDATE key_assignments SET action = 'dial_by_name', prompt_id = NULL
                WHERE tenant_id = $1 AND digit = '2'
                  AND menu_id = (SELECT id FROM menus WHERE tenant_id = $1 AND is_first)""",
            tenant.id,
        )
    finally:
        await db.close()
    await _publish(url, tenant.id, 2)
    configs = stack.stasis.configs
    assert configs is not None
    loads = configs.loads
    await _changed(stack, tenant)
    async with asyncio.timeout(10):  # version 2 is read and handed to the call under way
        while configs.loads == loads:  # noqa: ASYNC110 - a counter: no event to wait on
            await asyncio.sleep(0.05)
    await lines.press(first, "2")
    await traced(url, tenant, kind("key", digit="2", action="play_announcement"))
    await lines.hang_up(first)
    await ended_call(url, tenant)

    second = await lines.call(tenant)
    steps = await traced(url, tenant, kind("menu", reason="greeting"), nth=2)
    assert next(s for s in steps if s["step"] == "schedule")["version"] == 2
    await lines.press(second, "2")
    await traced(url, tenant, kind("key", digit="2", action="dial_by_name"), nth=2)
    await lines.hang_up(second)
    await ended_call(url, tenant, nth=2)
    await lines.stasis_holds_nothing()
