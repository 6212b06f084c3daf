"""The web manager and toll fraud, in English and French: an extension rings a device picked from
the tenant's own, a saved number the carrier's policy refuses stays and is flagged, a number
refused when written is explained on its field, and a PIN of old that is too short is flagged."""

from __future__ import annotations

import re

from playwright.async_api import expect
from web_support import DEVICES, Web, screenshot, seed_numbering_plan

FLAG_EN = "Not allowed by your carrier's policy"
FLAG_FR = "Non autorisé par la politique de votre opérateur"


async def _flagged_tenant(web: Web, name: str) -> tuple[str, str]:
    """A seeded tenant whose carrier then refuses mobiles of +336 (extension 104's number),
    with extension 102 left with a dial string of before devices and a three-digit PIN of old
    on room 300; its id and its token."""
    tenant_id, tenant = await web.admin.tenant(name)
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    t = f"/v1/tenants/{tenant_id}"
    await web.admin.carrier.ok("PATCH", f"{t}/outbound-policy", {"denied_prefixes": ["+336"]})
    await web.admin.pool.execute(
        """UPDATE extensions SET device_id = NULL, legacy_dial_string = 'SIP/jp'
            WHERE tenant_id = $1 AND number = '102'""",
        tenant_id,
    )
    await web.admin.pool.execute(
        """UPDATE conference_rooms SET pin_hash = $2, pin_too_short = true
            WHERE tenant_id = $1 AND number = '300'""",
        tenant_id,
        "scrypt$14$8$1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,
    )
    assert tenant.token is not None
    return tenant_id, tenant.token


async def test_the_extension_form_offers_only_the_tenants_own_devices(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("picker")
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    other_id, _ = await web.admin.tenant("neighbour", devices=("neighbours-phone",))
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await page.get_by_role("navigation").get_by_role("link", name="Extensions").click()
        await page.get_by_role("button", name="Add an extension").click()
        dialog = page.get_by_role("dialog", name="Add an extension")
        device = dialog.get_by_label("Device")
        options = await device.locator("option").all_inner_texts()
        assert options[0] == "Choose a device"
        assert [o.split(" ")[0] for o in options[1:]] == sorted(DEVICES)
        assert not any("neighbours-phone" in o for o in options)
        await dialog.get_by_label("Number", exact=True).fill("105")
        await dialog.get_by_label("Last name").fill("Accueil")
        await dialog.get_by_role("button", name="Save").click()  # no device chosen yet
        await expect(device).to_have_attribute("aria-invalid", "true")
        await device.select_option("reception")
        await screenshot(page, "extensions-device-picker")
        await dialog.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_have_text("Extension 105 saved.")
        row = page.get_by_role("row", name=re.compile("^105 "))
        await expect(row.get_by_role("cell").nth(2)).to_have_text("reception")
    saved = await tenant.ok("GET", f"/v1/tenants/{tenant_id}/extensions/105")
    assert saved["device"] == "reception"
    assert other_id not in str(saved)


async def test_what_the_carrier_refuses_later_is_flagged_never_lost_in_english(web: Web) -> None:
    tenant_id, token = await _flagged_tenant(web, "flags")
    async with web.page() as page:
        await web.signed_in(page, web.admin.carrier.as_(token))
        await page.get_by_role("navigation").get_by_role("link", name="Extensions").click()
        row = page.get_by_role("row", name=re.compile("^104 "))
        await expect(row).to_contain_text("+33612345678")
        await expect(row.locator("#extension-104-flag")).to_have_text(FLAG_EN)
        await expect(row.locator("#extension-104-flag")).to_have_attribute(
            "title", "Numbers beginning +336 are not allowed by your carrier's policy."
        )
        await expect(page.locator("#extension-102-flag")).to_contain_text(
            "Saved before devices: SIP/jp. Choose a device"
        )
        await screenshot(page, "extensions-flags")
        await page.get_by_role("button", name="Edit extension 104").click()
        dialog = page.get_by_role("dialog", name="Edit extension 104")
        await expect(dialog.locator("#external_number-hint")).to_contain_text(
            "callers hear that this number cannot be reached"
        )
        await dialog.get_by_label("First name").fill("Françoise-Marie")
        await dialog.get_by_role("button", name="Save").click()  # the number is not written anew
        await expect(page.get_by_role("status")).to_have_text("Extension 104 saved.")
        await page.get_by_role("navigation").get_by_role("link", name="Conference rooms").click()
        await expect(page.locator("#room-300-flag")).to_contain_text("PIN too short")
    kept = await web.admin.carrier.ok("GET", f"/v1/tenants/{tenant_id}/extensions/104")
    assert (kept["first_name"], kept["external_number"]) == ("Françoise-Marie", "+33612345678")


async def test_what_the_carrier_refuses_is_flagged_and_explained_in_french(web: Web) -> None:
    tenant_id, token = await _flagged_tenant(web, "drapeaux")
    async with web.page(locale="fr-FR") as page:
        await web.signed_in(page, web.admin.carrier.as_(token))
        await page.get_by_role("navigation").get_by_role("link", name="Postes").click()
        await expect(page.locator("#extension-104-flag")).to_have_text(FLAG_FR)
        await expect(page.locator("#extension-102-flag")).to_contain_text(
            "Enregistré avant les appareils"
        )
        await screenshot(page, "fr-extensions-flags")
        await page.get_by_role("button", name="Ajouter un poste").click()
        dialog = page.get_by_role("dialog", name="Ajouter un poste")
        await dialog.get_by_label("Numéro", exact=True).fill("109")
        await dialog.get_by_label("Nom", exact=True).fill("Surtaxe")
        await expect(dialog.get_by_label("Appareil")).to_be_visible()
        await dialog.get_by_label("Type").select_option("virtual")
        await dialog.get_by_label("Numéro extérieur").fill("+33899123456")
        await dialog.get_by_role("button", name="Enregistrer").click()
        await expect(dialog.locator("#external_number-error")).to_have_text(
            "Les numéros surtaxés ne sont pas autorisés par la politique de votre opérateur."
        )
        await screenshot(page, "fr-extensions-number-refused")
        await dialog.get_by_role("button", name="Annuler").click()
        await (
            page.get_by_role("navigation").get_by_role("link", name="Salles de conférence").click()
        )
        await expect(page.locator("#room-300-flag")).to_contain_text("Code PIN trop court")
    answer = await web.admin.carrier.call("GET", f"/v1/tenants/{tenant_id}/extensions/109")
    assert answer.status == 404
