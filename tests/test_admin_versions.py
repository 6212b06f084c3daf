"""Versions through the admin API: a draft, publish with If-Match, numbered versions with who,
when, a comment and a summary, rollback as a new version, discard; the receptionist's own
endpoints edit and publish in one step."""

from __future__ import annotations

from admin_support import Admin


async def test_a_draft_only_edit_first_publishes_the_receptionist_as_it_was(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    await tenant.ok("PUT", f"{t}/receptionist/keys/1", {"action": "dial_by_name"})
    assert (await tenant.ok("GET", f"{t}/receptionist/versions"))["items"] == []
    assert (await tenant.ok("GET", f"{t}/receptionist/draft"))["published"] is None
    sales = await tenant.ok("POST", f"{t}/menus", {"name": "Ventes", "language": "en-GB"})
    versions = (await tenant.ok("GET", f"{t}/receptionist/versions"))["items"]
    assert [v["number"] for v in versions] == [1]
    assert versions[0]["summary"] == ["first version: the receptionist as it was"]
    draft = await tenant.ok("GET", f"{t}/receptionist/draft")
    assert draft["changed"] is True
    assert draft["published"] == 1
    assert draft["summary"] == ["menu Ventes added"]
    await tenant.ok(
        "PUT", f"{t}/menus/{sales['id']}/keys/2", {"action": "open_menu", "menu_id": sales["id"]}
    )
    version_one = await tenant.ok("GET", f"{t}/receptionist/versions/1")
    assert [m["name"] for m in version_one["document"]["menus"]] == ["Menu principal"]


async def test_publishing_needs_the_reviewed_draft_and_records_who_when_why_and_what(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant(devices=("p",))
    t = f"/v1/tenants/{tenant_id}"
    await tenant.ok(
        "POST",
        f"{t}/extensions",
        {
            "number": "101",
            "kind": "physical",
            "first_name": "Amélie",
            "last_name": "Poulain",
            "device": "p",
        },
    )
    sales = await tenant.ok("POST", f"{t}/menus", {"name": "Ventes"})
    await tenant.ok(
        "PUT",
        f"{t}/menus/{sales['id']}/keys/1",
        {"action": "transfer", "target": {"kind": "extension", "number": "101"}},
    )
    await tenant.ok(
        "PUT", f"{t}/schedule", {"weekly": {"mon": [{"start": "09:00", "end": "18:00"}]}}
    )
    read = await tenant.call("GET", f"{t}/receptionist/draft")
    assert read.body["summary"] == [
        "menu Ventes added",
        "menu Ventes, key 1: nothing → extension 101 (Amélie Poulain)",
        "hours on mon: closed → 09:00-18:00",
    ]
    # The same lines in French, for the web manager in French.
    assert read.body["summary_by_language"] == {
        "en": read.body["summary"],
        "fr": [
            "menu Ventes ajouté",
            "menu Ventes, touche 1 : rien → poste 101 (Amélie Poulain)",
            "horaires du lundi : fermé → 09:00-18:00",
        ],
    }
    await tenant.ok("POST", f"{t}/holidays", {"name": "Noël", "start": "2027-12-25"})
    stale = await tenant.call(
        "POST",
        f"{t}/receptionist/publish",
        {"comment": "menu des ventes"},
        headers={"If-Match": read.headers["ETag"]},
    )
    assert stale.status == 412
    read = await tenant.call("GET", f"{t}/receptionist/draft")
    published = await tenant.call(
        "POST",
        f"{t}/receptionist/publish",
        {"comment": "menu des ventes"},
        headers={"If-Match": read.headers["ETag"]},
    )
    assert published.status == 201
    version = published.body
    assert (version["number"], version["comment"], version["published_by"]) == (
        2,
        "menu des ventes",
        "acme admin",
    )
    assert "holiday Noël (2027-12-25) added" in version["summary"]
    assert (await tenant.ok("GET", f"{t}/receptionist/draft"))["changed"] is False
    again = await tenant.call("POST", f"{t}/receptionist/publish", {})
    assert (again.status, again.body["code"]) == (409, "nothing_to_publish")


async def test_rollback_publishes_a_copy_of_an_old_version_and_the_draft_follows(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    await tenant.ok("POST", f"{t}/menus", {"name": "Ventes"})  # version 1: without it
    await tenant.ok("POST", f"{t}/receptionist/publish", {"comment": "ventes"})  # 2
    rolled = await tenant.call("POST", f"{t}/receptionist/versions/1/rollback", {"comment": "oups"})
    assert rolled.status == 201
    assert (rolled.body["number"], rolled.body["rolled_back_from"]) == (3, 1)
    assert rolled.body["summary"] == ["rollback to version 1", "menu Ventes removed"]
    assert rolled.body["summary_by_language"]["fr"] == [
        "retour à la version 1",
        "menu Ventes supprimé",
    ]
    assert [m["name"] for m in (await tenant.ok("GET", f"{t}/menus"))["items"]] == [
        "Menu principal"
    ]
    listed = (await tenant.ok("GET", f"{t}/receptionist/versions"))["items"]
    assert [v["number"] for v in listed] == [3, 2, 1]
    missing = await tenant.call("POST", f"{t}/receptionist/versions/9/rollback", {})
    assert missing.status == 404


async def test_discarding_the_draft_brings_back_the_published_menus_and_keys(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    sales = await tenant.ok("POST", f"{t}/menus", {"name": "Ventes"})
    await tenant.ok(
        "PUT", f"{t}/receptionist/keys/9", {"action": "open_menu", "menu_id": sales["id"]}
    )  # edits and publishes: version 2 has Ventes and key 9
    await tenant.ok("PATCH", f"{t}/menus/{sales['id']}", {"name": "Sales", "language": "en-GB"})
    await tenant.ok("DELETE", f"{t}/menus/{sales['id']}/keys/9")
    await tenant.ok("PUT", f"{t}/schedule", {"menus": {"closed": sales["id"]}})
    assert (await tenant.ok("GET", f"{t}/receptionist/draft"))["changed"] is True
    discarded = await tenant.ok("DELETE", f"{t}/receptionist/draft")
    assert discarded["changed"] is False
    menus = {m["name"]: m for m in (await tenant.ok("GET", f"{t}/menus"))["items"]}
    assert set(menus) == {"Menu principal", "Ventes"}
    assert menus["Ventes"]["id"] == sales["id"]
    assert menus["Ventes"]["language"] is None
    assert menus["Menu principal"]["keys"][9]["menu"]["id"] == sales["id"]
    assert (await tenant.ok("GET", f"{t}/schedule"))["menus"]["closed"] is None


async def test_the_receptionist_endpoints_edit_and_publish_in_one_step(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    await tenant.ok("POST", f"{t}/menus", {"name": "Ventes"})  # version 1, draft pending
    await tenant.ok("PATCH", f"{t}/receptionist", {"menu_timeout_s": 8})
    versions = (await tenant.ok("GET", f"{t}/receptionist/versions"))["items"]
    assert versions[0]["number"] == 2
    assert versions[0]["comment"] == "published by PATCH /receptionist"
    assert "menu time-out: 5 → 8" in versions[0]["summary"]
    assert "menu Ventes added" in versions[0]["summary"]  # what was pending went along
    await tenant.ok("PUT", f"{t}/receptionist/keys/1", {"action": "dial_by_name"})
    latest = (await tenant.ok("GET", f"{t}/receptionist/versions"))["items"][0]
    assert latest["number"] == 3
    assert latest["summary"] == ["menu Menu principal, key 1: nothing → dial by name"]
    assert (await tenant.ok("GET", f"{t}/receptionist/draft"))["changed"] is False


async def test_the_override_acts_at_once_and_is_no_version(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    await tenant.ok("POST", f"{t}/menus", {"name": "Ventes"})
    await tenant.ok("POST", f"{t}/receptionist/publish", {})
    await tenant.ok("PUT", f"{t}/schedule/override", {"mode": "closed"})
    assert (await tenant.ok("GET", f"{t}/receptionist/draft"))["changed"] is False
    assert (await tenant.ok("GET", f"{t}/schedule/now"))["state"] == "override_closed"
