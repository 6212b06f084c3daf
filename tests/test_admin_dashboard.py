"""The tenant's dashboard through the admin API on real PostgreSQL: one request answers calls
per day and per hour in the tenant's time zone, outcomes, key presses and dial-by-name success,
over a period, from the call records the stasis service's own writer stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from admin_support import Admin
from call_log_support import Step, hung_up, record_call, transferred, voicemail_after_dial_by_name

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Paris


def _spelled_nobody() -> list[Step]:
    """Key 1, spelled 999: nobody; the caller hangs up."""
    return [
        (0, "started", {"called_number": "+33199000001", "caller_number": "+33611111111"}),
        (0, "answered", {}),
        (0.1, "menu", {"reason": "greeting", "failures": 0, "menu": "Accueil"}),
        (2.0, "key", {"digit": "1", "action": "dial_by_name"}),
        (5.0, "lookup", {"digits": "999", "page": 0}),
        (5.2, "lookup_result", {"total": 0, "page": 0, "heard": 0}),
        (9.0, "ended", {"outcome": "caller_hangup", "by": "caller"}),
    ]


def _q(at: datetime) -> str:
    return at.isoformat().replace("+", "%2B")


async def test_one_request_counts_days_hours_outcomes_keys_and_dial_by_name_in_local_time(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant("dashboard")
    base = f"/v1/tenants/{tenant_id}"
    await admin.carrier.ok("PATCH", base, {"timezone": "Europe/Paris"})
    pool = admin.pool
    await record_call(pool, tenant_id, T0, transferred())
    await record_call(pool, tenant_id, T0 + timedelta(minutes=5), voicemail_after_dial_by_name())
    await record_call(pool, tenant_id, T0 + timedelta(minutes=9), _spelled_nobody())
    # 23:30 UTC on 2 March is 00:30 on 3 March in Paris: the next local day, hour 0.
    await record_call(pool, tenant_id, T0 + timedelta(hours=14, minutes=30), hung_up())
    # Outside the period, and another tenant's call in it: neither counts.
    await record_call(pool, tenant_id, T0 - timedelta(days=3), transferred())
    other_id, _ = await admin.tenant("dashboard-other")
    await record_call(pool, other_id, T0, transferred())

    since, until = _q(T0 - timedelta(hours=1)), _q(T0 + timedelta(days=1))
    got = await tenant.ok("GET", f"{base}/dashboard?since={since}&until={until}")

    assert (got["calls"], got["answered_calls"], got["timezone"]) == (4, 4, "Europe/Paris")
    assert got["days"] == [{"day": "2026-03-02", "calls": 3}, {"day": "2026-03-03", "calls": 1}]
    assert got["hours"] == [{"hour": 0, "calls": 1}, {"hour": 10, "calls": 3}]
    assert got["outcomes"] == [
        {"outcome": "caller_hangup", "calls": 2},
        {"outcome": "transferred", "calls": 1},
        {"outcome": "voicemail", "calls": 1},
    ]
    assert got["keys"] == [
        {"digit": "1", "action": "dial_by_name", "presses": 2},
        {"digit": "0", "action": "transfer", "presses": 1},
    ]
    assert got["dial_by_name"] == {"searches": 2, "found": 1, "no_match": 1, "failed": 0}


async def test_the_default_period_is_the_last_30_days_and_an_empty_one_answers_zeros(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant("dashboard-empty")
    base = f"/v1/tenants/{tenant_id}"
    now = datetime.now(UTC)
    await record_call(admin.pool, tenant_id, now - timedelta(days=2), hung_up())
    await record_call(admin.pool, tenant_id, now - timedelta(days=40), hung_up())
    got = await tenant.ok("GET", f"{base}/dashboard")
    assert got["calls"] == 1
    since, until = datetime.fromisoformat(got["since"]), datetime.fromisoformat(got["until"])
    assert until - since == timedelta(days=30)
    empty = await tenant.ok("GET", f"{base}/dashboard?since={_q(T0)}&until={_q(T0 + timedelta(1))}")
    assert (empty["calls"], empty["days"], empty["outcomes"], empty["keys"]) == (0, [], [], [])
    assert empty["dial_by_name"] == {"searches": 0, "found": 0, "no_match": 0, "failed": 0}


async def test_a_backward_period_a_bad_time_and_another_tenant_are_refused(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant("dashboard-refused")
    base = f"/v1/tenants/{tenant_id}/dashboard"
    for query, field in (
        (f"since={_q(T0)}&until={_q(T0 - timedelta(days=1))}", "since"),
        ("since=yesterday", "since"),
        ("until=2026-13-01", "until"),
    ):
        refused = await tenant.call("GET", f"{base}?{query}")
        assert (refused.status, refused.body["code"], refused.body["field"]) == (
            422,
            "validation_failed",
            field,
        ), query
    other_id, other = await admin.tenant("dashboard-other")
    assert (await other.call("GET", base)).status in (403, 404)
    assert (await other.call("GET", f"/v1/tenants/{other_id}/dashboard")).status == 200


async def test_days_and_hours_are_right_in_a_time_zone_of_half_hours(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant("dashboard-kolkata")
    base = f"/v1/tenants/{tenant_id}"
    await admin.carrier.ok("PATCH", base, {"timezone": "Asia/Kolkata"})
    # 18:40 UTC is 00:10 the next day in Kolkata (UTC+5:30); 18:20 UTC is 23:50 the same day.
    await record_call(admin.pool, tenant_id, datetime(2026, 3, 2, 18, 40, tzinfo=UTC), hung_up())
    await record_call(admin.pool, tenant_id, datetime(2026, 3, 2, 18, 20, tzinfo=UTC), hung_up())
    got = await tenant.ok("GET", f"{base}/dashboard?since={_q(T0)}&until={_q(T0 + timedelta(1))}")
    assert got["days"] == [{"day": "2026-03-02", "calls": 1}, {"day": "2026-03-03", "calls": 1}]
    assert got["hours"] == [{"hour": 0, "calls": 1}, {"hour": 23, "calls": 1}]
