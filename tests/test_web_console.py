"""The carrier console in real Chromium, in English and French: an operator creates, suspends,
resumes and deletes a tenant (its name typed to confirm), routes, moves and releases phone
numbers, reads usage and the audit log across tenants; carrier support reads it all with every
control disabled and views a tenant read-only, which the tenant's audit log records; a tenant's
admin reads their audit log with each change's fields before and after; an operator ends all
their sessions, the other browser's too. Screenshots in tests/screenshots/."""

from __future__ import annotations

import uuid

import pytest
from admin_support import add_person
from playwright.async_api import Page, ViewportSize, expect
from web_support import PHONE, Web, key_box, screenshot, sign_in_person

LABELS = {
    "en": {
        "tenants": "Tenants",
        "numbers": "Phone numbers",
        "usage": "Usage",
        "audit": "Audit log",
        "new": "New tenant",
        "name": "Name",
        "slug": "Short name",
        "save": "Save",
        "suspended": "Suspended",
        "active": "Active",
        "route": "Route a number",
        "number": "Number",
        "tenant": "Tenant",
        "route_button": "Route",
        "moved": "moved: its next call reaches",
        "released": "released.",
        "deleted": "deleted.",
    },
    "fr": {
        "tenants": "Entreprises",
        "numbers": "Numéros",
        "usage": "Consommation",
        "audit": "Journal d’audit",
        "new": "Nouvelle entreprise",
        "name": "Nom",
        "slug": "Nom court",
        "save": "Enregistrer",
        "suspended": "Suspendue",
        "active": "Active",
        "route": "Acheminer un numéro",
        "number": "Numéro",
        "tenant": "Entreprise",
        "route_button": "Acheminer",
        "moved": "est transféré",
        "released": "est libéré.",
        "deleted": "supprimée.",
    },
}
LOCALES = [("en-GB", "en"), ("fr-FR", "fr")]


