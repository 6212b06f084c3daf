"""Menus on real calls through the local Asterisk: a sub-menu two levels deep and back with `*`,
and an English sub-menu whose system prompts are English."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest
import pytest_asyncio
from nats.aio.msg import Msg
from rcp import subjects
from rcp_devstack.settings import StackSettings
from stasis_e2e_support import (
    Phones,
    Stack,
    Tenant,
    ended_call,
    kind,
    phones,
    provision,
    receptionist_stack,
    steps_of,
    traced,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    asterisk: StackSettings, migrated_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    media_dir: Path = tmp_path_factory.mktemp("media")
    async with receptionist_stack(asterisk, migrated_url, media_dir) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lines(stack: Stack) -> AsyncIterator[Phones]:
    async with phones(stack) as held:
        yield held


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

    nats = stack.stasis.infrastructure.nats
    scope = stack.stasis_settings.media_nats_scope
    watching = await nats.subscribe(subjects.MEDIA_ENSURE_PROMPT.every_tenant(scope), cb=collect)
    try:
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
    finally:
        await watching.unsubscribe()
    await lines.stasis_holds_nothing()
