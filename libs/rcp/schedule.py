"""Opening hours, holidays and the manual override: which state a tenant is in at an instant.

Pure and clock-free: `decide(schedule, now)` takes the instant. Weekly ranges are wall-clock
times in the tenant's time zone, so a range of 09:00-18:00 stays 09:00-18:00 on both sides of
a daylight-saving change (the instant is turned into the zone's local time, never shifted by
a fixed offset). The order of precedence is the one admins of auto attendants expect: the
manual override first, then holidays, then the weekly hours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import field
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from rcp.values import Value
from rcp.vocabulary import OverrideMode

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""The weekly schedule's days, as `datetime.weekday()` numbers them."""


# The states a tenant's receptionist can be in; each may name the menu that answers.
ScheduleState = StrEnum("ScheduleState", "OPEN CLOSED HOLIDAY OVERRIDE_CLOSED")


class TimeRange(Value):
    """Open from `start` to `end` (wall-clock minutes after midnight; `end` 1440 is midnight)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= DAY_MINUTES:
            raise ValueError(f"a range goes from 00:00 to 24:00, start before end: {self}")

    @classmethod
    def parse(cls, start: str, end: str) -> TimeRange:
        """A range from two "HH:MM" times ("24:00" ends at midnight)."""
        return cls(minutes(start), minutes(end))

    def contains(self, at: time) -> bool:
        """Whether the wall-clock time falls in the range (start included, end excluded)."""
        minute = at.hour * 60 + at.minute
        return self.start <= minute < self.end

    def __str__(self) -> str:
        return f"{clock(self.start)}-{clock(self.end)}"


_HH_MM = re.compile(r"^([0-9]{1,2}):([0-5][0-9])$")
DAY_MINUTES = 24 * 60


def minutes(text: str) -> int:
    """Minutes after midnight of an "HH:MM" time, 00:00 to 24:00."""
    found = _HH_MM.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a time of the day: write HH:MM, e.g. 09:00")
    value = int(found[1]) * 60 + int(found[2])
    if value > DAY_MINUTES:
        raise ValueError(f"{text!r} is not a time of the day (00:00 to 24:00)")
    return value


def clock(minute: int) -> str:
    """ "HH:MM" of minutes after midnight."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


class Holiday(Value):
    """Closed on these days (`end` included); `yearly`: on the same dates every year."""

    name: str
    start: date
    end: date
    yearly: bool = False

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"holiday {self.name!r} ends before it starts")

    def covers(self, day: date) -> bool:
        """Whether the holiday falls on `day`."""
        if not self.yearly:
            return self.start <= day <= self.end
        first, last = (self.start.month, self.start.day), (self.end.month, self.end.day)
        today = (day.month, day.day)
        if self.end.year > self.start.year or last < first:  # crosses the new year
            return today >= first or today <= last
        return first <= today <= last


class Override(Value):
    """The manual switch: open or closed, until an instant (None: until switched back)."""

    mode: OverrideMode
    until: datetime | None = None

    def active(self, now: datetime) -> bool:
        """Whether the override is still in force at `now`."""
        return self.until is None or now < self.until


class Schedule(Value):
    """A tenant's opening hours, holidays and override, and the menu each state answers with
    (None: the first menu)."""

    timezone: str = "Europe/Paris"
    # Weekly ranges by weekday (0 Monday); no day at all: open around the clock.
    weekly: Mapping[int, Sequence[TimeRange]] = field(default_factory=dict)
    holidays: Sequence[Holiday] = ()
    override: Override | None = None
    menus: Mapping[ScheduleState, str | None] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        """The tenant's time zone."""
        return ZoneInfo(self.timezone)


class Decision(Value):
    """The state at an instant, why ("holiday: Noël"), and the menu that answers (None: the
    first menu)."""

    state: ScheduleState
    reason: str
    menu_id: str | None = None
    reason_fr: str | None = field(default=None, compare=False)
    """The reason in French, for the web manager in French (None: as `reason`); the same
    reason said otherwise, so no part of a decision's equality."""


_DAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def decide(schedule: Schedule, now: datetime) -> Decision:
    """The state of the schedule at `now` (an aware instant)."""
    if now.tzinfo is None:
        raise ValueError("decide needs an aware instant (a datetime with its time zone)")
    local = now.astimezone(schedule.zone)
    override = schedule.override
    if override is not None and override.active(now):
        if override.until is None:
            until, until_fr = "until switched back", "jusqu’à nouvel ordre"
        else:
            at = f"{override.until.astimezone(schedule.zone):%Y-%m-%d %H:%M}"
            until, until_fr = f"until {at}", f"jusqu’au {at}"
        if override.mode is OverrideMode.CLOSED:
            return _decision(
                schedule,
                ScheduleState.OVERRIDE_CLOSED,
                f"override: closed {until}",
                f"fermeture exceptionnelle {until_fr}",
            )
        return _decision(
            schedule,
            ScheduleState.OPEN,
            f"override: open {until}",
            f"ouverture exceptionnelle {until_fr}",
        )
    today = local.date()
    for holiday in schedule.holidays:
        if holiday.covers(today):
            return _decision(
                schedule,
                ScheduleState.HOLIDAY,
                f"holiday: {holiday.name}",
                f"jour férié : {holiday.name}",
            )
    if not any(schedule.weekly.values()):
        return _decision(
            schedule,
            ScheduleState.OPEN,
            "open: no opening hours set",
            "ouvert : aucune heure d’ouverture définie",
        )
    day = local.weekday()
    wall = local.time()
    for hours in schedule.weekly.get(day, ()):
        if hours.contains(wall):
            return _decision(
                schedule,
                ScheduleState.OPEN,
                f"open: {WEEKDAYS[day]} {hours}",
                f"ouvert : {_DAYS_FR[day]} {hours}",
            )
    return _decision(
        schedule,
        ScheduleState.CLOSED,
        f"closed: {WEEKDAYS[day]} {local:%H:%M} outside hours",
        f"fermé : {_DAYS_FR[day]} {local:%H:%M}, en dehors des heures d’ouverture",
    )


def decision_in(schedule: Schedule, state: ScheduleState, reason: str) -> Decision:
    """The decision for a state chosen rather than found at an instant (the admin's menu
    simulator): the menu that state answers with, as `decide` would name it."""
    return _decision(schedule, state, reason)


def _decision(
    schedule: Schedule, state: ScheduleState, reason: str, reason_fr: str | None = None
) -> Decision:
    menu = schedule.menus.get(state)
    if menu is None and state in (ScheduleState.HOLIDAY, ScheduleState.OVERRIDE_CLOSED):
        # Without a menu of their own, a holiday and a manual closing answer as closed.
        menu = schedule.menus.get(ScheduleState.CLOSED)
    return Decision(state, reason, menu, reason_fr)
