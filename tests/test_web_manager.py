"""The web manager in Debian's Chromium, against the admin API on the real test database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from admin_support import Admin
from playwright.async_api import expect
from web_support import Web, chromium, key_box, screenshot, seed_numbering_plan


@pytest_asyncio.fixture
async def web(admin: Admin) -> AsyncIterator[Web]:
    async with chromium() as browser:
        yield Web(browser, admin)


async def test_smoke(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("smoke")
    await seed_numbering_plan(tenant_id, tenant)
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await expect(key_box(page, "1")).to_contain_text("Unassigned")
        await screenshot(page, "smoke")
