"""Opening hours, holidays and the manual override, and the menu each state answers with.

The weekly hours are wall-clock times in the tenant's time zone (`tenants.timezone`), so they
stay right across daylight-saving changes; `rcp.schedule` decides the state at an instant,
the same way for `GET /schedule/now` as for calls. Holidays are written one by one, added from
a country's public holidays for a year (the `holidays` library, named in the tenant's
language), or imported from an iCalendar file (the `icalendar` library: each event a holiday,
a yearly rule a yearly one).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from uuid import UUID

import holidays as public_holidays
import icalendar
from aiohttp import web
from rcp.db import receptionists
from rcp.errors import ErrorCode
from rcp.schedule import decide

from rcp_admin import publishing
from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import (
    INVALID_CALENDAR,
    UNKNOWN_COUNTRY,
    UNKNOWN_TARGET,
    VALIDATION_FAILED,
    ApiError,
    not_found,
)
from rcp_admin.resources import receptionist as reception
from rcp_admin.routing import TENANT, Call, Routes, answer, created, no_content, with_etag
from rcp_admin.unit_of_work import Reader, Store, check_if_match, jsonable

if TYPE_CHECKING:
    from rcp_admin.unit_of_work import Connection

ROUTES = Routes(TENANT)

MENU_COLUMNS = {
    "closed": "closed_menu_id",
    "holiday": "holiday_menu_id",
    "override_closed": "override_menu_id",
}


async def _menu_refs(reader: Reader, tenant_id: UUID) -> dict[UUID, s.MenuRef]:
    rows = await reader.fetch("SELECT id, name FROM menus WHERE tenant_id = $1", tenant_id)
    return {r["id"]: s.MenuRef(id=r["id"], name=r["name"]) for r in rows}


async def model(reader: Reader, tenant_id: UUID) -> s.Schedule:
    """The schedule as the API shows it."""
    timezone = await reader.fetchval("SELECT timezone FROM tenants WHERE id = $1", tenant_id)
    row = await reader.fetchrow("SELECT * FROM schedules WHERE tenant_id = $1", tenant_id)
    refs = await _menu_refs(reader, tenant_id)
    if row is None:
        return s.Schedule(
            timezone=timezone,
            weekly={},
            menus=s.ScheduleMenusOut(closed=None, holiday=None, override_closed=None),
            override=None,
        )
    weekly = row["weekly"]
    weekly = json.loads(weekly) if isinstance(weekly, str) else weekly
    return s.Schedule(
        timezone=timezone,
        weekly={day: weekly[day] for day in s.WEEKDAY_NAMES if weekly.get(day)},
        menus=s.ScheduleMenusOut(
            **{state: refs.get(row[column]) for state, column in MENU_COLUMNS.items()}
        ),
        override=(
            None
            if row["override_mode"] is None
            else s.ScheduleOverride(mode=row["override_mode"], until=row["override_until"])
        ),
    )


async def now(store: Store, actor: Principal, tenant_id: UUID) -> s.ScheduleNow:
    """The state right now, why, and the menu a call starting now hears first (as published:
    what callers hear, not the draft)."""
    tenant = await store.tenant_row(actor, tenant_id)
    _, document = await receptionists.read_published(store.pool, tenant_id)
    if document is None:
        raise not_found("receptionist", "tenant_id")
    decision = decide(document.schedule.decided_by(tenant["timezone"]), datetime.now(UTC))
    refs = await _menu_refs(store.pool, tenant_id)
    menu = refs.get(UUID(decision.menu_id)) if decision.menu_id else None
    if menu is None:
        menu = refs[await reception.first_menu_id(store.pool, tenant_id)]
    return s.ScheduleNow(
        state=decision.state,
        reason=decision.reason,
        reason_by_language={"en": decision.reason, "fr": decision.reason_fr or decision.reason},
        menu=menu,
    )


async def read(store: Store, actor: Principal, tenant_id: UUID) -> s.Schedule:
    """The tenant's hours, the menu of each state and the override."""
    async with store.tenant_read(actor, tenant_id) as connection:
        return await model(connection, tenant_id)


