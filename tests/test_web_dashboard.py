"""The dashboard in a real browser: one aggregated request drawn as charts (calls per day,
outcomes, keys, busiest hours, dial by name), the period chosen, in English and in French."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from admin_support import Client
from call_log_support import hung_up, record_call, transferred, voicemail_after_dial_by_name
from playwright.async_api import Page, expect
from web_support import Web, screenshot

CHARTS = ("#chart-days", "#chart-outcomes", "#chart-keys", "#chart-hours", "#chart-names")


async def _seeded(web: Web) -> Client:
    """Three calls in the last days and one 20 days ago."""
    tenant_id, tenant = await web.admin.tenant("dashboard")
    pool = web.admin.pool
    now = datetime.now(UTC).replace(microsecond=0)
    await record_call(pool, tenant_id, now - timedelta(days=2), transferred())
    await record_call(pool, tenant_id, now - timedelta(days=1), voicemail_after_dial_by_name())
    await record_call(pool, tenant_id, now - timedelta(hours=3), hung_up())
    await record_call(pool, tenant_id, now - timedelta(days=20), hung_up())
    return tenant


async def _dashboard(page: Page, name: str) -> None:
    await page.get_by_role("navigation").get_by_role("link", name=name).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(name)


async def test_the_dashboard_draws_each_chart_from_one_request_and_follows_the_period(
    web: Web,
) -> None:
    tenant = await _seeded(web)
    async with web.page() as page:
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if "/dashboard" in r.url else None)
        await web.signed_in(page, tenant)
        await _dashboard(page, "Dashboard")
        await expect(page.locator("#dashboard-summary")).to_have_text("4 calls, 4 answered.")
        for chart in CHARTS:
            await expect(page.locator(f"{chart} canvas").first).to_be_visible()
        assert len([url for url in asked if "/v1/" in url]) == 1
        outcomes = page.locator("#chart-outcomes table")
        await expect(outcomes).to_contain_text("Caller hung up2")
        await expect(outcomes).to_contain_text("Transferred1")
        await expect(page.locator("#chart-keys table")).to_contain_text("1: dial by name1")
        await expect(page.locator("#chart-names figcaption")).to_have_text(
            "Dial by name (1 searches)"
        )
        await expect(page.locator("#chart-names table")).to_contain_text("Found1")
        await screenshot(page, "dashboard")
        await page.get_by_label("Period").select_option("7")
        await expect(page.locator("#dashboard-summary")).to_have_text("3 calls, 3 answered.")


async def test_the_dashboard_speaks_french_and_says_when_a_period_had_no_call(web: Web) -> None:
    tenant = await _seeded(web)
    async with web.page("fr-FR") as page:
        await web.signed_in(page, tenant)
        await _dashboard(page, "Tableau de bord")
        await expect(page.locator("#dashboard-summary")).to_have_text("4 appels, 4 décrochés.")
        await expect(page.locator("#chart-hours figcaption")).to_have_text(
            "Heures les plus chargées"
        )
        await expect(page.locator("#chart-outcomes table")).to_contain_text("Transféré")
        await expect(page.locator("#chart-names canvas").first).to_be_visible()
        await screenshot(page, "dashboard-fr")
    _, empty = await web.admin.tenant("dashboard-empty")
    async with web.page("fr-FR") as page:
        await web.signed_in(page, empty)
        await _dashboard(page, "Tableau de bord")
        await expect(page.locator("#dashboard-empty")).to_have_text(
            "Aucun appel sur cette période."
        )
