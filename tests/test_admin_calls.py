"""The call log through the admin API on real PostgreSQL: filters, keyset pages, one call's
decision trace, and the CSV export. The records are written by the stasis service's own call
records writer, from the events the call flow publishes."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import aiohttp
from admin_support import Admin, Client
from call_log_support import hung_up, record_call, transferred, voicemail_after_dial_by_name

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _seeded(admin: Admin) -> tuple[str, Client, str]:
    """A tenant (Europe/Paris) with 102 Jean-Pierre Lefèvre and 101 Amélie Poulain."""
    tenant_id, tenant = await admin.tenant("calls", devices=("jp", "amelie"))
    base = f"/v1/tenants/{tenant_id}"
    await admin.carrier.ok("PATCH", base, {"timezone": "Europe/Paris"})
    for number, first, last, device in (
        ("101", "Amélie", "Poulain", "amelie"),
        ("102", "Jean-Pierre", "Lefèvre", "jp"),
    ):
        await tenant.ok(
            "POST",
            f"{base}/extensions",
            {
                "number": number,
                "kind": "physical",
                "first_name": first,
                "last_name": last,
                "device": device,
            },
        )
    return tenant_id, tenant, base


def _ids(page: dict[str, object]) -> list[str]:
    return [str(item["id"]) for item in page["items"]]  # type: ignore[attr-defined]


async def test_the_call_log_filters_by_caller_digits_date_range_and_outcome(admin: Admin) -> None:
    tenant_id, tenant, base = await _seeded(admin)
    pool = admin.pool
    monday = await record_call(pool, tenant_id, T0, transferred("+33612345678"))
    tuesday = await record_call(
        pool, tenant_id, T0 + timedelta(days=1), voicemail_after_dial_by_name("+33699887766")
    )
    wednesday = await record_call(pool, tenant_id, T0 + timedelta(days=2), hung_up(None))
    other_id, _ = await admin.tenant("calls-other")
    await record_call(pool, other_id, T0, transferred("+33612345678"))

    everything = await tenant.ok("GET", f"{base}/calls")
    assert _ids(everything) == [str(wednesday), str(tuesday), str(monday)]
    assert everything["next_cursor"] is None
    for typed in ("06 12 34", "+33 6 12", "0612345678", "612.34"):
        found = await tenant.ok("GET", f"{base}/calls?caller={typed.replace('+', '%2B')}")
        assert _ids(found) == [str(monday)], typed
    since = (T0 + timedelta(days=1)).isoformat().replace("+", "%2B")
    before = (T0 + timedelta(days=2)).isoformat().replace("+", "%2B")
    assert _ids(await tenant.ok("GET", f"{base}/calls?since={since}&before={before}")) == [
        str(tuesday)
    ]
    assert _ids(await tenant.ok("GET", f"{base}/calls?outcome=caller_hangup")) == [str(wednesday)]
    both = await tenant.ok("GET", f"{base}/calls?outcome=voicemail&caller=0699")
    assert _ids(both) == [str(tuesday)]
    assert _ids(await tenant.ok("GET", f"{base}/calls?outcome=voicemail&caller=0612")) == []


async def test_pages_follow_the_cursor_without_repeating_or_missing_calls_of_the_same_instant(
    admin: Admin,
) -> None:
    tenant_id, tenant, base = await _seeded(admin)
    # Seven calls, three of them started at the very same instant (a busy trunk).
    starts = [T0, T0, T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=2), T0, T0]
    made = {str(await record_call(admin.pool, tenant_id, at, hung_up())) for at in starts}
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        page = await tenant.ok("GET", f"{base}/calls?limit=2{cursor}")
        pages += 1
        seen += _ids(page)
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert pages == 4
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == made
    listed = (await tenant.ok("GET", f"{base}/calls"))["items"]
    assert [c["started_at"] for c in listed] == sorted(
        (c["started_at"] for c in listed), reverse=True
    )
    assert seen == _ids({"items": listed})


async def test_bad_filters_a_bad_cursor_and_a_backward_range_are_refused_on_their_field(
    admin: Admin,
) -> None:
    _, tenant, base = await _seeded(admin)
    for query, field in (
        ("cursor=bm90IGEgY3Vyc29y", "cursor"),
        ("cursor=%25%25", "cursor"),
        ("caller=abc", "caller"),
        ("caller=" + "1" * 40, "caller"),
        ("outcome=lost", "outcome"),
        ("since=yesterday", "since"),
        ("since=2026-03-02T09:00:00Z&before=2026-03-01T09:00:00Z", "before"),
        ("limit=0", "limit"),
    ):
        refused = await tenant.call("GET", f"{base}/calls?{query}")
        assert (refused.status, refused.body["code"], refused.body["field"]) == (
            422,
            "validation_failed",
            field,
        ), query
    refused = await tenant.call("GET", f"{base}/calls.csv?separator=tab")
    assert (refused.status, refused.body["field"]) == (422, "separator")


async def test_a_call_opens_into_its_steps_with_offsets_and_the_names_it_reached(
    admin: Admin,
) -> None:
    tenant_id, tenant, base = await _seeded(admin)
    call = await record_call(admin.pool, tenant_id, T0, voicemail_after_dial_by_name())
    detail = await tenant.ok("GET", f"{base}/calls/{call}")
    assert (detail["outcome"], detail["caller_number"]) == ("voicemail", "+33612345678")
    steps = detail["steps"]
    assert [s["kind"] for s in steps] == [
        "started",
        "answered",
        "menu",
        "key",
        "lookup",
        "lookup_result",
        "transfer",
        "transfer_result",
        "voicemail",
        "recording",
        "ended",
    ]
    assert [s["offset_ms"] for s in steps][2:5] == [100, 3300, 6000]
    assert steps[4]["data"] == {"digits": "533", "page": 0}
    assert steps[9]["data"] == {"saved": True, "duration_s": 34}
    assert detail["names"] == {"102": "Jean-Pierre Lefèvre"}
    assert (await tenant.call("GET", f"{base}/calls/{T0.timestamp()}")).status == 404
    other_id, other = await admin.tenant("calls-other")
    answer = await other.call("GET", f"/v1/tenants/{other_id}/calls/{call}")
    assert (answer.status, answer.body["field"]) == (404, "call_id")


async def test_the_csv_export_streams_every_filtered_call_and_neutralises_formula_cells(
    admin: Admin,
) -> None:
    tenant_id, tenant, base = await _seeded(admin)
    # A caller id is whatever the calling network says: here, a spreadsheet formula.
    evil = await record_call(admin.pool, tenant_id, T0, hung_up('=HYPERLINK("x")'))
    answered = await record_call(admin.pool, tenant_id, T0 + timedelta(hours=1), transferred())
    # Enough more calls for several batches of the database cursor.
    await admin.pool.execute(
        """INSERT INTO call_records (tenant_id, call_id, called_number, caller_number,
                                     started_at, ended_at, outcome)
           SELECT $1, 'bulk-' || n, '+33199000001', '+3361000' || lpad(n::text, 4, '0'),
                  $2::timestamptz - n * interval '1 minute',
                  $2::timestamptz - n * interval '1 minute' + interval '5 seconds', 'no_input'
             FROM generate_series(1, 1200) AS n""",
        tenant_id,
        T0,
    )
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {tenant.token}"}
        async with session.get(f"{tenant.base}{base}/calls.csv", headers=headers) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
            assert response.headers["Transfer-Encoding"] == "chunked"  # streamed, not buffered
            assert response.headers["Content-Disposition"].startswith("attachment; filename=")
            text = await response.text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "started_at",
        "answered_at",
        "ended_at",
        "duration_s",
        "caller_number",
        "called_number",
        "outcome",
        "call_id",
        "id",
    ]
    assert len(rows) == 1 + 1202
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["id"] == str(answered)
    assert first["started_at"] == "2026-03-02T11:00:00+01:00"  # the tenant's own time
    assert (first["duration_s"], first["outcome"]) == ("66", "transferred")
    assert first["caller_number"] == "'+33612345678"
    second = dict(zip(rows[0], rows[2], strict=True))
    assert (second["id"], second["caller_number"]) == (str(evil), '\'=HYPERLINK("x")')
    assert rows[-1][rows[0].index("call_id")] == "bulk-1200"  # the oldest, last
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

    filtered = await tenant.call("GET", f"{base}/calls.csv?outcome=transferred&separator=semicolon")
    lines = filtered.body.strip().split("\r\n")
    assert len(lines) == 2
    assert lines[1].split(";")[-1] == str(answered)
