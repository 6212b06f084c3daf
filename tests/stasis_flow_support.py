"""A small driver for the call flow's tests: a demo-like tenant, a caller's script, a transcript.

A script is a list of caller-side happenings (`press("102#")`, `FINISH`, `TIMEOUT`,
`answered(0)`, `found(...)`, `HANGUP`...). The driver turns each into the event the executor
would build, naming the playback, timer, leg, look-up or recording the flow itself created,
and records every command as one readable transcript line ("play invalid + greeting",
"dial PJSIP/phone-101 for 20s", "hang up").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from uuid import UUID

from rcp.callflow.commands import (
    Answer,
    Bridge,
    CancelTimer,
    CheckPin,
    Command,
    DestroyBridge,
    Dial,
    DiscardRecording,
    HangUp,
    HangUpLeg,
    JoinConference,
    LeaveConference,
    LookUpNames,
    Play,
    PublishTrace,
    Record,
    Ring,
    SaveVoicemail,
    StartTimer,
    StopPlayback,
    StopRecording,
    StopRinging,
)
from rcp.callflow.config import (
    ConferenceRoom,
    DialByName,
    Extension,
    FlowOptions,
    KeyAction,
    PlayAnnouncement,
    ReceptionistSettings,
    RingGroup,
    TenantConfig,
    Transfer,
)
from rcp.callflow.events import (
    CallContext,
    CallStarted,
    ConfigReloaded,
    DialResult,
    DialStatus,
    Digit,
    Event,
    Hangup,
    LegBridged,
    LookupFailed,
    LookupResult,
    NameMatch,
    PinChecked,
    PinResult,
    PlaybackFinished,
    RecordingFailed,
    RecordingFinished,
    Resumed,
    Shutdown,
    TimerFired,
)
from rcp.callflow.flow import Call, step
from rcp.callflow.prompts import Prompt, SystemPrompt, TenantPrompt, Tone
from rcp.pins import hash_pin, verify_pin
from rcp.vocabulary import (
    ExtensionKind,
    NoAnswerAction,
    RingStrategy,
    TargetKind,
)

# How the transcript shows a leg that rings alone, inside the caller's bridge.
IN_BRIDGE = ", ringing in the caller's bridge"
TENANT = UUID("0b6f3c1e-8f4a-4d5e-9a3b-1c2d3e4f5a6b")
GREETING = UUID("00000000-0000-4000-8000-000000000001")
HOURS = UUID("00000000-0000-4000-8000-000000000002")
AMELIE_NAME = UUID("00000000-0000-4000-8000-000000000003")
ZOE_VOICEMAIL_GREETING = UUID("00000000-0000-4000-8000-000000000004")

PROMPT_LABELS = {
    GREETING: "greeting",
    HOURS: "hours",
    AMELIE_NAME: "<recorded name of 101>",
    ZOE_VOICEMAIL_GREETING: "<voicemail greeting of 901>",
}


def phone(number: str, first: str, last: str, **extra: object) -> Extension:
    return Extension(
        number,
        ExtensionKind.PHYSICAL,
        first,
        last,
        endpoint=f"PJSIP/phone-{number}",
        **extra,  # type: ignore[arg-type]
    )


EXTENSIONS = (
    phone("101", "Amélie", "Poulain", name_prompt_id=AMELIE_NAME),
    phone("102", "Jean-Pierre", "Lefèvre"),
    phone("103", "Seán", "O'Brien", voicemail_enabled=False),
    Extension("104", ExtensionKind.VIRTUAL, "Françoise", "Le Gall", external_number="+33199000104"),
    phone("150", "Hector", "Secret", reachable_by_extension=False, reachable_by_name=False),
    phone("901", "Zoé", "Durand", voicemail_greeting_prompt_id=ZOE_VOICEMAIL_GREETING),
)
RING_GROUPS = (
    RingGroup("200", "Accueil", ("101", "102")),
    RingGroup(
        "201",
        "Support",
        ("101", "102", "103"),
        RingStrategy.SEQUENTIAL,
        ring_seconds=15,
        no_answer_action=NoAnswerAction.VOICEMAIL,
        no_answer_extension="102",
    ),
    RingGroup("202", "Ventes", ("102",), no_answer_action=NoAnswerAction.HANGUP),
    RingGroup(
        "203",
        "Compta",
        ("103",),
        no_answer_action=NoAnswerAction.EXTENSION,
        no_answer_extension="102",
    ),
    RingGroup("204", "Vide", ()),
)
ROOM_PIN = "4321"
ROOMS = (
    ConferenceRoom("300", "Salle Monet"),
    ConferenceRoom("301", "Salle Renoir", pin_hash=hash_pin(ROOM_PIN)),
)
KEYS: dict[str, KeyAction] = {
    "0": Transfer(TargetKind.EXTENSION, "101"),
    "1": DialByName(),
    "2": PlayAnnouncement(HOURS),
    "3": Transfer(TargetKind.RING_GROUP, "200"),
    "4": Transfer(TargetKind.CONFERENCE, "301"),
    "5": Transfer(TargetKind.VOICEMAIL, "101"),
    "6": Transfer(TargetKind.VIRTUAL_EXTENSION, "104"),
    "7": Transfer(TargetKind.RING_GROUP, "201"),
    "9": Transfer(TargetKind.EXTENSION, "103"),
}

BASE = TenantConfig.build(
    TENANT,
    "Démo SARL",
    ReceptionistSettings(greeting_prompt_id=GREETING),
    KEYS,
    EXTENSIONS,
    RING_GROUPS,
    ROOMS,
)
"""Keys only (dial-extension off); 8 is the one unassigned key."""


def configured(
    config: TenantConfig = BASE,
    keys: dict[str, KeyAction | None] | None = None,
    **settings: object,
) -> TenantConfig:
    """`config` with some keys replaced (None removes one) and some receptionist settings."""
    new_keys = dict(config.keys)
    for digit, action in (keys or {}).items():
        if action is None:
            new_keys.pop(digit, None)
        else:
            new_keys[digit] = action
    return replace(
        config,
        keys=new_keys,
        receptionist=replace(config.receptionist, **settings),  # type: ignore[arg-type]
    )


DIALPLAN = configured(keys={"9": None}, dial_extension_enabled=True)
"""Dial-extension on; 9 is no key there, so that it only begins extension 901."""

AMELIE = NameMatch("101", "Amélie Poulain", AMELIE_NAME)
JEAN_PIERRE = NameMatch("102", "Jean-Pierre Lefèvre")
SEAN = NameMatch("103", "Seán O'Brien")
HECTOR = NameMatch("150", "Hector Secret")

# --- the caller's script --------------------------------------------------------------------


@dataclass(frozen=True)
class Finish:
    """The playback now playing comes to its end."""


@dataclass(frozen=True)
class Timeout:
    """The timer now running fires."""


@dataclass(frozen=True)
class StaleTimer:
    """The call's first timer fires again, long after it was replaced."""


