"""Create, read, update and delete every resource of the admin API, on real Postgres."""

from __future__ import annotations

from admin_support import Admin


async def test_tenant_lifecycle_create_read_patch_suspend_delete(admin: Admin) -> None:
    carrier = admin.carrier
    created = await carrier.ok(
        "POST",
        "/v1/tenants",
        {
            "slug": "crud-tenant-a",
            "name": "Café Amélie",
            "locale": "fr-FR",
            "timezone": "Europe/Paris",
        },
    )
    path = f"/v1/tenants/{created['id']}"
    assert (await carrier.ok("GET", path))["name"] == "Café Amélie"
    assert created["id"] in [t["id"] for t in (await carrier.ok("GET", "/v1/tenants"))["items"]]
    patched = await carrier.ok("PATCH", path, {"name": "Café Amélie SARL", "locale": "en-GB"})
    assert (patched["name"], patched["locale"]) == ("Café Amélie SARL", "en-GB")
    refused = await carrier.call("DELETE", path)
    assert (refused.status, refused.body["code"], refused.body["field"]) == (
        409,
        "tenant_active",
        "status",
    )
    await carrier.ok("PATCH", path, {"status": "suspended"})
    assert (await carrier.call("DELETE", path)).status == 204
    assert (await carrier.call("GET", path)).status == 404


