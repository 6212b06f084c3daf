"""A tenant's receptionist configuration as one document: its settings and its menus.

The admin service writes the receptionist in tables (`receptionists`, `menus`,
`key_assignments`); this document is what those rows say, read in one go
(`rcp.db.receptionists.read_document`), and what the call flow is built from. Keys name what
they transfer to by id (an extension renumbered keeps its keys); the reader of the document
resolves ids to numbers against the tenant's extensions, ring groups and rooms.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from rcp.schedule import (
    WEEKDAYS,
    Holiday,
    Override,
    Schedule,
    ScheduleState,
    TimeRange,
)
from rcp.vocabulary import KeyAction, OverrideMode, TargetKind


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KeyDoc(_Frozen):
    """What one key does."""

    action: KeyAction
    prompt_id: UUID | None = None
    target_kind: TargetKind | None = None
    # The extension, ring group or conference room a transfer reaches.
    target_id: UUID | None = None
    # The menu an open_menu key opens.
    menu_id: UUID | None = None


class MenuDoc(_Frozen):
    """One menu: a name, its keys and, on menus but the first, its own settings (None:
    inherited from the receptionist's)."""

    id: UUID
    name: str
    first: bool = False
    language: str | None = None
    greeting_prompt_id: UUID | None = None
    dial_extension_enabled: bool | None = None
    menu_timeout_s: int | None = None
    inter_digit_timeout_s: int | None = None
    keys: dict[str, KeyDoc] = Field(default_factory=dict)


class SettingsDoc(_Frozen):
    """The receptionist's own settings: the first menu's, and the defaults of the others."""

    greeting_prompt_id: UUID | None = None
    language: str = "fr-FR"
    dial_extension_enabled: bool = False
    menu_timeout_s: int = 5
    inter_digit_timeout_s: int = 3
    menu_max_retries: int = 3
    name_max_retries: int = 3
    transfer_ring_s: int = 20
    exhausted_extension_id: UUID | None = None


class TimeRangeDoc(_Frozen):
    """Open from `start` to `end`, "HH:MM" wall-clock times ("24:00": midnight)."""

    start: str
    end: str


class HolidayDoc(_Frozen):
    """Closed from `start` to `end` included; `yearly`: on those dates every year."""

    name: str
    start: date
    end: date
    yearly: bool = False
    id: UUID | None = None


class ScheduleDoc(_Frozen):
    """Opening hours by weekday (mon..sun; none at all: always open), holidays, the manual
    override, and the menu of each state (None: the closed menu, then the first)."""

    weekly: dict[str, list[TimeRangeDoc]] = Field(default_factory=dict)
    holidays: list[HolidayDoc] = Field(default_factory=list)
    override_mode: OverrideMode | None = None
    override_until: datetime | None = None
    closed_menu_id: UUID | None = None
    holiday_menu_id: UUID | None = None
    override_menu_id: UUID | None = None

    def decided_by(self, timezone: str) -> Schedule:
        """The schedule `rcp.schedule.decide` reads, in the tenant's time zone."""
        menu = {
            ScheduleState.CLOSED: self.closed_menu_id,
            ScheduleState.HOLIDAY: self.holiday_menu_id,
            ScheduleState.OVERRIDE_CLOSED: self.override_menu_id,
        }
        override = self.override_mode
        return Schedule(
            timezone=timezone,
            weekly={
                WEEKDAYS.index(day): tuple(TimeRange.parse(r.start, r.end) for r in ranges)
                for day, ranges in self.weekly.items()
                if day in WEEKDAYS
            },
            holidays=tuple(Holiday(h.name, h.start, h.end, h.yearly) for h in self.holidays),
            override=None if override is None else Override(override, self.override_until),
            menus={state: str(menu_id) for state, menu_id in menu.items() if menu_id is not None},
        )


class ReceptionistDocument(_Frozen):
    """A tenant's whole receptionist configuration."""

    format: Literal[1] = 1
    settings: SettingsDoc = Field(default_factory=SettingsDoc)
    menus: list[MenuDoc] = Field(default_factory=list)
    schedule: ScheduleDoc = Field(default_factory=ScheduleDoc)

    @property
    def first_menu(self) -> MenuDoc | None:
        """The menu calls start in (unless the schedule names another)."""
        return next((m for m in self.menus if m.first), None)
