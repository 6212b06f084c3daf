"""The Receptionist page in a real browser: keys, their form, the greeting, and media controls."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from media_support import speech
from playwright.async_api import FilePayload, Page, expect
from web_support import Web, key_box, screenshot, seed_numbering_plan, words


async def keys_of(web: Web, tenant_id: str, token: str | None) -> dict[str, Any]:
    """The tenant's ten keys, by digit, read through the API."""
    client = web.admin.carrier.as_(token)
    items = (await client.ok("GET", f"/v1/tenants/{tenant_id}/receptionist/keys"))["items"]
    return {key["digit"]: key for key in items}


async def open_key(page: Page, digit: str) -> None:
    await key_box(page, digit).click()
    await expect(page.get_by_role("dialog")).to_be_visible()


async def save_dialog(page: Page) -> None:
    await page.get_by_role("dialog").get_by_role("button", name="Save").click()
    await expect(page.get_by_role("dialog")).to_be_hidden()


async def test_each_action_assigned_to_a_key_shows_on_its_box_and_through_the_api(
    web: Web,
) -> None:
    tenant_id, tenant = await web.admin.tenant("keys")
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await expect(key_box(page, "1")).to_contain_text("Unassigned")

        await open_key(page, "1")
        await page.locator("#key-action").select_option("dial_by_name")
        await save_dialog(page)
        await expect(key_box(page, "1")).to_contain_text("Dial by name")
        await expect(page.get_by_role("status")).to_contain_text("Key 1 saved: Dial by name.")

        await open_key(page, "2")
        await page.locator("#key-action").select_option("play_announcement")
        await page.locator("#key-text").fill(
            "Our shop is open from nine to six, Monday to Saturday."
        )
        await save_dialog(page)
        await expect(key_box(page, "2")).to_contain_text(
            "Announcement: Our shop is open from nine…"
        )

        transfers = {
            "3": ("extension", "101", "Transfer → 101 Alice Martin"),
            "4": ("virtual_extension", "104", "Transfer → 104 Françoise Le Gall"),
            "5": ("ring_group", "200", "Transfer → 200 Accueil"),
            "6": ("conference", "300", "Transfer → 300 Salle Monet"),
            "7": ("voicemail", "101", "Transfer → 101 Alice Martin"),
        }
        for digit, (kind, number, shown) in transfers.items():
            await open_key(page, digit)
            await page.locator("#key-action").select_option("transfer")
            await page.locator("#key-target-kind").select_option(kind)
            await page.locator("#key-target").select_option(number)
            if digit == "3":
                await screenshot(page, "receptionist-key-transfer-dialog")
            await save_dialog(page)
            await expect(key_box(page, digit)).to_contain_text(shown)
        await expect(key_box(page, "7")).to_contain_text("Voicemail of an extension")
        await expect(key_box(page, "8")).to_contain_text("Unassigned")
        await screenshot(page, "receptionist")

        keys = await keys_of(web, tenant_id, tenant.token)
        assert keys["1"]["action"] == "dial_by_name"
        assert keys["2"]["action"] == "play_announcement"
        assert keys["2"]["prompt"]["text"] == (
            "Our shop is open from nine to six, Monday to Saturday."
        )
        assert keys["2"]["prompt"]["language"] == "fr-FR"  # the receptionist's language
        for digit, (kind, number, _) in transfers.items():
            assert (keys[digit]["action"], keys[digit]["target"]["kind"]) == ("transfer", kind)
            assert keys[digit]["target"]["number"] == number
        assert [d for d, key in keys.items() if not key["assigned"]] == ["0", "8", "9"]

        # Cleared: unassigned again, on the page and in the API.
        await open_key(page, "1")
        await page.get_by_role("button", name="Clear this key").click()
        await expect(page.get_by_role("dialog")).to_be_hidden()
        await expect(key_box(page, "1")).to_contain_text("Unassigned")
        assert not (await keys_of(web, tenant_id, tenant.token))["1"]["assigned"]

        # Reloading shows what the API holds.
        await page.reload()
        await expect(key_box(page, "3")).to_contain_text("Transfer → 101 Alice Martin")


