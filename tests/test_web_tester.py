"""The Tester panel beside the menus, in a real browser (Chromium), in French and English, with
screenshots: a call simulated key by key (the timeline grows), the prompts played, the draft
and the live version told apart, what the phones do, and a schedule state chosen."""

from __future__ import annotations

from admin_support import PASSWORD, Client, add_person
from playwright.async_api import Page, expect
from web_support import Web, screenshot, seed_numbering_plan

ANNOUNCEMENT = "Nos horaires : du lundi au vendredi"


async def tenant_with_keys(web: Web) -> tuple[str, Client]:
    tenant_id, tenant = await web.admin.tenant("tester")
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    keys = f"/v1/tenants/{tenant_id}/receptionist/keys"
    await tenant.ok(
        "PUT",
        f"{keys}/2",
        {"action": "play_announcement", "prompt": {"text": ANNOUNCEMENT, "language": "fr-FR"}},
    )
    await tenant.ok(
        "PUT", f"{keys}/3", {"action": "transfer", "target": {"kind": "extension", "number": "101"}}
    )
    return tenant_id, tenant


async def open_tester(web: Web, page: Page, tenant: Client, heading: str) -> None:
    await web.signed_in(page, tenant)
    await page.goto("/#/menus")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Menus")
    await expect(page.locator("#tester-title")).to_have_text(heading)


async def test_a_caller_is_simulated_key_by_key_and_hears_the_prompts_in_french(
    web_with_media: Web,
) -> None:
    web = web_with_media
    _, tenant = await tenant_with_keys(web)
    async with web.page(locale="fr-FR") as page:
        await open_tester(web, page, tenant, "Tester")
        await page.locator("#tester-call").click()
        timeline = page.locator("#tester-timeline")
        await expect(page.locator("#tester-state")).to_have_text("Le standard attend l'appelant.")
        await expect(timeline.locator("li.prompt").first).to_contain_text(
            "Bienvenue chez Tester. Pour écouter nos informations, tapez 2."
        )
        await page.locator("#tester-key-2").click()
        await expect(timeline.locator("li.caller")).to_contain_text("Vous tapez 2")
        await expect(timeline.locator("li.prompt").nth(1)).to_contain_text(ANNOUNCEMENT)
        await expect(page.locator("#tester-story")).to_contain_text("annonce")
        # The announcement plays in the browser (the media service's audio).
        await timeline.locator("li.prompt").nth(1).get_by_role("button").first.click()
        await expect(timeline.locator("li.prompt").nth(1).locator("audio")).to_have_count(1)
        await screenshot(page, "tester-fr")

        # The phones do not answer: key 3 rings 101 for the whole ring time.
        await page.locator("#tester-phones").select_option("no_answer")
        await page.locator("#tester-call").click()
        await page.locator("#tester-key-3").click()
        await expect(timeline.locator("li.transfer")).to_contain_text("Sonne au 101 pendant 20")
        await expect(timeline.locator("li.transfer")).to_contain_text("pas de réponse")
        await page.locator("#tester-hang-up").click()
        await expect(page.locator("#tester-state")).to_contain_text("Appel terminé")
        await expect(page.locator("#tester-key-1")).to_be_disabled()
        await screenshot(page, "tester-fr-voicemail")


async def test_the_draft_and_the_live_version_and_a_closed_schedule_in_english(
    web_with_media: Web,
) -> None:
    web = web_with_media
    tenant_id, tenant = await tenant_with_keys(web)
    t = f"/v1/tenants/{tenant_id}"
    menus = await tenant.ok("GET", f"{t}/menus")
    first = next(m for m in menus["items"] if m["first"])
    # A draft-only change: key 2 dials by name in the draft; callers still hear the hours.
    await tenant.ok("PUT", f"{t}/menus/{first['id']}/keys/2", {"action": "dial_by_name"})
    async with web.page(locale="en-US") as page:
        await open_tester(web, page, tenant, "Test")
        await page.locator("#tester-call").click()
        await page.locator("#tester-key-2").click()
        timeline = page.locator("#tester-timeline")
        await expect(timeline.locator("li.decision").filter(has_text="dial_by_name")).to_have_count(
            1
        )
        await page.locator("#tester-configuration").select_option("live")
        await page.locator("#tester-call").click()
        await page.locator("#tester-key-2").click()
        await expect(timeline.locator("li.prompt").nth(1)).to_contain_text(ANNOUNCEMENT)

        await page.locator("#tester-schedule").select_option("closed")
        await page.locator("#tester-call").click()
        await expect(page.locator("#tester-story")).to_contain_text("closed")
        await page.locator("#tester-wait").click()
        await expect(timeline.locator("li.caller")).to_contain_text("You wait 10 s")
        await screenshot(page, "tester-en")


async def test_a_viewer_may_use_the_tester(web_with_media: Web) -> None:
    web = web_with_media
    tenant_id, _ = await tenant_with_keys(web)
    email = await add_person(web.admin, tenant_id, "viewer")
    async with web.page(locale="en-US") as page:
        await page.goto("/")
        await page.locator("#email").fill(email)
        await page.locator("#password").fill(PASSWORD)
        await page.locator("#person-sign-in button[type=submit]").click()
        await expect(page.locator("#key-0")).to_be_visible()
        await page.goto("/#/menus")
        await page.locator("#tester-call").click()
        await page.locator("#tester-key-2").click()
        await expect(page.locator("#tester-timeline li.prompt").nth(1)).to_contain_text(
            ANNOUNCEMENT
        )
