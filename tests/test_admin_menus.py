"""Menus through the admin API: sub-menus, keys that open them, inherited settings, warnings,
and the receptionist's endpoints kept working on the first menu."""

from __future__ import annotations

from admin_support import Admin


async def test_the_first_menu_is_the_receptionist_and_its_keys_are_the_receptionist_keys(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    await tenant.ok("PUT", f"{t}/receptionist/keys/1", {"action": "dial_by_name"})
    await tenant.ok("PATCH", f"{t}/receptionist", {"language": "en-GB", "menu_timeout_s": 9})
    menus = (await tenant.ok("GET", f"{t}/menus"))["items"]
    assert len(menus) == 1
    first = menus[0]
    assert first["first"] is True
    assert first["name"] == "Menu principal"
    assert (first["language"], first["menu_timeout_s"]) == ("en-GB", 9)
    assert first["keys"][1]["action"] == "dial_by_name"
    assert first["warnings"] == []
    same = await tenant.ok("GET", f"{t}/menus/{first['id']}/keys")
    assert same == await tenant.ok("GET", f"{t}/receptionist/keys")


async def test_a_sub_menu_inherits_what_it_leaves_null_and_warns_until_a_key_opens_it(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    await tenant.ok("PATCH", f"{t}/receptionist", {"menu_timeout_s": 6})
    sales = await tenant.call(
        "POST", f"{t}/menus", {"name": "Ventes", "language": "en-GB", "inter_digit_timeout_s": 4}
    )
    assert sales.status == 201
    menu = sales.body
    assert menu["first"] is False
    assert (menu["language"], menu["menu_timeout_s"]) == ("en-GB", None)
    assert menu["effective"] == {
        "language": "en-GB",
        "dial_extension_enabled": False,
        "menu_timeout_s": 6,
        "inter_digit_timeout_s": 4,
    }
    assert [w["code"] for w in menu["warnings"]] == ["menu_unreachable"]
    keys = await tenant.ok(
        "PUT", f"{t}/receptionist/keys/9", {"action": "open_menu", "menu_id": menu["id"]}
    )
    assert keys["items"][9]["menu"] == {"id": menu["id"], "name": "Ventes"}
    opened = await tenant.ok("GET", f"{t}/menus/{menu['id']}")
    assert opened["warnings"] == []
    assert [(o["menu_name"], o["digit"]) for o in opened["opened_by"]] == [("Menu principal", "9")]


async def test_a_menu_two_levels_deep_is_reachable_and_a_cycle_is_accepted(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    sales = await tenant.ok("POST", f"{t}/menus", {"name": "Ventes"})
    quotes = await tenant.ok("POST", f"{t}/menus", {"name": "Devis"})
    await tenant.ok(
        "PUT", f"{t}/menus/{sales['id']}/keys/1", {"action": "open_menu", "menu_id": quotes["id"]}
    )
    await tenant.ok(
        "PUT", f"{t}/menus/{quotes['id']}/keys/2", {"action": "open_menu", "menu_id": sales["id"]}
    )
    listed = {m["name"]: m for m in (await tenant.ok("GET", f"{t}/menus"))["items"]}
    assert listed["Devis"]["warnings"]  # no way in yet
    assert listed["Ventes"]["warnings"]
    await tenant.ok(
        "PUT", f"{t}/receptionist/keys/3", {"action": "open_menu", "menu_id": sales["id"]}
    )
    listed = {m["name"]: m for m in (await tenant.ok("GET", f"{t}/menus"))["items"]}
    assert not listed["Devis"]["warnings"]
    assert not listed["Ventes"]["warnings"]


async def test_a_menu_a_key_opens_cannot_be_deleted_nor_can_the_first(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    sales = await tenant.ok("POST", f"{t}/menus", {"name": "Ventes"})
    await tenant.ok(
        "PUT", f"{t}/receptionist/keys/3", {"action": "open_menu", "menu_id": sales["id"]}
    )
    refused = await tenant.call("DELETE", f"{t}/menus/{sales['id']}")
    assert refused.status == 409
    assert refused.body["code"] == "in_use"
    assert "key 3 of menu Menu principal" in refused.body["message"]
    first = (await tenant.ok("GET", f"{t}/menus"))["items"][0]
    assert (await tenant.call("DELETE", f"{t}/menus/{first['id']}")).status == 409
    await tenant.ok("DELETE", f"{t}/receptionist/keys/3")
    assert (await tenant.call("DELETE", f"{t}/menus/{sales['id']}")).status == 204
    assert (await tenant.call("GET", f"{t}/menus/{sales['id']}")).status == 404


async def test_a_key_cannot_open_a_menu_of_another_tenant_or_none(admin: Admin) -> None:
    other_id, other = await admin.tenant("other")
    theirs = await other.ok("POST", f"/v1/tenants/{other_id}/menus", {"name": "Secret"})
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    refused = await tenant.call(
        "PUT", f"{t}/receptionist/keys/3", {"action": "open_menu", "menu_id": theirs["id"]}
    )
    assert refused.status == 422
    assert (refused.body["code"], refused.body["field"]) == ("unknown_target", "menu_id")
    missing = await tenant.call("PUT", f"{t}/receptionist/keys/3", {"action": "open_menu"})
    assert missing.status == 422


async def test_menu_names_are_unique_and_the_first_menu_settings_cannot_be_null(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    await tenant.ok("POST", f"{t}/menus", {"name": "Ventes"})
    again = await tenant.call("POST", f"{t}/menus", {"name": "Ventes"})
    assert again.status == 409
    first = (await tenant.ok("GET", f"{t}/menus"))["items"][0]
    refused = await tenant.call("PATCH", f"{t}/menus/{first['id']}", {"language": None})
    assert refused.status == 422
    assert refused.body["field"] == "language"
    renamed = await tenant.ok(
        "PATCH", f"{t}/menus/{first['id']}", {"name": "Accueil", "language": "en-GB"}
    )
    assert (renamed["name"], renamed["language"]) == ("Accueil", "en-GB")
    assert (await tenant.ok("GET", f"{t}/receptionist"))["language"] == "en-GB"


async def test_a_sub_menu_setting_set_to_null_inherits_again(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    sales = await tenant.ok(
        "POST",
        f"{t}/menus",
        {"name": "Sales", "language": "en-GB", "greeting": {"text": "Sales.", "language": "en-GB"}},
    )
    assert sales["greeting"]["text"] == "Sales."
    path = f"{t}/menus/{sales['id']}"
    read = await tenant.call("GET", path)
    stale = await tenant.call("PATCH", path, {"menu_timeout_s": 9}, headers={"If-Match": '"stale"'})
    assert stale.status == 412
    patched = await tenant.ok(
        "PATCH", path, {"language": None}, headers={"If-Match": read.headers["ETag"]}
    )
    assert patched["language"] is None
    assert patched["effective"]["language"] == "fr-FR"
    assert patched["greeting"]["text"] == "Sales."


async def test_menus_and_their_keys_export_and_import_into_another_tenant_by_name(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    sales = await tenant.ok(
        "POST",
        f"{t}/menus",
        {"name": "Sales", "language": "en-GB", "greeting": {"text": "Sales.", "language": "en-GB"}},
    )
    quotes = await tenant.ok("POST", f"{t}/menus", {"name": "Devis", "menu_timeout_s": 7})
    await tenant.ok(
        "PUT", f"{t}/receptionist/keys/9", {"action": "open_menu", "menu_id": sales["id"]}
    )
    await tenant.ok(
        "PUT", f"{t}/menus/{sales['id']}/keys/1", {"action": "open_menu", "menu_id": quotes["id"]}
    )
    await tenant.ok("PUT", f"{t}/menus/{quotes['id']}/keys/3", {"action": "dial_by_name"})
    await tenant.ok(
        "PUT",
        f"{t}/schedule",
        {
            "weekly": {"mon": [{"start": "09:00", "end": "18:00"}]},
            "menus": {"closed": quotes["id"]},
        },
    )
    await tenant.ok(
        "POST", f"{t}/holidays", {"name": "Noël", "start": "2027-12-25", "yearly": True}
    )
    exported = await tenant.ok("GET", f"{t}/export")
    assert exported["schedule"]["closed_menu"] == "Devis"
    assert [h["name"] for h in exported["holidays"]] == ["Noël"]
    assert exported["keys"] == [
        {"digit": "9", "assignment": {"action": "open_menu", "menu": "Sales"}}
    ]
    assert [m["name"] for m in exported["menus"]] == ["Devis", "Sales"]

    other_id, other = await admin.tenant("other")
    o = f"/v1/tenants/{other_id}"
    old = await other.ok("POST", f"{o}/menus", {"name": "Old"})
    await other.ok("PUT", f"{o}/schedule", {"menus": {"holiday": old["id"]}})
    imported = await other.ok("POST", f"{o}/import", exported)
    assert imported == exported
    listed = {m["name"]: m for m in (await other.ok("GET", f"{o}/menus"))["items"]}
    assert set(listed) == {"Menu principal", "Sales", "Devis"}
    assert listed["Sales"]["keys"][1]["menu"]["id"] == listed["Devis"]["id"]
    assert listed["Sales"]["greeting"]["text"] == "Sales."
    assert listed["Devis"]["effective"]["menu_timeout_s"] == 7

    broken = {
        **exported,
        "keys": [{"digit": "9", "assignment": {"action": "open_menu", "menu": "Nope"}}],
    }
    refused = await other.call("POST", f"{o}/import", broken)
    assert refused.status == 422
    assert refused.body["field"] == "keys[9].menu"
    assert await other.ok("GET", f"{o}/export") == exported  # nothing of it applied


async def test_the_keys_a_key_write_answers_are_those_a_read_then_gives_etag_included(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant(devices=("desk",))
    t = f"/v1/tenants/{tenant_id}"
    await tenant.ok(
        "POST",
        f"{t}/extensions",
        {"number": "101", "kind": "physical", "first_name": "Léa", "last_name": "Poulain"}
        | {"device": "desk"},
    )
    await tenant.ok("POST", f"{t}/ring-groups", {"number": "200", "name": "Accueil"})
    await tenant.ok("POST", f"{t}/conference-rooms", {"number": "300", "name": "Salle"})
    sales = await tenant.ok("POST", f"{t}/menus", {"name": "Ventes"})
    spoken = await tenant.ok("POST", f"{t}/prompts", {"text": "Bonjour", "language": "fr-FR"})
    writes = [
        ("1", {"action": "dial_by_name"}),
        ("2", {"action": "play_announcement", "prompt": {"text": "Ouvert", "language": "fr-FR"}}),
        ("3", {"action": "play_announcement", "prompt_id": spoken["id"]}),
        ("4", {"action": "transfer", "target": {"kind": "ring_group", "number": "200"}}),
        ("5", {"action": "transfer", "target": {"kind": "conference", "number": "300"}}),
        ("6", {"action": "transfer", "target": {"kind": "extension", "number": "101"}}),
        ("7", {"action": "open_menu", "menu_id": sales["id"]}),
        ("6", {"action": "transfer", "target": {"kind": "voicemail", "number": "101"}}),
        ("1", None),
    ]
    first_keys, sub_keys = f"{t}/receptionist/keys", f"{t}/menus/{sales['id']}/keys"
    # The first menu before and after a publish (its key writes then publish), a sub-menu (its
    # key writes never do); few enough requests for the token's burst.
    for keys, writing, publish in (
        (first_keys, writes, False),
        (sub_keys, writes[3:], False),
        (first_keys, writes, True),
    ):
        if publish:
            await tenant.ok("POST", f"{t}/receptionist/publish", {})
        for digit, body in writing:
            method = "DELETE" if body is None else "PUT"
            written = await tenant.call(method, f"{keys}/{digit}", body)
            read = await tenant.call("GET", keys)
            assert (written.status, read.status) == (200, 200), written.body
            assert written.body == read.body
            assert written.headers["ETag"] == read.headers["ETag"]
    first = (await tenant.ok("GET", f"{t}/receptionist/keys"))["items"]
    assert first[6]["target"] == {"kind": "voicemail", "number": "101", "name": "Léa Poulain"}
    assert first[7]["menu"] == {"id": sales["id"], "name": "Ventes"}
    assert first[3]["prompt"]["id"] == spoken["id"]
    assert not first[1]["assigned"]
