"""Debian's Chromium driven headless by Playwright, against the admin app of `running_admin`.

Playwright's own browser downloads are never used (this network refuses them): the browser is
the `chromium` Debian package that ./rcp installs. Screenshots of every page are written to
tests/screenshots/ (git-ignored) so that a reviewer can look at them after a run.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from admin_support import PASSWORD, Admin, Client
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium tries to reach outside hosts at start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # A microphone for recording in the browser: a generated tone, allowed without asking.
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
# A shared 2-core machine: waits are bounded but generous; Playwright polls, nothing sleeps.
TIMEOUT_MS = 30_000
PHONE = {"width": 390, "height": 844}
# Chromium logs every non-2xx answer; the pages expect some (refused input, missing media).
KNOWN_CONSOLE = "Failed to load resource: the server responded with a status of"

expect.set_options(timeout=TIMEOUT_MS)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Headless Chromium, closed afterwards."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=60_000
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Web:
    """The web manager served by the admin app under test, and a browser to use it."""

    browser: Browser
    admin: Admin

    @property
    def base(self) -> str:
        return self.admin.carrier.base

    @asynccontextmanager
    async def page(
        self, locale: str = "en-US", viewport: dict[str, int] | None = None
    ) -> AsyncIterator[Page]:
        """A page in a fresh browser context (its own storage) whose language is `locale`."""
        options: dict[str, Any] = {"locale": locale, "base_url": self.base}
        if viewport is not None:
            options["viewport"] = viewport
        context: BrowserContext = await self.browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        problems: list[str] = []
        try:
            page = await context.new_page()
            page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
            page.on(
                "console",
                lambda message: (
                    problems.append(f"console: {message.text}")
                    if message.type == "error" and not message.text.startswith(KNOWN_CONSOLE)
                    else None
                ),
            )
            yield page
        finally:
            await context.close()
        # No script error and nothing refused by the Content-Security-Policy, on any page.
        assert problems == []

    async def signed_in(self, page: Page, tenant: Client) -> None:
        """Open the manager and sign in with a tenant's token: the Receptionist page shows."""
        await page.goto("/")
        assert tenant.token is not None
        await page.locator("#token").fill(tenant.token)
        await page.locator("#token-sign-in button[type=submit]").click()
        await expect(page.locator("#key-0")).to_be_visible()


async def sign_in_person(page: Page, email: str, password: str = PASSWORD) -> None:
    """Open the manager and sign in with an email address and a password."""
    await page.goto("/")
    await page.locator("#email").fill(email)
    await page.locator("#password").fill(password)
    await page.locator("#person-sign-in button[type=submit]").click()


async def screenshot(page: Page, name: str) -> Path:
    """Save the page as tests/screenshots/<name>.png: all of it, or the screen with a dialog
    open (a modal's backdrop covers the screen, not the whole page)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    dialog_open = await page.locator("dialog[open]").count() > 0
    await page.screenshot(path=str(path), full_page=not dialog_open)
    return path


def key_box(page: Page, digit: str) -> Any:
    """The box of one key."""
    return page.locator(f"#key-{digit}")


DEVICES = ("alice", "jp", "reception")
"""The devices the carrier provisions for a seeded tenant (reception rings nobody yet)."""


async def seed_numbering_plan(admin: Admin, tenant_id: str, tenant: Client) -> None:
    """Devices (by the carrier), extensions of both kinds, a ring group and a conference room
    for one tenant."""
    await admin.devices(tenant_id, *DEVICES)
    base = f"/v1/tenants/{tenant_id}"
    await tenant.ok(
        "POST",
        f"{base}/extensions",
        {
            "number": "101",
            "kind": "physical",
            "first_name": "Alice",
            "last_name": "Martin",
            "device": "alice",
        },
    )
    await tenant.ok(
        "POST",
        f"{base}/extensions",
        {
            "number": "102",
            "kind": "physical",
            "first_name": "Jean-Pierre",
            "last_name": "Lefèvre",
            "device": "jp",
            "voicemail_enabled": False,
        },
    )
    await tenant.ok(
        "POST",
        f"{base}/extensions",
        {
            "number": "104",
            "kind": "virtual",
            "first_name": "Françoise",
            "last_name": "Le Gall",
            "external_number": "+33612345678",
            "voicemail_enabled": False,
        },
    )
    await tenant.ok(
        "POST", f"{base}/ring-groups", {"number": "200", "name": "Accueil", "members": ["101"]}
    )
    await tenant.ok("POST", f"{base}/conference-rooms", {"number": "300", "name": "Salle Monet"})


def words(text: str) -> re.Pattern[str]:
    """A pattern matching `text` anywhere, whitespace-insensitive."""
    return re.compile(r"\s*".join(re.escape(part) for part in text.split()))
