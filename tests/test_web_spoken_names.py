"""An extension's spoken name in a real browser: text as it should sound, then a recording
made with the (fake) microphone, uploaded and normalised by the real media service."""

from __future__ import annotations

import re

from playwright.async_api import expect
from web_support import Web, screenshot, seed_numbering_plan


async def test_a_name_is_spelt_as_it_sounds_then_recorded_in_the_browser(
    web_with_media: Web,
) -> None:
    web = web_with_media
    tenant_id, tenant = await web.admin.tenant("spoken")
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    base = f"/v1/tenants/{tenant_id}/extensions"
    async with web.page("fr-FR") as page:
        await web.signed_in(page, tenant)
        await page.goto("/#/extensions")
        await page.get_by_role("button", name=re.compile("102")).first.click()
        dialog = page.get_by_role("dialog")
        names = dialog.get_by_role("group", name="Nom prononcé par « Numéroter par nom »")
        await expect(names.get_by_label("Le nom ci-dessus, lu")).to_be_checked()
        await names.get_by_label("Écrit comme il se prononce").check()
        await dialog.locator("#spoken_name_text").fill("Jan-Pierre Lefaivre")
        await screenshot(page, "extension-spoken-name-fr")
        await dialog.get_by_role("button", name="Enregistrer", exact=True).click()
        await expect(page.get_by_role("dialog")).to_have_count(0)
    spelt = (await tenant.ok("GET", f"{base}/102"))["spoken_name"]
    assert (spelt["source"], spelt["text"]) == ("tts", "Jan-Pierre Lefaivre")

    async with web.page() as page:
        await web.signed_in(page, tenant)
        await page.goto("/#/extensions")
        await page.get_by_role("button", name=re.compile("102")).first.click()
        dialog = page.get_by_role("dialog")
        names = dialog.get_by_role("group", name="Name said by dial by name")
        await expect(names.get_by_label("Spelt as it sounds")).to_be_checked()
        await names.get_by_label("Record the name in the browser").check()
        await dialog.locator("#spoken_name_recorder-start").click()
        await expect(names.get_by_text(re.compile(r"Recording… [2-9] s"))).to_be_visible()
        await dialog.locator("#spoken_name_recorder-stop").click()
        await expect(names.get_by_text("Recorded: listen to it, then save.")).to_be_visible()
        await screenshot(page, "extension-spoken-name-recorded")
        await dialog.get_by_role("button", name="Save", exact=True).click()
        await expect(page.get_by_role("dialog")).to_have_count(0)
    recorded = (await tenant.ok("GET", f"{base}/102"))["spoken_name"]
    assert (recorded["source"], recorded["status"]) == ("upload", "ready")
    assert recorded["original_filename"] == "name-102.webm"
    assert recorded["duration_ms"] > 500  # the fake microphone's tone, normalised
    assert (await tenant.ok("GET", f"{base}/102"))["voicemail_greeting"] is None
