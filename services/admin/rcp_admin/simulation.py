"""The menu simulator's engine: a tenant's call flow run on a simulated clock.

It runs `rcp.callflow.flow.step`, the pure state machine stasis runs for every real call, and
plays the part of stasis's executor: it turns the flow's commands into what the caller would
meet (prompts made by the real media service, names found by the real directory service, the
phones doing what the admin said they do), and the results back into events. Nothing is
dialled, recorded or saved.

How the caller's actions meet the clock:
- before each action, everything that needs no caller happens: prompts play to their end,
  the directory answers, phones ring and answer (or not); time-outs that wait for the caller
  to choose (`no_input`) do not run out;
- `keys` presses keys one after the other at once; between two actions the caller pauses,
  so digits typed as one action are one number (the inter-digit time-out ends it after);
- `wait_s` lets that much time pass: time-outs run out; while a message is recorded, the
  caller speaks for that long;
- `hang_up` hangs up; after the last action the call goes on by itself and stops where it
  waits for the caller (a menu's choice, a call in progress, a message's recording, which
  ends after the silence that follows what the caller said).
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

import structlog
from nats.aio.client import Client as NatsClient
from rcp import media_client
from rcp.callflow import commands, events
from rcp.callflow.config import FlowOptions
from rcp.callflow.flow import NO_INPUT, Call, Ringing, step
from rcp.callflow.prompts import Playable, Prompt, SpokenText, SystemPrompt, TenantPrompt, render
from rcp.contracts.media import EnsurePrompt
from rcp.directory_client import search_names
from rcp.errors import ReceptionistError
from rcp.pins import verify_pin

from rcp_admin import schemas as s

log = structlog.get_logger(__name__)

MAX_STEPS = 500
"""The flow's steps one simulation may take (a call that loops is cut there)."""
MAX_SIMULATED_S = 3600.0
"""The simulated time one simulation may cover."""
ASK_TIMEOUT_S = 5.0
"""How long the directory and media services are waited for, per request."""
SPEECH_CHARACTERS_PER_S = 14.0
"""A guess at a prompt's length when the media service cannot say (about 14 characters a
second of speech)."""
DEFAULT_PHONE = s.SimulatedPhone(number="0", does="answer")
# Timers that wait for the caller's choice: only a wait lets them run out.
CALLER_TIMERS = frozenset({NO_INPUT})


@dataclass(frozen=True)
class Lookups:
    """The services a simulation asks: the directory and the media service, over NATS."""

    nats: NatsClient
    options: FlowOptions
    directory_scope: str = ""
    media_scope: str = ""

    async def search(
        self, tenant_id: UUID, digits: str, page_size: int, cursor: str | None
    ) -> tuple[tuple[events.NameMatch, ...], int, str | None]:
        """One page of the directory's matches, their total and the next page's cursor."""
        result = await search_names(
            self.nats,
            tenant_id,
            digits,
            page_size,
            cursor,
            scope=self.directory_scope,
            attempt_s=ASK_TIMEOUT_S,
            budget_s=ASK_TIMEOUT_S,
        )
        matches = tuple(
            events.NameMatch(m.number, m.display_name, m.name_prompt_id) for m in result.matches
        )
        return matches, result.total, result.next_cursor

    async def duration_s(self, tenant_id: UUID, piece: TenantPrompt | SpokenText) -> float:
        """How long the media service's audio of a piece lasts (rendered first if new)."""
        if isinstance(piece, TenantPrompt):
            ask = EnsurePrompt(tenant_id=tenant_id, prompt_id=piece.prompt_id)
        else:
            ask = EnsurePrompt(tenant_id=tenant_id, text=piece.text, language=piece.language)
        playable = await media_client.ensure_prompt(
            self.nats, ask, scope=self.media_scope, timeout_s=ASK_TIMEOUT_S
        )
        return playable.duration_ms / 1000


class Cut(Exception):
    """The simulation reached its bounds."""


@dataclass
class _Leg:
    number: str
    entry: dict[str, Any]
    dialled_at: float


@dataclass
class _Recording:
    recording: str
    spoken_s: float = 0.0
    max_s: float = 120.0
    silence_s: float = 5.0


