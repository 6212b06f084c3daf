"""The receptionist's call flow: a pure state machine, `step(call, event) -> (call, commands)`.

A `Call` is an immutable value: the phase the caller is in, the resources the call holds
(the playback, the timer, the pending look-up, legs, bridge, recording, conference), the menu
failures so far and the outcome once known. `step` never waits and never does I/O: it returns
the next value and the commands an executor must carry out; their results come back as events.

Rules every phase follows:
- at most one playback and one timer at a time: starting one stops or cancels the previous;
- an event about a playback, timer, look-up, leg or recording the call no longer holds is
  stale and ignored (so a timer that fires as a digit arrives does nothing);
- a hangup, in any phase, releases everything the call holds and ends it with an outcome;
- every step that decides something publishes it in the call's decision trace.

The menu counts failures (no input, invalid input) since the last action the caller chose:
the menu plays again after each, and the failure after `menu_max_retries` of them ends the call
(goodbye, or the tenant's exhausted target).

A key may open another menu; the call keeps the path of menus opened since the first one, and
`*` goes back one step (on the first menu it plays it again). Opening a menu already on the path
goes back to it, so the path never holds a menu twice. Prompts speak the current menu's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field, replace
from enum import Enum

from rcp.callflow import ids
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
    TraceKind,
    TraceValue,
)
from rcp.callflow.config import (
    DIALPAD_DIGITS,
    ConferenceRoom,
    DialByName,
    Extension,
    FlowOptions,
    KeyAction,
    OpenMenu,
    PlayAnnouncement,
    ReceptionistSettings,
    RingGroup,
    TenantConfig,
    Transfer,
)
from rcp.callflow.config import Menu as TenantMenu
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
from rcp.callflow.prompts import Prompt, SystemPrompt, SystemPromptKey, TenantPrompt, Tone
from rcp.endpoints import endpoint_allowed
from rcp.values import Value
from rcp.vocabulary import (
    ExtensionKind,
    NoAnswerAction,
    Outcome,
    RingStrategy,
    TargetKind,
)

KEYPAD = DIALPAD_DIGITS + "*#"
RING_GRACE_S = 5
NO_INPUT = "no_input"
INVALID = "invalid"

# --- phases ---------------------------------------------------------------------------------


class NotStarted(Value):
    """Before CallStarted."""


class Menu(Value):
    """The greeting (which is the menu) plays, or has played and the caller's choice is awaited."""

    playing: bool


class ExtensionEntry(Value):
    """Digits build an extension number; `key` is a key digit that may still act as the key."""

    digits: str
    key: str | None


class _ByName(Value):
    """What every phase of dial by name knows: the letters typed (as digits), the tries so far."""

    digits: str
    tries: int


class NameEntry(_ByName):
    """Dial by name: the caller types the first letters of a name."""


class NameLookup(_ByName):
    """Dial by name: the directory is asked for a page of matches."""

    page: int


class MatchChoice(_ByName):
    """Dial by name: several matches are read out, "for <name>, press 1" ..."""

    page: int
    matches: tuple[NameMatch, ...]
    next_page: int | None
    misses: int = 0


class Announcing(Value):
    """An announcement plays; the menu follows."""


class _ForExtension(Value):
    """What a phase about one extension knows: which one."""

    extension: Extension


class Connecting(_ForExtension):
    """The chosen name is said before the transfer starts."""


class NoAnswerPlan(Value):
    """What follows when nobody answers a transfer.

    `then` says where a dead end leads: None back to the menu, else a goodbye with that outcome.
    """

    action: NoAnswerAction
    extension: Extension | None = None
    then: Outcome | None = None


class Ringing(Value):
    """The caller hears ringback while legs ring (`legs`: leg id and extension number).

    A leg that rings alone rings inside the call's bridge, with the caller (the call holds
    that bridge from the first such leg): its answer connects them at once, whatever the
    requests that follow it; the caller's line is told that it rings (Asterisk plays the
    ringback tone on an answered line), which the answer itself stops. Legs that ring
    together ring on their own, under a ringback tone played to the caller; the first to
    answer is bridged then (`bridging`), and the others ring on until it is: should it hang
    up first, the caller has not lost them."""

    kind: str
    number: str
    legs: tuple[tuple[str, str], ...]
    waiting: tuple[Extension, ...]
    ring_s: int
    no_answer: NoAnswerPlan
    bridging: str | None = None


class Bridged(Value):
    """The caller talks with an answered leg (`outside`: an outside number, whose call has a
    maximum duration)."""

    leg_id: str
    number: str
    outside: bool = False


class _AtRoom(Value):
    """What a phase about one conference room knows: which one."""

    room: ConferenceRoom


class PinEntry(_AtRoom):
    """A conference room asks for its PIN."""

    digits: str
    tries: int


class PinChecking(_AtRoom):
    """The PIN typed is being checked (against its hash, and the room's lock)."""

    tries: int


class InConference(_AtRoom):
    """The caller is in a conference room."""


class VoicemailGreeting(_ForExtension):
    """ "Leave a message for <name>" plays; the recording follows."""


class VoicemailRecording(_ForExtension):
    """The caller's message is being recorded."""


class Ending(Value):
    """The last prompt (goodbye) plays; the caller is hung up when it ends."""


class Ended(Value):
    """Nothing is held any more; every later event is ignored."""


Phase = (
    NotStarted
    | Menu
    | ExtensionEntry
    | NameEntry
    | NameLookup
    | MatchChoice
    | Announcing
    | Connecting
    | Ringing
    | Bridged
    | PinEntry
    | PinChecking
    | InConference
    | VoicemailGreeting
    | VoicemailRecording
    | Ending
    | Ended
)

# --- the call -------------------------------------------------------------------------------


class Held(Value):
    """The resources a call holds, each released when the call ends."""

    playback: str | None = None
    timer: int | None = None
    lookup: str | None = None
    pin_check: str | None = None
    legs: frozenset[str] = frozenset()
    bridge: str | None = None
    recording: str | None = None
    conference: str | None = None

    @property
    def nothing(self) -> bool:
        """Whether the call holds nothing at all."""
        return self == Held()


