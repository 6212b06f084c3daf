"""What the call flow asks for: each command is a plain value the executor turns into ARI or NATS.

Ids in commands (playbacks, legs, bridges, recordings, look-ups) are made by the flow, unique
within the call and prefixed by its id, so that the executor can use them as ARI ids and the
events that come back can name them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from enum import StrEnum

from rcp.callflow.prompts import Prompt
from rcp.values import Value

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


class Answer(Value):
    """Answer the caller's channel."""


class Play(Value):
    """Play prompts one after the other to the caller, as one playback."""

    playback_id: str
    prompts: tuple[Prompt, ...]


class StopPlayback(Value):
    """Stop a playback (it may have just finished: that is not an error)."""

    playback_id: str


class StartTimer(Value):
    """Fire `TimerFired(generation)` after `seconds`; `purpose` is for people reading traces."""

    generation: int
    seconds: float
    purpose: str


class CancelTimer(Value):
    """Forget a timer (a late firing would be ignored anyway)."""

    generation: int


class LookUpNames(Value):
    """Ask the directory for the extensions whose name matches keypad digits."""

    request_id: str
    digits: str
    page: int


class CheckPin(Value):
    """Check the digits a caller typed against a conference room's PIN hash, unless the room
    is locked after too many failures; report a PinChecked. The digits go nowhere else (no
    trace, no log)."""

    request_id: str
    room_number: str
    digits: str = field(repr=False)
    pin_hash: str = field(repr=False)


class Dial(Value):
    """Create a leg to `endpoint` and ring it for at most `timeout_s`; report a DialResult.

    An `outside` leg goes through the carrier's trunk: the tenant's and the node's outbound
    caps apply to it (the executor refuses it with DialStatus.REFUSED past them).

    With `bridge_id`, the leg rings inside that mixing bridge, with the caller (the bridge is
    made, and the caller put in it, by the first leg that names it): the leg's answer then
    connects the two with nothing more to ask."""

    leg_id: str
    endpoint: str
    timeout_s: int
    caller_id: str | None = None
    outside: bool = False
    bridge_id: str | None = None


class Ring(Value):
    """Tell the caller's line that the callee rings: on a line that cannot signal it any more
    (an answered caller), Asterisk plays the ringback tone itself, with nothing to wait for
    (the caller's other requests are not held behind it, as they are behind a playback).
    The answer of a leg ringing in the caller's bridge stops it by itself."""


class StopRinging(Value):
    """Stop the ringing told by Ring (nobody answered)."""


class HangUpLeg(Value):
    """Hang up a leg, ringing (cancels the dial) or connected."""

    leg_id: str


class Bridge(Value):
    """Connect the caller and an answered leg in a mixing bridge of the call's own (a leg that
    rang outside one: several legs ringing at once)."""

    bridge_id: str
    leg_id: str


class DestroyBridge(Value):
    """Destroy the call's bridge."""

    bridge_id: str


class JoinConference(Value):
    """Put the caller into a conference room's mixing bridge (shared by the room's callers)."""

    conference_id: str
    room_number: str


class LeaveConference(Value):
    """Take the caller out of the room's bridge (destroyed when its last caller left)."""

    conference_id: str


class Record(Value):
    """Record the caller after a beep until # , silence or the length limit."""

    recording: str
    max_duration_s: int
    max_silence_s: int
    beep: bool = True
    terminate_on: str = "#"
    voicemail_for: str | None = None  # the extension whose voicemail this is


class StopRecording(Value):
    """Stop a recording and keep what was recorded."""

    recording: str


class DiscardRecording(Value):
    """Delete a recording that is no message (too short): nothing is left in Asterisk."""

    recording: str


class SaveVoicemail(Value):
    """Store a recording through the media service as a voicemail message, and announce it."""

    recording: str
    extension_number: str
    caller_number: str | None


class PublishTrace(Value):
    """Publish one step of the call's decision trace."""

    kind: TraceKind
    data: Mapping[str, TraceValue]


class HangUp(Value):
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
    | Ring
    | StopRinging
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
