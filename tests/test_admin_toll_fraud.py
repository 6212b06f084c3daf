"""Toll fraud defences in the admin API: devices the carrier provisions instead of dial strings,
the carrier's outbound policy and call limits (checked when a number is written, flagged when
a saved one is refused later), and conference PINs that are never shown or audited."""

from __future__ import annotations

import json

import pytest
from admin_support import Admin, device_endpoint, running_admin
from rcp.pins import verify_pin

# --- devices ---------------------------------------------------------------------------------


async def test_the_carrier_provisions_devices_and_a_tenant_only_lists_them(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}/devices"
    endpoint = device_endpoint(tenant_id, "desk")
    made = await admin.carrier.ok("POST", t, {"name": "desk", "endpoint": endpoint})
    assert (made["name"], made["endpoint"], made["extensions"]) == ("desk", endpoint, [])
    assert [d["name"] for d in (await tenant.ok("GET", t))["items"]] == ["desk"]
    assert (await tenant.ok("GET", f"{t}/desk"))["endpoint"] == endpoint
    for method, path, body in (
        ("POST", t, {"name": "mine", "endpoint": device_endpoint(tenant_id, "mine")}),
        ("PATCH", f"{t}/desk", {"endpoint": device_endpoint(tenant_id, "other")}),
        ("DELETE", f"{t}/desk", None),
    ):
        answer = await tenant.call(method, path, body)
        assert (answer.status, answer.body["code"]) == (403, "forbidden"), (method, path)
    assert [d["endpoint"] for d in (await tenant.ok("GET", t))["items"]] == [endpoint]


@pytest.mark.parametrize(
    ("endpoint", "refusal"),
    [
        ("PJSIP/+88212345678@carrier", "not_a_device"),
        ("PJSIP/carrier/sip:x@any-host", "not_a_device"),
        ("PJSIP/carrier", "reserved"),
        ("Local/+33199000002@from-carrier", "not_a_device"),
        ("Local/s@receptionist-unavailable", "not_a_device"),
        ("SIP/alice", "not_a_device"),
        ("Local/101@test-phones", "test_phone"),  # production: no test phones
    ],
)
async def test_a_device_is_one_pjsip_endpoint_never_a_route_elsewhere(
    admin: Admin, endpoint: str, refusal: str
) -> None:
    tenant_id, _ = await admin.tenant()
    answer = await admin.carrier.call(
        "POST", f"/v1/tenants/{tenant_id}/devices", {"name": "x", "endpoint": endpoint}
    )
    assert (answer.status, answer.body["code"], answer.body["field"]) == (
        422,
        "endpoint_not_allowed",
        "endpoint",
    )
    assert answer.body["details"] == {"refusal": refusal}


async def test_test_phones_are_devices_only_where_development_allows_them(
    migrated_url: str,
) -> None:
    async with running_admin(
        migrated_url, environment="development", allow_test_phones=True
    ) as development:
        tenant_id, tenant = await development.tenant()
        t = f"/v1/tenants/{tenant_id}"
        await development.carrier.ok(
            "POST", f"{t}/devices", {"name": "phone-101", "endpoint": "Local/101@test-phones"}
        )
        made = await tenant.ok(
            "POST",
            f"{t}/extensions",
            {"number": "101", "kind": "physical", "last_name": "Poulain", "device": "phone-101"},
        )
        assert made["device"] == "phone-101"
        answer = await development.carrier.call(
            "POST", f"{t}/devices", {"name": "y", "endpoint": "Local/1@from-carrier"}
        )
        assert answer.body["code"] == "endpoint_not_allowed"


async def test_an_endpoint_rings_for_one_tenant_and_a_name_once_per_tenant(admin: Admin) -> None:
    first_id, _ = await admin.tenant(devices=("desk",))
    second_id, _ = await admin.tenant()
    taken = await admin.carrier.call(
        "POST",
        f"/v1/tenants/{second_id}/devices",
        {"name": "desk", "endpoint": device_endpoint(first_id, "desk")},
    )
    assert (taken.status, taken.body["code"], taken.body["field"]) == (
        409,
        "endpoint_taken",
        "endpoint",
    )
    again = await admin.carrier.call(
        "POST",
        f"/v1/tenants/{first_id}/devices",
        {"name": "desk", "endpoint": device_endpoint(first_id, "other")},
    )
    assert (again.status, again.body["field"]) == (409, "name")


