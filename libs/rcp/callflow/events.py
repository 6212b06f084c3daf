"""What the call flow is told: each event is a plain value the executor builds from ARI and NATS.

Events about something the flow started (a playback, a timer, a look-up, a leg, a recording)
name it by the id the flow gave it, so that a late event about something already stopped or
replaced is recognised as stale and ignored.
"""

from __future__ import annotations

from dataclasses import field
from enum import StrEnum
from uuid import UUID

from rcp.callflow.config import FlowOptions, TenantConfig
from rcp.schedule import Decision
from rcp.values import Value


class CallContext(Value):
    """Who called whom, and the configuration the call runs on."""

    call_id: str
    called_number: str
    caller_number: str | None
    config: TenantConfig
    options: FlowOptions = field(default_factory=FlowOptions)
    # Begins the ids of what the call makes (playbacks, legs...); the call id when empty. A call
    # picked up again after a restart gets another, so its new ids never meet its old ones.
    id_prefix: str = ""
    # Taken over from a dead process while the caller was leaving a message, which has been
    # saved since: the caller is thanked and the call ends, rather than the menu again.
    message_saved: bool = False
    # The schedule's state when the call started (decided by the executor from the clock):
    # the menu it names is the call's first. None: the first menu.
    schedule: Decision | None = None


class CallStarted(Value):
    """A call entered the receptionist: the flow answers it."""

    context: CallContext


class Digit(Value):
    """The caller pressed a key (0-9, * or #; others are ignored)."""

    digit: str


class PlaybackFinished(Value):
    """A playback ended by itself, or failed (either way nothing plays any more)."""

    playback_id: str


class TimerFired(Value):
    """A timer the flow started ran out; `generation` tells it from earlier timers."""

    generation: int


class NameMatch(Value):
    """One extension the directory found for the digits typed."""

    number: str
    name: str
    name_prompt_id: UUID | None = None


class LookupResult(Value):
    """The directory's answer: one page of matches, how many in all, the next page if any."""

    request_id: str
    matches: tuple[NameMatch, ...]
    total: int
    next_page: int | None = None


class LookupFailed(Value):
    """The directory did not answer, or answered with an error."""

    request_id: str
    reason: str


# What checking a conference room's PIN found; LOCKED: not checked, the room has had too many
# wrong PINs lately and is locked for a while.
PinResult = StrEnum("PinResult", "CORRECT WRONG LOCKED")


class PinChecked(Value):
    """The answer to a CheckPin."""

    request_id: str
    result: PinResult


# How ringing one leg ended; REFUSED: not dialled, a call limit (the tenant's or the node's)
# refused the leg.
DialStatus = StrEnum("DialStatus", "ANSWERED BUSY NO_ANSWER FAILED REFUSED")


class DialResult(Value):
    """A leg the flow dialled answered, was busy, rang out, could not be reached, or was
    refused by a call limit (`reason` says which)."""

    leg_id: str
    status: DialStatus
    reason: str | None = None


class RecordingFinished(Value):
    """A recording stopped (# pressed, silence, length limit) and is stored."""

    recording: str
    duration_s: float


class RecordingFailed(Value):
    """A recording could not be made."""

    recording: str
    reason: str


class LegBridged(Value):
    """A leg that answered while others rang is in the caller's bridge now (its `Bridge` was
    made): they talk."""

    leg_id: str


class Hangup(Value):
    """The caller hung up (`leg_id` None), or one of the call's legs did."""

    leg_id: str | None = None


class ConfigReloaded(Value):
    """The tenant's configuration was changed and read again: later decisions use it."""

    config: TenantConfig


class Resumed(Value):
    """The ARI connection is back after a break in which this call's events may have been lost."""


class Shutdown(Value):
    """The service stops and the call outlasted the drain grace: it is ended by the service."""


Event = (
    CallStarted
    | Digit
    | PlaybackFinished
    | TimerFired
    | LookupResult
    | LookupFailed
    | PinChecked
    | DialResult
    | LegBridged
    | RecordingFinished
    | RecordingFailed
    | Hangup
    | ConfigReloaded
    | Resumed
    | Shutdown
)
