"""What the call flow asks for: each command is a plain value the executor turns into ARI or NATS.

Ids in commands (playbacks, legs, bridges, recordings, look-ups) are made by the flow, unique
within the call and prefixed by its id, so that the executor can use them as ARI ids and the
events that come back can name them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from rcp.callflow.prompts import Prompt

TraceValue = str | int | float | bool | None


class TraceKind(StrEnum):
    """The steps of a call's decision trace (the kind of each published call event)."""

    STARTED = "started"
    ANSWERED = "answered"
    SCHEDULE = "schedule"
    MENU = "menu"
    KEY = "key"
    EXTENSION = "extension"
    LOOKUP = "lookup"
    LOOKUP_RESULT = "lookup_result"
    CHOICE = "choice"
    ANNOUNCEMENT = "announcement"
    TRANSFER = "transfer"
    TRANSFER_RESULT = "transfer_result"
    BRIDGED = "bridged"
    PIN = "pin"
    CONFERENCE = "conference"
    VOICEMAIL = "voicemail"
    RECORDING = "recording"
    LIMIT = "limit"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer the caller's channel."""


@dataclass(frozen=True, slots=True)
class Play:
    """Play prompts one after the other to the caller, as one playback."""

    playback_id: str
    prompts: tuple[Prompt, ...]


@dataclass(frozen=True, slots=True)
class StopPlayback:
    """Stop a playback (it may have just finished: that is not an error)."""

    playback_id: str


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Fire `TimerFired(generation)` after `seconds`; `purpose` is for people reading traces."""

    generation: int
    seconds: float
    purpose: str


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Forget a timer (a late firing would be ignored anyway)."""

    generation: int


@dataclass(frozen=True, slots=True)
class LookUpNames:
    """Ask the directory for the extensions whose name matches keypad digits."""

    request_id: str
    digits: str
    page: int


@dataclass(frozen=True, slots=True)
class CheckPin:
    """Check the digits a caller typed against a conference room's PIN hash, unless the room
    is locked after too many failures; report a PinChecked. The digits go nowhere else (no
    trace, no log)."""

    request_id: str
    room_number: str
    digits: str = field(repr=False)
    pin_hash: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Dial:
    """Create a leg to `endpoint` and ring it for at most `timeout_s`; report a DialResult.

    An `outside` leg goes through the carrier's trunk: the tenant's and the node's outbound
    caps apply to it (the executor refuses it with DialStatus.REFUSED past them)."""

    leg_id: str
    endpoint: str
    timeout_s: int
    caller_id: str | None = None
    outside: bool = False


@dataclass(frozen=True, slots=True)
class HangUpLeg:
    """Hang up a leg, ringing (cancels the dial) or connected."""

    leg_id: str


@dataclass(frozen=True, slots=True)
class Bridge:
    """Connect the caller and an answered leg in a mixing bridge of the call's own."""

    bridge_id: str
    leg_id: str


@dataclass(frozen=True, slots=True)
class DestroyBridge:
    """Destroy the call's bridge."""

    bridge_id: str


@dataclass(frozen=True, slots=True)
class JoinConference:
    """Put the caller into a conference room's mixing bridge (shared by the room's callers)."""

    conference_id: str
    room_number: str


@dataclass(frozen=True, slots=True)
class LeaveConference:
    """Take the caller out of the room's bridge (destroyed when its last caller left)."""

    conference_id: str


@dataclass(frozen=True, slots=True)
class Record:
    """Record the caller after a beep until # , silence or the length limit."""

    recording: str
    max_duration_s: int
    max_silence_s: int
    beep: bool = True
    terminate_on: str = "#"
    voicemail_for: str | None = None  # the extension whose voicemail this is


@dataclass(frozen=True, slots=True)
class StopRecording:
    """Stop a recording and keep what was recorded."""

    recording: str


@dataclass(frozen=True, slots=True)
class DiscardRecording:
    """Delete a recording that is no message (too short): nothing is left in Asterisk."""

    recording: str


@dataclass(frozen=True, slots=True)
class SaveVoicemail:
    """Store a recording through the media service as a voicemail message, and announce it."""

    recording: str
    extension_number: str
    caller_number: str | None


@dataclass(frozen=True, slots=True)
class PublishTrace:
    """Publish one step of the call's decision trace."""

    kind: TraceKind
    data: Mapping[str, TraceValue]


@dataclass(frozen=True, slots=True)
class HangUp:
    """Hang up the caller."""


Command = (
    Answer
    | Play
    | StopPlayback
    | StartTimer
    | CancelTimer
    | LookUpNames
    | CheckPin
    | Dial
    | HangUpLeg
    | Bridge
    | DestroyBridge
    | JoinConference
    | LeaveConference
    | Record
    | StopRecording
    | SaveVoicemail
    | DiscardRecording
    | PublishTrace
    | HangUp
)