async def _menu_column(
    connection: Connection, tenant_id: UUID, menu_id: UUID | None, field: str
) -> UUID | None:
    if menu_id is None:
        return None
    found: UUID | None = await connection.fetchval(
        "SELECT id FROM menus WHERE tenant_id = $1 AND id = $2", tenant_id, menu_id
    )
    if found is None:
        raise ApiError(UNKNOWN_TARGET, f"there is no menu {menu_id}", field)
    return found


async def _ensure_row(connection: Connection, tenant_id: UUID) -> None:
    await connection.execute(
        "INSERT INTO schedules (tenant_id) VALUES ($1) ON CONFLICT (tenant_id) DO NOTHING",
        tenant_id,
    )


async def replace(
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    body: s.SchedulePut,
    if_match: str | None,
    request_id: str | None,
) -> s.Schedule:
    """Set the weekly hours and the menu of each state (If-Match)."""
    async with store.write(actor, tenant_id, "schedule", "update", None, request_id) as change:
        connection = await reception.locked(actor, tenant_id, change)
        before = await model(connection, tenant_id)
        check_if_match(if_match, before)
        await publishing.baseline(connection, tenant_id, actor)
        menus = body.menus.model_dump()
        columns = {
            column: await _menu_column(connection, tenant_id, menus[state], f"menus.{state}")
            for state, column in MENU_COLUMNS.items()
        }
        weekly = {day: [r.model_dump() for r in ranges] for day, ranges in body.weekly.items()}
        await _ensure_row(connection, tenant_id)
        await connection.execute(
            """UPDATE schedules SET weekly = $2::jsonb, closed_menu_id = $3, holiday_menu_id = $4,
                      override_menu_id = $5 WHERE tenant_id = $1""",
            tenant_id,
            weekly,  # the pool's codec writes JSON
            *columns.values(),
        )
        after = await model(connection, tenant_id)
        change.record(before, after)
    return after


async def set_override(
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    body: s.OverridePut | None,
    request_id: str | None,
) -> s.Schedule:
    """Force open or closed (until an instant, or until switched back); None: switch back."""
    action = "override_off" if body is None else f"override_{body.mode}"
    async with store.write(actor, tenant_id, "schedule", action, None, request_id) as change:
        connection = await reception.locked(actor, tenant_id, change)
        before = await model(connection, tenant_id)
        if body is not None and body.until is not None and body.until <= datetime.now(UTC):
            raise ApiError(VALIDATION_FAILED, "until is in the past", "until")
        await _ensure_row(connection, tenant_id)
        await connection.execute(
            "UPDATE schedules SET override_mode = $2, override_until = $3 WHERE tenant_id = $1",
            tenant_id,
            None if body is None else body.mode,
            None if body is None else body.until,
        )
        after = await model(connection, tenant_id)
        change.record(before, after)
    return after


# --- holidays -------------------------------------------------------------------------------

HOLIDAY = "SELECT id, name, start_date AS start, end_date AS end, yearly, source FROM holidays"


async def list_holidays(store: Store, actor: Principal, tenant_id: UUID) -> s.HolidayList:
    """The tenant's holidays, by date."""
    rows = await store.tenant_rows(
        actor, tenant_id, HOLIDAY + " WHERE tenant_id = $1 ORDER BY start_date, name"
    )
    return s.HolidayList(items=[s.Holiday.model_validate(dict(r)) for r in rows])


async def _insert(
    connection: Connection, tenant_id: UUID, holiday: s.HolidayCreate, source: str
) -> s.Holiday | None:
    """A new holiday; None if the tenant has it already (same name and dates)."""
    row = await connection.fetchrow(
        """INSERT INTO holidays (tenant_id, name, start_date, end_date, yearly, source)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant_id, start_date, end_date, name) DO NOTHING
           RETURNING id, name, start_date AS start, end_date AS end, yearly, source""",
        tenant_id,
        holiday.name,
        holiday.start,
        holiday.end or holiday.start,
        holiday.yearly,
        source,
    )
    return None if row is None else s.Holiday.model_validate(dict(row))