async def test_an_opened_key_shows_its_assignment_and_cancel_changes_nothing(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("cancel")
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    t = f"/v1/tenants/{tenant_id}/receptionist/keys"
    await tenant.ok(
        "PUT", f"{t}/4", {"action": "transfer", "target": {"kind": "ring_group", "number": "200"}}
    )
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await open_key(page, "4")
        await expect(page.locator("#key-action")).to_have_value("transfer")
        await expect(page.locator("#key-target-kind")).to_have_value("ring_group")
        await expect(page.locator("#key-target")).to_have_value("200")
        await page.locator("#key-action").select_option("dial_by_name")
        await page.get_by_role("button", name="Cancel").click()
        await expect(page.get_by_role("dialog")).to_be_hidden()
        await expect(key_box(page, "4")).to_be_focused()  # focus goes back to the box
        await expect(key_box(page, "4")).to_contain_text("Transfer → 200 Accueil")
        # Escape closes the dialog too.
        await open_key(page, "4")
        await page.keyboard.press("Escape")
        await expect(page.get_by_role("dialog")).to_be_hidden()
    assert (await keys_of(web, tenant_id, tenant.token))["4"]["action"] == "transfer"


async def test_the_target_picker_lists_only_this_tenants_targets_of_the_chosen_kind(
    web: Web,
) -> None:
    tenant_id, tenant = await web.admin.tenant("picker")
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    other_id, other = await web.admin.tenant("other", devices=("v",))
    await other.ok(
        "POST",
        f"/v1/tenants/{other_id}/extensions",
        {"number": "555", "kind": "physical", "last_name": "Voisin", "device": "v"},
    )
    expected = {
        "extension": ["101 Alice Martin", "102 Jean-Pierre Lefèvre"],
        "virtual_extension": ["104 Françoise Le Gall"],
        "ring_group": ["200 Accueil"],
        "conference": ["300 Salle Monet"],
        "voicemail": ["101 Alice Martin"],  # only extensions with voicemail
    }
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await open_key(page, "9")
        await page.locator("#key-action").select_option("transfer")
        for kind, names in expected.items():
            await page.locator("#key-target-kind").select_option(kind)
            options = page.locator("#key-target option:not([disabled])")
            await expect(options).to_have_text(names)


async def test_a_validation_error_from_the_api_is_shown_on_its_field(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("invalid")
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await open_key(page, "2")
        await page.locator("#key-action").select_option("play_announcement")
        await page.locator("#key-text").fill("   ")
        await page.get_by_role("dialog").get_by_role("button", name="Save").click()
        text = page.locator("#key-text")
        await expect(text).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#key-text-error")).to_have_text("This field cannot be empty.")
        await expect(text).to_have_attribute("aria-describedby", re.compile("key-text-error"))
        await expect(text).to_be_focused()
        await screenshot(page, "receptionist-key-validation-error")
        # Nothing was saved; fixing the field saves.
        assert not (await keys_of(web, tenant_id, tenant.token))["2"]["assigned"]
        await text.fill("Bonjour")
        await save_dialog(page)
        await expect(key_box(page, "2")).to_contain_text("Announcement: Bonjour")

        # A choice left empty is refused on its own field before anything is sent.
        await open_key(page, "3")
        await page.locator("#key-action").select_option("transfer")
        await page.get_by_role("dialog").get_by_role("button", name="Save").click()
        await expect(page.locator("#key-target-error")).to_have_text("Choose a target")


async def test_a_key_is_assigned_with_the_keyboard_alone(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("keyboard")
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    async with web.page() as page:
        await web.signed_in(page, tenant)
        # Tab from the top of the page to the box of key 5 (bounded: the page has few stops).
        for _ in range(40):
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement?.id") == "key-5":
                break
        await expect(key_box(page, "5")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("dialog")).to_be_visible()
        await expect(page.locator("#key-action")).to_be_focused()
        await page.keyboard.type("T")  # a select jumps to the option starting with T
        await expect(page.locator("#key-action")).to_have_value("transfer")
        await page.keyboard.press("Tab")
        await expect(page.locator("#key-target-kind")).to_be_focused()
        await page.keyboard.type("R")
        await expect(page.locator("#key-target-kind")).to_have_value("ring_group")
        await page.keyboard.press("Tab")
        await expect(page.locator("#key-target")).to_be_focused()
        await page.keyboard.press("ArrowDown")
        await expect(page.locator("#key-target")).to_have_value("200")
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("button", name="Save")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("dialog")).to_be_hidden()
        await expect(key_box(page, "5")).to_be_focused()
        await expect(key_box(page, "5")).to_contain_text("Transfer → 200 Accueil")
    key = (await keys_of(web, tenant_id, tenant.token))["5"]
    assert key["target"] == {"kind": "ring_group", "number": "200", "name": "Accueil"}


async def test_a_stale_page_reloads_the_keys_and_says_so(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("stale")
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await open_key(page, "1")
        # Someone else changes another key meanwhile.
        await tenant.ok(
            "PUT",
            f"/v1/tenants/{tenant_id}/receptionist/keys/0",
            {"action": "transfer", "target": {"kind": "extension", "number": "101"}},
        )
        await page.locator("#key-action").select_option("dial_by_name")
        await page.get_by_role("dialog").get_by_role("button", name="Save").click()
        await expect(page.get_by_role("dialog").get_by_role("alert")).to_contain_text(
            "changed elsewhere"
        )
        await expect(key_box(page, "0")).to_contain_text("Transfer → 101 Alice Martin")
        # The form kept its values: saving again now succeeds.
        await save_dialog(page)
        await expect(key_box(page, "1")).to_contain_text("Dial by name")
    keys = await keys_of(web, tenant_id, tenant.token)
    assert (keys["0"]["action"], keys["1"]["action"]) == ("transfer", "dial_by_name")


async def test_the_greeting_editor_saves_and_removes_the_greeting(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("greeting")
    path = f"/v1/tenants/{tenant_id}/receptionist"
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await expect(page.get_by_text("No greeting")).to_be_visible()
        await page.get_by_role("button", name="Edit the greeting").click()
        await page.locator("#greeting-text").fill("Bonjour et bienvenue chez Acme.")
        await page.locator("#greeting-language").select_option("fr-FR")
        await screenshot(page, "receptionist-greeting-dialog")
        await save_dialog(page)
        await expect(page.locator("#greeting-current")).to_contain_text(
            "Bonjour et bienvenue chez Acme."
        )
        greeting = (await tenant.ok("GET", path))["greeting"]
        assert (greeting["text"], greeting["language"]) == (
            "Bonjour et bienvenue chez Acme.",
            "fr-FR",
        )
        await page.get_by_role("button", name="Edit the greeting").click()
        await page.get_by_role("button", name="Remove the greeting").click()
        await expect(page.get_by_role("dialog")).to_be_hidden()
        await expect(page.get_by_text("No greeting")).to_be_visible()
    assert (await tenant.ok("GET", path))["greeting"] is None


async def test_upload_and_listen_work_with_the_media_service(
    web_with_media: Web, tmp_path: Path
) -> None:
    web = web_with_media
    tenant_id, tenant = await web.admin.tenant("media")
    recording = speech(
        tmp_path / "horaires.wav", "Nous sommes ouverts de neuf heures à dix-huit heures."
    )
    async with web.page() as page:
        await web.signed_in(page, tenant)

        # An uploaded file becomes the key's announcement, processed by the media service.
        await open_key(page, "4")
        await page.locator("#key-action").select_option("play_announcement")
        await page.get_by_label("Upload an audio file").check()
        await page.locator("#key-file").set_input_files(
            files=[
                FilePayload(
                    name="horaires.wav", mimeType="audio/wav", buffer=recording.read_bytes()
                )
            ]
        )
        await screenshot(page, "receptionist-key-upload-dialog")
        await save_dialog(page)
        await expect(key_box(page, "4")).to_contain_text("Announcement: horaires.wav")
        key = (await keys_of(web, tenant_id, tenant.token))["4"]
        assert (
            key["prompt"]["source"],
            key["prompt"]["original_filename"],
            key["prompt"]["status"],
        ) == (
            "upload",
            "horaires.wav",
            "ready",
        )

        # Listening to typed text makes its prompt once (rendered by the media service); saving reuses it.
        await open_key(page, "2")
        await page.locator("#key-action").select_option("play_announcement")
        await page.locator("#key-text").fill("Nous sommes ouverts du lundi au samedi.")
        await page.get_by_role("button", name="Listen").click()
        await expect(page.locator("dialog audio")).to_have_attribute("src", re.compile("^blob:"))
        await save_dialog(page)
        await expect(key_box(page, "2")).to_contain_text(words("Announcement: Nous sommes"))
        prompts = (await tenant.ok("GET", f"/v1/tenants/{tenant_id}/prompts"))["items"]
        spoken = [p for p in prompts if p["source"] == "tts"]
        assert len(spoken) == 1
        assert spoken[0]["status"] == "ready"
        key = (await keys_of(web, tenant_id, tenant.token))["2"]
        assert key["prompt"]["id"] == spoken[0]["id"]