@dataclass(frozen=True)
class StalePlayback:
    """The call's first playback reports its end, long after it was replaced."""


@dataclass(frozen=True)
class Leg:
    """Something happens to the n-th leg the call dialled (0 is the first)."""

    index: int
    status: DialStatus | None  # None: the leg hangs up


@dataclass(frozen=True)
class BridgeMade:
    """The n-th leg the call dialled is in the caller's bridge now (its Bridge was made)."""

    index: int


@dataclass(frozen=True)
class Found:
    """The directory answers the last look-up."""

    matches: tuple[NameMatch, ...]
    total: int
    next_page: int | None = None


@dataclass(frozen=True)
class LookupFails:
    """The directory does not answer the last look-up."""


@dataclass(frozen=True)
class Recorded:
    """The last recording stops after `seconds` (or fails when None)."""

    seconds: float | None


@dataclass(frozen=True)
class NewConfig:
    """An administrator changes the tenant's configuration."""

    config: TenantConfig


Happening = (
    Finish
    | Timeout
    | StaleTimer
    | StalePlayback
    | Leg
    | BridgeMade
    | Found
    | LookupFails
    | Recorded
    | NewConfig
    | Digit
    | Hangup
    | Resumed
    | Shutdown
)
FINISH = Finish()
TIMEOUT = Timeout()
STALE_TIMER = StaleTimer()
STALE_PLAYBACK = StalePlayback()
HANGUP = Hangup()
LOOKUP_FAILS = LookupFails()
RESUMED = Resumed()
SHUTDOWN = Shutdown()


