"""Opening hours, holidays and the override decide the state at an instant, in the tenant's
time zone, right across daylight-saving changes (pure, no clock)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from rcp.schedule import (
    Decision,
    Holiday,
    Override,
    Schedule,
    ScheduleState,
    TimeRange,
    decide,
    minutes,
)
from rcp.vocabulary import OverrideMode

MORNING, AFTERNOON = TimeRange.parse("09:00", "12:30"), TimeRange.parse("14:00", "18:00")
OFFICE = Schedule(
    timezone="Europe/Paris",
    weekly=dict.fromkeys(range(5), (MORNING, AFTERNOON)),
    holidays=(
        Holiday("Noël", date(2000, 12, 25), date(2000, 12, 25), yearly=True),
        Holiday("Fermeture annuelle", date(2027, 8, 2), date(2027, 8, 20)),
        Holiday("Fêtes", date(2000, 12, 30), date(2001, 1, 2), yearly=True),
    ),
    menus={ScheduleState.CLOSED: "closed-menu", ScheduleState.HOLIDAY: "holiday-menu"},
)


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("instant", "state", "reason"),
    [
        # Monday 2027-03-22, winter time (UTC+1).
        (utc(2027, 3, 22, 7, 59), ScheduleState.CLOSED, "closed: mon 08:59 outside hours"),
        (utc(2027, 3, 22, 8, 0), ScheduleState.OPEN, "open: mon 09:00-12:30"),
        (utc(2027, 3, 22, 11, 29), ScheduleState.OPEN, "open: mon 09:00-12:30"),
        (utc(2027, 3, 22, 11, 30), ScheduleState.CLOSED, "closed: mon 12:30 outside hours"),
        (utc(2027, 3, 22, 13, 0), ScheduleState.OPEN, "open: mon 14:00-18:00"),
        (utc(2027, 3, 22, 17, 0), ScheduleState.CLOSED, "closed: mon 18:00 outside hours"),
        # Saturday: no hours.
        (utc(2027, 3, 27, 10, 0), ScheduleState.CLOSED, "closed: sat 11:00 outside hours"),
    ],
)
def test_the_weekly_hours_decide_in_the_tenants_zone(
    instant: datetime, state: ScheduleState, reason: str
) -> None:
    decision = decide(OFFICE, instant)
    assert (decision.state, decision.reason) == (state, reason)


def test_after_the_march_change_the_same_wall_clock_hours_open_an_hour_earlier_in_utc() -> None:
    # Paris went to summer time (UTC+2) on Sunday 2027-03-28 at 02:00 local.
    assert decide(OFFICE, utc(2027, 3, 26, 7, 30)).state is ScheduleState.CLOSED  # 08:30 local
    assert decide(OFFICE, utc(2027, 3, 26, 8, 0)).state is ScheduleState.OPEN  # 09:00 local
    assert decide(OFFICE, utc(2027, 3, 29, 7, 0)).state is ScheduleState.OPEN  # 09:00 local
    assert decide(OFFICE, utc(2027, 3, 29, 6, 59)).state is ScheduleState.CLOSED  # 08:59
    assert decide(OFFICE, utc(2027, 3, 29, 15, 59)).state is ScheduleState.OPEN  # 17:59
    assert decide(OFFICE, utc(2027, 3, 29, 16, 0)).state is ScheduleState.CLOSED  # 18:00


def test_after_the_october_change_the_same_wall_clock_hours_open_an_hour_later_in_utc() -> None:
    # Paris went back to winter time (UTC+1) on Sunday 2027-10-31 at 03:00 local.
    assert decide(OFFICE, utc(2027, 10, 29, 7, 0)).state is ScheduleState.OPEN  # 09:00 local
    assert decide(OFFICE, utc(2027, 11, 1, 7, 0)).state is ScheduleState.CLOSED  # 08:00 local
    assert decide(OFFICE, utc(2027, 11, 1, 8, 0)).state is ScheduleState.OPEN  # 09:00 local
    assert decide(OFFICE, utc(2027, 11, 1, 16, 59)).state is ScheduleState.OPEN  # 17:59
    assert decide(OFFICE, utc(2027, 11, 1, 17, 0)).state is ScheduleState.CLOSED  # 18:00


def test_the_repeated_hour_of_october_is_read_as_its_wall_clock_time_both_times() -> None:
    night = Schedule(weekly={6: (TimeRange.parse("02:00", "03:00"),)})
    first = utc(2027, 10, 31, 0, 30)  # 02:30 summer time
    second = first + timedelta(hours=1)  # 02:30 winter time
    assert decide(night, first).reason == decide(night, second).reason == "open: sun 02:00-03:00"
    assert decide(night, second + timedelta(hours=1)).state is ScheduleState.CLOSED


def test_the_skipped_hour_of_march_never_happens_on_the_wall_clock() -> None:
    night = Schedule(weekly={6: (TimeRange.parse("02:00", "03:00"),)})
    before, after = utc(2027, 3, 28, 0, 59), utc(2027, 3, 28, 1, 0)  # 01:59 CET, 03:00 CEST
    assert decide(night, before).state is ScheduleState.CLOSED
    assert decide(night, after).state is ScheduleState.CLOSED


def test_another_zone_changes_on_its_own_dates() -> None:
    # New York went to summer time on 2027-03-14; Paris not before 2027-03-28.
    new_york = Schedule(
        timezone="America/New_York", weekly={0: (TimeRange.parse("09:00", "17:00"),)}
    )
    assert decide(new_york, utc(2027, 3, 15, 13, 0)).state is ScheduleState.OPEN  # 09:00 EDT
    assert decide(new_york, utc(2027, 3, 8, 13, 0)).state is ScheduleState.CLOSED  # 08:00 EST


def test_a_holiday_wins_over_the_hours_and_names_itself_and_its_menu() -> None:
    christmas = utc(2028, 12, 25, 10, 0)  # a Monday, 11:00 in Paris
    assert decide(OFFICE, christmas) == Decision(
        ScheduleState.HOLIDAY, "holiday: Noël", "holiday-menu"
    )
    assert decide(OFFICE, utc(2027, 8, 10, 10, 0)).reason == "holiday: Fermeture annuelle"
    assert decide(OFFICE, utc(2028, 8, 10, 10, 0)).state is ScheduleState.OPEN  # one-off


def test_a_yearly_holiday_across_the_new_year_covers_both_ends() -> None:
    for day in (date(2030, 12, 30), date(2030, 12, 31), date(2031, 1, 1), date(2031, 1, 2)):
        instant = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
        assert decide(OFFICE, instant).reason == "holiday: Fêtes", day
    assert decide(OFFICE, utc(2031, 1, 3, 10, 0)).state is ScheduleState.OPEN


def test_the_holiday_date_is_the_local_date_not_the_utc_one() -> None:
    # 23:30 UTC on Christmas Eve is already Christmas in Paris.
    assert decide(OFFICE, utc(2027, 12, 24, 23, 30)).state is ScheduleState.HOLIDAY
    assert decide(OFFICE, utc(2027, 12, 25, 23, 30)).state is not ScheduleState.HOLIDAY


def test_the_override_wins_over_everything_until_its_end() -> None:
    until = utc(2027, 3, 22, 15, 0)
    closed = Schedule(
        weekly=OFFICE.weekly,
        holidays=OFFICE.holidays,
        override=Override(OverrideMode.CLOSED, until),
        menus={ScheduleState.CLOSED: "closed-menu"},
    )
    decision = decide(closed, utc(2027, 3, 22, 9, 0))
    assert decision == Decision(
        ScheduleState.OVERRIDE_CLOSED, "override: closed until 2027-03-22 16:00", "closed-menu"
    )
    assert decide(closed, until).state is ScheduleState.OPEN  # 16:00 local: the hours again
    opened = Schedule(weekly=OFFICE.weekly, override=Override(OverrideMode.OPEN))
    sunday = decide(opened, utc(2027, 3, 28, 20, 0))
    assert (sunday.state, sunday.reason) == (
        ScheduleState.OPEN,
        "override: open until switched back",
    )


def test_no_hours_at_all_means_open_around_the_clock_with_the_first_menu() -> None:
    assert decide(Schedule(), utc(2027, 3, 28, 3, 0)) == Decision(
        ScheduleState.OPEN, "open: no opening hours set", None
    )


def test_times_and_ranges_refuse_what_is_no_time_of_the_day() -> None:
    assert minutes("24:00") == 1440
    for bad in ("9h", "25:00", "09:60", "9:5", ""):
        with pytest.raises(ValueError, match="time"):
            minutes(bad)
    with pytest.raises(ValueError, match="start before end"):
        TimeRange.parse("18:00", "09:00")
    with pytest.raises(ValueError, match="aware"):
        decide(OFFICE, datetime(2027, 3, 22, 10, 0))  # noqa: DTZ001 - the point of the test


def test_each_reason_is_said_in_french_too() -> None:
    opened = decide(OFFICE, utc(2027, 3, 22, 8, 0))
    assert (opened.reason, opened.reason_fr) == (
        "open: mon 09:00-12:30",
        "ouvert : lundi 09:00-12:30",
    )
    closed = decide(OFFICE, utc(2027, 3, 22, 11, 30))
    assert closed.reason_fr == "fermé : lundi 12:30, en dehors des heures d’ouverture"
    assert decide(OFFICE, utc(2027, 12, 25, 10, 0)).reason_fr == "jour férié : Noël"