async def test_tenant_token_is_shown_once_listed_without_secret_and_revocable(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant()
    assert (await tenant.call("GET", f"/v1/tenants/{tenant_id}")).status == 200
    listed = (await admin.carrier.ok("GET", f"/v1/tenants/{tenant_id}/tokens"))["items"]
    assert len(listed) == 1
    assert "token" not in listed[0]
    assert listed[0]["last_used_at"] is not None
    await admin.carrier.ok("DELETE", f"/v1/tenants/{tenant_id}/tokens/{listed[0]['id']}")
    answer = await tenant.call("GET", f"/v1/tenants/{tenant_id}")
    assert (answer.status, answer.body["code"]) == (401, "unauthorized")


async def test_numbers_route_to_a_tenant_and_can_be_removed(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant()
    base = f"/v1/tenants/{tenant_id}/numbers"
    await admin.carrier.ok("POST", base, {"e164": "+33199001234"})
    assert [n["e164"] for n in (await tenant.ok("GET", base))["items"]] == ["+33199001234"]
    assert (await admin.carrier.call("DELETE", f"{base}/%2B33199001234")).status == 204
    assert (await tenant.ok("GET", base))["items"] == []


async def test_extension_create_read_patch_delete(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant(devices=("amelie",))
    base = f"/v1/tenants/{tenant_id}/extensions"
    created = await tenant.ok(
        "POST",
        base,
        {
            "number": "101",
            "kind": "physical",
            "first_name": "Amélie",
            "last_name": "Poulain",
            "device": "amelie",
        },
    )
    assert (created["device"], created["legacy_dial_string"]) == ("amelie", None)
    assert created["voicemail_enabled"] is True
    assert created["reachable_by_name"] is True
    await tenant.ok(
        "POST",
        base,
        {
            "number": "150",
            "kind": "virtual",
            "last_name": "Le Gall",
            "external_number": "+33612345678",
        },
    )
    assert [e["number"] for e in (await tenant.ok("GET", base))["items"]] == ["101", "150"]
    patched = await tenant.ok("PATCH", f"{base}/101", {"number": "111", "reachable_by_name": False})
    assert (patched["number"], patched["reachable_by_name"]) == ("111", False)
    assert (await tenant.call("GET", f"{base}/101")).status == 404
    virtual = await tenant.ok(
        "PATCH", f"{base}/111", {"kind": "virtual", "external_number": "+33612345679"}
    )
    assert (virtual["kind"], virtual["device"]) == ("virtual", None)
    assert (virtual["destination_allowed"], virtual["destination_refusal"]) == (True, None)
    assert (await tenant.call("DELETE", f"{base}/111")).status == 204
    assert [e["number"] for e in (await tenant.ok("GET", base))["items"]] == ["150"]


async def test_ring_group_keeps_member_order_and_fallback(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant(devices=("d101", "d102", "d103"))
    t = f"/v1/tenants/{tenant_id}"
    for number in ("101", "102", "103"):
        await tenant.ok(
            "POST",
            f"{t}/extensions",
            {
                "number": number,
                "kind": "physical",
                "last_name": f"N{number}",
                "device": f"d{number}",
            },
        )
    group = await tenant.ok(
        "POST",
        f"{t}/ring-groups",
        {
            "number": "200",
            "name": "Accueil",
            "strategy": "sequential",
            "ring_seconds": 15,
            "members": ["103", "101"],
            "no_answer": {"action": "voicemail", "extension": "102"},
        },
    )
    assert group["members"] == ["103", "101"]
    assert group["no_answer"] == {"action": "voicemail", "extension": "102"}
    patched = await tenant.ok(
        "PATCH",
        f"{t}/ring-groups/200",
        {"members": ["101", "102", "103"], "no_answer": {"action": "hangup"}},
    )
    assert patched["members"] == ["101", "102", "103"]
    assert patched["strategy"] == "sequential"
    assert (await tenant.ok("GET", f"{t}/ring-groups/200"))["no_answer"] == {
        "action": "hangup",
        "extension": None,
    }
    assert (await tenant.call("DELETE", f"{t}/ring-groups/200")).status == 204
    assert (await tenant.ok("GET", f"{t}/ring-groups"))["items"] == []


async def test_conference_room_create_patch_delete(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant()
    base = f"/v1/tenants/{tenant_id}/conference-rooms"
    made = await tenant.ok("POST", base, {"number": "300", "name": "Salle Monet", "pin": "1234"})
    assert (made["has_pin"], made["pin_too_short"]) == (True, False)
    assert "pin" not in made
    renamed = await tenant.ok("PATCH", f"{base}/300", {"name": "Salle Degas"})
    assert renamed["has_pin"] is True  # a PIN left out is kept
    patched = await tenant.ok("PATCH", f"{base}/300", {"pin": None, "name": "Salle Renoir"})
    assert (patched["has_pin"], patched["name"]) == (False, "Salle Renoir")
    assert (await tenant.call("DELETE", f"{base}/300")).status == 204


async def test_receptionist_settings_and_tts_greeting(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant()
    path = f"/v1/tenants/{tenant_id}/receptionist"
    before = await tenant.ok("GET", path)
    assert before["greeting"] is None
    after = await tenant.ok(
        "PATCH",
        path,
        {
            "greeting": {"text": "Bonjour et bienvenue", "language": "fr-FR"},
            "dial_extension_enabled": True,
            "menu_timeout_s": 7,
        },
    )
    assert after["greeting"]["text"] == "Bonjour et bienvenue"
    assert after["greeting"]["status"] == "pending"
    assert (after["dial_extension_enabled"], after["menu_timeout_s"]) == (True, 7)
    reused = await tenant.ok("PATCH", path, {"greeting": {"prompt_id": after["greeting"]["id"]}})
    assert reused["greeting"]["id"] == after["greeting"]["id"]


async def test_keys_list_all_ten_and_each_action_can_be_assigned_and_unassigned(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant(devices=("amelie",))
    t = f"/v1/tenants/{tenant_id}"
    await tenant.ok(
        "POST",
        f"{t}/extensions",
        {
            "number": "101",
            "kind": "physical",
            "last_name": "Poulain",
            "device": "amelie",
        },
    )
    await tenant.ok(
        "POST",
        f"{t}/extensions",
        {
            "number": "150",
            "kind": "virtual",
            "last_name": "Le Gall",
            "external_number": "+33612345678",
        },
    )
    await tenant.ok(
        "POST", f"{t}/ring-groups", {"number": "200", "name": "Accueil", "members": ["101"]}
    )
    await tenant.ok("POST", f"{t}/conference-rooms", {"number": "300", "name": "Salle"})
    keys = (await tenant.ok("GET", f"{t}/receptionist/keys"))["items"]
    assert [k["digit"] for k in keys] == list("0123456789")
    assert not any(k["assigned"] for k in keys)
    assignments = {
        "1": {"action": "dial_by_name"},
        "2": {
            "action": "play_announcement",
            "prompt": {"text": "Ouvert de 9 h à 18 h", "language": "fr-FR"},
        },
        "3": {"action": "transfer", "target": {"kind": "ring_group", "number": "200"}},
        "4": {"action": "transfer", "target": {"kind": "conference", "number": "300"}},
        "5": {"action": "transfer", "target": {"kind": "extension", "number": "101"}},
        "6": {"action": "transfer", "target": {"kind": "virtual_extension", "number": "150"}},
        "7": {"action": "transfer", "target": {"kind": "voicemail", "number": "101"}},
    }
    for digit, body in assignments.items():
        await tenant.ok("PUT", f"{t}/receptionist/keys/{digit}", body)
    keys = {k["digit"]: k for k in (await tenant.ok("GET", f"{t}/receptionist/keys"))["items"]}
    assert keys["1"]["action"] == "dial_by_name"
    assert keys["2"]["prompt"]["text"] == "Ouvert de 9 h à 18 h"
    assert keys["3"]["target"] == {"kind": "ring_group", "number": "200", "name": "Accueil"}
    assert keys["4"]["target"]["kind"] == "conference"
    assert keys["5"]["target"] == {"kind": "extension", "number": "101", "name": "Poulain"}
    assert keys["6"]["target"]["kind"] == "virtual_extension"
    assert keys["7"]["target"]["kind"] == "voicemail"
    assert not keys["0"]["assigned"]
    await tenant.ok(
        "PUT",
        f"{t}/receptionist/keys/1",
        {"action": "transfer", "target": {"kind": "extension", "number": "101"}},
    )
    after = await tenant.ok("DELETE", f"{t}/receptionist/keys/2")
    assert not after["items"][2]["assigned"]
    assert after["items"][1]["action"] == "transfer"


async def test_directory_lists_every_extension_and_patches_in_bulk(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant(devices=("d101", "d102"))
    t = f"/v1/tenants/{tenant_id}"
    for number in ("101", "102"):
        await tenant.ok(
            "POST",
            f"{t}/extensions",
            {
                "number": number,
                "kind": "physical",
                "last_name": f"N{number}",
                "device": f"d{number}",
            },
        )
    await tenant.ok(
        "PATCH",
        f"{t}/directory",
        {
            "entries": [
                {"number": "101", "reachable_by_name": False},
                {"number": "102", "reachable_by_extension": False},
            ]
        },
    )
    entries = {e["number"]: e for e in (await tenant.ok("GET", f"{t}/directory"))["items"]}
    assert (entries["101"]["reachable_by_name"], entries["101"]["reachable_by_extension"]) == (
        False,
        True,
    )
    assert (entries["102"]["reachable_by_name"], entries["102"]["reachable_by_extension"]) == (
        True,
        False,
    )
    refused = await tenant.call(
        "PATCH",
        f"{t}/directory",
        {
            "entries": [
                {"number": "101", "reachable_by_name": True},
                {"number": "999", "reachable_by_name": True},
            ]
        },
    )
    assert (refused.status, refused.body["field"]) == (404, "entries[1].number")
    entries = {e["number"]: e for e in (await tenant.ok("GET", f"{t}/directory"))["items"]}
    assert entries["101"]["reachable_by_name"] is False  # all or nothing


async def test_prompts_voicemail_calls_and_audit_can_be_read(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    prompt = await tenant.ok("POST", f"{t}/prompts", {"text": "Guten Tag", "language": "de-DE"})
    assert (await tenant.ok("GET", f"{t}/prompts/{prompt['id']}"))["text"] == "Guten Tag"
    assert [p["id"] for p in (await tenant.ok("GET", f"{t}/prompts"))["items"]] == [prompt["id"]]
    recording = await admin.pool.fetchval(
        """INSERT INTO prompts (tenant_id, source, status, content_hash)
           VALUES ($1, 'recording', 'ready', repeat('b', 64)) RETURNING id""",
        tenant_id,
    )
    message = await admin.pool.fetchval(
        """INSERT INTO voicemail_messages (tenant_id, extension_number, prompt_id, duration_ms, caller_number)
           VALUES ($1, '101', $2, 3000, '+33612345678') RETURNING id""",
        tenant_id,
        recording,
    )
    await admin.pool.execute(
        """INSERT INTO call_records (tenant_id, call_id, called_number, started_at, ended_at, outcome)
           VALUES ($1, 'c1', '+33199000001', now() - interval '1 hour', now(), 'voicemail'),
                  ($1, 'c2', '+33199000001', now() - interval '2 hours', now(), 'transferred')""",
        tenant_id,
    )
    assert [m["id"] for m in (await tenant.ok("GET", f"{t}/voicemail"))["items"]] == [str(message)]
    assert (await tenant.call("DELETE", f"{t}/voicemail/{message}")).status == 204
    assert (await tenant.ok("GET", f"{t}/voicemail"))["items"] == []
    calls = await tenant.ok("GET", f"{t}/calls?outcome=voicemail")
    assert [c["call_id"] for c in calls["items"]] == ["c1"]
    page = await tenant.ok("GET", f"{t}/calls?limit=1")
    assert [c["call_id"] for c in page["items"]] == ["c1"]
    assert page["next_before"] is not None
    audit = (await tenant.ok("GET", f"{t}/audit"))["items"]
    assert [a["action"] for a in audit][:2] == ["voicemail.delete", "prompt.create"]
    assert audit[0]["actor"] == "acme admin"
    assert audit[0]["before"]["extension_number"] == "101"
