"""What the carrier's console reads: every tenant's audit log with filters, and each tenant's
usage over a period. On the real admin service and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from admin_support import Admin, signed_in


async def test_the_carrier_reads_every_tenants_audit_log_with_filters(admin: Admin) -> None:
    first_id, first = await admin.tenant("auditone")
    second_id, _ = await admin.tenant("audittwo")
    editor_email, editor = await signed_in(admin, first_id, "editor")
    await editor.ok(
        "PUT", f"/v1/tenants/{first_id}/receptionist/keys/1", {"action": "dial_by_name"}
    )
    await first.ok("PUT", f"/v1/tenants/{first_id}/receptionist/keys/2", {"action": "dial_by_name"})
    _, support = await signed_in(admin, None, "support")
    start = (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")

    by_person = await support.ok("GET", f"/v1/audit?actor={editor_email.upper()}")
    keys_of_first = await support.ok("GET", f"/v1/audit?tenant_id={first_id}&entity=key")
    of_second = await support.ok("GET", f"/v1/audit?tenant_id={second_id}")
    recent = await support.ok("GET", f"/v1/audit?since={start}&action=tenant.create&limit=1000")
    tenant_token = await first.call("GET", "/v1/audit")
    bad = await support.call("GET", "/v1/audit?tenant_id=nope")
    own = await first.ok("GET", f"/v1/tenants/{first_id}/audit?entity=key&actor=auditone")

    assert [(e["action"], e["actor"]) for e in by_person["items"]] == [
        ("key.assign", editor_email),
        ("user.sign_in", editor_email),
    ]
    assert {e["entity_key"] for e in keys_of_first["items"]} == {"1", "2"}
    assert {e["tenant_id"] for e in keys_of_first["items"]} == {first_id}
    assert [e["action"] for e in of_second["items"]][-1] == "tenant.create"
    assert {first_id, second_id} <= {e["tenant_id"] for e in recent["items"]}
    assert tenant_token.status == 403
    assert bad.status == 422
    assert [e["entity_key"] for e in own["items"]] == ["2"]  # the token "auditone admin"


async def test_the_carrier_reads_a_tenants_usage_over_a_period(admin: Admin) -> None:
    tenant_id, _ = await admin.tenant("usage")
    other_id, _ = await admin.tenant("quiet")
    tenant = uuid.UUID(tenant_id)
    now = datetime.now(UTC)
    outside = [{"seq": 1, "kind": "transfer", "data": {"kind": "virtual_extension"}}]
    for n, (started, answered_s, ended_s, trace) in enumerate(
        [
            (now - timedelta(hours=1), 5, 125, []),  # 2 minutes
            (now - timedelta(hours=2), 10, 190, outside),  # 3 minutes, to an outside number
            (now - timedelta(hours=3), None, 20, []),  # not answered
            (now - timedelta(days=40), 0, 600, []),  # before the period
        ]
    ):
        await admin.pool.execute(
            """INSERT INTO call_records (tenant_id, call_id, called_number, started_at,
                                         answered_at, ended_at, outcome, trace)
               VALUES ($1, $2, '+33199000001', $3, $4, $5, 'transferred', $6::jsonb)""",
            tenant,
            f"usage-{n}",
            started,
            None if answered_s is None else started + timedelta(seconds=answered_s),
            started + timedelta(seconds=ended_s),
            trace,
        )
    prompt = await admin.pool.fetchval(
        """INSERT INTO prompts (tenant_id, source, status, content_hash, size_bytes)
           VALUES ($1, 'recording', 'ready', repeat('d', 64), 48000) RETURNING id""",
        tenant,
    )
    await admin.pool.execute(
        """INSERT INTO voicemail_messages (tenant_id, extension_number, prompt_id, duration_ms)
           VALUES ($1, '101', $2, 3000)""",
        tenant,
        prompt,
    )
    _, support = await signed_in(admin, None, "support")

    usage = await support.ok("GET", f"/v1/tenants/{tenant_id}/usage")
    every = await support.ok("GET", "/v1/usage")
    long_ago = await support.ok(
        "GET",
        f"/v1/tenants/{tenant_id}/usage?since={(now - timedelta(days=41)).isoformat().replace('+00:00', 'Z')}"
        f"&until={(now - timedelta(days=39)).isoformat().replace('+00:00', 'Z')}",
    )
    backwards = await support.call(
        "GET",
        f"/v1/tenants/{tenant_id}/usage?since={now.isoformat().replace('+00:00', 'Z')}"
        f"&until={(now - timedelta(days=1)).isoformat().replace('+00:00', 'Z')}",
    )

    assert (usage["calls"], usage["answered_calls"]) == (3, 2)
    assert usage["minutes"] == 5.0
    assert usage["outside_minutes"] == 3.0
    assert (usage["voicemail_left"], usage["voicemail_stored"]) == (1, 1)
    assert usage["voicemail_bytes"] == 48000
    quiet = next(u for u in every["items"] if u["tenant_id"] == other_id)
    assert (quiet["calls"], quiet["minutes"], quiet["voicemail_bytes"]) == (0, 0.0, 0)
    assert (long_ago["calls"], long_ago["minutes"]) == (1, 10.0)
    assert backwards.status == 422


async def test_carrier_support_views_a_tenant_read_only_and_the_viewing_is_audited(
    admin: Admin,
) -> None:
    tenant_id, _ = await admin.tenant("viewed")
    other_id, _ = await admin.tenant("notviewed")
    email, support = await signed_in(admin, None, "support")
    _, member = await signed_in(admin, tenant_id, "admin")
    t = f"/v1/tenants/{tenant_id}"

    viewing = await support.ok("POST", "/v1/session/view-as", {"tenant_id": tenant_id})
    reads = await support.call("GET", f"{t}/receptionist")
    write = await support.call("PUT", f"{t}/receptionist/keys/1", {"action": "dial_by_name"})
    other = await support.call("GET", f"/v1/tenants/{other_id}/receptionist")
    console = await support.call("GET", "/v1/numbers")
    again = await support.call("POST", "/v1/session/view-as", {"tenant_id": other_id})
    tenants = await support.ok("GET", "/v1/tenants")
    await support.ok("DELETE", "/v1/session/view-as")
    after = await support.ok("GET", "/v1/session")
    console_again = await support.call("GET", "/v1/numbers")
    not_viewing = await support.call("DELETE", "/v1/session/view-as")
    by_member = await member.call("POST", "/v1/session/view-as", {"tenant_id": tenant_id})
    by_token = await admin.carrier.call("POST", "/v1/session/view-as", {"tenant_id": tenant_id})
    log = await admin.carrier.ok("GET", f"{t}/audit?entity=session")

    assert (viewing["view_as"], viewing["read_only"], viewing["tenant_id"]) == (
        tenant_id,
        True,
        tenant_id,
    )
    assert reads.status == 200
    assert (write.status, write.body["code"]) == (403, "read_only")
    assert other.status == 404  # only the tenant viewed
    assert console.status == 403  # the console waits until the viewing ends
    assert again.status == 409
    assert [x["id"] for x in tenants["items"]] == [tenant_id]
    assert (after["view_as"], after["read_only"], after["tenant_id"]) == (None, False, None)
    assert console_again.status == 200
    assert not_viewing.status == 409
    assert by_member.status == 403
    assert by_token.status == 403
    assert [(e["action"], e["actor"], e["after"]["viewer"]) for e in log["items"]] == [
        ("session.view_as_end", email, email),
        ("session.view_as", email, email),
    ]


async def test_carrier_support_signs_out_while_viewing_a_tenant_and_the_session_ends(
    admin: Admin,
) -> None:
    tenant_id, _ = await admin.tenant("viewedout")
    _, support = await signed_in(admin, None, "support")
    await support.ok("POST", "/v1/session/view-as", {"tenant_id": tenant_id})

    signed_out = await support.call("DELETE", "/v1/session")
    after = await support.call("GET", "/v1/session")

    assert signed_out.status == 204
    assert after.status == 401
