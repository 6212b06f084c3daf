"""The call log in a real browser: filters, older pages, the CSV export, and a call opened
into its timeline, in English and in French."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from admin_support import Client
from call_log_support import hung_up, record_call, transferred, voicemail_after_dial_by_name
from playwright.async_api import Page, expect
from web_support import Web, screenshot, seed_numbering_plan, words

# 10:00 in Paris on Monday 2 March 2026, and the days after.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EN_SUMMARY = (
    "greeting 3.2 s · key 1 · spelled 533 · found Jean-Pierre Lefèvre · "
    "transferred to 102 Jean-Pierre Lefèvre · no answer after 20 s · voicemail 34 s"
)
FR_SUMMARY = (
    "accueil 3,2 s · touche 1 · épelé 533 · trouvé Jean-Pierre Lefèvre · "
    "transféré au 102 Jean-Pierre Lefèvre · pas de réponse après 20 s · messagerie 34 s"
)


async def _call_log(page: Page, name: str) -> None:
    await page.get_by_role("navigation").get_by_role("link", name=name).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(name)


async def _seeded(web: Web) -> Client:
    """A tenant with three calls early in March 2026 and sixty older ones."""
    tenant_id, tenant = await web.admin.tenant("timeline")
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    pool = web.admin.pool
    await record_call(pool, tenant_id, T0, transferred("+33612345678"))
    await record_call(
        pool, tenant_id, T0 + timedelta(days=1), voicemail_after_dial_by_name("+33699887766")
    )
    await record_call(pool, tenant_id, T0 + timedelta(days=2), hung_up("+33711111111"))
    # Older calls than a page holds (50), the month before.
    await pool.execute(
        """INSERT INTO call_records (tenant_id, call_id, called_number, caller_number,
                                     started_at, ended_at, outcome)
           SELECT $1, 'old-' || n, '+33199000001', '+3350000' || lpad(n::text, 4, '0'),
                  $2::timestamptz - n * interval '1 hour',
                  $2::timestamptz - n * interval '1 hour' + interval '9 seconds', 'no_input'
             FROM generate_series(1, 60) AS n""",
        tenant_id,
        T0 - timedelta(days=20),
    )
    return tenant


async def test_a_call_opens_into_its_timeline_and_the_log_filters_pages_and_exports(
    web: Web,
) -> None:
    tenant = await _seeded(web)
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await _call_log(page, "Call log")
        rows = page.get_by_role("row")
        await expect(rows).to_have_count(51)  # the header and a first page of 50
        await page.get_by_role("button", name="Older calls").click()
        await expect(rows).to_have_count(64)
        await expect(page.get_by_role("button", name="Older calls")).to_have_count(0)

        await page.get_by_label("Caller's number").fill("06 99")
        await page.get_by_role("button", name="Filter").click()
        await expect(rows).to_have_count(2)
        await expect(rows.nth(1)).to_contain_text("+33699887766")
        await rows.nth(1).get_by_role("button", name="Timeline").click()
        dialog = page.get_by_role("dialog")
        await expect(dialog.locator("#timeline-summary")).to_have_text(words(EN_SUMMARY))
        await expect(dialog.locator("#timeline li")).to_have_count(7)
        await expect(dialog.locator("#timeline li").first).to_contain_text("0:00")
        await screenshot(page, "call-timeline")
        await dialog.get_by_role("button", name="Close").click()
        await expect(dialog).to_have_count(0)

        await page.get_by_label("Caller's number").fill("")
        await page.get_by_label("From").fill("2026-03-02")
        await page.get_by_label("To (included)").fill("2026-03-03")
        await page.get_by_role("button", name="Filter").click()
        await expect(rows).to_have_count(3)
        await page.get_by_label("Outcome").select_option("transferred")
        await expect(rows).to_have_count(2)
        await expect(rows.nth(1)).to_contain_text("+33612345678")
        await screenshot(page, "calls-filtered")

        async with page.expect_download() as downloading:
            await page.get_by_role("button", name="Export CSV").click()
        download = await downloading.value
        path = await download.path()
        exported = list(csv.reader(io.StringIO(path.read_text("utf-8"))))
        assert len(exported) == 2  # the header and the one transferred call of those days
        assert exported[1][exported[0].index("caller_number")] == "'+33612345678"

        await page.get_by_label("Caller's number").fill("abc")
        await page.get_by_role("button", name="Filter").click()
        await expect(page.locator("#caller-error")).to_be_visible()


async def test_the_timeline_and_the_export_speak_french(web: Web) -> None:
    tenant = await _seeded(web)
    async with web.page("fr-FR") as page:
        await web.signed_in(page, tenant)
        await _call_log(page, "Journal des appels")
        await page.get_by_label("Numéro de l’appelant").fill("0699887766")
        await page.get_by_role("button", name="Filtrer").click()
        await expect(page.get_by_role("row")).to_have_count(2)
        await page.get_by_role("row").nth(1).get_by_role("button", name="Déroulé").click()
        dialog = page.get_by_role("dialog")
        await expect(dialog.locator("#timeline-summary")).to_have_text(words(FR_SUMMARY))
        await screenshot(page, "call-timeline-fr")
        async with page.expect_download() as downloading:
            await page.get_by_role("button", name="Fermer").click()
            await page.get_by_role("button", name="Exporter en CSV").click()
        text = (await (await downloading.value).path()).read_text("utf-8")
        assert text.splitlines()[0].startswith("started_at;answered_at;")  # French spreadsheets