def press(keys: str) -> tuple[Digit, ...]:
    return tuple(Digit(key) for key in keys)


def answered(index: int) -> Leg:
    return Leg(index, DialStatus.ANSWERED)


def busy(index: int) -> Leg:
    return Leg(index, DialStatus.BUSY)


def no_answer(index: int) -> Leg:
    return Leg(index, DialStatus.NO_ANSWER)


def unreachable(index: int) -> Leg:
    return Leg(index, DialStatus.FAILED)


def leg_hangs_up(index: int) -> Leg:
    return Leg(index, None)


def bridged(index: int) -> BridgeMade:
    return BridgeMade(index)


def found(*matches: NameMatch, total: int | None = None, next_page: int | None = None) -> Found:
    return Found(matches, len(matches) if total is None else total, next_page)


def recorded(seconds: float) -> Recorded:
    return Recorded(seconds)


RECORDING_FAILS = Recorded(None)

Script = Sequence[Happening | tuple[Digit, ...]]


def _flatten(script: Script) -> Iterable[Happening]:
    for item in script:
        if isinstance(item, tuple):
            yield from item
        else:
            yield item


# --- running a script -----------------------------------------------------------------------


@dataclass
class Run:
    """A call driven through a script: its state, every command and the transcript."""

    call: Call
    commands: list[Command] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    # As the executor would: a PIN to check is checked at once, against its hash; a room
    # listed here is locked (every PIN refused unchecked). None: the script answers itself.
    locked_rooms: frozenset[str] | None = frozenset()

    @property
    def traces(self) -> list[PublishTrace]:
        return [c for c in self.commands if isinstance(c, PublishTrace)]

    def feed(self, event: Event) -> tuple[Command, ...]:
        self.events.append(event)
        self.call, commands = step(self.call, event)
        self.commands.extend(commands)
        self.transcript.extend(
            line for line in (describe(c, self.commands) for c in commands) if line
        )
        if self.locked_rooms is not None:
            for check in [c for c in commands if isinstance(c, CheckPin)]:
                commands += self.feed(PinChecked(check.request_id, self.pin_result(check)))
        return commands

    def pin_result(self, check: CheckPin) -> PinResult:
        """What the executor answers a CheckPin."""
        if self.locked_rooms and check.room_number in self.locked_rooms:
            return PinResult.LOCKED
        correct = verify_pin(check.digits, check.pin_hash)
        return PinResult.CORRECT if correct else PinResult.WRONG

    def _of(self, kind: type[Command]) -> list[Command]:
        return [c for c in self.commands if isinstance(c, kind)]

    def event_for(self, happening: Happening) -> Event:  # noqa: PLR0911 - one per kind
        held = self.call.held
        match happening:
            case Finish():
                assert held.playback is not None, "nothing is playing"
                return PlaybackFinished(held.playback)
            case Timeout():
                assert held.timer is not None, "no timer runs"
                return TimerFired(held.timer)
            case StaleTimer():
                first = self._of(StartTimer)[0]
                assert isinstance(first, StartTimer)
                assert first.generation != held.timer
                return TimerFired(first.generation)
            case StalePlayback():
                first_play = self._of(Play)[0]
                assert isinstance(first_play, Play)
                assert first_play.playback_id != held.playback
                return PlaybackFinished(first_play.playback_id)
            case Leg(index=index, status=status):
                dial = self._of(Dial)[index]
                assert isinstance(dial, Dial)
                return Hangup(dial.leg_id) if status is None else DialResult(dial.leg_id, status)
            case BridgeMade(index=index):
                dial = self._of(Dial)[index]
                assert isinstance(dial, Dial)
                return LegBridged(dial.leg_id)
            case Found(matches=matches, total=total, next_page=next_page):
                return LookupResult(self._last_lookup(), matches, total, next_page)
            case LookupFails():
                return LookupFailed(self._last_lookup(), "timeout")
            case Recorded(seconds=seconds):
                record = self._of(Record)[-1]
                assert isinstance(record, Record)
                if seconds is None:
                    return RecordingFailed(record.recording, "HTTP 500")
                return RecordingFinished(record.recording, seconds)
            case NewConfig(config=config):
                return ConfigReloaded(config)
            case _:
                return happening

    def _last_lookup(self) -> str:
        lookup = self._of(LookUpNames)[-1]
        assert isinstance(lookup, LookUpNames)
        return lookup.request_id


