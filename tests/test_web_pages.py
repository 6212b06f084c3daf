"""The web manager's other pages in a real browser: sign-in, languages, settings, directory,
lists, voicemail, call log, and a phone-sized screen."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import aiohttp
from admin_support import Client
from media_support import speech
from playwright.async_api import Page, expect
from rcp.pins import verify_pin
from web_support import PHONE, Web, key_box, screenshot, seed_numbering_plan


async def go(page: Page, path: str, heading: str) -> None:
    """Follow the navigation to a page and wait for its heading."""
    await page.goto(f"/#{path}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(heading)


async def test_a_tenant_token_signs_in_and_a_bad_one_is_refused_on_its_field(web: Web) -> None:
    _, tenant = await web.admin.tenant("signin")
    async with web.page() as page:
        await page.goto("/")
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await screenshot(page, "sign-in")
        await page.get_by_label("Admin token").fill("rcp_not-a-real-token")
        await page.locator("#token-sign-in button[type=submit]").click()
        await expect(page.locator("#token-error")).to_have_text(
            "This token is unknown, revoked or expired."
        )
        await expect(page.get_by_label("Admin token")).to_be_focused()
        await web.signed_in(page, tenant)
        await expect(page.get_by_role("button", name="Change tenant")).to_have_count(0)
        # A reload keeps the session of this tab; signing out forgets it.
        await page.reload()
        await expect(key_box(page, "0")).to_be_visible()
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await page.reload()
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_a_suspended_tenants_token_is_refused_at_sign_in_in_the_users_language(
    web: Web,
) -> None:
    tenant_id, tenant = await web.admin.tenant("suspendu")
    await web.admin.carrier.ok("PATCH", f"/v1/tenants/{tenant_id}", {"status": "suspended"})
    assert tenant.token is not None
    for locale, message in (
        (
            "en-GB",
            "This tenant is suspended: its tokens are refused until the carrier reactivates it",
        ),
        (
            "fr-FR",
            "Cette entreprise est suspendue : ses jetons sont refusés jusqu’à ce que "
            "l’opérateur la réactive.",
        ),
    ):
        async with web.page(locale=locale) as page:
            await page.goto("/")
            await page.locator("#token").fill(tenant.token)
            await page.locator("#token-sign-in button[type=submit]").click()
            await expect(page.locator("#token-error")).to_have_text(message)


async def test_a_carrier_token_opens_the_console_and_manages_a_tenant_from_it(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("picked")
    await tenant.ok(
        "PUT", f"/v1/tenants/{tenant_id}/receptionist/keys/1", {"action": "dial_by_name"}
    )
    await web.admin.tenant("another")
    slug = (await web.admin.carrier.ok("GET", f"/v1/tenants/{tenant_id}"))["slug"]
    async with web.page() as page:
        await page.goto("/")
        assert web.admin.carrier.token is not None
        await page.get_by_label("Admin token").fill(web.admin.carrier.token)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Tenants")
        await page.locator(f"#tenant-{slug}-manage").click()
        await expect(page.locator(".tenant-name")).to_contain_text("Picked")
        await expect(key_box(page, "1")).to_contain_text("Dial by name")
        await page.get_by_role("button", name="Back to the console").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Tenants")


async def test_labels_are_french_when_the_browser_asks_for_french(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("francais")
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    keys = f"/v1/tenants/{tenant_id}/receptionist/keys"
    await tenant.ok("PUT", f"{keys}/1", {"action": "dial_by_name"})
    await tenant.ok(
        "PUT",
        f"{keys}/2",
        {
            "action": "play_announcement",
            "prompt": {"text": "Nos horaires : du lundi au vendredi", "language": "fr-FR"},
        },
    )
    await tenant.ok(
        "PUT", f"{keys}/3", {"action": "transfer", "target": {"kind": "extension", "number": "101"}}
    )
    async with web.page(locale="fr-FR") as page:
        await page.goto("/")
        await expect(page.locator("html")).to_have_attribute("lang", "fr")
        await expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
        await expect(page.get_by_label("Jeton d’administration")).to_be_visible()
        await screenshot(page, "fr-sign-in")
        assert tenant.token is not None
        await page.get_by_label("Jeton d’administration").fill(tenant.token)
        await page.get_by_role("button", name="Se connecter").click()
        nav = page.get_by_role("navigation")
        await expect(nav.get_by_role("link")).to_have_text(
            [
                "Réceptionniste",
                "Menus",
                "Horaires",
                "Versions",
                "Paramètres",
                "Postes",
                "Groupes d’appels",
                "Salles de conférence",
                "Messagerie vocale",
                "Journal des appels",
                "Tableau de bord",
                "Journal d’audit",
            ]
        )
        await expect(
            page.get_by_role("heading", name="Attributions de pression de touche")
        ).to_be_visible()
        await expect(key_box(page, "1")).to_contain_text("Numéroter par nom")
        await expect(key_box(page, "2")).to_contain_text("Annonce\u00a0: Nos horaires : du lundi")
        await expect(key_box(page, "3")).to_contain_text("Transfert → 101 Alice Martin")
        await expect(key_box(page, "3")).to_contain_text("Poste physique")
        await expect(key_box(page, "9")).to_contain_text("Non attribuée")
        await screenshot(page, "fr-receptionist")
        await key_box(page, "9").click()
        await expect(page.get_by_role("dialog", name="Touche 9")).to_be_visible()
        await expect(page.locator("#key-action option")).to_have_text(
            [
                "Choisir une action",
                "Numéroter par nom",
                "Jouer annonce",
                "Transférer appel",
                "Ouvrir un menu",
            ]
        )
        await page.locator("#key-action").select_option("transfer")
        await expect(page.locator("#key-target-kind option")).to_have_text(
            [
                "Poste physique",
                "Poste virtuel",
                "Groupe d’appels",
                "Serveur de conférence",
                "Messagerie du poste",
            ]
        )
        await expect(page.get_by_role("button", name="Enregistrer")).to_be_visible()
        await screenshot(page, "fr-receptionist-key-dialog")
        await page.get_by_role("button", name="Annuler").click()

        await nav.get_by_role("link", name="Paramètres").click()
        await expect(page.get_by_label("Composer n° de poste")).to_be_visible()
        await screenshot(page, "fr-settings")
        await page.get_by_role("link", name="Personnaliser paramètres de l’annuaire").click()
        await expect(
            page.get_by_role("heading", name="Personnaliser paramètres de l’annuaire")
        ).to_be_visible()
        await expect(page.get_by_role("columnheader")).to_have_text(
            ["Numéro", "Nom", "Composer n° de poste", "Composer nom"]
        )
        await screenshot(page, "fr-directory")

        # Switched to English: every label follows, and the choice is remembered.
        await page.get_by_label("Langue").select_option("en")
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Customize directory settings"
        )
        await page.reload()
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Customize directory settings"
        )
        await page.get_by_label("Language").select_option("fr")
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Personnaliser paramètres de l’annuaire"
        )


async def test_a_browser_asking_for_english_gets_english(web: Web) -> None:
    async with web.page(locale="en-GB") as page:
        await page.goto("/")
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await expect(page.locator("html")).to_have_attribute("lang", "en")


async def test_settings_are_saved_and_a_bad_value_is_refused_on_its_field(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("settings")
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    path = f"/v1/tenants/{tenant_id}/receptionist"
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await page.get_by_role("navigation").get_by_role("link", name="Settings").click()
        dial = page.get_by_label("Dial extension number")
        await expect(dial).not_to_be_checked()
        await dial.check()
        await page.get_by_label("Menu timeout (seconds)").fill("0")
        await page.get_by_role("button", name="Save").click()
        timeout = page.get_by_label("Menu timeout (seconds)")
        await expect(timeout).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#menu_timeout_s-error")).to_contain_text(
            "greater than or equal to 1"
        )
        await expect(timeout).to_be_focused()
        await screenshot(page, "settings-validation-error")
        assert (await tenant.ok("GET", path))["dial_extension_enabled"] is False

        await timeout.fill("7")
        await page.get_by_label("Menu attempts").fill("4")
        await page.get_by_label("After the last attempt").select_option("101")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_have_text("Settings saved.")
        await screenshot(page, "settings")
    saved = await tenant.ok("GET", path)
    assert saved["dial_extension_enabled"] is True
    assert (saved["menu_timeout_s"], saved["menu_max_retries"]) == (7, 4)
    assert saved["exhausted_extension"] == "101"


async def test_retention_is_changed_on_the_settings_page_and_a_bad_value_refused(
    web: Web,
) -> None:
    tenant_id, tenant = await web.admin.tenant("retention")
    path = f"/v1/tenants/{tenant_id}/retention"
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await page.get_by_role("navigation").get_by_role("link", name="Settings").click()
        records = page.get_by_label("Keep call records (days)")
        await expect(records).to_have_value("365")
        await expect(page.get_by_label("Keep voicemail messages (days)")).to_have_value("90")
        await records.fill("5000")
        await page.get_by_role("button", name="Update retention").click()
        await expect(records).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#call_records_days-error")).to_contain_text("3650")
        assert (await tenant.ok("GET", path))["call_records_days"] == 365

        await records.fill("180")
        await page.get_by_label("Keep voicemail messages (days)").fill("30")
        await page.get_by_role("button", name="Update retention").click()
        await expect(page.get_by_role("status")).to_have_text("Retention saved.")
    saved = await tenant.ok("GET", path)
    assert (saved["call_records_days"], saved["voicemail_days"]) == (180, 30)


async def test_directory_checkboxes_are_saved_in_bulk_and_persist(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("directory")
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await page.get_by_role("navigation").get_by_role("link", name="Settings").click()
        await page.get_by_role("link", name="Customize directory settings").click()
        by_ext_101 = page.get_by_role("checkbox", name="Dial extension number 101 Alice Martin")
        by_name_102 = page.get_by_role("checkbox", name="Dial by name 102 Jean-Pierre Lefèvre")
        by_name_104 = page.get_by_role("checkbox", name="Dial by name 104 Françoise Le Gall")
        for box in (by_ext_101, by_name_102, by_name_104):
            await expect(box).to_be_checked()
        await by_ext_101.uncheck()
        await by_name_102.uncheck()
        await by_name_104.uncheck()
        await by_name_104.check()  # changed back: not sent
        await expect(page.get_by_text("2 extensions changed, not saved yet.")).to_be_visible()
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_have_text("Directory settings saved.")
        await screenshot(page, "directory")
        await page.reload()
        await expect(by_ext_101).not_to_be_checked()
        await expect(by_name_102).not_to_be_checked()
        await expect(by_name_104).to_be_checked()
        await expect(
            page.get_by_role("checkbox", name="Dial by name 101 Alice Martin")
        ).to_be_checked()
    entries = (await tenant.ok("GET", f"/v1/tenants/{tenant_id}/directory"))["items"]
    flags = {e["number"]: (e["reachable_by_extension"], e["reachable_by_name"]) for e in entries}
    assert flags == {"101": (False, True), "102": (True, False), "104": (True, True)}
    audit = (await tenant.ok("GET", f"/v1/tenants/{tenant_id}/audit"))["items"]
    directory_changes = [a for a in audit if a["entity"] == "directory"]
    assert len(directory_changes) == 1  # one bulk change
    assert [e["number"] for e in directory_changes[0]["after"]] == ["101", "102"]


async def test_extensions_are_created_edited_and_deleted(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("extensions")
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    base = f"/v1/tenants/{tenant_id}/extensions"
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await page.get_by_role("navigation").get_by_role("link", name="Extensions").click()
        await page.get_by_role("button", name="Add an extension").click()
        dialog = page.get_by_role("dialog", name="Add an extension")
        await dialog.get_by_label("Number", exact=True).fill("101")
        await dialog.get_by_label("First name").fill("Zoé")
        await dialog.get_by_label("Last name").fill("Durand")
        await dialog.get_by_label("Device").select_option("reception")
        await dialog.get_by_role("button", name="Save").click()
        # The numbering plan refuses a number already used, on the number field.
        number = dialog.get_by_label("Number", exact=True)
        await expect(number).to_have_attribute("aria-invalid", "true")
        await expect(dialog.locator("#number-error")).to_contain_text("already used")
        await screenshot(page, "extensions-dialog-error")
        await number.fill("105")
        await dialog.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_have_text("Extension 105 saved.")
        await expect(page.get_by_role("row", name=re.compile("105 Zoé Durand"))).to_be_visible()

        await page.get_by_role("button", name="Edit extension 105").click()
        dialog = page.get_by_role("dialog", name="Edit extension 105")
        await dialog.get_by_label("Kind").select_option("virtual")
        await dialog.get_by_label("Outside number").fill("+33698765432")
        await dialog.get_by_label("Voicemail").uncheck()
        await dialog.get_by_role("button", name="Save").click()
        # The status already read "Extension 105 saved." from the creation: the edit is saved
        # when its dialog has closed and the row shows the outside number.
        await expect(dialog).to_be_hidden()
        await expect(page.get_by_role("row", name=re.compile("105 Zoé Durand"))).to_contain_text(
            "+33698765432"
        )
        await expect(page.get_by_role("status")).to_have_text("Extension 105 saved.")
        await screenshot(page, "extensions")
        saved = await tenant.ok("GET", f"{base}/105")
        assert (saved["kind"], saved["external_number"], saved["device"]) == (
            "virtual",
            "+33698765432",
            None,
        )
        assert saved["voicemail_enabled"] is False

        await page.get_by_role("button", name="Delete extension 105").click()
        await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
        await expect(page.get_by_role("status")).to_have_text("Extension 105 deleted.")
        assert (await tenant.call("GET", f"{base}/105")).status == 404

        # Deleting what a ring group uses is refused, and the reason is shown.
        await page.get_by_role("button", name="Delete extension 101").click()
        await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
        await expect(page.get_by_role("dialog").get_by_role("alert")).to_contain_text("still used")
        await page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    assert (await tenant.call("GET", f"{base}/101")).status == 200


async def test_ring_groups_are_created_edited_and_deleted(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("groups")
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    t = f"/v1/tenants/{tenant_id}"
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await page.get_by_role("navigation").get_by_role("link", name="Ring groups").click()
        await page.get_by_role("button", name="Add a ring group").click()
        dialog = page.get_by_role("dialog")
        await dialog.get_by_label("Number", exact=True).fill("201")
        await dialog.get_by_label("Name", exact=True).fill("Ventes")
        await dialog.get_by_label("Ringing").select_option("sequential")
        await dialog.get_by_label("101 Alice Martin").check()
        await dialog.get_by_label("102 Jean-Pierre Lefèvre").check()
        await dialog.get_by_label("When nobody answers").select_option("voicemail")
        await dialog.get_by_label("Extension", exact=True).select_option("101")
        await screenshot(page, "ring-groups-dialog")
        await dialog.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_have_text("Ring group 201 saved.")
        await screenshot(page, "ring-groups")
        group = await tenant.ok("GET", f"{t}/ring-groups/201")
        assert (group["strategy"], group["members"]) == ("sequential", ["101", "102"])
        assert group["no_answer"] == {"action": "voicemail", "extension": "101"}
        await page.get_by_role("button", name="Edit ring group 201").click()
        await page.get_by_role("dialog").get_by_label("Name", exact=True).fill("Service commercial")
        await page.get_by_role("dialog").get_by_role("button", name="Save").click()
        await expect(page.get_by_role("cell", name="Service commercial")).to_be_visible()
        await page.get_by_role("button", name="Delete ring group 201").click()
        await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
        await expect(page.get_by_role("status")).to_have_text("Ring group 201 deleted.")
        assert (await tenant.call("GET", f"{t}/ring-groups/201")).status == 404


async def test_conference_rooms_suggest_a_six_digit_pin_and_never_show_it_again(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("rooms")
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    t = f"/v1/tenants/{tenant_id}"
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await page.get_by_role("navigation").get_by_role("link", name="Conference rooms").click()
        await page.get_by_role("button", name="Add a conference room").click()
        dialog = page.get_by_role("dialog")
        await dialog.get_by_label("Number", exact=True).fill("301")
        await dialog.get_by_label("Name", exact=True).fill("Salle Renoir")
        await dialog.get_by_label("Ask callers for a PIN").check()
        suggested = await dialog.get_by_label("PIN", exact=True).input_value()
        assert re.fullmatch(r"[0-9]{6}", suggested), suggested  # six digits by default
        await dialog.get_by_label("PIN", exact=True).fill("123")
        await dialog.get_by_role("button", name="Save").click()
        await expect(dialog.get_by_label("PIN", exact=True)).to_have_attribute(
            "aria-invalid", "true"
        )
        await dialog.get_by_label("PIN", exact=True).fill("1234")
        await dialog.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_have_text("Conference room 301 saved.")
        await screenshot(page, "conference-rooms")
        assert (await tenant.ok("GET", f"{t}/conference-rooms/301"))["has_pin"] is True
        stored = await web.admin.pool.fetchval(
            "SELECT pin_hash FROM conference_rooms WHERE tenant_id = $1 AND number = '301'",
            tenant_id,
        )
        assert verify_pin("1234", stored)
        await page.get_by_role("button", name="Edit conference room 301").click()
        dialog = page.get_by_role("dialog")
        await expect(dialog.get_by_label("PIN", exact=True)).to_have_value("")  # never shown
        await dialog.get_by_label("Name", exact=True).fill("Salle Renoir 2")
        await dialog.get_by_role("button", name="Save").click()
        # As above, the status still reads the first save's words: wait for the edit itself.
        await expect(dialog).to_be_hidden()
        await expect(page.get_by_role("row", name=re.compile("301"))).to_contain_text(
            "Salle Renoir 2"
        )
        await expect(page.get_by_role("status")).to_have_text("Conference room 301 saved.")
        assert (await tenant.ok("GET", f"{t}/conference-rooms/301"))["name"] == "Salle Renoir 2"
        assert verify_pin(
            "1234",
            await web.admin.pool.fetchval(
                "SELECT pin_hash FROM conference_rooms WHERE tenant_id = $1 AND number = '301'",
                tenant_id,
            ),
        )  # an empty PIN field keeps the PIN
        await page.get_by_role("button", name="Delete conference room 301").click()
        await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
        await expect(page.get_by_role("status")).to_have_text("Conference room 301 deleted.")
    assert (await tenant.call("GET", f"{t}/conference-rooms/301")).status == 404


async def test_voicemail_and_the_call_log_are_listed(web_with_media: Web, tmp_path: Path) -> None:
    web = web_with_media
    tenant_id, tenant = await web.admin.tenant("activity")
    message = speech(tmp_path / "message.wav", "Bonjour, c'est Marie, rappelez-moi.")
    recording = await upload(web, tenant, tenant_id, message.read_bytes(), "message.wav")
    await web.admin.pool.execute(
        """INSERT INTO voicemail_messages (tenant_id, extension_number, prompt_id, duration_ms,
                                           caller_number, caller_name)
           VALUES ($1, '101', $2, 42000, '+33612345678', 'Marie Curie')""",
        tenant_id,
        recording,
    )
    await web.admin.pool.execute(
        """INSERT INTO call_records (tenant_id, call_id, called_number, caller_number, started_at,
                                     answered_at, ended_at, outcome)
           VALUES ($1, 'c1', '+33199000001', '+33612345678', now() - interval '1 hour',
                   now() - interval '1 hour', now() - interval '58 minutes', 'voicemail'),
                  ($1, 'c2', '+33199000001', '+33711111111', now() - interval '2 hours',
                   now() - interval '2 hours', now() - interval '119 minutes', 'transferred')""",
        tenant_id,
    )
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await page.get_by_role("navigation").get_by_role("link", name="Voicemail").click()
        row = page.get_by_role("row", name=re.compile("Marie Curie"))
        await expect(row).to_contain_text("0:42")
        await expect(row).to_contain_text("New")
        await row.get_by_role("button", name="Listen").click()
        await expect(page.locator("audio")).to_have_attribute("src", re.compile("^blob:"))
        await screenshot(page, "voicemail")

        await page.get_by_role("navigation").get_by_role("link", name="Call log").click()
        await expect(page.get_by_role("row")).to_have_count(3)
        await expect(page.get_by_role("row").nth(1)).to_contain_text("Voicemail")
        await expect(page.get_by_role("row").nth(2)).to_contain_text("Transferred")
        await screenshot(page, "calls")
        await page.get_by_label("Outcome").select_option("transferred")
        await expect(page.get_by_role("row")).to_have_count(2)
        await expect(page.get_by_role("row").nth(1)).to_contain_text("+33711111111")

        await page.get_by_role("navigation").get_by_role("link", name="Voicemail").click()
        await row.get_by_role("button", name="Delete").click()
        await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
        await expect(page.get_by_text("No voicemail message.")).to_be_visible()
    assert (await tenant.ok("GET", f"/v1/tenants/{tenant_id}/voicemail"))["items"] == []


async def test_every_page_fits_a_phone_sized_screen(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("phone")
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    await tenant.ok(
        "PUT",
        f"/v1/tenants/{tenant_id}/receptionist/keys/3",
        {"action": "transfer", "target": {"kind": "virtual_extension", "number": "104"}},
    )
    pages = {
        "/receptionist": "Receptionist",
        "/settings": "Settings",
        "/settings/directory": "Customize directory settings",
        "/extensions": "Extensions",
        "/ring-groups": "Ring groups",
        "/conference-rooms": "Conference rooms",
        "/voicemail": "Voicemail",
        "/calls": "Call log",
    }
    async with web.page(locale="fr-FR", viewport=PHONE) as page:
        await web.signed_in(page, tenant)
        await page.get_by_label("Langue").select_option("en")
        for path, heading in pages.items():
            await go(page, path, heading)
            await expect(page.locator("main .panel").first).to_be_visible()
            await expect(page.locator("main .loading")).to_have_count(0)
            # The page itself never scrolls sideways (wide tables scroll inside their frame).
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            await screenshot(page, f"phone{path.replace('/', '-')}")
            assert overflow <= 0, (path, overflow)
        await go(page, "/receptionist", "Receptionist")
        await key_box(page, "3").click()
        await expect(page.get_by_role("dialog")).to_be_visible()
        await screenshot(page, "phone-receptionist-key-dialog")


async def upload(web: Web, tenant: Client, tenant_id: str, data: bytes, name: str) -> uuid.UUID:
    """A real prompt, stored by the media service through the admin API."""
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(data), filename=name)
    async with tenant.session.post(
        f"{tenant.base}/v1/tenants/{tenant_id}/prompts",
        data=form,
        headers={"Authorization": f"Bearer {tenant.token}"},
    ) as response:
        assert response.status == 201, await response.text()
        return uuid.UUID((await response.json())["id"])