async def add_holidays(
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    holidays: list[s.HolidayCreate],
    source: str,
    request_id: str | None,
) -> s.HolidaysAdded:
    """Add holidays, leaving out those the tenant has already."""
    async with store.write(actor, tenant_id, "holiday", "add", source, request_id) as change:
        connection = await reception.locked(actor, tenant_id, change)
        await publishing.baseline(connection, tenant_id, actor)
        added = [
            found
            for holiday in holidays
            if (found := await _insert(connection, tenant_id, holiday, source)) is not None
        ]
        result = s.HolidaysAdded(added=added, skipped=len(holidays) - len(added))
        change.after = jsonable(result)
    return result


async def create_holiday(
    store: Store, actor: Principal, tenant_id: UUID, body: s.HolidayCreate, request_id: str | None
) -> s.Holiday:
    """Add one holiday (409 if the tenant has it already)."""
    result = await add_holidays(store, actor, tenant_id, [body], "manual", request_id)
    if not result.added:
        raise ApiError(ErrorCode.CONFLICT, "the tenant already has this holiday", "name")
    return result.added[0]


async def delete_holiday(
    store: Store, actor: Principal, tenant_id: UUID, holiday_id: UUID, request_id: str | None
) -> None:
    """Delete one holiday."""
    async with store.tenant_write(
        actor, tenant_id, "holiday", "delete", str(holiday_id), request_id
    ) as change:
        connection = await reception.locked(actor, tenant_id, change)
        await publishing.baseline(connection, tenant_id, actor)
        query = (
            "DELETE FROM holidays WHERE tenant_id = $1 AND id = $2"
            " RETURNING id, name, start_date AS start, end_date AS end, yearly, source"
        )
        await change.delete_one(s.Holiday, ("holiday", "holiday_id"), query, tenant_id, holiday_id)


def public(
    country: str, year: int, subdivision: str | None, language: str
) -> list[s.HolidayCreate]:
    """A country's public holidays of a year, named in `language` when the library has it."""
    try:
        calendar = public_holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError as error:
        raise ApiError(
            UNKNOWN_COUNTRY, f"no public holidays are known for {country}", "country"
        ) from error
    except ValueError as error:  # an unknown subdivision
        raise ApiError(UNKNOWN_COUNTRY, str(error), "subdivision") from error
    wanted = language.replace("-", "_")
    languages = getattr(calendar, "supported_languages", ())
    for candidate in (wanted, wanted.split("_")[0]):
        if candidate in languages:
            calendar = public_holidays.country_holidays(
                country, subdiv=subdivision, years=year, language=candidate
            )
            break
    return [
        s.HolidayCreate(name=name[:200], start=day)
        for day, name in sorted(calendar.items())
        if day.year == year
    ]


def from_calendar(text: str) -> list[s.HolidayCreate]:
    """The holidays an iCalendar file's events are (a yearly rule: a yearly holiday)."""
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError as error:
        raise ApiError(
            INVALID_CALENDAR, f"this is not an iCalendar file: {error}", "calendar"
        ) from error
    found: list[s.HolidayCreate] = []
    for index, event in enumerate(calendar.walk("VEVENT")):
        try:
            found.append(_holiday_of(event))
        except (KeyError, ValueError, TypeError) as error:
            raise ApiError(
                INVALID_CALENDAR,
                f"event {index + 1} ({event.get('SUMMARY', 'no summary')}) is no holiday: {error}",
                "calendar",
            ) from error
    if not found:
        raise ApiError(INVALID_CALENDAR, "the calendar has no event", "calendar")
    return found


def _day(value: Any) -> date:
    day = value.dt
    return day.date() if isinstance(day, datetime) else day