def start(
    config: TenantConfig = BASE,
    options: FlowOptions | None = None,
    caller: str = "+33612345678",
    locked_rooms: frozenset[str] | None = frozenset(),
) -> Run:
    run = Run(Call(), locked_rooms=locked_rooms)
    context = CallContext("call-1", "+33199000001", caller, config, options or FlowOptions())
    run.feed(CallStarted(context))
    return run


def play_through(
    script: Script,
    config: TenantConfig = BASE,
    options: FlowOptions | None = None,
    locked_rooms: frozenset[str] = frozenset(),
) -> Run:
    run = start(config, options, locked_rooms=locked_rooms)
    for happening in _flatten(script):
        run.feed(run.event_for(happening))
    return run


def label(prompt: Prompt) -> str:
    """A prompt as the transcript shows it: greeting, invalid, for_name_press(Jean,2)..."""
    match prompt:
        case TenantPrompt(prompt_id=prompt_id):
            return PROMPT_LABELS.get(prompt_id, str(prompt_id))
        case SystemPrompt(key=key, name=name, digit=digit):
            args = [label(name) if isinstance(name, TenantPrompt) else name, digit]
            shown = [arg for arg in args if arg is not None]
            return f"{key}({','.join(shown)})" if shown else str(key)
        case Tone.RINGBACK:
            return "ringback"
        case _:
            return repr(prompt)


def describe(command: Command, so_far: Sequence[Command]) -> str | None:  # noqa: PLR0911, PLR0912
    """One transcript line per command (traces are kept apart)."""

    def endpoint(leg: str) -> str:
        return next(c.endpoint for c in so_far if isinstance(c, Dial) and c.leg_id == leg)

    match command:
        case Answer():
            return "answer"
        case Play(prompts=prompts):
            return "play " + " + ".join(label(p) for p in prompts)
        case StopPlayback():
            return "stop playback"
        case StartTimer(seconds=seconds, purpose=purpose):
            return f"wait {seconds:g}s for {purpose}"
        case CancelTimer():
            return "cancel timer"
        case LookUpNames(digits=digits, page=page):
            return f"look up {digits} page {page}"
        case CheckPin(room_number=room):
            return f"check the PIN of {room}"
        case Dial(endpoint=target, timeout_s=timeout, bridge_id=None):
            return f"dial {target} for {timeout}s"
        case Dial(endpoint=target, timeout_s=timeout):
            return f"dial {target} for {timeout}s{IN_BRIDGE}"
        case Ring():
            return "ring the caller's line"
        case StopRinging():
            return "stop ringing"
        case HangUpLeg(leg_id=leg):
            return f"hang up {endpoint(leg)}"
        case Bridge(leg_id=leg):
            return f"bridge with {endpoint(leg)}"
        case DestroyBridge():
            return "destroy bridge"
        case JoinConference(room_number=room):
            return f"join conference {room}"
        case LeaveConference():
            return "leave conference"
        case Record(max_duration_s=most, max_silence_s=silence, beep=beep, terminate_on=end):
            return (
                f"record ({'beep, ' if beep else ''}max {most}s, silence {silence}s, stop on {end})"
            )
        case StopRecording():
            return "stop recording"
        case SaveVoicemail(extension_number=number):
            return f"save voicemail for {number}"
        case DiscardRecording():
            return "discard recording"
        case HangUp():
            return "hang up"
        case _:
            return None