@dataclass
class Simulator:
    """One simulated call (use `run`, once)."""

    lookups: Lookups
    context: events.CallContext
    phones: Mapping[str, s.SimulatedPhone]
    prompt_texts: Mapping[UUID, str]
    audio_url: Callable[[Playable], str | None]
    call: Call = field(default_factory=Call)
    now: float = 0.0
    steps: int = 0
    timeline: list[dict[str, Any]] = field(default_factory=list)
    trace: list[s.SimulatedStep] = field(default_factory=list)
    _queue: list[tuple[float, int, events.Event]] = field(default_factory=list)
    _order: int = 0
    _playing: tuple[str, float | None, dict[str, Any]] | None = None
    _ringing: dict[str, Any] | None = None  # the ringback the caller's line plays (Ring)
    _timers: dict[int, tuple[float, str]] = field(default_factory=dict)
    _legs: dict[str, _Leg] = field(default_factory=dict)
    _cursors: dict[tuple[str, int], str] = field(default_factory=dict)
    _recording: _Recording | None = None

    @property
    def tenant_id(self) -> UUID:
        """The tenant whose configuration runs."""
        return self.context.config.tenant_id

    async def run(
        self, actions: Sequence[s.SimulatedAction]
    ) -> tuple[Literal["ended", "waiting", "cut"], int]:
        """Play the caller's actions; the state the call is left in, and how many actions
        came after it had ended."""
        done = 0
        try:
            await self._step(events.CallStarted(self.context))
            for action in actions:
                await self._settle()
                if self.call.ended:
                    break
                await self._act(action)
                done += 1
            if not self.call.ended:
                await self._settle()
                await self._stop_speaking()
        except Cut:
            return "cut", len(actions) - done
        return ("ended" if self.call.ended else "waiting"), len(actions) - done

    # --- the caller -------------------------------------------------------------------------

    async def _act(self, action: s.SimulatedAction) -> None:
        if action.keys is not None:
            self._note("caller", action="keys", keys=action.keys)
            for key in action.keys:
                if self.call.ended:
                    return
                if key == "#" and self._recording is not None:  # ends a recording in Asterisk
                    self._finish_recording()
                else:
                    await self._step(events.Digit(key))
                await self._run_due(self.now)
        elif action.wait_s is not None:
            self._note("caller", action="wait", wait_s=action.wait_s)
            await self._advance(self.now + action.wait_s)
        else:
            self._note("caller", action="hang_up")
            await self._step(events.Hangup())

    async def _stop_speaking(self) -> None:
        """After the last action a message being recorded ends with the silence after it."""
        if self._recording is not None and not self.call.ended:
            self._move_to(self.now + self._recording.silence_s)
            self._finish_recording()
            await self._settle()

    def _finish_recording(self) -> None:
        recording = self._recording
        if recording is not None:
            self._recording = None
            self._push(self.now, events.RecordingFinished(recording.recording, recording.spoken_s))

    # --- the clock --------------------------------------------------------------------------

    def _push(self, at: float, event: events.Event) -> None:
        self._order += 1
        heapq.heappush(self._queue, (at, self._order, event))

    def _next(self, *, caller_timers: bool) -> tuple[float, events.Event] | None:
        """The earliest thing to happen: a result, the end of a prompt, a time-out."""
        found: list[tuple[float, int, events.Event]] = []
        if self._queue:
            at, _, event = self._queue[0]
            found.append((at, 0, event))
        if self._playing is not None and self._playing[1] is not None:
            found.append((self._playing[1], 1, events.PlaybackFinished(self._playing[0])))
        for generation, (at, purpose) in self._timers.items():
            if caller_timers or purpose not in CALLER_TIMERS:
                found.append((at, 2, events.TimerFired(generation)))
        if not found:
            return None
        at, _, event = min(found, key=lambda item: (item[0], item[1]))
        return at, event

    async def _deliver(self, at: float, event: events.Event) -> None:
        self._move_to(at)
        match event:
            case events.PlaybackFinished():
                self._playing = None
            case events.TimerFired(generation=generation):
                self._timers.pop(generation, None)
            case _:
                heapq.heappop(self._queue)
                if isinstance(event, events.DialResult):
                    self._ring_ended(event.leg_id, event.status.value)
                    if event.status is events.DialStatus.ANSWERED:
                        self._stop_ringing()  # the answer's first sound ends the ringback
        await self._step(event)

    def _move_to(self, at: float) -> None:
        if at > MAX_SIMULATED_S:
            raise Cut
        self.now = max(self.now, at)

    async def _settle(self) -> None:
        """What happens without the caller, up to the moment the call waits for them."""
        while not self.call.ended and (next_ := self._next(caller_timers=False)) is not None:
            await self._deliver(*next_)

    async def _run_due(self, until: float) -> None:
        """What is due by `until` (answers the flow got at once, between two keys)."""
        while not self.call.ended and (next_ := self._next(caller_timers=False)) is not None:
            if next_[0] > until or isinstance(next_[1], events.PlaybackFinished):
                return
            await self._deliver(*next_)

    async def _advance(self, until: float) -> None:
        """Time passes until `until`: everything due happens, time-outs included; a message
        being recorded takes what the caller says meanwhile (up to its length limit)."""
        while not self.call.ended:
            next_ = self._next(caller_timers=True)
            due = next_[0] if next_ is not None else until
            recording = self._recording
            if recording is not None:
                limit = self.now + recording.max_s - recording.spoken_s
                speaks_until = min(until, due, limit)
                recording.spoken_s += max(0.0, speaks_until - self.now)
                self._move_to(speaks_until)
                if limit <= min(until, due):
                    self._finish_recording()
                    continue
            if next_ is None or next_[0] > until:
                break
            await self._deliver(*next_)
        if not self.call.ended:
            self._move_to(until)

    # --- the flow ---------------------------------------------------------------------------

    async def _step(self, event: events.Event) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise Cut
        self.call, to_do = step(self.call, event)
        for command in to_do:
            await self._execute(command)

    async def _execute(self, command: commands.Command) -> None:  # noqa: PLR0912 - one case per command
        match command:
            case commands.PublishTrace(kind=kind, data=data):
                values = dict(data)
                self.trace.append(
                    s.SimulatedStep(kind=kind.value, offset_ms=round(self.now * 1000), data=values)
                )
                self._note("decision", step=kind.value, data=values)
            case commands.Play(playback_id=playback, prompts=prompts):
                await self._play(playback, prompts)
            case commands.StopPlayback(playback_id=playback):
                if self._playing is not None and self._playing[0] == playback:
                    ends, entry = self._playing[1], self._playing[2]
                    if ends is None or ends > self.now:
                        entry["stopped_at_s"] = round(self.now, 3)
                    self._playing = None
            case commands.StartTimer(generation=generation, seconds=seconds, purpose=purpose):
                self._timers[generation] = (self.now + seconds, purpose)
            case commands.CancelTimer(generation=generation):
                self._timers.pop(generation, None)
            case commands.LookUpNames(request_id=request, digits=digits, page=page):
                await self._look_up(request, digits, page)
            case commands.CheckPin(request_id=request, digits=digits, pin_hash=pin_hash):
                right = await asyncio.to_thread(verify_pin, digits, pin_hash)
                result = events.PinResult.CORRECT if right else events.PinResult.WRONG
                self._push(self.now, events.PinChecked(request, result))
            case commands.Dial(leg_id=leg, timeout_s=timeout_s):
                self._dial(leg, timeout_s)
            case commands.Ring():
                if self._ringing is None:
                    tone = {"text": None, "language": None, "audio_url": None, "duration_s": None}
                    self._ringing = self._note("prompt", text="(ringback)", pieces=[tone])
            case commands.StopRinging() | commands.DestroyBridge():
                self._stop_ringing()
            case commands.Bridge(leg_id=leg):  # a ring group's first answer: bridged at once
                self._push(self.now, events.LegBridged(leg))
            case commands.HangUpLeg(leg_id=leg):
                self._queue = [item for item in self._queue if not _about_leg(item[2], leg)]
                heapq.heapify(self._queue)
                self._ring_ended(leg, "stopped")
            case commands.Record(recording=recording, max_duration_s=max_s, max_silence_s=quiet):
                self._recording = _Recording(recording, max_s=max_s, silence_s=quiet)
            case commands.StopRecording():
                self._recording = None
            case _:
                # Answer, bridges, conferences, saving or discarding a message, hanging up:
                # nothing to simulate beyond what the trace says.
                pass

    def _note(self, kind: str, **values: Any) -> dict[str, Any]:
        entry = {"type": kind, "at_s": round(self.now, 3), **values}
        self.timeline.append(entry)
        return entry

    def _stop_ringing(self) -> None:
        if self._ringing is not None:
            self._ringing["stopped_at_s"] = round(self.now, 3)
            self._ringing = None

    async def _play(self, playback: str, prompts: tuple[Prompt, ...]) -> None:
        self._stop_ringing()  # the next prompt ends the ringback
        pieces: list[dict[str, Any]] = []
        for prompt in prompts:
            for piece in render(prompt):
                pieces.append(await self._piece(piece))
        lengths = [piece["duration_s"] for piece in pieces]
        ends = None if None in lengths else self.now + sum(lengths)
        text = " ".join(self._said(prompt) for prompt in prompts)
        entry = self._note("prompt", text=text, pieces=pieces)
        self._playing = (playback, ends, entry)

    async def _piece(self, piece: Playable) -> dict[str, Any]:
        if not isinstance(piece, TenantPrompt | SpokenText):  # a tone: until stopped
            return {"text": None, "language": None, "audio_url": None, "duration_s": None}
        language = piece.language if isinstance(piece, SpokenText) else None
        text = piece.text if isinstance(piece, SpokenText) else self._prompt_text(piece)
        values = {"text": text, "language": language, "audio_url": self.audio_url(piece)}
        try:
            duration = await self.lookups.duration_s(self.tenant_id, piece)
        except (ReceptionistError, OSError) as error:
            log.info("simulation.prompt_unavailable", piece=repr(piece), error=repr(error))
            guess = max(1.0, len(text) / SPEECH_CHARACTERS_PER_S)
            return values | {"duration_s": round(guess, 3), "estimated": True}
        return values | {"duration_s": duration}

    def _prompt_text(self, prompt: TenantPrompt) -> str:
        return self.prompt_texts.get(prompt.prompt_id, f"[prompt {prompt.prompt_id}]")

    def _said(self, prompt: Prompt) -> str:
        """A prompt's words, a recording named by its text or file."""
        if isinstance(prompt, TenantPrompt):
            return self._prompt_text(prompt)
        if isinstance(prompt, SystemPrompt) and isinstance(prompt.name, TenantPrompt):
            prompt = SystemPrompt(
                prompt.key, prompt.language, self._prompt_text(prompt.name), prompt.digit
            )
        return (
            " ".join(
                piece.text if isinstance(piece, SpokenText) else "" for piece in render(prompt)
            ).strip()
            or "(ringback)"
        )

    async def _look_up(self, request: str, digits: str, page: int) -> None:
        cursor = self._cursors.get((digits, page)) if page else None
        page_size = self.context.options.matches_per_page
        try:
            matches, total, next_cursor = await self.lookups.search(
                self.tenant_id, digits, page_size, cursor
            )
        except ReceptionistError as error:
            self._push(self.now, events.LookupFailed(request, error.code))
            return
        next_page = None
        if next_cursor is not None:
            next_page = page + 1
            self._cursors[(digits, next_page)] = next_cursor
        self._push(self.now, events.LookupResult(request, matches, total, next_page))

    def _dial(self, leg: str, timeout_s: int) -> None:
        phase = self.call.phase
        number = dict(phase.legs).get(leg, "") if isinstance(phase, Ringing) else ""
        phone = self.phones.get(number, DEFAULT_PHONE)
        entry = self._note("transfer", number=number, ring_s=None, result=None)
        self._legs[leg] = _Leg(number, entry, self.now)
        status = events.DialStatus
        match phone.does:
            case "answer" if phone.after_s < timeout_s:
                self._push(self.now + phone.after_s, events.DialResult(leg, status.ANSWERED))
            case "busy" if phone.after_s < timeout_s:
                self._push(self.now + phone.after_s, events.DialResult(leg, status.BUSY))
            case "unreachable":
                self._push(self.now, events.DialResult(leg, status.FAILED))
            case _:  # Asterisk gives up after the ring time
                self._push(self.now + timeout_s, events.DialResult(leg, status.NO_ANSWER))

    def _ring_ended(self, leg: str, result: str) -> None:
        rung = self._legs.pop(leg, None)
        if rung is not None:
            rung.entry["ring_s"] = round(self.now - rung.dialled_at, 3)
            rung.entry["result"] = result


def _about_leg(event: events.Event, leg: str) -> bool:
    return isinstance(event, events.DialResult) and event.leg_id == leg