def _holiday_of(event: Any) -> s.HolidayCreate:
    start = _day(event["DTSTART"])
    if "DTEND" in event:
        end = _day(event["DTEND"])
        # An all-day event's DTEND is the day after its last one.
        if not isinstance(event["DTEND"].dt, datetime):
            end -= timedelta(days=1)
        end = max(end, start)
    else:
        end = start
    rule = event.get("RRULE")
    yearly = rule is not None and "YEARLY" in rule.get("FREQ", [])
    name = str(event.get("SUMMARY") or "").strip() or "Holiday"
    return s.HolidayCreate(name=name[:200], start=start, end=end, yearly=yearly)


# --- handlers -------------------------------------------------------------------------------


@ROUTES.get("/schedule", response=s.Schedule, etag=True)
async def get_schedule(c: Call) -> web.Response:
    """Read the opening hours, the menu of each state and the override (with ETag)"""
    return with_etag(await read(c.store, c.principal, c.tenant_id))


@ROUTES.put("/schedule", body=s.SchedulePut, response=s.Schedule, etag=True)
async def put_schedule(c: Call) -> web.Response:
    """Set the weekly opening hours and the menu of each state (If-Match)"""
    body = await c.body(s.SchedulePut)
    return with_etag(
        await replace(c.store, c.principal, c.tenant_id, body, c.if_match, c.request_id)
    )


@ROUTES.get("/schedule/now", response=s.ScheduleNow)
async def get_schedule_now(c: Call) -> web.Response:
    """The state now (open, closed, holiday, override_closed), why, and the menu it answers with"""
    return answer(await now(c.store, c.principal, c.tenant_id))


@ROUTES.put("/schedule/override", body=s.OverridePut, response=s.Schedule, etag=True)
async def put_override(c: Call) -> web.Response:
    """Force open or closed, until a time or until switched back"""
    body = await c.body(s.OverridePut)
    return with_etag(await set_override(c.store, c.principal, c.tenant_id, body, c.request_id))


@ROUTES.delete("/schedule/override", response=s.Schedule, etag=True)
async def delete_override(c: Call) -> web.Response:
    """Switch the override off: the hours and holidays decide again"""
    return with_etag(await set_override(c.store, c.principal, c.tenant_id, None, c.request_id))


@ROUTES.get("/holidays", response=s.HolidayList)
async def get_holidays(c: Call) -> web.Response:
    """List the tenant's holidays"""
    return answer(await list_holidays(c.store, c.principal, c.tenant_id))


@ROUTES.post("/holidays", body=s.HolidayCreate, response=s.Holiday, status=HTTPStatus.CREATED)
async def post_holiday(c: Call) -> web.Response:
    """Add a holiday: a day or a range of days, once or every year"""
    body = await c.body(s.HolidayCreate)
    return created(await create_holiday(c.store, c.principal, c.tenant_id, body, c.request_id))


@ROUTES.delete("/holidays/{holiday_id}", status=HTTPStatus.NO_CONTENT)
async def remove_holiday(c: Call) -> web.Response:
    """Delete a holiday"""
    holiday_id = c.path_uuid("holiday_id", "holiday")
    await delete_holiday(c.store, c.principal, c.tenant_id, holiday_id, c.request_id)
    return no_content()


@ROUTES.post("/holidays/public", body=s.PublicHolidays, response=s.HolidaysAdded)
async def post_public_holidays(c: Call) -> web.Response:
    """Add a country's public holidays of a year (those already there are skipped)"""
    body = await c.body(s.PublicHolidays)
    tenant = await c.store.tenant_row(c.principal, c.tenant_id)
    found = public(body.country, body.year, body.subdivision, tenant["locale"])
    return answer(
        await add_holidays(c.store, c.principal, c.tenant_id, found, "public", c.request_id)
    )


@ROUTES.post("/holidays/ical", body=s.CalendarImport, response=s.HolidaysAdded)
async def post_calendar(c: Call) -> web.Response:
    """Import holidays from an iCalendar file's text (each event a holiday)"""
    body = await c.body(s.CalendarImport)
    await c.store.tenant_row(c.principal, c.tenant_id)
    found = from_calendar(body.calendar)
    return answer(
        await add_holidays(c.store, c.principal, c.tenant_id, found, "ical", c.request_id)
    )
