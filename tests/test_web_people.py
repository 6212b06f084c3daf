"""People in the web manager, in real Chromium: an invited user follows the email's link,
chooses a password and lands signed in (French and English); a viewer sees the key's Save
disabled and the API refuses the change anyway; a POST without the session's CSRF token is
refused; signing in with a password, and out. Screenshots in tests/screenshots/."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import pytest
from admin_support import PASSWORD, Admin, add_person, running_admin
from playwright.async_api import Page, expect
from smtp_support import Mailbox, smtp_server
from web_support import Web, chromium, key_box, screenshot, seed_numbering_plan

LINK = re.compile(r"/#/invitation\?token=(rcl_[A-Za-z0-9_-]{43})")


@pytest.fixture
async def mailing_web(migrated_url: str) -> AsyncIterator[tuple[Web, Mailbox]]:
    """The web manager whose admin API sends email through a real local SMTP server."""
    with smtp_server() as (box, port):
        async with (
            running_admin(
                migrated_url,
                smtp_host="127.0.0.1",
                smtp_port=port,
                smtp_security="none",
                smtp_from="Receptionist <noreply@carrier.example>",
            ) as admin,
            chromium() as browser,
        ):
            yield Web(browser, admin), box


async def _invitation_token(box: Mailbox, email: str) -> str:
    for message in await box.wait_for(1):
        if email in message.recipients:
            body = message.message.get_body(("plain",))
            assert body is not None
            found = LINK.search(str(body.get_content()))
            assert found is not None
            return found.group(1)
    raise AssertionError(f"no invitation for {email}")


@pytest.mark.parametrize(
    ("locale", "language", "choose", "save", "heading"),
    [
        (
            "fr-FR",
            "fr",
            "Choisissez votre mot de passe",
            "Enregistrer et se connecter",
            "Réceptionniste",
        ),
        ("en-GB", "en", "Choose your password", "Save and sign in", "Receptionist"),
    ],
)
async def test_an_invited_user_follows_the_emails_link_and_lands_signed_in(
    mailing_web: tuple[Web, Mailbox],
    locale: str,
    language: str,
    choose: str,
    save: str,
    heading: str,
) -> None:
    web, box = mailing_web
    tenant_id, tenant = await web.admin.tenant(f"invite{language}")
    email = f"invited-{uuid.uuid4().hex[:6]}@example.com"
    await tenant.ok(
        "POST",
        f"/v1/tenants/{tenant_id}/users",
        {"email": email, "role": "editor", "language": language},
    )
    token = await _invitation_token(box, email)

    async with web.page(locale=locale) as page:
        await page.goto(f"/#/invitation?token={token}")
        await expect(page.get_by_role("heading", name=choose)).to_be_visible()
        await expect(page.get_by_text(email)).to_be_visible()
        await screenshot(page, f"people-invitation-{language}")
        await page.locator("#new-password").fill("une phrase de passe solide")
        await page.get_by_role("button", name=save).click()
        await expect(key_box(page, "0")).to_be_visible()
        await expect(page.locator("#signed-in-as")).to_contain_text(email)
        await expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        assert "token=" not in page.url  # the link's secret leaves the address bar
        cookies = await page.context.cookies()
        session = next(c for c in cookies if c["name"] == "rcp_session")
        assert session["httpOnly"] is True
        assert session["sameSite"] == "Strict"
        assert session["secure"] is True
        await screenshot(page, f"people-signed-in-{language}")


async def _sign_in(page: Page, email: str, password: str) -> None:
    await page.goto("/")
    await page.locator("#email").fill(email)
    await page.locator("#password").fill(password)
    await page.locator("#person-sign-in button[type=submit]").click()


async def test_a_viewer_cannot_save_a_key_the_control_is_disabled_and_the_api_says_403(
    web: Web,
) -> None:
    tenant_id, _ = await web.admin.tenant("viewerweb")
    email = await add_person(web.admin, tenant_id, "viewer")
    async with web.page() as page:
        await _sign_in(page, email, "a wrong password here")
        await expect(
            page.get_by_text("The email address or the password is wrong.")
        ).to_be_visible()
        await _sign_in(page, email, PASSWORD)
        await expect(page.locator("#read-only-banner")).to_be_visible()
        await key_box(page, "1").click()
        save = page.get_by_role("button", name="Save", exact=True)
        await expect(save).to_be_disabled()
        await screenshot(page, "people-viewer-key")
        answer = await page.evaluate(
            """async ([path, csrf]) => {
                const r = await fetch(path, {method: "PUT", headers: {"Content-Type":
                    "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(
                    {action: "dial_by_name"})});
                return [r.status, (await r.json()).code];
            }""",
            [
                f"/v1/tenants/{tenant_id}/receptionist/keys/1",
                await _csrf(page),
            ],
        )
        assert answer == [403, "read_only"]


async def _csrf(page: Page) -> str:
    token: str = await page.evaluate(
        "async () => (await (await fetch('/v1/session')).json()).csrf_token"
    )
    return token


async def test_a_post_without_the_sessions_csrf_token_is_refused_and_with_it_accepted(
    web: Web,
) -> None:
    tenant_id, _ = await web.admin.tenant("csrfweb")
    email = await add_person(web.admin, tenant_id, "editor")
    body = {"number": "300", "name": "Salle Monet"}
    async with web.page(locale="fr-FR") as page:
        await _sign_in(page, email, PASSWORD)
        await expect(key_box(page, "0")).to_be_visible()
        script = """async ([path, body, csrf]) => {
            const headers = {"Content-Type": "application/json"};
            if (csrf) headers["X-CSRF-Token"] = csrf;
            const r = await fetch(path, {method: "POST", headers, body: JSON.stringify(body)});
            return [r.status, (await r.json()).code ?? null];
        }"""
        path = f"/v1/tenants/{tenant_id}/conference-rooms"
        refused = await page.evaluate(script, [path, body, None])
        accepted = await page.evaluate(script, [path, body, await _csrf(page)])
        await page.get_by_role("button", name="Se déconnecter").click()
        await expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
        after = await page.evaluate("async () => (await fetch('/v1/session')).status")

    assert refused == [403, "csrf_failed"], f"without the token the API answered {refused}"
    assert accepted[0] == 201, f"with the token the API answered {accepted}"
    # The sign-in page shows only once the server has answered the sign-out (app.tsx signOut).
    assert after == 401, f"after signing out, GET /v1/session answered {after}"


async def test_the_tokens_form_still_signs_in(web: Web, admin: Admin) -> None:
    _, tenant = await admin.tenant("tokenweb")
    async with web.page() as page:
        await web.signed_in(page, tenant)
        await expect(page.locator("#read-only-banner")).to_have_count(0)


VIEWER_PAGES = {
    "/receptionist": "Receptionist",
    "/menus": "Menus",
    "/hours": "Opening hours",
    "/versions": "Versions",
    "/settings": "Settings",
    "/settings/directory": "Customize directory settings",
    "/extensions": "Extensions",
    "/ring-groups": "Ring groups",
    "/conference-rooms": "Conference rooms",
    "/voicemail": "Voicemail",
    "/calls": "Call log",
}
# What changes something is a primary or a danger button; the call log's Filter and the
# Tester's simulated call (menus page) only read.
READING = ":not(#apply-filters):not([id^=tester-])"
CHANGING = f"main button.primary:enabled{READING}, main button.danger:enabled{READING}"


async def test_a_viewer_finds_every_control_that_changes_something_disabled_and_the_api_says_403(
    web: Web,
) -> None:
    tenant_id, tenant = await web.admin.tenant("viewerall")
    await seed_numbering_plan(web.admin, tenant_id, tenant)
    t = f"/v1/tenants/{tenant_id}"
    await tenant.ok("POST", f"{t}/holidays", {"name": "Noël", "start": "2027-12-25"})
    await tenant.ok("POST", f"{t}/receptionist/publish", {"comment": "first"})
    await tenant.ok("POST", f"{t}/menus", {"name": "Ventes"})  # a draft: the banner shows
    email = await add_person(web.admin, tenant_id, "viewer")
    async with web.page() as page:
        await _sign_in(page, email, PASSWORD)
        await expect(page.locator("#read-only-banner")).to_be_visible()
        await expect(page.locator("#publish")).to_be_disabled()
        await expect(page.locator("#discard")).to_be_disabled()
        await expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
        for path, heading in VIEWER_PAGES.items():
            await page.goto(f"/#{path}")
            await expect(page.get_by_role("heading", level=1)).to_have_text(heading)
            await expect(page.locator("main .loading")).to_have_count(0)
            await expect(page.locator("main button").first).to_be_visible()
            await expect(page.locator(CHANGING)).to_have_count(0)
        await page.goto("/#/hours")
        await expect(page.locator("#override-switch")).to_be_disabled()
        await expect(page.locator("#cell-mon-18")).to_be_disabled()
        await expect(page.locator("#ics-file")).to_be_disabled()
        await page.goto("/#/versions")
        await expect(page.locator("#versions button").first).to_be_disabled()
        await page.goto("/#/extensions")
        await page.locator("#extension-101-edit").click()
        await expect(page.get_by_role("dialog").locator("button[type=submit]")).to_be_disabled()
        await screenshot(page, "people-viewer-extension")
        csrf = await _csrf(page)
        refused = await page.evaluate(
            """async ([csrf, writes]) => {
                const out = [];
                for (const [method, path, body] of writes) {
                    const r = await fetch(path, {method, headers: {"Content-Type":
                        "application/json", "X-CSRF-Token": csrf},
                        body: body === null ? undefined : JSON.stringify(body)});
                    out.push([method, path, r.status, (await r.json()).code]);
                }
                return out;
            }""",
            [
                csrf,
                [
                    [
                        "POST",
                        f"{t}/extensions",
                        {
                            "number": "150",
                            "kind": "virtual",
                            "first_name": "X",
                            "external_number": "+33612345678",
                        },
                    ],
                    ["PATCH", f"{t}/extensions/101", {"first_name": "Y"}],
                    ["DELETE", f"{t}/conference-rooms/300", None],
                    ["PATCH", f"{t}/receptionist", {"dial_extension": True}],
                    ["PUT", f"{t}/schedule/override", {"mode": "closed"}],
                    ["POST", f"{t}/holidays", {"name": "Pâques", "start": "2027-03-28"}],
                    ["POST", f"{t}/menus", {"name": "Support"}],
                    ["POST", f"{t}/receptionist/publish", {}],
                    ["DELETE", f"{t}/receptionist/draft", None],
                    ["PATCH", f"{t}/directory", {"items": []}],
                ],
            ],
        )
        assert [(m, p, s, c) for m, p, s, c in refused if (s, c) != (403, "read_only")] == []