async def test_a_tenant_picks_only_its_own_devices(admin: Admin) -> None:
    own_id, own = await admin.tenant(devices=("desk",))
    other_id, _ = await admin.tenant(devices=("lobby",))
    t = f"/v1/tenants/{own_id}/extensions"
    refused = await own.call(
        "POST", t, {"number": "101", "kind": "physical", "last_name": "X", "device": "lobby"}
    )
    assert (refused.status, refused.body["code"], refused.body["field"]) == (
        422,
        "unknown_device",
        "device",
    )
    assert other_id not in json.dumps(refused.body)
    raw = await own.call(
        "POST",
        t,
        {"number": "101", "kind": "physical", "last_name": "X", "device": "PJSIP/t1-lobby"},
    )
    assert (raw.status, raw.body["code"]) == (422, "dial_string_not_allowed")
    made = await own.ok(
        "POST", t, {"number": "101", "kind": "physical", "last_name": "X", "device": "desk"}
    )
    assert made["device"] == "desk"
    used = await admin.carrier.ok("GET", f"/v1/tenants/{own_id}/devices/desk")
    assert used["extensions"] == ["101"]


async def test_a_device_still_rung_is_not_deleted_and_its_new_endpoint_is_followed(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant(devices=("desk",))
    t = f"/v1/tenants/{tenant_id}"
    await tenant.ok(
        "POST",
        f"{t}/extensions",
        {"number": "101", "kind": "physical", "last_name": "X", "device": "desk"},
    )
    refused = await admin.carrier.call("DELETE", f"{t}/devices/desk")
    assert (refused.status, refused.body["code"]) == (409, "in_use")
    assert refused.body["details"]["used_by"] == ["extension 101"]
    moved = device_endpoint(tenant_id, "desk-2")
    renamed = await admin.carrier.ok(
        "PATCH", f"{t}/devices/desk", {"name": "front-desk", "endpoint": moved}
    )
    assert (renamed["name"], renamed["endpoint"]) == ("front-desk", moved)
    assert (await tenant.ok("GET", f"{t}/extensions/101"))["device"] == "front-desk"
    ringing = await admin.pool.fetchval(
        """SELECT d.endpoint FROM extensions e JOIN devices d ON d.id = e.device_id
            WHERE e.tenant_id = $1 AND e.number = '101'""",
        tenant_id,
    )
    assert ringing == moved


async def test_an_extension_left_with_an_old_dial_string_is_flagged_kept_then_replaced(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant(devices=("desk",))
    t = f"/v1/tenants/{tenant_id}/extensions"
    await tenant.ok(
        "POST", t, {"number": "101", "kind": "physical", "last_name": "X", "device": "desk"}
    )
    legacy = "PJSIP/+88212345678@carrier"  # as revision 0004 keeps one it could not make a device
    await admin.pool.execute(
        """UPDATE extensions SET device_id = NULL, legacy_dial_string = $2
            WHERE tenant_id = $1 AND number = '101'""",
        tenant_id,
        legacy,
    )
    flagged = await tenant.ok("GET", f"{t}/101")
    assert (flagged["device"], flagged["legacy_dial_string"]) == (None, legacy)
    renamed = await tenant.ok("PATCH", f"{t}/101", {"first_name": "Amélie"})
    assert renamed["legacy_dial_string"] == legacy  # nothing saved is lost
    fixed = await tenant.ok("PATCH", f"{t}/101", {"device": "desk"})
    assert (fixed["device"], fixed["legacy_dial_string"]) == ("desk", None)


# --- the outbound policy and limits -----------------------------------------------------------

PREMIUM = "+33899123456"
MOBILE = "+33612345678"
BELGIAN = "+3223456789"


async def test_the_default_policy_is_the_tenants_country_fixed_lines_and_mobiles(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    policy = await tenant.ok("GET", f"/v1/tenants/{tenant_id}/outbound-policy")
    assert policy == {
        "home_region": None,
        "country": "FR",
        "allowed_regions": [],
        "allowed_number_types": ["fixed_line", "fixed_line_or_mobile", "mobile"],
        "allowed_prefixes": [],
        "denied_prefixes": [],
        "refused_extensions": [],
        "updated_at": None,
    }


async def test_only_the_carrier_changes_a_policy_and_what_it_allows_can_be_written(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    virtual = {"number": "150", "kind": "virtual", "last_name": "X"}
    refused = await tenant.call("POST", f"{t}/extensions", virtual | {"external_number": PREMIUM})
    assert (refused.status, refused.body["code"], refused.body["field"]) == (
        422,
        "destination_not_allowed",
        "external_number",
    )
    assert refused.body["details"] == {
        "refusal": "number_type",
        "number_type": "premium_rate",
        "country": "FR",
        "prefix": None,
    }
    denied = await tenant.call("PATCH", f"{t}/outbound-policy", {"allowed_prefixes": ["+3389"]})
    assert (denied.status, denied.body["code"]) == (403, "forbidden")
    policy = await admin.carrier.ok(
        "PATCH", f"{t}/outbound-policy", {"allowed_prefixes": ["+3389"], "allowed_regions": ["BE"]}
    )
    assert (policy["allowed_prefixes"], policy["allowed_regions"]) == (["+3389"], ["BE"])
    assert policy["updated_at"] is not None
    await tenant.ok("POST", f"{t}/extensions", virtual | {"external_number": PREMIUM})
    belgian = await tenant.ok(
        "POST", f"{t}/extensions", virtual | {"number": "151", "external_number": BELGIAN}
    )
    assert belgian["destination_allowed"] is True
    audit = (await admin.carrier.ok("GET", f"{t}/audit"))["items"]
    entry = next(a for a in audit if a["entity"] == "outbound_policy")
    assert (entry["action"], entry["before"]["allowed_prefixes"]) == ("outbound_policy.update", [])


async def test_a_saved_number_a_later_policy_refuses_stays_flagged_and_editable(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    await tenant.ok(
        "POST",
        f"{t}/extensions",
        {"number": "150", "kind": "virtual", "last_name": "Le Gall", "external_number": MOBILE},
    )
    await admin.carrier.ok("PATCH", f"{t}/outbound-policy", {"denied_prefixes": ["+336"]})
    flagged = await tenant.ok("GET", f"{t}/extensions/150")
    assert (flagged["external_number"], flagged["destination_allowed"]) == (MOBILE, False)
    assert flagged["destination_refusal"] == {
        "refusal": "denied_prefix",
        "number_type": "mobile",
        "country": "FR",
        "prefix": "+336",
    }
    listed = (await tenant.ok("GET", f"{t}/extensions"))["items"]
    assert listed[0]["destination_allowed"] is False
    policy = await tenant.ok("GET", f"{t}/outbound-policy")  # a tenant may read it
    assert policy["refused_extensions"] == [
        {
            "number": "150",
            "external_number": MOBILE,
            "refusal": flagged["destination_refusal"],
        }
    ]
    renamed = await tenant.ok("PATCH", f"{t}/extensions/150", {"first_name": "Françoise"})
    assert (renamed["external_number"], renamed["first_name"]) == (MOBILE, "Françoise")
    moved = await tenant.call("PATCH", f"{t}/extensions/150", {"external_number": "+33612345679"})
    assert (moved.status, moved.body["code"]) == (422, "destination_not_allowed")
    assert (await admin.carrier.call("DELETE", f"{t}/outbound-policy")).status == 204
    assert (await tenant.ok("GET", f"{t}/extensions/150"))["destination_allowed"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"allowed_regions": ["France"]}, "allowed_regions.0"),
        ({"allowed_number_types": ["premium"]}, "allowed_number_types.0"),
        ({"denied_prefixes": ["3389"]}, "denied_prefixes.0"),
        ({"allowed_prefixes": None}, "allowed_prefixes"),
        ({"home_region": "fr"}, "home_region"),
    ],
)
async def test_a_malformed_policy_is_refused(
    admin: Admin, body: dict[str, object], field: str
) -> None:
    tenant_id, _ = await admin.tenant()
    answer = await admin.carrier.call("PATCH", f"/v1/tenants/{tenant_id}/outbound-policy", body)
    assert (answer.status, answer.body["code"], answer.body["field"]) == (
        422,
        "validation_failed",
        field,
    )


async def test_the_carrier_sets_limits_within_their_bounds_and_a_tenant_reads_them(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}/limits"
    defaults = await tenant.ok("GET", t)
    assert defaults == {
        "max_inbound_calls": 30,
        "max_outbound_legs": 10,
        "max_outbound_legs_per_minute": 20,
        "max_outbound_call_s": 3600,
        "updated_at": None,
    }
    assert (await tenant.call("PATCH", t, {"max_outbound_legs": 50})).status == 403
    too_short = await admin.carrier.call("PATCH", t, {"max_outbound_call_s": 5})
    assert (too_short.status, too_short.body["field"]) == (422, "max_outbound_call_s")
    changed = await admin.carrier.ok("PATCH", t, {"max_outbound_legs": 2})
    assert (changed["max_outbound_legs"], changed["max_inbound_calls"]) == (2, 30)
    stored = await admin.pool.fetchval(
        "SELECT max_outbound_legs FROM tenant_limits WHERE tenant_id = $1", tenant_id
    )
    assert stored == 2
    assert (await admin.carrier.call("DELETE", t)).status == 204
    assert (await tenant.ok("GET", t))["max_outbound_legs"] == 10


# --- conference PINs -----------------------------------------------------------------------------


async def test_a_pin_is_stored_hashed_never_shown_never_audited(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    made = await tenant.ok(
        "POST", f"{t}/conference-rooms", {"number": "300", "name": "Salle", "pin": "482913"}
    )
    await tenant.ok("PATCH", f"{t}/conference-rooms/300", {"pin": "271828"})
    assert made["has_pin"] is True
    stored = await admin.pool.fetchval(
        "SELECT pin_hash FROM conference_rooms WHERE tenant_id = $1", tenant_id
    )
    assert verify_pin("271828", stored)
    assert not verify_pin("482913", stored)
    everything = json.dumps(
        [
            await tenant.ok("GET", f"{t}/conference-rooms"),
            await tenant.ok("GET", f"{t}/audit"),
            await tenant.ok("GET", f"{t}/export"),
        ]
    )
    for pin in ("482913", "271828"):
        assert pin not in everything
    audited = await admin.pool.fetch(
        "SELECT before::text, after::text FROM audit_log WHERE tenant_id = $1", tenant_id
    )
    assert not any(pin in str(dict(row)) for row in audited for pin in ("482913", "271828"))


async def test_an_import_keeps_the_pins_of_an_export_working(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    await tenant.ok(
        "POST", f"{t}/conference-rooms", {"number": "300", "name": "Salle", "pin": "4242"}
    )
    exported = await tenant.ok("GET", f"{t}/export")
    other_id, other = await admin.tenant()
    await other.ok("POST", f"/v1/tenants/{other_id}/import", exported)
    stored = await admin.pool.fetchval(
        "SELECT pin_hash FROM conference_rooms WHERE tenant_id = $1", other_id
    )
    assert verify_pin("4242", stored)
    both = exported | {
        "conference_rooms": [{"number": "301", "name": "S", "pin": "1234", "pin_hash": stored}]
    }
    answer = await other.call("POST", f"/v1/tenants/{other_id}/import", both)
    assert (answer.status, answer.body["field"]) == (422, "conference_rooms.0")