async def open_section(page: Page, name: str) -> None:
    await page.get_by_role("navigation").get_by_role("link", name=name, exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(name)


def number() -> str:
    """A number of the French range set aside for fiction, unused by other tests."""
    return f"+3319{uuid.uuid4().int % 10**8:08d}"


async def _create_tenant(page: Page, lang: str, name: str, slug: str) -> None:
    """New tenant: a wrong short name is refused on its field, then the right one saves."""
    words = LABELS[lang]
    await page.get_by_role("button", name=words["new"]).click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label(words["name"], exact=True).fill(name)
    await dialog.get_by_label(words["slug"]).fill("Not A Slug")
    await dialog.get_by_role("button", name=words["save"]).click()
    await expect(dialog.locator("#tenant-slug-error")).to_be_visible()
    await screenshot(page, f"console-new-tenant-refused-{lang}")
    await dialog.get_by_label(words["slug"]).fill(slug)
    await dialog.get_by_role("button", name=words["save"]).click()


@pytest.mark.parametrize(("locale", "lang"), LOCALES)
async def test_an_operator_creates_suspends_resumes_and_deletes_a_tenant_typing_its_name(
    web: Web, locale: str, lang: str
) -> None:
    words = LABELS[lang]
    operator = await add_person(web.admin, None, "operator")
    slug = f"console-{uuid.uuid4().hex[:8]}"
    name = f"Console {slug[-8:]} SARL"
    async with web.page(locale=locale) as page:
        await sign_in_person(page, operator)
        await expect(page.get_by_role("heading", level=1)).to_have_text(words["tenants"])
        await _create_tenant(page, lang, name, slug)
        row = page.locator(f"#tenant-{slug}")
        await expect(row).to_contain_text(name)
        await expect(row).to_contain_text(words["active"])
        await expect(page.locator(f"#tenant-{slug}-delete")).to_be_disabled()

        await page.locator(f"#tenant-{slug}-edit").click()
        dialog = page.get_by_role("dialog")
        await expect(dialog.get_by_label(words["slug"])).to_have_count(0)  # it cannot change
        name = f"{name} & Fils"
        await dialog.get_by_label(words["name"], exact=True).fill(name)
        await dialog.get_by_role("button", name=words["save"]).click()
        await expect(row).to_contain_text(name)

        await page.locator(f"#tenant-{slug}-suspend").click()
        await expect(row).to_contain_text(words["suspended"])
        tenants = (await web.admin.carrier.ok("GET", "/v1/tenants"))["items"]
        [created] = [t for t in tenants if t["slug"] == slug]
        assert created["status"] == "suspended"
        await page.locator(f"#tenant-{slug}-resume").click()
        await expect(row).to_contain_text(words["active"])
        await page.locator(f"#tenant-{slug}-suspend").click()
        await expect(row).to_contain_text(words["suspended"])
        await screenshot(page, f"console-tenants-{lang}")
        await page.set_viewport_size(ViewportSize(width=PHONE["width"], height=PHONE["height"]))
        await screenshot(page, f"console-tenants-phone-{lang}")
        await page.set_viewport_size(ViewportSize(width=1280, height=720))

        await page.locator(f"#tenant-{slug}-delete").click()
        confirm = page.locator("#confirm-delete")
        await expect(confirm).to_be_disabled()
        await page.locator("#confirm-name").fill(name[:-1])
        await expect(confirm).to_be_disabled()
        await page.locator("#confirm-name").fill(name)
        await screenshot(page, f"console-delete-tenant-{lang}")
        await confirm.click()
        await expect(page.get_by_role("status")).to_contain_text(words["deleted"])
        await expect(row).to_have_count(0)
    gone = await web.admin.carrier.call("GET", f"/v1/tenants/{created['id']}")
    assert gone.status == 404


@pytest.mark.parametrize(("locale", "lang"), LOCALES)
async def test_an_operator_routes_moves_and_releases_a_number_and_reads_usage_and_the_audit(
    web: Web, locale: str, lang: str
) -> None:
    words = LABELS[lang]
    first_id, _ = await web.admin.tenant(f"first{lang}")
    second_id, _ = await web.admin.tenant(f"second{lang}")
    second = await web.admin.carrier.ok("GET", f"/v1/tenants/{second_id}")
    operator = await add_person(web.admin, None, "operator")
    e164 = number()
    row_id = f"#number-{e164[1:]}"
    async with web.page(locale=locale) as page:
        await sign_in_person(page, operator)
        await open_section(page, words["numbers"])
        await page.get_by_role("button", name=words["route"]).click()
        dialog = page.get_by_role("dialog")
        await dialog.get_by_label(words["number"]).fill("0612")
        await dialog.get_by_label(words["tenant"]).select_option(first_id)
        await dialog.get_by_role("button", name=words["route_button"], exact=True).click()
        await expect(dialog.locator("#route-e164-error")).to_be_visible()
        await dialog.get_by_label(words["number"]).fill(e164)
        await dialog.get_by_role("button", name=words["route_button"], exact=True).click()
        await expect(page.locator(row_id)).to_contain_text(f"First{lang}")

        await page.locator(f"{row_id}-move").click()
        await page.locator("#move-tenant").select_option(second_id)
        await screenshot(page, f"console-move-number-{lang}")
        await page.locator("#confirm-move").click()
        await expect(page.get_by_role("status")).to_contain_text(words["moved"])
        await expect(page.locator(row_id)).to_contain_text(second["name"])
        routed = await web.admin.carrier.ok("GET", f"/v1/numbers?prefix=%2B{e164[1:]}")
        assert [(n["e164"], n["tenant_id"]) for n in routed["items"]] == [(e164, second_id)]
        await page.locator("#number-prefix").fill(e164)
        await page.get_by_role("button", name="Filter" if lang == "en" else "Filtrer").click()
        await expect(page.locator("#numbers tbody tr")).to_have_count(1)
        await screenshot(page, f"console-numbers-{lang}")

        await open_section(page, words["audit"])
        await page.locator("#audit-action").fill("number.move")
        await page.locator("#audit-filters button[type=submit]").click()
        entry = page.locator("#audit tbody tr").first
        await expect(entry).to_contain_text(e164)
        await expect(entry).to_contain_text(operator)
        await expect(entry.locator("del").first).to_contain_text(first_id)
        await expect(entry.locator("ins").first).to_contain_text(second_id)
        await screenshot(page, f"console-audit-{lang}")

        await open_section(page, words["usage"])
        await expect(page.locator(f"#usage-{second['slug']}")).to_contain_text(second["name"])
        await screenshot(page, f"console-usage-{lang}")

        await open_section(page, words["numbers"])
        await page.locator(f"{row_id}-release").click()
        await page.locator("#confirm-release").click()
        await expect(page.get_by_role("status")).to_contain_text(words["released"])
        await expect(page.locator(row_id)).to_have_count(0)
    left = await web.admin.carrier.ok("GET", f"/v1/numbers?prefix=%2B{e164[1:]}")
    assert left["items"] == []


async def test_support_reads_the_console_with_controls_disabled_and_views_a_tenant_audited(
    web: Web,
) -> None:
    tenant_id, tenant = await web.admin.tenant("viewedweb")
    slug = (await web.admin.carrier.ok("GET", f"/v1/tenants/{tenant_id}"))["slug"]
    await web.admin.carrier.ok("POST", f"/v1/tenants/{tenant_id}/numbers", {"e164": number()})
    support = await add_person(web.admin, None, "support")
    async with web.page() as page:
        await sign_in_person(page, support)
        await expect(page.locator("#read-only-banner")).to_be_visible()
        await expect(page.locator("#new-tenant")).to_be_disabled()
        await expect(page.locator(f"#tenant-{slug}-suspend")).to_be_disabled()
        await expect(page.locator(f"#tenant-{slug}-manage")).to_have_count(0)
        await open_section(page, "Phone numbers")
        await expect(page.locator("#route-number")).to_be_disabled()
        await expect(page.locator("#numbers button").first).to_be_disabled()
        await screenshot(page, "console-support-numbers")

        await open_section(page, "Tenants")
        await page.get_by_role("button", name="View Viewedweb read only").click()
        await expect(page.locator("#view-as-banner")).to_contain_text("Viewedweb")
        await key_box(page, "1").click()
        await expect(page.get_by_role("button", name="Save", exact=True)).to_be_disabled()
        await screenshot(page, "console-support-view-as")
        refused = await page.evaluate(
            """async (path) => {
                const csrf = (await (await fetch('/v1/session')).json()).csrf_token;
                const r = await fetch(path, {method: "PUT", headers: {"Content-Type":
                    "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(
                    {action: "dial_by_name"})});
                return [r.status, (await r.json()).code];
            }""",
            f"/v1/tenants/{tenant_id}/receptionist/keys/1",
        )
        assert refused == [403, "read_only"]
        await page.keyboard.press("Escape")
        await page.get_by_role("button", name="Back to the console").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Tenants")
    log = await tenant.ok("GET", f"/v1/tenants/{tenant_id}/audit?entity=session")
    assert [(e["action"], e["actor"]) for e in log["items"]] == [
        ("session.view_as_end", support),
        ("session.view_as", support),
    ]


@pytest.mark.parametrize(
    ("locale", "title", "created"),
    [("en-GB", "Audit log", "created:"), ("fr-FR", "Journal d’audit", "créé")],
)
async def test_a_tenant_admin_reads_who_changed_what_with_each_fields_before_and_after(
    web: Web, locale: str, title: str, created: str
) -> None:
    tenant_id, _ = await web.admin.tenant("auditpage")
    admin_email = await add_person(web.admin, tenant_id, "admin")
    editor_email = await add_person(web.admin, tenant_id, "editor")
    t = f"/v1/tenants/{tenant_id}"
    async with web.page(locale=locale) as page:
        await sign_in_person(page, editor_email)
        await expect(key_box(page, "0")).to_be_visible()
        await expect(page.get_by_role("link", name=title)).to_have_count(0)  # admins only
        csrf = await page.evaluate(
            "async () => (await (await fetch('/v1/session')).json()).csrf_token"
        )
        for body in (
            {"number": "301", "name": "Salle Monet"},
            {"number": "301", "name": "Salle Renoir"},
        ):
            method, path = (
                ("POST", f"{t}/conference-rooms")
                if body["name"] == "Salle Monet"
                else (
                    "PATCH",
                    f"{t}/conference-rooms/301",
                )
            )
            status = await page.evaluate(
                """async ([method, path, body, csrf]) => (await fetch(path, {method, headers:
                    {"Content-Type": "application/json", "X-CSRF-Token": csrf},
                    body: JSON.stringify(method === "PATCH" ? {name: body.name} : body)})).status""",
                [method, path, body, csrf],
            )
            assert status in (200, 201)
    async with web.page(locale=locale) as page:
        await sign_in_person(page, admin_email)
        await open_section(page, title)
        rows = page.locator("#audit tbody tr")
        renamed = rows.filter(has_text="conference_room.update")
        await expect(renamed).to_contain_text(editor_email)
        await expect(renamed.locator("del")).to_have_text("Salle Monet")
        await expect(renamed.locator("ins")).to_have_text("Salle Renoir")
        await expect(rows.filter(has_text="conference_room.create")).to_contain_text(created)
        await page.locator("#audit-actor").fill(admin_email)
        await page.locator("#audit-filters button[type=submit]").click()
        await expect(rows.filter(has_text="conference_room")).to_have_count(0)
        await expect(rows.first).to_contain_text("user.sign_in")
        await page.locator("#audit-actor").fill("")
        await page.locator("#audit-filters button[type=submit]").click()
        await expect(renamed).to_have_count(1)
        await screenshot(page, f"tenant-audit-{locale[:2]}")


@pytest.mark.parametrize(
    ("locale", "section", "add", "save_policy", "saved"),
    [
        (
            "en-GB",
            "Devices and policy",
            "Add a device",
            "Save the policy",
            "Outbound policy saved.",
        ),
        (
            "fr-FR",
            "Appareils et politique",
            "Ajouter un appareil",
            "Enregistrer la politique",
            "Politique d’appels sortants enregistrée.",
        ),
    ],
)
async def test_an_operator_provisions_a_device_and_sets_a_tenants_outbound_policy(
    web: Web, locale: str, section: str, add: str, save_policy: str, saved: str
) -> None:
    tenant_id, _ = await web.admin.tenant("devicesweb")
    t = f"/v1/tenants/{tenant_id}"
    operator = await add_person(web.admin, None, "operator")
    endpoint = f"PJSIP/t{tenant_id[:8]}-desk"
    async with web.page(locale=locale) as page:
        await sign_in_person(page, operator)
        await open_section(page, section)
        await page.locator("#console-tenant").select_option(tenant_id)
        await page.locator("#device-name").fill("desk")
        await page.locator("#device-endpoint").fill(endpoint)
        await page.get_by_role("button", name=add).click()
        await expect(page.locator("#device-desk")).to_contain_text(endpoint)

        await page.locator("#policy-denied").fill("+3389, +3368")
        await page.locator("#policy-type-premium_rate").uncheck()
        await page.locator("#policy-allowed").fill("not a prefix")
        await page.get_by_role("button", name=save_policy).click()
        await expect(page.locator("#policy-allowed-error")).to_be_visible()
        await page.locator("#policy-allowed").fill("")
        await page.get_by_role("button", name=save_policy).click()
        await expect(page.locator("#policy-allowed-error")).to_have_count(0)
        await expect(page.get_by_role("status")).to_have_text(saved)
        await screenshot(page, f"console-devices-{locale[:2]}")
    devices = await web.admin.carrier.ok("GET", f"{t}/devices")
    policy = await web.admin.carrier.ok("GET", f"{t}/outbound-policy")
    assert [(d["name"], d["endpoint"]) for d in devices["items"]] == [("desk", endpoint)]
    assert policy["denied_prefixes"] == ["+3389", "+3368"]
    assert "premium_rate" not in policy["allowed_number_types"]
    assert policy["allowed_prefixes"] == []


async def test_an_operator_issues_and_revokes_a_tenants_token_and_invites_and_disables_a_person(
    web: Web,
) -> None:
    tenant_id, _ = await web.admin.tenant("accessweb")
    t = f"/v1/tenants/{tenant_id}"
    operator = await add_person(web.admin, None, "operator")
    invited = f"invited-{uuid.uuid4().hex[:6]}@example.com"
    async with web.page() as page:
        await sign_in_person(page, operator)
        await open_section(page, "Tokens and people")
        await page.locator("#console-tenant").select_option(tenant_id)
        await page.locator("#token-name").fill("billing robot")
        await page.get_by_role("button", name="Issue a token").click()
        secret = await page.locator("#issued-token").text_content()
        assert secret is not None
        await screenshot(page, "console-token-issued")
        await page.get_by_role("dialog").get_by_role("button", name="Close").click()
        as_token = await web.admin.carrier.as_(secret.strip()).call("GET", f"{t}/receptionist")
        assert as_token.status == 200
        await page.get_by_role("button", name="Revoke token billing robot").click()
        await expect(page.get_by_role("status")).to_contain_text("Token billing robot revoked.")
        revoked = await web.admin.carrier.as_(secret.strip()).call("GET", f"{t}/receptionist")
        assert revoked.status == 401

        await page.locator("#invite-email").fill(invited)
        await page.locator("#invite-role").select_option("editor")
        await page.get_by_role("button", name="Invite", exact=True).click()
        await expect(page.get_by_role("status")).to_contain_text(invited)
        await page.get_by_role("button", name=f"Send {invited} a new invitation").click()
        await expect(
            page.get_by_role("alert").filter(has_text=f"The new invitation to {invited}")
        ).to_be_visible()
        await page.get_by_role("button", name=f"Disable {invited}").click()
        await expect(page.get_by_role("status")).to_contain_text(f"{invited} disabled")
        await screenshot(page, "console-people")
        people = await web.admin.carrier.ok("GET", f"{t}/users")
        [person] = [p for p in people["items"] if p["email"] == invited]
        assert (person["role"], person["status"]) == ("editor", "disabled")

        await page.locator("#console-tenant").select_option("carrier")
        await expect(page.locator("#people")).to_contain_text(operator)


async def test_an_operator_sets_a_tenants_call_limits_and_a_wrong_one_is_refused_on_its_field(
    web: Web,
) -> None:
    tenant_id, _ = await web.admin.tenant("limitsweb")
    operator = await add_person(web.admin, None, "operator")
    async with web.page() as page:
        await sign_in_person(page, operator)
        await open_section(page, "Devices and policy")
        await page.locator("#console-tenant").select_option(tenant_id)
        longest = page.locator("#limit-max_outbound_call_s")
        await longest.fill("a while")
        await page.get_by_role("button", name="Save the limits").click()
        await expect(page.locator("#limit-max_outbound_call_s-error")).to_be_visible()
        await longest.fill("600")
        await page.get_by_role("button", name="Save the limits").click()
        await expect(page.get_by_role("status")).to_have_text("Call limits saved.")
        await expect(page.locator("#limit-max_outbound_call_s-error")).to_have_count(0)
        await screenshot(page, "console-limits")
    limits = await web.admin.carrier.ok("GET", f"/v1/tenants/{tenant_id}/limits")
    assert limits["max_outbound_call_s"] == 600


@pytest.mark.parametrize(
    ("locale", "label", "sign_in"),
    [
        ("fr-FR", "Fermer toutes mes sessions", "Connexion"),
        ("en-GB", "End all my sessions", "Sign in"),
    ],
)
async def test_an_operator_ends_all_their_sessions_and_the_other_browser_is_signed_out_too(
    web: Web, locale: str, label: str, sign_in: str
) -> None:
    operator = await add_person(web.admin, None, "operator")
    session = "async () => (await fetch('/v1/session')).status"
    async with web.page(locale=locale) as laptop, web.page(locale=locale) as phone:
        await sign_in_person(phone, operator)
        await expect(phone.locator("#signed-in-as")).to_contain_text(operator)
        await sign_in_person(laptop, operator)
        await expect(laptop.locator("#signed-in-as")).to_contain_text(operator)
        assert await phone.evaluate(session) == 200

        await laptop.get_by_role("button", name=label, exact=True).click()
        await expect(laptop.get_by_role("heading", name=sign_in)).to_be_visible()
        laptop_after = await laptop.evaluate(session)
        phone_after = await phone.evaluate(session)
    assert laptop_after == 401, f"the browser that ended them got {laptop_after}"
    assert phone_after == 401, f"the other browser's session answered {phone_after}"
    ended = await web.admin.pool.fetch(
        """SELECT (after->>'sessions_ended')::int AS n FROM audit_log
            WHERE action = 'user.sign_out_everywhere'
              AND entity_key = (SELECT id::text FROM users WHERE email = $1)""",
        operator,
    )
    assert [row["n"] for row in ended] == [2]  # both browsers' sessions, in one audited change
