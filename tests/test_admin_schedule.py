"""Opening hours, holidays and the override through the admin API: the weekly grid, the menu
of each state, public holidays from the `holidays` library, an iCalendar import, and the state
now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from admin_support import Admin

HOURS = {
    "mon": [{"start": "14:00", "end": "18:00"}, {"start": "09:00", "end": "12:30"}],
    "tue": [{"start": "09:00", "end": "18:00"}],
}

CALENDAR = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//Holidays//FR
BEGIN:VEVENT
UID:noel@test
DTSTART;VALUE=DATE:20271225
DTEND;VALUE=DATE:20271226
RRULE:FREQ=YEARLY
SUMMARY:Noël
END:VEVENT
BEGIN:VEVENT
UID:ete@test
DTSTART;VALUE=DATE:20270802
DTEND;VALUE=DATE:20270821
SUMMARY:Fermeture estivale
END:VEVENT
END:VCALENDAR
"""


async def test_a_tenant_without_hours_is_open_around_the_clock_in_its_first_menu(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    schedule = await tenant.ok("GET", f"{t}/schedule")
    assert schedule["weekly"] == {}
    assert schedule["timezone"] == "Europe/Paris"
    now = await tenant.ok("GET", f"{t}/schedule/now")
    assert (now["state"], now["reason"]) == ("open", "open: no opening hours set")
    assert now["menu"]["name"] == "Menu principal"


async def test_weekly_hours_and_the_closed_menu_are_saved_in_order_and_checked(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    closed = await tenant.ok("POST", f"{t}/menus", {"name": "Fermé"})
    assert closed["warnings"]
    read = await tenant.call("GET", f"{t}/schedule")
    saved = await tenant.ok(
        "PUT",
        f"{t}/schedule",
        {"weekly": HOURS, "menus": {"closed": closed["id"]}},
        headers={"If-Match": read.headers["ETag"]},
    )
    assert saved["weekly"]["mon"] == [
        {"start": "09:00", "end": "12:30"},
        {"start": "14:00", "end": "18:00"},
    ]
    assert saved["menus"]["closed"] == {"id": closed["id"], "name": "Fermé"}
    assert saved["menus"]["holiday"] is None
    # A menu the schedule names is an entry point: no warning, and it cannot be deleted.
    assert (await tenant.ok("GET", f"{t}/menus/{closed['id']}"))["warnings"] == []
    refused = await tenant.call("DELETE", f"{t}/menus/{closed['id']}")
    assert refused.status == 409
    assert "the schedule's closed state" in refused.body["message"]
    stale = await tenant.call(
        "PUT", f"{t}/schedule", {"weekly": {}}, headers={"If-Match": read.headers["ETag"]}
    )
    assert stale.status == 412


async def test_overlapping_or_backwards_ranges_and_unknown_menus_are_refused(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    for weekly, word in (
        (
            {"mon": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "14:00"}]},
            "overlap",
        ),
        ({"mon": [{"start": "18:00", "end": "09:00"}]}, "ends after it starts"),
        ({"mon": [{"start": "9h", "end": "12:00"}]}, "pattern"),
        ({"lundi": [{"start": "09:00", "end": "12:00"}]}, "mon"),
    ):
        refused = await tenant.call("PUT", f"{t}/schedule", {"weekly": weekly})
        assert refused.status == 422, weekly
        assert word in refused.body["message"], refused.body
    other_id, other = await admin.tenant("other")
    theirs = await other.ok("POST", f"/v1/tenants/{other_id}/menus", {"name": "Secret"})
    refused = await tenant.call("PUT", f"{t}/schedule", {"menus": {"holiday": theirs["id"]}})
    assert (refused.status, refused.body["field"]) == (422, "menus.holiday")


async def test_the_override_closes_now_until_a_time_then_switches_back(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    away = await tenant.ok("POST", f"{t}/menus", {"name": "Absent"})
    await tenant.ok("PUT", f"{t}/schedule", {"menus": {"override_closed": away["id"]}})
    await tenant.ok("POST", f"{t}/receptionist/publish", {})  # callers hear the menus published
    until = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    saved = await tenant.ok(
        "PUT", f"{t}/schedule/override", {"mode": "closed", "until": until.isoformat()}
    )
    assert saved["override"]["mode"] == "closed"
    now = await tenant.ok("GET", f"{t}/schedule/now")
    assert now["state"] == "override_closed"
    assert now["reason"].startswith("override: closed until ")
    assert now["menu"]["name"] == "Absent"
    past = await tenant.call(
        "PUT", f"{t}/schedule/override", {"mode": "closed", "until": "2020-01-01T00:00:00Z"}
    )
    assert (past.status, past.body["field"]) == (422, "until")
    naive = await tenant.call(
        "PUT", f"{t}/schedule/override", {"mode": "closed", "until": "2030-01-01T00:00:00"}
    )
    assert naive.status == 422
    off = await tenant.ok("DELETE", f"{t}/schedule/override")
    assert off["override"] is None
    assert (await tenant.ok("GET", f"{t}/schedule/now"))["state"] == "open"


async def test_a_holiday_today_answers_with_the_holiday_menu_and_says_which(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    today = datetime.now(UTC).date().isoformat()
    holiday = await tenant.call("POST", f"{t}/holidays", {"name": "Inventaire", "start": today})
    assert holiday.status == 201
    assert holiday.body["end"] == today
    again = await tenant.call("POST", f"{t}/holidays", {"name": "Inventaire", "start": today})
    assert again.status == 409
    now = await tenant.ok("GET", f"{t}/schedule/now")
    assert now["state"] in ("holiday", "open")  # today in Paris may be tomorrow in UTC
    if now["state"] == "holiday":
        assert now["reason_by_language"] == {
            "en": "holiday: Inventaire",
            "fr": "jour férié : Inventaire",
        }
    await tenant.ok("DELETE", f"{t}/holidays/{holiday.body['id']}")
    assert (await tenant.ok("GET", f"{t}/holidays"))["items"] == []


async def test_the_public_holidays_of_france_for_2027_are_added_once_in_french(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    added = await tenant.ok("POST", f"{t}/holidays/public", {"country": "FR", "year": 2027})
    names = {h["start"]: h["name"] for h in added["added"]}
    assert names["2027-12-25"] == "Noël"
    assert names["2027-07-14"] == "Fête nationale"
    assert len(names) == 11
    assert {h["source"] for h in added["added"]} == {"public"}
    again = await tenant.ok("POST", f"{t}/holidays/public", {"country": "FR", "year": 2027})
    assert (again["added"], again["skipped"]) == ([], 11)
    unknown = await tenant.call("POST", f"{t}/holidays/public", {"country": "ZZ", "year": 2027})
    assert (unknown.status, unknown.body["code"]) == (422, "unknown_country")


async def test_an_icalendar_file_imports_each_event_as_a_holiday(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    added = await tenant.ok("POST", f"{t}/holidays/ical", {"calendar": CALENDAR})
    got = {(h["name"], h["start"], h["end"], h["yearly"]) for h in added["added"]}
    assert got == {
        ("Noël", "2027-12-25", "2027-12-25", True),
        ("Fermeture estivale", "2027-08-02", "2027-08-20", False),
    }
    broken = await tenant.call("POST", f"{t}/holidays/ical", {"calendar": "not a calendar"})
    assert (broken.status, broken.body["code"]) == (422, "invalid_calendar")