class Call(Value):
    """One call's state: an immutable value that `step` replaces."""

    phase: Phase = field(default_factory=NotStarted)
    context: CallContext | None = None
    held: Held = field(default_factory=Held)
    failures: int = 0
    # The caller's last action was an announcement: hanging up then ends as "announcement"
    # (they had what they called for); any other action clears it.
    heard_announcement: bool = False
    # The menus opened since the call's first menu, by id, the current one last.
    menus: tuple[str, ...] = ()
    outcome: Outcome | None = None
    # Makes every id and timer generation of the call unique.
    counter: int = 0

    @property
    def ended(self) -> bool:
        """Whether the call is over."""
        return isinstance(self.phase, Ended)


def step(call: Call, event: Event) -> tuple[Call, tuple[Command, ...]]:
    """The call after `event`, and the commands that carry it out."""
    if isinstance(call.phase, Ended):
        return call, ()
    turn = _Turn(call)
    _dispatch(turn, event)
    return turn.call, tuple(turn.commands)


class _Turn:
    """One step in the making: the call so far and the commands emitted (local to `step`)."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.commands: list[Command] = []

    @property
    def context(self) -> CallContext:
        context = self.call.context
        if context is None:
            raise RuntimeError("the call has not started")
        return context

    @property
    def config(self) -> TenantConfig:
        return self.context.config

    @property
    def settings(self) -> ReceptionistSettings:
        return self.context.config.receptionist

    @property
    def root(self) -> TenantMenu:
        """The call's first menu: the one the schedule's state named when the call started
        (the receptionist's first menu when it named none, or one no longer there)."""
        decision = self.context.schedule
        named = self.config.menu(decision.menu_id) if decision and decision.menu_id else None
        return named or self.config.first_menu

    @property
    def path(self) -> tuple[str, ...]:
        """The menus opened since the call's first one that the configuration still has."""
        return tuple(m for m in self.call.menus if self.config.menu(m) is not None)

    @property
    def menu(self) -> TenantMenu:
        """The menu the caller is in: the last one opened that the configuration still has."""
        path = self.path
        current = self.config.menu(path[-1]) if path else None
        return current or self.root

    @property
    def options(self) -> FlowOptions:
        return self.context.options

    def emit(self, *commands: Command) -> None:
        self.commands.extend(commands)

    def go(self, phase: Phase) -> None:
        self.call = replace(self.call, phase=phase)

    def hold(self, **changes: object) -> None:
        self.call = replace(self.call, held=replace(self.call.held, **changes))  # type: ignore[arg-type]

    def next_number(self) -> int:
        self.call = replace(self.call, counter=self.call.counter + 1)
        return self.call.counter

    def new_id(self, what: str) -> str:
        prefix = ids.call_prefix(self.context.call_id, self.context.id_prefix)
        return ids.of_call(prefix, what, self.next_number())

    def say(
        self, key: SystemPromptKey, name: str | TenantPrompt | None = None, digit: str | None = None
    ) -> SystemPrompt:
        return SystemPrompt(key, self.menu.language, name=name, digit=digit)

    def play(self, *prompts: Prompt) -> None:
        self.stop_playback()
        playback = self.new_id("playback")
        self.emit(Play(playback, prompts))
        self.hold(playback=playback)

    def stop_playback(self) -> None:
        if self.call.held.playback is not None:
            self.emit(StopPlayback(self.call.held.playback))
            self.hold(playback=None)

    def start_timer(self, seconds: float, purpose: str) -> None:
        self.cancel_timer()
        generation = self.next_number()
        self.emit(StartTimer(generation, seconds, purpose))
        self.hold(timer=generation)

    def cancel_timer(self) -> None:
        if self.call.held.timer is not None:
            self.emit(CancelTimer(self.call.held.timer))
            self.hold(timer=None)

    def trace(self, step: TraceKind, /, **data: TraceValue) -> None:
        # Enum members become their plain values: the trace is JSON for people and databases.
        plain = {k: v.value if isinstance(v, Enum) else v for k, v in data.items()}
        self.emit(PublishTrace(step, plain))


# --- dispatch -------------------------------------------------------------------------------


def _dispatch(turn: _Turn, event: Event) -> None:  # noqa: PLR0912, PLR0915 - one case per event
    call = turn.call
    held = call.held
    if isinstance(call.phase, NotStarted):
        if isinstance(event, CallStarted):
            _start(turn, event.context)
        elif isinstance(event, Shutdown) or (isinstance(event, Hangup) and event.leg_id is None):
            turn.go(Ended())
        return
    match event:
        case Hangup(leg_id=None):
            _end(turn, hang_up_caller=False)
        case Shutdown():
            # A bridged call keeps its outcome (transferred, conference); any other was cut.
            _end(turn, hang_up_caller=True, by="service", unless=Outcome.FAILED)
        case Hangup(leg_id=leg) if leg in held.legs:
            _leg_gone(turn, leg)
        case ConfigReloaded(config=config):
            kept = config.keeping_receptionist_of(turn.config)
            turn.call = replace(call, context=replace(turn.context, config=kept))
        case Resumed():
            _resume(turn)
        case Digit(digit=digit) if len(digit) == 1 and digit in KEYPAD:
            _on_digit(turn, digit)
        case PlaybackFinished(playback_id=playback) if playback == held.playback:
            turn.hold(playback=None)
            _on_playback_finished(turn)
        case TimerFired(generation=generation) if generation == held.timer:
            turn.hold(timer=None)
            _on_timer(turn)
        case LookupResult(request_id=request) if request == held.lookup:
            turn.hold(lookup=None)
            if isinstance(call.phase, NameLookup):
                _on_matches(turn, call.phase, event)
        case PinChecked(request_id=request) if request == held.pin_check:
            turn.hold(pin_check=None)
            if isinstance(call.phase, PinChecking):
                _on_pin_checked(turn, call.phase, event.result)
        case LookupFailed(request_id=request) if request == held.lookup:
            turn.hold(lookup=None)
            turn.trace(TraceKind.LOOKUP_RESULT, failed=event.reason)
            _menu(turn, "lookup_failed", (turn.say(SystemPromptKey.SERVICE_UNAVAILABLE),))
        case DialResult(leg_id=leg) if leg in held.legs and isinstance(call.phase, Ringing):
            _on_dial_result(turn, call.phase, leg, event.status, event.reason)
        case LegBridged(leg_id=leg) if isinstance(call.phase, Ringing) and (
            leg == call.phase.bridging
        ):
            _connected(turn, call.phase, leg)
        case RecordingFinished(recording=recording) if recording == held.recording:
            turn.hold(recording=None)
            if isinstance(call.phase, VoicemailRecording):
                _on_recorded(turn, call.phase, recording, event.duration_s)
        case RecordingFailed(recording=recording) if recording == held.recording:
            turn.hold(recording=None)
            turn.emit(DiscardRecording(recording))
            turn.trace(TraceKind.RECORDING, saved=False, failed=event.reason)
            _goodbye(turn, Outcome.FAILED, (turn.say(SystemPromptKey.SERVICE_UNAVAILABLE),))
        case _:
            pass  # stale, repeated, or meaningless here


def _on_digit(turn: _Turn, digit: str) -> None:
    match turn.call.phase:
        case Menu() | Announcing():
            turn.stop_playback()  # DTMF does not stop an ARI playback by itself
            turn.cancel_timer()
            _menu_digit(turn, digit)
        case ExtensionEntry() as phase:
            _extension_digit(turn, phase, digit)
        case NameEntry() as phase:
            _name_digit(turn, phase, digit)
        case NameLookup() if digit == "*":
            turn.hold(lookup=None)
            _menu(turn, "back")
        case MatchChoice() as phase:
            _choice_digit(turn, phase, digit)
        case Connecting() if digit == "*":
            _menu(turn, "back")
        case PinEntry() as phase:
            _pin_digit(turn, phase, digit)
        case VoicemailGreeting(extension=extension):
            _record(turn, extension)
        case _:
            pass  # ringing, bridged, in conference, recording (# ends it in Asterisk), ending


def _on_playback_finished(turn: _Turn) -> None:
    match turn.call.phase:
        case Menu():
            turn.go(Menu(playing=False))
            turn.start_timer(turn.menu.menu_timeout_s, NO_INPUT)
        case NameEntry() | MatchChoice() | PinEntry():
            turn.start_timer(turn.menu.menu_timeout_s, NO_INPUT)
        case Announcing():
            _menu(turn, "after_announcement")
        case Connecting(extension=extension):
            _transfer_to_extension(turn, extension, then=None)
        case VoicemailGreeting(extension=extension):
            _record(turn, extension)
        case Ending():
            _end(turn, hang_up_caller=True)
        case _:
            pass  # ringback ended by itself: nothing to do


def _on_timer(turn: _Turn) -> None:
    match turn.call.phase:
        case Menu():
            _failure(turn, NO_INPUT)
        case ExtensionEntry(digits=digits, key=key):
            _complete_extension(turn, digits, key)
        case NameEntry(digits=digits, tries=tries):
            if digits:
                _look_up(turn, digits, 0, tries)
            else:
                _name_retry(turn, tries + 1, ())
        case MatchChoice() as phase:
            _choice_miss(turn, phase, invalid=False)
        case Ringing() as phase:
            _ring_timeout(turn, phase)
        case Bridged(outside=True):
            limit = turn.config.limits.max_outbound_call_s
            turn.trace(TraceKind.LIMIT, reason="max_outbound_call_s", seconds=limit)
            _end(turn, hang_up_caller=True)
        case PinEntry() as phase:
            if phase.digits:
                _check_pin(turn, phase)
            else:
                _pin_failed(turn, phase.room, phase.tries, wrong=False)
        case _:
            pass


def _resume(turn: _Turn) -> None:
    """After a break in the event stream: what waited for a lost event starts over.

    A caller choosing something hears the menu again (a lost PlaybackFinished would otherwise
    leave them in silence); a goodbye ends. Ringing has its grace timer, and a bridge, a
    conference or a recording goes on by itself.
    """
    match turn.call.phase:
        case Ringing() | Bridged() | InConference() | VoicemailRecording():
            pass
        case Ending():
            _end(turn, hang_up_caller=True)
        case _:
            turn.hold(lookup=None, pin_check=None)
            _menu(turn, "resumed")


# --- start, menu, failures, end ------------------------------------------------------------


def _start(turn: _Turn, context: CallContext) -> None:
    turn.call = replace(turn.call, context=context)
    turn.trace(
        TraceKind.STARTED,
        called_number=context.called_number,
        caller_number=context.caller_number,
        language=context.config.receptionist.language,
    )
    turn.emit(Answer())
    turn.trace(TraceKind.ANSWERED)
    if context.schedule is not None:
        decision = context.schedule
        turn.trace(
            TraceKind.SCHEDULE,
            state=decision.state,
            reason=decision.reason,
            menu=turn.root.name,
            version=turn.config.version,
        )
    if context.message_saved:  # taken over while recording a message, now saved: done
        turn.trace(TraceKind.RECORDING, saved=True, taken_over=True)
        _goodbye(turn, Outcome.VOICEMAIL, (turn.say(SystemPromptKey.MESSAGE_SAVED),))
        return
    _menu(turn, "greeting")


def _menu(turn: _Turn, reason: str, prefix: tuple[Prompt, ...] = ()) -> None:
    """Play the menu (after `prefix`) and wait for the caller's choice."""
    turn.cancel_timer()
    turn.go(Menu(playing=True))
    turn.play(*prefix, *_menu_prompts(turn))
    turn.trace(TraceKind.MENU, reason=reason, failures=turn.call.failures, menu=turn.menu.name)


def _menu_prompts(turn: _Turn) -> tuple[Prompt, ...]:
    """The menu's greeting; without one, a menu spoken from the keys themselves (welcoming
    the caller on the first menu, offering `*` back on the others)."""
    menu, config = turn.menu, turn.config
    if menu.greeting_prompt_id is not None:
        return (TenantPrompt(menu.greeting_prompt_id),)
    prompts: list[Prompt] = []
    if not turn.path:
        prompts.append(turn.say(SystemPromptKey.WELCOME, name=config.name))
    for digit in sorted(menu.keys, key=lambda d: (d == "0", d)):  # 0 last, as on a keypad
        match menu.keys[digit]:
            case DialByName():
                prompts.append(turn.say(SystemPromptKey.MENU_DIAL_BY_NAME, digit=digit))
            case PlayAnnouncement():
                prompts.append(turn.say(SystemPromptKey.MENU_ANNOUNCEMENT, digit=digit))
            case Transfer() as transfer:
                name = _target_name(config, transfer)
                prompts.append(turn.say(SystemPromptKey.FOR_NAME_PRESS, name=name, digit=digit))
            case OpenMenu(menu_id=menu_id):
                opened = config.menu(menu_id)
                if opened is not None and opened.name:
                    say = SystemPromptKey.FOR_NAME_PRESS
                    prompts.append(turn.say(say, name=opened.name, digit=digit))
    if menu.dial_extension_enabled:
        prompts.append(turn.say(SystemPromptKey.MENU_DIAL_EXTENSION))
    if turn.path:
        prompts.append(turn.say(SystemPromptKey.MENU_BACK))
    return tuple(prompts)


def _target_name(config: TenantConfig, transfer: Transfer) -> str:
    target = (
        config.ring_groups.get(transfer.number)
        if transfer.kind is TargetKind.RING_GROUP
        else config.conference_rooms.get(transfer.number)
        if transfer.kind is TargetKind.CONFERENCE
        else config.extensions.get(transfer.number)
    )
    return target.name if target is not None and target.name else transfer.number


def _failure(turn: _Turn, reason: str) -> None:
    """No input or invalid input: the menu again, or the end once the retries are spent."""
    failures = turn.call.failures + 1
    turn.call = replace(turn.call, failures=failures)
    invalid = (turn.say(SystemPromptKey.INVALID),) if reason == INVALID else ()
    if failures <= turn.settings.menu_max_retries:
        _menu(turn, reason, invalid)
        return
    outcome = Outcome.NO_INPUT if reason == NO_INPUT else Outcome.INVALID_INPUT
    turn.trace(TraceKind.MENU, reason="retries_exhausted", failures=failures)
    target = turn.settings.exhausted_extension
    extension = turn.config.extensions.get(target) if target is not None else None
    if extension is not None:
        _transfer_to_extension(turn, extension, then=outcome)
    else:
        _goodbye(turn, outcome, invalid)


def _goodbye(turn: _Turn, outcome: Outcome, prefix: tuple[Prompt, ...] = ()) -> None:
    """Say goodbye (after `prefix`), then hang up with `outcome`."""
    turn.cancel_timer()
    turn.call = replace(turn.call, outcome=outcome)
    turn.go(Ending())
    turn.play(*prefix, turn.say(SystemPromptKey.GOODBYE))


def _end(
    turn: _Turn, *, hang_up_caller: bool, by: str | None = None, unless: Outcome | None = None
) -> None:
    """Release everything the call holds, and end it (with `unless` as the outcome when the
    call has none yet, instead of how far the caller got)."""
    call, held = turn.call, turn.call.held
    turn.stop_playback()
    turn.cancel_timer()
    outcome = call.outcome
    if held.recording is not None:
        turn.emit(StopRecording(held.recording))
        if isinstance(call.phase, VoicemailRecording):  # hanging up ends a message: keep it
            turn.emit(
                SaveVoicemail(
                    held.recording, call.phase.extension.number, turn.context.caller_number
                )
            )
            turn.trace(TraceKind.RECORDING, saved=True, by_hangup=True)
            outcome = Outcome.VOICEMAIL
    turn.emit(*(HangUpLeg(leg) for leg in sorted(held.legs)))
    if held.bridge is not None:
        turn.emit(DestroyBridge(held.bridge))
    if held.conference is not None:
        turn.emit(LeaveConference(held.conference))
    if hang_up_caller:
        turn.emit(HangUp())
    if outcome is None:
        outcome = unless
    if outcome is None:
        outcome = Outcome.ANNOUNCEMENT if call.heard_announcement else Outcome.CALLER_HANGUP
    by = by or ("receptionist" if hang_up_caller else "caller")
    turn.trace(TraceKind.ENDED, outcome=outcome, by=by)
    turn.call = replace(turn.call, phase=Ended(), held=Held(), outcome=outcome)


def _leg_gone(turn: _Turn, leg: str) -> None:
    match turn.call.phase:
        case Bridged(leg_id=bridged) if bridged == leg:
            turn.hold(legs=turn.call.held.legs - {leg})
            _end(turn, hang_up_caller=True)
        case Ringing() as phase:
            _on_dial_result(turn, phase, leg, DialStatus.FAILED)
        case _:
            turn.hold(legs=turn.call.held.legs - {leg})


# --- keys and extension numbers -------------------------------------------------------------


def _back(turn: _Turn) -> None:
    """`*` in a menu: the previous menu, or the first menu again."""
    path = turn.path
    if not path:
        turn.trace(TraceKind.KEY, digit="*", action="replay")
        _menu(turn, "replay")
        return
    turn.trace(TraceKind.KEY, digit="*", action="back")
    turn.call = replace(turn.call, menus=path[:-1], failures=0)
    _menu(turn, "back")


def _open_menu(turn: _Turn, digit: str, menu_id: str) -> None:
    """Take the caller to another menu (back to it if it is already on the path)."""
    menu = turn.config.menu(menu_id)
    turn.trace(TraceKind.KEY, digit=digit, action="open_menu", menu=menu.name if menu else None)
    if menu is None:  # the key points at a menu the configuration no longer has
        _unavailable(turn, then=None)
        return
    path = turn.path
    if menu.id == turn.root.id:
        path = ()
    elif menu.id in path:
        path = path[: path.index(menu.id) + 1]
    else:
        path = (*path, menu.id)
    turn.call = replace(turn.call, menus=path)
    _menu(turn, "opened")


def _menu_digit(turn: _Turn, digit: str) -> None:
    if digit == "*":
        _back(turn)
        return
    action = turn.menu.keys.get(digit)
    if turn.menu.dial_extension_enabled and turn.config.begins_a_number(digit):
        # A key digit that also begins a number waits for the next digit before it acts.
        turn.go(ExtensionEntry(digit, key=digit if action is not None else None))
        turn.start_timer(turn.menu.inter_digit_timeout_s, "inter_digit")
        return
    if action is None:
        turn.trace(TraceKind.KEY, digit=digit, action=None)
        _failure(turn, INVALID)
        return
    _act(turn, digit, action)


def _extension_digit(turn: _Turn, phase: ExtensionEntry, digit: str) -> None:
    turn.cancel_timer()
    if digit == "*":
        _back(turn)
    elif digit == "#":
        _complete_extension(turn, phase.digits, phase.key)
    elif len(digits := phase.digits + digit) >= turn.options.max_extension_digits:
        _complete_extension(turn, digits, None)
    else:
        turn.go(ExtensionEntry(digits, key=None))
        turn.start_timer(turn.menu.inter_digit_timeout_s, "inter_digit")


def _complete_extension(turn: _Turn, digits: str, key: str | None) -> None:
    config = turn.config
    action = turn.menu.keys.get(key) if key is not None else None
    if digits == key and action is not None:
        _act(turn, digits, action)
        return
    target = config.dialable(digits)
    kind = None if target is None else type(target).__name__
    turn.trace(TraceKind.EXTENSION, number=digits, found=kind)
    if target is None:
        _failure(turn, INVALID)
        return
    turn.call = replace(turn.call, failures=0, heard_announcement=False)
    match target:
        case Extension():
            _transfer_to_extension(turn, target, then=None)
        case RingGroup():
            _ring_group(turn, target, then=None)
        case ConferenceRoom():
            _conference(turn, target)


def _act(turn: _Turn, digit: str, action: KeyAction) -> None:
    """What a key does, now."""
    turn.call = replace(turn.call, failures=0, heard_announcement=False)
    match action:
        case DialByName():
            turn.trace(TraceKind.KEY, digit=digit, action="dial_by_name")
            _name_entry(turn, tries=0)
        case PlayAnnouncement(prompt_id=prompt_id):
            turn.trace(TraceKind.KEY, digit=digit, action="play_announcement")
            turn.trace(TraceKind.ANNOUNCEMENT, prompt_id=str(prompt_id))
            turn.go(Announcing())
            turn.call = replace(turn.call, heard_announcement=True)
            turn.play(TenantPrompt(prompt_id))
        case Transfer(kind=kind, number=number):
            turn.trace(TraceKind.KEY, digit=digit, action="transfer", kind=kind, number=number)
            _transfer(turn, kind, number)
        case OpenMenu(menu_id=menu_id):
            _open_menu(turn, digit, menu_id)


# --- transfers ------------------------------------------------------------------------------


def _transfer(turn: _Turn, kind: TargetKind, number: str) -> None:
    config = turn.config
    match kind:
        case TargetKind.EXTENSION | TargetKind.VIRTUAL_EXTENSION if number in config.extensions:
            _transfer_to_extension(turn, config.extensions[number], then=None)
        case TargetKind.RING_GROUP if number in config.ring_groups:
            _ring_group(turn, config.ring_groups[number], then=None)
        case TargetKind.CONFERENCE if number in config.conference_rooms:
            _conference(turn, config.conference_rooms[number])
        case TargetKind.VOICEMAIL if number in config.extensions:
            _voicemail(turn, config.extensions[number], then=None)
        case _:  # the key points at something the configuration no longer has
            _unavailable(turn, then=None)


class Unreachable(Value):
    """An extension the call may not ring: why (a trace reason), and what the policy said."""

    reason: str
    details: Mapping[str, TraceValue] = field(default_factory=dict)


def _reach(turn: _Turn, extension: Extension) -> str | Unreachable | None:
    """How Asterisk dials an extension: its device, or its outside number via the trunk; None
    when it has neither; Unreachable when it may not be rung (an endpoint that is no device
    of the tenant's, an outside number the carrier's policy refuses)."""
    options = turn.options
    if extension.kind is ExtensionKind.PHYSICAL:
        endpoint = extension.endpoint
        if endpoint is None:
            return None
        allowed = endpoint_allowed(
            endpoint, test_phones=options.allow_test_phones, reserved=options.reserved_endpoints
        )
        return endpoint if allowed else Unreachable("endpoint_not_allowed")
    if extension.external_number is None:
        return None
    verdict = turn.config.verdict(extension)
    if verdict is not None and not verdict.allowed:
        return Unreachable("destination_not_allowed", verdict.details())
    return options.trunk_dial_template.format(number=extension.external_number)


def _transfer_to_extension(turn: _Turn, extension: Extension, then: Outcome | None) -> None:
    kind = "extension" if extension.kind is ExtensionKind.PHYSICAL else "virtual_extension"
    plan = NoAnswerPlan(NoAnswerAction.VOICEMAIL, extension, then)
    _ring(turn, kind, extension.number, (extension,), RingStrategy.SIMULTANEOUS, plan)


def _ring_group(turn: _Turn, group: RingGroup, then: Outcome | None) -> None:
    config = turn.config
    members = tuple(config.extensions[m] for m in group.members if m in config.extensions)
    fallback = (
        config.extensions.get(group.no_answer_extension) if group.no_answer_extension else None
    )
    plan = NoAnswerPlan(group.no_answer_action, fallback, then)
    _ring(turn, "ring_group", group.number, members, group.strategy, plan, group.ring_seconds)


def _ring(
    turn: _Turn,
    kind: str,
    number: str,
    members: tuple[Extension, ...],
    strategy: RingStrategy,
    plan: NoAnswerPlan,
    ring_s: int | None = None,
) -> None:
    """Ring `members` (all at once, or in turn) while the caller hears ringback; members
    that may not be rung are left out (and the trace says why); when that leaves nobody, the
    caller hears that the number cannot be reached."""
    turn.cancel_timer()
    reach = {m.number: _reach(turn, m) for m in members}
    reachable = tuple(m for m in members if isinstance(reach[m.number], str))
    turn.trace(
        TraceKind.TRANSFER,
        kind=kind,
        number=number,
        strategy=strategy,
        members=",".join(m.number for m in reachable),
    )
    refused = [(m.number, why) for m in members if isinstance(why := reach[m.number], Unreachable)]
    for member, why in refused:
        _trace_refused(turn, member, why)
    if not reachable:
        if refused:
            _not_reachable(turn, plan.then)
        else:
            _no_answer(turn, plan)
        return
    seconds = turn.settings.transfer_ring_s if ring_s is None else ring_s
    now, later = (
        (reachable, ()) if strategy is RingStrategy.SIMULTANEOUS else (reachable[:1], reachable[1:])
    )
    alone = len(now) == 1
    if alone:
        turn.stop_playback()
    else:
        turn.play(Tone.RINGBACK)
    # Each of them was just found reachable, so each is dialled.
    legs = tuple(
        (leg, member.number) for member in now if (leg := _dial(turn, member, seconds, alone))
    )
    turn.go(Ringing(kind, number, legs, later, seconds, plan))
    _start_ring_timer(turn, seconds)


def _trace_refused(turn: _Turn, number: str, why: Unreachable) -> None:
    turn.trace(
        TraceKind.TRANSFER_RESULT,
        number=number,
        result=DialStatus.REFUSED,
        reason=why.reason,
        **why.details,
    )


def _not_reachable(turn: _Turn, then: Outcome | None) -> None:
    """ "This number cannot be reached", then the menu (or a goodbye when nothing is left)."""
    turn.stop_playback()
    not_reachable = (turn.say(SystemPromptKey.NOT_REACHABLE),)
    if then is None:
        _menu(turn, "not_reachable", not_reachable)
    else:
        _goodbye(turn, then, not_reachable)


def _start_ring_timer(turn: _Turn, seconds: int) -> None:
    # Asterisk ends the dial after `seconds` itself; this timer only rescues a call whose
    # dial results were lost (events are dropped while the ARI connection is down).
    turn.start_timer(seconds + RING_GRACE_S, "ring_timeout")


def _dial(turn: _Turn, extension: Extension, seconds: int, alone: bool) -> str | None:
    """Dial one member (`alone`: the only leg ringing, inside the call's bridge, and the
    caller's line told it rings); None (and the refusal traced) if it may no longer be rung:
    the configuration may have changed since the transfer began."""
    endpoint = _reach(turn, extension)
    if not isinstance(endpoint, str):
        _trace_refused(turn, extension.number, endpoint or Unreachable("no_endpoint"))
        return None
    leg = turn.new_id(ids.LEG)
    outside = extension.kind is ExtensionKind.VIRTUAL
    bridge = None
    if alone:
        bridge = turn.call.held.bridge or turn.new_id("bridge")
        turn.hold(bridge=bridge)
    caller_id = turn.context.caller_number
    turn.emit(Dial(leg, endpoint, seconds, caller_id=caller_id, outside=outside, bridge_id=bridge))
    turn.hold(legs=turn.call.held.legs | {leg})
    if alone:
        turn.emit(Ring())
    return leg


def _on_dial_result(
    turn: _Turn, phase: Ringing, leg: str, status: DialStatus, reason: str | None = None
) -> None:
    if leg == phase.bridging:  # it answered, and went before it could be bridged
        _answerer_gone(turn, phase, leg)
        return
    number = dict(phase.legs)[leg]
    why = {"reason": reason} if reason else {}
    turn.trace(TraceKind.TRANSFER_RESULT, number=number, result=status, **why)
    if status is DialStatus.ANSWERED and phase.bridging is not None:
        # Another answered first and is being bridged: this one is too late.
        turn.emit(HangUpLeg(leg))
    elif status is DialStatus.ANSWERED and turn.call.held.bridge is None:
        # It rang with others: bridged now; they ring on until it is (`LegBridged`).
        turn.stop_playback()
        turn.cancel_timer()
        bridge = turn.new_id("bridge")
        turn.emit(Bridge(bridge, leg))
        turn.hold(bridge=bridge)
        turn.go(replace(phase, bridging=leg))
        return
    elif status is DialStatus.ANSWERED:
        # It rang in the caller's bridge: connected already, and the bridge itself tells the
        # caller's line to stop ringing as the answer crosses it.
        _connected(turn, phase, leg)
        return
    turn.hold(legs=turn.call.held.legs - {leg})
    ringing = tuple(pair for pair in phase.legs if pair[0] != leg)
    if ringing:
        turn.go(replace(phase, legs=ringing))
    else:
        _next_member(turn, phase)


def _connected(turn: _Turn, phase: Ringing, leg: str) -> None:
    """The caller talks with `leg` (in the call's bridge): the other legs stop ringing."""
    number = dict(phase.legs)[leg]
    turn.stop_playback()
    turn.cancel_timer()
    turn.emit(*(HangUpLeg(other) for other, _ in phase.legs if other != leg))
    turn.hold(legs=frozenset({leg}))
    turn.call = replace(turn.call, outcome=Outcome.TRANSFERRED)
    extension = turn.config.extensions.get(number)
    outside = extension is not None and extension.kind is ExtensionKind.VIRTUAL
    turn.go(Bridged(leg, number, outside))
    turn.trace(TraceKind.BRIDGED, number=number)
    if outside:  # the longest a caller may stay on an outside number
        turn.start_timer(turn.config.limits.max_outbound_call_s, "max_outbound_call")


def _answerer_gone(turn: _Turn, phase: Ringing, leg: str) -> None:
    """The leg being bridged hung up first (or could not be bridged): the caller leaves the
    bridge and hears ringback while the others ring on, or what follows no answer."""
    number = dict(phase.legs)[leg]
    turn.trace(TraceKind.TRANSFER_RESULT, number=number, result=DialStatus.FAILED, reason="gone")
    turn.hold(legs=turn.call.held.legs - {leg})
    bridge = turn.call.held.bridge
    if bridge is not None:
        turn.emit(DestroyBridge(bridge))
        turn.hold(bridge=None)
    ringing = tuple(pair for pair in phase.legs if pair[0] != leg)
    phase = replace(phase, legs=ringing, bridging=None)
    if ringing:
        turn.go(phase)
        turn.play(Tone.RINGBACK)
        _start_ring_timer(turn, phase.ring_s)
    else:
        _next_member(turn, phase)


def _next_member(turn: _Turn, phase: Ringing) -> None:
    """Nobody rings any more: the next member in turn, or what follows no answer."""
    waiting = list(phase.waiting)
    while waiting:
        member = waiting.pop(0)
        leg = _dial(turn, member, phase.ring_s, alone=True)
        if leg is not None:
            turn.go(replace(phase, legs=((leg, member.number),), waiting=tuple(waiting)))
            _start_ring_timer(turn, phase.ring_s)
            return
    _no_answer(turn, phase.no_answer)


def _ring_timeout(turn: _Turn, phase: Ringing) -> None:
    for leg, number in phase.legs:
        turn.emit(HangUpLeg(leg))
        turn.trace(TraceKind.TRANSFER_RESULT, number=number, result=DialStatus.NO_ANSWER)
    turn.hold(legs=turn.call.held.legs - {leg for leg, _ in phase.legs})
    _next_member(turn, replace(phase, legs=()))


def _no_answer(turn: _Turn, plan: NoAnswerPlan) -> None:
    turn.stop_playback()
    _leave_bridge(turn)
    match plan.action:
        case NoAnswerAction.HANGUP:
            _goodbye(turn, plan.then or Outcome.FAILED, (turn.say(SystemPromptKey.UNAVAILABLE),))
        case NoAnswerAction.VOICEMAIL if plan.extension is not None:
            _voicemail(turn, plan.extension, plan.then)
        case NoAnswerAction.EXTENSION if plan.extension is not None:
            _transfer_to_extension(turn, plan.extension, plan.then)
        case _:
            _unavailable(turn, plan.then)


def _leave_bridge(turn: _Turn) -> None:
    """Nobody answered a leg that rang in the call's bridge: the ringing stops and the bridge
    goes (the caller hears prompts outside it)."""
    bridge = turn.call.held.bridge
    if bridge is not None:
        turn.emit(StopRinging(), DestroyBridge(bridge))
        turn.hold(bridge=None)


def _unavailable(turn: _Turn, then: Outcome | None) -> None:
    """Nobody there: "unavailable", then the menu (or a goodbye when nothing else is left)."""
    unavailable = (turn.say(SystemPromptKey.UNAVAILABLE),)
    if then is None:
        _menu(turn, "unavailable", unavailable)
    else:
        _goodbye(turn, then, unavailable)


# --- dial by name ---------------------------------------------------------------------------


def _name_entry(turn: _Turn, tries: int, prefix: tuple[Prompt, ...] = ()) -> None:
    turn.cancel_timer()
    turn.go(NameEntry("", tries))
    turn.play(*prefix, turn.say(SystemPromptKey.ENTER_NAME))


def _name_digit(turn: _Turn, phase: NameEntry, digit: str) -> None:
    if digit == "#" and not phase.digits:
        return
    turn.stop_playback()
    turn.cancel_timer()
    if digit == "*":
        _menu(turn, "back")
    elif digit == "#":
        _look_up(turn, phase.digits, 0, phase.tries)
    elif len(digits := phase.digits + digit) >= turn.options.name_digits:
        _look_up(turn, digits, 0, phase.tries)
    else:
        turn.go(NameEntry(digits, phase.tries))
        turn.start_timer(turn.menu.inter_digit_timeout_s, "inter_digit")


def _name_retry(turn: _Turn, tries: int, prefix: tuple[Prompt, ...]) -> None:
    if tries >= turn.settings.name_max_retries:
        _menu(turn, "name_not_found", prefix)
    else:
        _name_entry(turn, tries, prefix)


def _look_up(turn: _Turn, digits: str, page: int, tries: int) -> None:
    turn.cancel_timer()
    turn.stop_playback()
    request = turn.new_id("lookup")
    turn.emit(LookUpNames(request, digits, page))
    turn.hold(lookup=request)
    turn.go(NameLookup(digits, tries, page))
    turn.trace(TraceKind.LOOKUP, digits=digits, page=page)


def _on_matches(turn: _Turn, phase: NameLookup, result: LookupResult) -> None:
    matches = result.matches[: turn.options.matches_per_page]
    turn.trace(TraceKind.LOOKUP_RESULT, total=result.total, page=phase.page, heard=len(matches))
    if not matches:
        _name_retry(turn, phase.tries + 1, (turn.say(SystemPromptKey.NO_MATCH),))
    elif len(matches) == 1 and phase.page == 0 and result.next_page is None:
        _connect(turn, matches[0])
    else:
        choice = MatchChoice(
            phase.digits, phase.tries, phase.page, matches, result.next_page, misses=0
        )
        _offer(turn, choice)


def _spoken_name(match: NameMatch) -> str | TenantPrompt:
    return TenantPrompt(match.name_prompt_id) if match.name_prompt_id else match.name


def _offer(turn: _Turn, choice: MatchChoice, prefix: tuple[Prompt, ...] = ()) -> None:
    """Read the matches out: "for <name>, press 1", ..., 9 for more, * for the menu."""
    turn.cancel_timer()
    turn.go(choice)
    offers = [
        turn.say(SystemPromptKey.FOR_NAME_PRESS, name=_spoken_name(match), digit=str(number))
        for number, match in enumerate(choice.matches, start=1)
    ]
    if choice.next_page is not None:
        offers.append(turn.say(SystemPromptKey.MORE_MATCHES))
    offers.append(turn.say(SystemPromptKey.BACK_TO_MENU))
    turn.play(*prefix, *offers)


def _choice_digit(turn: _Turn, phase: MatchChoice, digit: str) -> None:
    turn.stop_playback()
    turn.cancel_timer()
    if digit == "*":
        _menu(turn, "back")
    elif digit.isdigit() and 1 <= int(digit) <= len(phase.matches):
        match = phase.matches[int(digit) - 1]
        turn.trace(TraceKind.CHOICE, digit=digit, number=match.number)
        _connect(turn, match)
    elif digit == "9" and phase.next_page is not None:
        _look_up(turn, phase.digits, phase.next_page, phase.tries)
    else:
        _choice_miss(turn, phase, invalid=True)


def _choice_miss(turn: _Turn, phase: MatchChoice, *, invalid: bool) -> None:
    misses = phase.misses + 1
    prefix = (turn.say(SystemPromptKey.INVALID),) if invalid else ()
    if misses >= turn.settings.name_max_retries:
        _menu(turn, "no_choice", prefix)
    else:
        _offer(turn, replace(phase, misses=misses), prefix)


def _connect(turn: _Turn, match: NameMatch) -> None:
    """Say the chosen name (recorded, else spoken), then transfer."""
    extension = turn.config.extensions.get(match.number)
    if extension is None or not extension.reachable_by_name:
        _unavailable(turn, then=None)
        return
    prompt_id = extension.name_prompt_id or match.name_prompt_id
    name = TenantPrompt(prompt_id) if prompt_id else (extension.name or match.name)
    turn.go(Connecting(extension))
    turn.play(turn.say(SystemPromptKey.CONNECTING, name=name))


# --- conference rooms -----------------------------------------------------------------------


def _conference(turn: _Turn, room: ConferenceRoom) -> None:
    if room.pin_hash:
        _pin_entry(turn, room, tries=0)
    else:
        _join(turn, room)


def _pin_entry(
    turn: _Turn, room: ConferenceRoom, tries: int, prefix: tuple[Prompt, ...] = ()
) -> None:
    turn.cancel_timer()
    turn.go(PinEntry(room, "", tries))
    turn.play(*prefix, turn.say(SystemPromptKey.ENTER_PIN))


MAX_PIN_DIGITS = 12


def _pin_digit(turn: _Turn, phase: PinEntry, digit: str) -> None:
    turn.stop_playback()
    turn.cancel_timer()
    if digit == "*":
        _menu(turn, "back")
    elif digit == "#":
        _check_pin(turn, phase)
    elif len(digits := phase.digits + digit) >= MAX_PIN_DIGITS:
        _check_pin(turn, replace(phase, digits=digits))
    else:
        turn.go(replace(phase, digits=digits))
        turn.start_timer(turn.menu.inter_digit_timeout_s, "inter_digit")


def _check_pin(turn: _Turn, phase: PinEntry) -> None:
    """Have the PIN checked (hashing it takes a while, off the call flow) and wait."""
    room = phase.room
    assert room.pin_hash is not None  # noqa: S101 - PinEntry is only entered for rooms with one
    turn.cancel_timer()
    request = turn.new_id("pin")
    turn.emit(CheckPin(request, room.number, phase.digits, room.pin_hash))
    turn.hold(pin_check=request)
    turn.go(PinChecking(room, phase.tries))


def _on_pin_checked(turn: _Turn, phase: PinChecking, result: PinResult) -> None:
    correct = result is PinResult.CORRECT
    turn.trace(TraceKind.PIN, number=phase.room.number, correct=correct, result=result)
    match result:
        case PinResult.CORRECT:
            _join(turn, phase.room)
        case PinResult.LOCKED:
            _menu(turn, "room_locked", (turn.say(SystemPromptKey.ROOM_LOCKED),))
        case PinResult.WRONG:
            _pin_failed(turn, phase.room, phase.tries, wrong=True)


def _pin_failed(turn: _Turn, room: ConferenceRoom, tries: int, *, wrong: bool) -> None:
    tries += 1
    prefix = (turn.say(SystemPromptKey.WRONG_PIN),) if wrong else ()
    if tries >= turn.options.pin_max_tries:
        _goodbye(turn, Outcome.INVALID_INPUT if wrong else Outcome.NO_INPUT, prefix)
    else:
        _pin_entry(turn, room, tries, prefix)


def _join(turn: _Turn, room: ConferenceRoom) -> None:
    turn.stop_playback()
    turn.cancel_timer()
    conference = ids.conference(turn.config.tenant_id, room.number)
    turn.emit(JoinConference(conference, room.number))
    turn.hold(conference=conference)
    turn.call = replace(turn.call, outcome=Outcome.CONFERENCE)
    turn.go(InConference(room))
    turn.trace(TraceKind.CONFERENCE, number=room.number)


# --- voicemail ------------------------------------------------------------------------------


def _voicemail(turn: _Turn, extension: Extension, then: Outcome | None) -> None:
    if not extension.voicemail_enabled:
        _unavailable(turn, then)
        return
    turn.cancel_timer()
    turn.trace(TraceKind.VOICEMAIL, number=extension.number)
    turn.go(VoicemailGreeting(extension))
    if extension.voicemail_greeting_prompt_id is not None:  # the extension's own greeting
        turn.play(TenantPrompt(extension.voicemail_greeting_prompt_id))
        return
    name = TenantPrompt(extension.name_prompt_id) if extension.name_prompt_id else extension.name
    turn.play(turn.say(SystemPromptKey.LEAVE_MESSAGE_FOR, name=name))


def _record(turn: _Turn, extension: Extension) -> None:
    """Record the message: a beep, then until #, silence or the length limit."""
    turn.stop_playback()
    recording = turn.new_id("voicemail")
    options = turn.options
    turn.emit(
        Record(
            recording,
            options.voicemail_max_s,
            options.voicemail_silence_s,
            voicemail_for=extension.number,
        )
    )
    turn.hold(recording=recording)
    turn.go(VoicemailRecording(extension))


def _on_recorded(turn: _Turn, phase: VoicemailRecording, recording: str, duration_s: float) -> None:
    if duration_s < turn.options.voicemail_min_s:
        # Ended (by # or silence) before saying anything: no message, and the caller, who
        # did make a choice, is back in the menu rather than cut off as "no input".
        turn.emit(DiscardRecording(recording))
        turn.trace(TraceKind.RECORDING, saved=False, duration_s=duration_s)
        _menu(turn, "no_message", (turn.say(SystemPromptKey.NO_MESSAGE),))
        return
    number = phase.extension.number
    turn.emit(SaveVoicemail(recording, number, turn.context.caller_number))
    turn.trace(TraceKind.RECORDING, saved=True, duration_s=duration_s)
    _goodbye(turn, Outcome.VOICEMAIL, (turn.say(SystemPromptKey.MESSAGE_SAVED),))
