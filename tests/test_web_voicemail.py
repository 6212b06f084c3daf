"""The web manager's voicemail in Chromium: the count of new messages in the navigation, new
ones first, listening marks a message read, marking read or unread; an extension's email
address and greeting of its own, typed or recorded in the browser (French and English)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from admin_support import Client
from media_support import speech
from playwright.async_api import Locator, Page, expect
from test_web_pages import upload
from web_support import Web, screenshot


async def _message(
    web: Web, tenant_id: str, prompt: uuid.UUID, caller: str, minutes_ago: int, **email: str
) -> str:
    status = email.pop("status", "new")
    message: uuid.UUID = await web.admin.pool.fetchval(
        """INSERT INTO voicemail_messages (tenant_id, extension_number, prompt_id, duration_ms,
                                           caller_number, status, created_at, email_status,
                                           email_to, email_error)
           VALUES ($1, '101', $2, 4000, $3, $4, now() - make_interval(mins => $5), $6, $7, $8)
           RETURNING id""",
        uuid.UUID(tenant_id),
        prompt,
        caller,
        status,
        minutes_ago,
        email.get("email_status", "none"),
        email.get("email_to"),
        email.get("email_error"),
    )
    return str(message)


async def _statuses(tenant: Client, tenant_id: str) -> dict[str, str]:
    listed = (await tenant.ok("GET", f"/v1/tenants/{tenant_id}/voicemail"))["items"]
    return {m["caller_number"]: m["status"] for m in listed}


def _badge(page: Page) -> Locator:
    return page.locator("#new-messages")


async def test_the_navigation_counts_new_messages_and_listening_or_marking_changes_it(
    web_with_media: Web, tmp_path: Path
) -> None:
    web = web_with_media
    tenant_id, tenant = await web.admin.tenant("messages")
    audio = speech(tmp_path / "message.wav", "Bonjour, c'est Marie, rappelez-moi.")
    prompt = await upload(web, tenant, tenant_id, audio.read_bytes(), "message.wav")
    await _message(web, tenant_id, prompt, "+33600000001", 60, email_status="pending")
    await _message(web, tenant_id, prompt, "+33600000002", 20, status="read")
    await _message(
        web, tenant_id, prompt, "+33600000003", 5, email_status="sent", email_to="a@example.org"
    )

    async with web.page() as page:
        await web.signed_in(page, tenant)
        await expect(_badge(page)).to_have_text("22 new messages")  # shown "2", read "2 new..."
        await page.get_by_role("navigation").get_by_role("link", name="Voicemail").click()
        rows = page.get_by_role("row")
        await expect(rows.nth(1)).to_contain_text("+33600000003")  # new ones first, newest first
        await expect(rows.nth(2)).to_contain_text("+33600000001")
        await expect(rows.nth(3)).to_contain_text("+33600000002")
        await expect(rows.nth(1)).to_contain_text("Sent to a@example.org")
        await expect(rows.nth(2)).to_contain_text("Waiting to be sent")
        await screenshot(page, "voicemail-new-first")

        newest = page.get_by_role("row", name=re.compile(r"\+33600000003"))
        await newest.get_by_role("button", name="Listen").click()
        await expect(page.locator("audio")).to_have_attribute("src", re.compile("^blob:"))
        await expect(newest).to_contain_text("Read")
        await expect(_badge(page)).to_have_text("11 new message")
        assert (await _statuses(tenant, tenant_id))["+33600000003"] == "read"

        heard = page.get_by_role("row", name=re.compile(r"\+33600000002"))
        await heard.get_by_role("button", name="Mark as unread").click()
        await expect(page.get_by_role("status")).to_have_text("Message marked as unread.")
        await expect(_badge(page)).to_have_text("22 new messages")
        await (
            page.get_by_role("row", name=re.compile(r"\+33600000001"))
            .get_by_role("button", name="Mark as read")
            .click()
        )
        await expect(_badge(page)).to_have_text("11 new message")
        assert await _statuses(tenant, tenant_id) == {
            "+33600000001": "read",
            "+33600000002": "new",
            "+33600000003": "read",
        }

        await page.get_by_label("Language").select_option("fr")
        await expect(_badge(page)).to_have_text("11 nouveau message")
        await expect(page.get_by_role("row", name=re.compile(r"\+33600000002"))).to_contain_text(
            "Nouveau"
        )
        await expect(page.get_by_role("button", name="Marquer comme écouté").first).to_be_visible()
        await screenshot(page, "voicemail-fr")

        await (
            page.get_by_role("row", name=re.compile(r"\+33600000002"))
            .get_by_role("button", name="Marquer comme écouté")
            .click()
        )
        await expect(_badge(page)).to_have_count(0)  # no new message: no count


async def test_an_extensions_email_and_greeting_are_typed_then_recorded_in_the_browser(
    web_with_media: Web,
) -> None:
    web = web_with_media
    tenant_id, tenant = await web.admin.tenant("greetings", devices=("amelie",))
    base = f"/v1/tenants/{tenant_id}/extensions"
    await tenant.ok(
        "POST",
        base,
        {"number": "101", "kind": "physical", "last_name": "Poulain", "device": "amelie"},
    )

    async with web.page(locale="fr-FR") as page:
        await web.signed_in(page, tenant)
        await page.get_by_role("navigation").get_by_role("link", name="Postes").click()
        await page.get_by_role("button", name="Modifier le poste 101").click()
        dialog = page.get_by_role("dialog")
        await dialog.get_by_label("Envoyer les nouveaux messages à").fill("pas une adresse")
        await dialog.get_by_role("button", name="Enregistrer", exact=True).click()
        await expect(dialog.locator("#voicemail_email-error")).to_be_visible()
        await dialog.get_by_label("Envoyer les nouveaux messages à").fill("amelie@example.org")
        await dialog.get_by_label("Texte lu").check()
        await dialog.get_by_label("Ce que les appelants entendent avant le bip").fill(
            "Amélie est absente, laissez-lui un message."
        )
        await screenshot(page, "extension-voicemail-fr")
        await dialog.get_by_role("button", name="Enregistrer", exact=True).click()
        await expect(page.get_by_role("dialog")).to_have_count(0)
        await expect(page.locator("main div.status")).to_contain_text("101")
        typed = await tenant.ok("GET", f"{base}/101")
        assert typed["voicemail_email"] == "amelie@example.org"
        assert typed["voicemail_greeting"]["text"] == "Amélie est absente, laissez-lui un message."
        await expect(page.get_by_role("row", name=re.compile("Poulain"))).to_contain_text(
            "annonce personnalisée"
        )

        await page.get_by_label("Langue").select_option("en")
        await page.get_by_role("button", name="Edit extension 101").click()
        dialog = page.get_by_role("dialog")
        await dialog.get_by_label("Record it in the browser").check()
        await dialog.locator("#voicemail_greeting_recorder-start").click()
        await expect(dialog.get_by_text(re.compile(r"Recording… [2-9] s"))).to_be_visible()
        await dialog.locator("#voicemail_greeting_recorder-stop").click()
        await expect(dialog.get_by_text("Recorded: listen to it, then save.")).to_be_visible()
        await screenshot(page, "extension-voicemail-recorded")
        await dialog.get_by_role("button", name="Save", exact=True).click()
        await expect(page.get_by_role("dialog")).to_have_count(0)
        await expect(page.locator("main div.status")).to_have_text("Extension 101 saved.")

    recorded = (await tenant.ok("GET", f"{base}/101"))["voicemail_greeting"]
    assert (recorded["source"], recorded["status"]) == ("upload", "ready")
    assert recorded["original_filename"] == "voicemail-greeting-101.webm"
    assert recorded["duration_ms"] > 500  # the tone, normalised like any upload
    assert recorded["id"] != typed["voicemail_greeting"]["id"]
