"""Menus, opening hours, holidays, the override, the draft banner and versions in a real
browser, in English and French, with screenshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import FilePayload, Locator, Page, expect
from web_support import Web, key_box, screenshot

CALENDAR = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//FR
BEGIN:VEVENT
UID:inventaire@test
DTSTART;VALUE=DATE:20270902
DTEND;VALUE=DATE:20270904
SUMMARY:Inventaire
END:VEVENT
END:VCALENDAR
"""


def menu_section(page: Page, name: str) -> Locator:
    """The section of one menu on the Menus page."""
    return page.locator("section.menu").filter(
        has=page.get_by_role("heading", level=2, name=name, exact=True)
    )


async def go(page: Page, path: str, heading: str) -> None:
    await page.goto(f"/#{path}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(heading)


async def test_a_sub_menu_is_added_opened_by_a_key_published_and_rolled_back(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("menus")
    t = f"/v1/tenants/{tenant_id}"
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await go(page, "/menus", "Menus")
        await page.locator("#add-menu").click()
        await page.locator("#menu-name").fill("Sales")
        await page.locator("#menu-language").select_option("en-GB")
        await page.locator("#menu-greeting").fill("Sales. For quotes, press 1.")
        await page.locator("#save-menu").click()
        sales = menu_section(page, "Sales")
        await expect(sales.locator(".warning")).to_contain_text("callers cannot reach it")
        # The draft banner: a menu added is not heard until published.
        await expect(page.locator("#draft-banner")).to_contain_text("menu Sales added")

        await go(page, "/receptionist", "Receptionist")
        await key_box(page, "9").click()
        await page.locator("#key-action").select_option("open_menu")
        await page.locator("#key-menu").select_option(label="Sales")
        await page.get_by_role("dialog").get_by_role("button", name="Save").click()
        await expect(key_box(page, "9")).to_contain_text("Menu → Sales")
        await screenshot(page, "receptionist-open-menu")

        await go(page, "/menus", "Menus")
        sales = menu_section(page, "Sales")
        await expect(sales.locator(".opened-by")).to_contain_text("key 9 of Menu principal")
        await expect(sales.locator(".warning")).to_have_count(0)
        await sales.locator("[data-digit='1']").click()
        await page.locator("#key-action").select_option("dial_by_name")
        await page.get_by_role("dialog").get_by_role("button", name="Save").click()
        await expect(sales.locator("[data-digit='1']")).to_contain_text("Dial by name")
        await expect(page.locator("#draft-banner")).to_contain_text(
            "menu Sales, key 1: nothing → dial by name"
        )
        await screenshot(page, "menus")

        await page.locator("#publish-comment").fill("Sales menu")
        await page.locator("#publish").click()
        await expect(page.locator("#draft-banner")).to_have_count(0)
        await go(page, "/versions", "Versions")
        latest = page.locator("li.version").first
        await expect(latest).to_contain_text("Sales menu")
        await expect(latest).to_contain_text("menu Sales, key 1: nothing → dial by name")
        await screenshot(page, "versions")
        await page.locator("#rollback-1").click()
        await expect(page.get_by_role("status")).to_contain_text("a copy of version 1")
        await expect(page.locator("li.version").first).to_contain_text("rollback to version 1")

    menus = (await tenant.ok("GET", f"{t}/menus"))["items"]
    assert [m["name"] for m in menus] == ["Menu principal"]
    versions = (await tenant.ok("GET", f"{t}/receptionist/versions"))["items"]
    assert versions[0]["rolled_back_from"] == 1


async def test_les_horaires_se_dessinent_a_la_souris_et_les_jours_feries_s_ajoutent(
    web: Web,
) -> None:
    tenant_id, tenant = await web.admin.tenant("horaires")
    t = f"/v1/tenants/{tenant_id}"
    async with web.page(locale="fr-FR") as page:
        await web.signed_in(page, tenant)
        await go(page, "/hours", "Heures d’ouverture")
        # The switch above the grid loads on its own: let the layout settle before dragging.
        await expect(page.locator("#override-state")).to_be_visible()
        await expect(page.locator("#holidays-title")).to_be_visible()
        # Monday 09:00 to 12:30: press on the 09:00 cell, drag to the 12:00 one, let go.
        await page.locator("#cell-mon-18").hover()
        await page.mouse.down()
        for slot in range(19, 25):
            await page.locator(f"#cell-mon-{slot}").hover()
        await page.mouse.up()
        await page.locator("#cell-tue-28").click()  # Tuesday 14:00-14:30, a click
        await expect(page.locator("#cell-mon-24")).to_have_attribute("aria-pressed", "true")
        await page.locator("#save-hours").click()
        await expect(page.get_by_role("status")).to_contain_text("Horaires enregistrés")
        year = datetime.now(UTC).year + 1
        await page.locator("#public-holidays").click()
        await expect(page.locator("#holidays")).to_contain_text("Noël")
        await page.locator("#ics-file").set_input_files(
            files=[
                FilePayload(name="conges.ics", mimeType="text/calendar", buffer=CALENDAR.encode())
            ]
        )
        await expect(page.locator("#holidays")).to_contain_text("Inventaire")
        await expect(page.locator("#draft-banner")).to_contain_text("horaires du lundi")
        await screenshot(page, "horaires-fr")

        await go(page, "/receptionist", "Réceptionniste")
        await expect(page.locator("#override-state")).to_contain_text(
            "Les heures d’ouverture et les jours fériés décident."
        )
        await page.locator("#override-switch").click()
        await expect(page.locator("#override-state")).to_contain_text(
            "Fermé exceptionnellement jusqu’à nouvel ordre."
        )
        await expect(page.locator("#override-switch")).to_have_attribute("aria-checked", "true")
        await expect(page.locator("#schedule-now")).to_contain_text(
            "fermé exceptionnellement (fermeture exceptionnelle jusqu’à nouvel ordre)"
        )
        await screenshot(page, "accueil-ferme-exceptionnellement-fr")

    schedule = await tenant.ok("GET", f"{t}/schedule")
    assert schedule["weekly"] == {
        "mon": [{"start": "09:00", "end": "12:30"}],
        "tue": [{"start": "14:00", "end": "14:30"}],
    }
    assert schedule["override"] == {"mode": "closed", "until": None}
    holidays = (await tenant.ok("GET", f"{t}/holidays"))["items"]
    assert {"Noël", "Inventaire"} <= {h["name"] for h in holidays}
    assert any(h["start"] == f"{year}-12-25" for h in holidays)


async def test_le_brouillon_perime_se_relit_avant_publication_et_s_annule(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("brouillon")
    t = f"/v1/tenants/{tenant_id}"
    await tenant.ok("POST", f"{t}/menus", {"name": "Ventes"})
    async with web.page(locale="fr-FR") as page:
        await web.signed_in(page, tenant)
        await go(page, "/versions", "Versions")
        banner = page.locator("#draft-banner")
        await expect(banner).to_contain_text("Modifications non publiées")
        await expect(banner).to_contain_text("Ventes")
        # Another admin changes the draft after this page read it: publishing what was
        # reviewed is refused (412), and the banner shows the draft as it is now.
        await tenant.ok("POST", f"{t}/menus", {"name": "Devis"})
        await page.locator("#publish").click()
        await expect(banner).to_contain_text("Le brouillon a changé entre-temps")
        await expect(banner).to_contain_text("menu Devis ajouté")
        await screenshot(page, "brouillon-perime-fr")
        assert (await tenant.ok("GET", f"{t}/receptionist/versions"))["items"][0]["number"] == 1

        await page.locator("#discard").click()
        await expect(page.get_by_role("status")).to_contain_text("Modifications annulées.")
        await expect(banner).to_have_count(0)

    menus = (await tenant.ok("GET", f"{t}/menus"))["items"]
    assert [m["name"] for m in menus] == ["Menu principal"]
    assert (await tenant.ok("GET", f"{t}/receptionist/draft"))["changed"] is False
    versions = (await tenant.ok("GET", f"{t}/receptionist/versions"))["items"]
    assert [v["number"] for v in versions] == [1]


async def test_the_override_closes_until_a_date_and_time_then_is_switched_back(web: Web) -> None:
    tenant_id, tenant = await web.admin.tenant("override")
    t = f"/v1/tenants/{tenant_id}"
    until = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await go(page, "/receptionist", "Receptionist")
        # The browser's own clock and zone: the field holds its local wall-clock time.
        local = await page.evaluate(
            "(iso) => { const d = new Date(iso); d.setMinutes(d.getMinutes() - "
            "d.getTimezoneOffset()); return d.toISOString().slice(0, 16); }",
            until.isoformat(),
        )
        await page.locator("#override-until").fill(local)
        await page.locator("#override-switch").click()
        await expect(page.locator("#override-state")).to_contain_text("Closed exceptionally until ")
        await expect(page.locator("#override-switch")).to_have_attribute("aria-checked", "true")
        await expect(page.locator("#schedule-now")).to_contain_text("Menu principal")
        await screenshot(page, "home-closed-until")
        override = (await tenant.ok("GET", f"{t}/schedule"))["override"]
        assert override["mode"] == "closed"
        assert datetime.fromisoformat(override["until"]) == until
        assert (await tenant.ok("GET", f"{t}/schedule/now"))["state"] == "override_closed"

        await page.locator("#override-switch").click()
        await expect(page.locator("#override-switch")).to_have_attribute("aria-checked", "false")
        await expect(page.locator("#override-state")).not_to_contain_text("Closed exceptionally")
    assert (await tenant.ok("GET", f"{t}/schedule"))["override"] is None
