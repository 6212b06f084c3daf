"""Every bad input gets a 4xx JSON error {code, message, field} that says what to fix."""

from __future__ import annotations

from typing import Any

import pytest
from admin_support import Admin, Client


@pytest.fixture
async def tenant(admin: Admin) -> tuple[str, Client]:
    tenant_id, client = await admin.tenant(devices=("amelie", "x"))
    t = f"/v1/tenants/{tenant_id}"
    await client.ok(
        "POST",
        f"{t}/extensions",
        {
            "number": "101",
            "kind": "physical",
            "last_name": "Poulain",
            "device": "amelie",
        },
    )
    await client.ok(
        "POST",
        f"{t}/extensions",
        {
            "number": "150",
            "kind": "virtual",
            "last_name": "Le Gall",
            "external_number": "+33612345678",
        },
    )
    await client.ok("POST", f"{t}/conference-rooms", {"number": "300", "name": "Salle"})
    return t, client


CASES: list[tuple[str, str, str, Any, int, str, str | None]] = [
    # id, method, path under the tenant, body, status, code, field
    (
        "digit outside 0-9",
        "PUT",
        "/receptionist/keys/12",
        {"action": "dial_by_name"},
        422,
        "validation_failed",
        "digit",
    ),
    (
        "digit not a digit",
        "PUT",
        "/receptionist/keys/x",
        {"action": "dial_by_name"},
        422,
        "validation_failed",
        "digit",
    ),
    (
        "unknown action",
        "PUT",
        "/receptionist/keys/1",
        {"action": "fax"},
        422,
        "validation_failed",
        "action",
    ),
    ("missing action", "PUT", "/receptionist/keys/1", {}, 422, "validation_failed", "action"),
    (
        "missing transfer target",
        "PUT",
        "/receptionist/keys/1",
        {"action": "transfer"},
        422,
        "validation_failed",
        "target",
    ),
    (
        "unknown target kind",
        "PUT",
        "/receptionist/keys/1",
        {"action": "transfer", "target": {"kind": "queue", "number": "101"}},
        422,
        "validation_failed",
        "target.kind",
    ),
    (
        "target does not exist",
        "PUT",
        "/receptionist/keys/1",
        {"action": "transfer", "target": {"kind": "extension", "number": "999"}},
        422,
        "unknown_target",
        "target.number",
    ),
    (
        "virtual extension as physical",
        "PUT",
        "/receptionist/keys/1",
        {"action": "transfer", "target": {"kind": "extension", "number": "150"}},
        422,
        "unknown_target",
        "target.kind",
    ),
    (
        "ring group that does not exist",
        "PUT",
        "/receptionist/keys/1",
        {"action": "transfer", "target": {"kind": "ring_group", "number": "200"}},
        422,
        "unknown_target",
        "target.number",
    ),
    (
        "announcement without prompt",
        "PUT",
        "/receptionist/keys/2",
        {"action": "play_announcement"},
        422,
        "validation_failed",
        "prompt",
    ),
    (
        "announcement prompt unknown",
        "PUT",
        "/receptionist/keys/2",
        {"action": "play_announcement", "prompt_id": "7d9f0c3e-0000-4000-8000-000000000000"},
        422,
        "unknown_target",
        "prompt_id",
    ),
    (
        "ring group member not an extension",
        "POST",
        "/ring-groups",
        {"number": "200", "name": "Accueil", "members": ["101", "777"]},
        422,
        "unknown_target",
        "members[1]",
    ),
    (
        "number already an extension",
        "POST",
        "/ring-groups",
        {"number": "101", "name": "Accueil"},
        409,
        "number_in_use",
        "number",
    ),
    (
        "number already used, room",
        "POST",
        "/conference-rooms",
        {"number": "150", "name": "Salle"},
        409,
        "number_in_use",
        "number",
    ),
    (
        "duplicate extension",
        "POST",
        "/extensions",
        {"number": "101", "kind": "physical", "last_name": "X", "device": "x"},
        409,
        "number_in_use",
        "number",
    ),
    (
        "invalid E.164 outside number",
        "POST",
        "/extensions",
        {"number": "160", "kind": "virtual", "last_name": "X", "external_number": "06 12 34 56 78"},
        422,
        "validation_failed",
        "external_number",
    ),
    (
        "physical without a device",
        "POST",
        "/extensions",
        {"number": "160", "kind": "physical", "last_name": "X"},
        422,
        "validation_failed",
        "device",
    ),
    (
        "a dial string instead of a device",
        "POST",
        "/extensions",
        {"number": "160", "kind": "physical", "last_name": "X", "dial_string": "PJSIP/x"},
        422,
        "dial_string_not_allowed",
        "dial_string",
    ),
    (
        "a dial string given as the device",
        "POST",
        "/extensions",
        {"number": "160", "kind": "physical", "last_name": "X", "device": "Local/1@from-carrier"},
        422,
        "dial_string_not_allowed",
        "device",
    ),
    (
        "a dial string patched in",
        "PATCH",
        "/extensions/101",
        {"dial_string": "PJSIP/carrier/sip:x@any-host"},
        422,
        "dial_string_not_allowed",
        "dial_string",
    ),
    (
        "a device the tenant does not have",
        "POST",
        "/extensions",
        {"number": "160", "kind": "physical", "last_name": "X", "device": "nobody"},
        422,
        "unknown_device",
        "device",
    ),
    (
        "a device on a virtual extension",
        "POST",
        "/extensions",
        {
            "number": "160",
            "kind": "virtual",
            "last_name": "X",
            "device": "x",
            "external_number": "+33612345678",
        },
        422,
        "validation_failed",
        "device",
    ),
    (
        "a premium rate outside number",
        "POST",
        "/extensions",
        {"number": "160", "kind": "virtual", "last_name": "X", "external_number": "+33899123456"},
        422,
        "destination_not_allowed",
        "external_number",
    ),
    (
        "an outside number moved to a satellite phone",
        "PATCH",
        "/extensions/150",
        {"external_number": "+8816123456789"},
        422,
        "destination_not_allowed",
        "external_number",
    ),
    (
        "a three-digit pin",
        "POST",
        "/conference-rooms",
        {"number": "301", "name": "S", "pin": "123"},
        422,
        "validation_failed",
        "pin",
    ),
    (
        "extension number too short",
        "POST",
        "/extensions",
        {"number": "1", "kind": "physical", "last_name": "X", "device": "x"},
        422,
        "validation_failed",
        "number",
    ),
    (
        "unknown field",
        "POST",
        "/extensions",
        {
            "number": "160",
            "kind": "physical",
            "last_name": "X",
            "device": "x",
            "colour": "red",
        },
        422,
        "validation_failed",
        "colour",
    ),
    (
        "unknown kind",
        "POST",
        "/extensions",
        {"number": "160", "kind": "mobile", "last_name": "X"},
        422,
        "validation_failed",
        "kind",
    ),
    (
        "no name at all",
        "POST",
        "/extensions",
        {"number": "160", "kind": "physical", "device": "x"},
        422,
        "validation_failed",
        "last_name",
    ),
    (
        "ring seconds out of range",
        "POST",
        "/ring-groups",
        {"number": "200", "name": "A", "ring_seconds": 2},
        422,
        "validation_failed",
        "ring_seconds",
    ),
    (
        "pin not digits",
        "POST",
        "/conference-rooms",
        {"number": "300", "name": "S", "pin": "12ab"},
        422,
        "validation_failed",
        "pin",
    ),
    (
        "timeout out of range",
        "PATCH",
        "/receptionist",
        {"menu_timeout_s": 0},
        422,
        "validation_failed",
        "menu_timeout_s",
    ),
    (
        "tts text empty",
        "POST",
        "/prompts",
        {"text": "  ", "language": "fr-FR"},
        422,
        "validation_failed",
        "text",
    ),
    (
        "bad language",
        "POST",
        "/prompts",
        {"text": "Bonjour", "language": "french"},
        422,
        "validation_failed",
        "language",
    ),
    (
        "null for a required field",
        "PATCH",
        "/extensions/101",
        {"first_name": None},
        422,
        "validation_failed",
        "first_name",
    ),
    (
        "null room name",
        "PATCH",
        "/conference-rooms/300",
        {"name": None},
        422,
        "validation_failed",
        "name",
    ),
    (
        "control character in a name",
        "POST",
        "/conference-rooms",
        {"number": "301", "name": "Salle\u0000"},
        422,
        "validation_failed",
        "name",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "field"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
async def test_bad_input_is_refused_with_code_and_field(
    tenant: tuple[str, Client],
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str,
    field: str | None,
) -> None:
    t, client = tenant
    answer = await client.call(method, t + path, body)
    assert (answer.status, answer.body["code"], answer.body["field"]) == (status, code, field), (
        answer.body
    )
    assert answer.body["message"]


async def test_invalid_e164_phone_number_is_refused(admin: Admin) -> None:
    tenant_id, _ = await admin.tenant()
    answer = await admin.carrier.call(
        "POST", f"/v1/tenants/{tenant_id}/numbers", {"e164": "+33 1 99"}
    )
    assert (answer.status, answer.body["field"]) == (422, "e164")
    assert "E.164" in answer.body["message"]


async def test_number_routed_to_another_tenant_is_refused(admin: Admin) -> None:
    first, _ = await admin.tenant()
    second, _ = await admin.tenant()
    await admin.carrier.ok("POST", f"/v1/tenants/{first}/numbers", {"e164": "+33199007777"})
    answer = await admin.carrier.call(
        "POST", f"/v1/tenants/{second}/numbers", {"e164": "+33199007777"}
    )
    assert (answer.status, answer.body["code"], answer.body["field"]) == (
        409,
        "number_taken",
        "e164",
    )


async def test_malformed_json_is_a_400_with_its_code(tenant: tuple[str, Client]) -> None:
    t, client = tenant
    answer = await client.call("POST", f"{t}/extensions", raw=b'{"number": "160",')
    assert (answer.status, answer.body["code"]) == (400, "malformed_json")


async def test_non_json_body_is_a_415(tenant: tuple[str, Client]) -> None:
    t, client = tenant
    answer = await client.call(
        "POST",
        f"{t}/prompts",
        raw=b"text=hello",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (answer.status, answer.body["code"]) == (415, "unsupported_media_type")


async def test_oversize_body_is_a_413(tenant: tuple[str, Client]) -> None:
    t, client = tenant
    answer = await client.call(
        "POST", f"{t}/prompts", raw=b'{"text": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    )
    assert (answer.status, answer.body["code"]) == (413, "payload_too_large")


async def test_deleting_a_used_extension_lists_what_uses_it(tenant: tuple[str, Client]) -> None:
    t, client = tenant
    await client.ok(
        "POST", f"{t}/ring-groups", {"number": "200", "name": "Accueil", "members": ["101"]}
    )
    await client.ok(
        "PUT",
        f"{t}/receptionist/keys/0",
        {"action": "transfer", "target": {"kind": "extension", "number": "101"}},
    )
    await client.ok(
        "PUT",
        f"{t}/receptionist/keys/9",
        {"action": "transfer", "target": {"kind": "voicemail", "number": "101"}},
    )
    answer = await client.call("DELETE", f"{t}/extensions/101")
    assert (answer.status, answer.body["code"]) == (409, "in_use")
    assert answer.body["details"]["used_by"] == ["key 0", "key 9", "ring group 200"]
    assert "key 0" in answer.body["message"]
    assert (await client.call("GET", f"{t}/extensions/101")).status == 200


async def test_unknown_route_and_method_answer_json(admin: Admin) -> None:
    missing = await admin.carrier.call("GET", "/v1/nothing-here")
    assert (missing.status, missing.body["code"]) == (404, "not_found")
    wrong = await admin.carrier.call("PUT", "/v1/tenants")
    assert (wrong.status, wrong.body["code"]) == (405, "method_not_allowed")


async def test_tokens_are_rate_limited_with_retry_after(migrated_url: str) -> None:
    from admin_support import running_admin  # noqa: PLC0415

    async with running_admin(migrated_url, admin_rate_per_s=0.5, admin_rate_burst=3) as limited:
        statuses = [(await limited.carrier.call("GET", "/v1/tenants")) for _ in range(4)]
    assert [a.status for a in statuses] == [200, 200, 200, 429]
    assert statuses[-1].body["code"] == "rate_limited"
    assert int(statuses[-1].headers["Retry-After"]) >= 1


async def test_deleting_a_ring_group_or_room_a_key_uses_is_refused(
    tenant: tuple[str, Client],
) -> None:
    t, client = tenant
    await client.ok(
        "POST", f"{t}/ring-groups", {"number": "200", "name": "Accueil", "members": ["101"]}
    )
    await client.ok(
        "PUT",
        f"{t}/receptionist/keys/3",
        {"action": "transfer", "target": {"kind": "ring_group", "number": "200"}},
    )
    await client.ok(
        "PUT",
        f"{t}/receptionist/keys/4",
        {"action": "transfer", "target": {"kind": "conference", "number": "300"}},
    )
    group = await client.call("DELETE", f"{t}/ring-groups/200")
    assert (group.status, group.body["code"], group.body["details"]["used_by"]) == (
        409,
        "in_use",
        ["key 3"],
    )
    assert group.body["message"] == "ring group 200 is still used by key 3"
    room = await client.call("DELETE", f"{t}/conference-rooms/300")
    assert (room.status, room.body["details"]["used_by"]) == (409, ["key 4"])
    await client.ok("DELETE", f"{t}/receptionist/keys/4")
    assert (await client.call("DELETE", f"{t}/conference-rooms/300")).status == 204
