"""A carrier operator moves a phone number from one tenant to another in the console, in real
Chromium, and the next real call to that number (through Asterisk, into a stasis service of the
test's own) reaches the new tenant's receptionist: its key 0 rings the new tenant's extension
101, not the old one's."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from admin_support import add_person, running_admin
from playwright.async_api import expect
from rcp_devstack.settings import StackSettings
from stasis_e2e_support import WAIT_S, Stack, Tenant, phones, provision, receptionist_stack
from web_support import Web, chromium, screenshot, sign_in_person

pytestmark = [pytest.mark.asterisk]


@pytest_asyncio.fixture
async def stack(asterisk: StackSettings, own_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with receptionist_stack(asterisk, own_url, tmp_path) as running:
        yield running


@pytest_asyncio.fixture
async def console(stack: Stack) -> AsyncIterator[Web]:
    """The web manager on the stack's own database (and so its configuration store)."""
    async with running_admin(stack.database_url) as admin, chromium() as browser:
        yield Web(browser, admin)


async def _routed_to(stack: Stack, number: str, tenant: Tenant) -> None:
    """Wait (bounded) until the stasis service routes the number to the tenant: the store's
    change reaches it asynchronously, a moment after the console's answer."""
    assert stack.stasis.configs is not None
    async with asyncio.timeout(WAIT_S):
        while True:
            config = await stack.stasis.configs.for_number(number)
            if config is not None and config.tenant_id == tenant.id:
                return
            await asyncio.sleep(0.05)


async def _key_0_rings(stack: Stack, dialled: str, owner: Tenant) -> None:
    """Call `dialled`, press 0: the phone of `owner`'s extension 101 rings."""
    async with phones(stack) as lines:
        try:
            caller = await lines.call(dataclasses.replace(owner, number=dialled))
            since = lines.mark()
            await lines.press(caller, "0")
            phone = await lines.ringing(owner, "101", since)
            await lines.hang_up(phone)
            await lines.hang_up(caller)
        finally:
            await lines.hang_up_everything()
        await lines.stasis_holds_nothing()


async def test_an_operator_moves_a_number_in_the_console_and_its_next_call_reaches_the_new_tenant(
    stack: Stack, console: Web
) -> None:
    old = await provision(stack.database_url, stack.phones_app)
    new = await provision(stack.database_url, stack.phones_app)
    await _key_0_rings(stack, old.number, old)  # before: the old tenant answers
    operator = await add_person(console.admin, None, "operator")
    async with console.page() as page:
        await sign_in_person(page, operator)
        await page.get_by_role("navigation").get_by_role("link", name="Phone numbers").click()
        row = page.locator(f"#number-{old.number[1:]}")
        await row.get_by_role("button", name="Move").click()
        await page.locator("#move-tenant").select_option(str(new.id))
        await page.locator("#confirm-move").click()
        await expect(page.get_by_role("status")).to_contain_text(f"{old.number} moved")
        await expect(row).to_contain_text(f"e2e-{new.tag}")
        await screenshot(page, "console-moved-number-before-the-call")
    await _routed_to(stack, old.number, new)
    await _key_0_rings(stack, old.number, new)
