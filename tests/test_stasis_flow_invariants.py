"""Invariants of the call flow over many random calls (seeded, so any failure replays).

A small model of the world (what Asterisk and the directory hold because of the flow's
commands) walks beside the flow: after every step the flow must know exactly what it holds,
never hold two playbacks or two timers, never reuse an id, and after the caller hangs up
nothing may be left anywhere.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from rcp.callflow.commands import (
    Bridge,
    CancelTimer,
    CheckPin,
    Command,
    DestroyBridge,
    Dial,
    HangUp,
    HangUpLeg,
    JoinConference,
    LeaveConference,
    LookUpNames,
    Play,
    PublishTrace,
    Record,
    StartTimer,
    StopPlayback,
    StopRecording,
    TraceKind,
)
from rcp.callflow.config import Transfer
from rcp.callflow.events import (
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
    TimerFired,
)
from rcp.callflow.flow import Call
from rcp.vocabulary import TargetKind
from stasis_flow_support import (
    AMELIE,
    BASE,
    DIALPLAN,
    HECTOR,
    JEAN_PIERRE,
    SEAN,
    Run,
    configured,
    start,
)

CONFIGS = (
    BASE,
    DIALPLAN,
    configured(exhausted_extension="102"),
    configured(menu_max_retries=1, keys={"4": Transfer(TargetKind.CONFERENCE, "300")}),
)
NAMES = (AMELIE, JEAN_PIERRE, SEAN, HECTOR, NameMatch("999", "Inconnu"))
WALKS = 300
STEPS = 40


@dataclass
class World:
    """What exists outside the flow because of its commands, and what it has seen end."""

    playing: set[str] = field(default_factory=set)
    ended_playbacks: list[str] = field(default_factory=list)
    timers: set[int] = field(default_factory=set)
    old_timers: list[int] = field(default_factory=list)
    ringing: set[str] = field(default_factory=set)
    answered: set[str] = field(default_factory=set)
    bridging: set[str] = field(default_factory=set)  # legs whose Bridge was asked for
    lookups: list[str] = field(default_factory=list)
    pin_checks: list[str] = field(default_factory=list)
    recording: set[str] = field(default_factory=set)
    bridges: set[str] = field(default_factory=set)
    conferences: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    generations: set[int] = field(default_factory=set)

    def apply(self, command: Command) -> None:  # noqa: PLR0912, PLR0915 - one case per command
        match command:
            case Play(playback_id=playback):
                assert not self.playing, "a second playback started while one plays"
                assert not self.bridges, "a prompt played to a caller in a bridge"
                self._new(playback)
                self.playing.add(playback)
            case StopPlayback(playback_id=playback):
                self.playing.remove(playback)
                self.ended_playbacks.append(playback)
            case StartTimer(generation=generation):
                assert not self.timers, "a second timer started while one runs"
                assert generation not in self.generations, "timer generation reused"
                self.generations.add(generation)
                self.timers.add(generation)
            case CancelTimer(generation=generation):
                self.timers.remove(generation)
                self.old_timers.append(generation)
            case Dial(leg_id=leg, bridge_id=bridge):
                self._new(leg)
                if bridge is not None:  # the caller's bridge, made by its first leg
                    assert not self.ringing, "a leg rang in the bridge beside another"
                    if bridge not in self.bridges:
                        self._new(bridge)
                        self.bridges.add(bridge)
                self.ringing.add(leg)
            case HangUpLeg(leg_id=leg):
                assert leg in self.ringing | self.answered, "hung up a leg that is gone"
                self.ringing.discard(leg)
                self.answered.discard(leg)
            case Bridge(bridge_id=bridge, leg_id=leg):
                assert leg in self.answered, "bridged a leg that did not answer"
                self._new(bridge)
                self.bridges.add(bridge)
                self.bridging.add(leg)
            case DestroyBridge(bridge_id=bridge):
                self.bridges.remove(bridge)
            case JoinConference(conference_id=conference):
                self.conferences.add(conference)
            case LeaveConference(conference_id=conference):
                self.conferences.remove(conference)
            case Record(recording=recording):
                self._new(recording)
                self.recording.add(recording)
            case StopRecording(recording=recording):
                self.recording.remove(recording)
            case LookUpNames(request_id=request):
                self._new(request)
                self.lookups.append(request)
            case CheckPin(request_id=request):
                self._new(request)
                self.pin_checks.append(request)
            case _:
                pass

    def _new(self, identifier: str) -> None:
        assert identifier not in self.ids, f"id {identifier} reused"
        self.ids.add(identifier)

    def next_event(self, rng: random.Random, run: Run) -> Event:  # noqa: PLR0911, PLR0912
        """Something the caller or Asterisk could do now."""
        roll = rng.random()
        if roll < 0.35:
            return Digit(rng.choice("0123456789*#"))
        if roll < 0.55 and self.playing:
            playback = self.playing.pop()
            self.ended_playbacks.append(playback)
            return PlaybackFinished(playback)
        if roll < 0.7 and self.timers:
            generation = self.timers.pop()
            self.old_timers.append(generation)
            return TimerFired(generation)
        if roll < 0.75 and self.bridging:  # made, or late (the leg may have gone since)
            return LegBridged(self.bridging.pop())
        if roll < 0.8 and (self.ringing or self.answered):
            leg = rng.choice(sorted(self.ringing | self.answered))
            if leg in self.answered:
                self.answered.remove(leg)
                return Hangup(leg)
            self.ringing.remove(leg)
            status = rng.choice(list(DialStatus))
            if status is DialStatus.ANSWERED:
                self.answered.add(leg)
            return DialResult(leg, status)
        if roll < 0.88 and self.lookups:
            request = rng.choice(self.lookups)
            if rng.random() < 0.1:
                return LookupFailed(request, "timeout")
            matches = tuple(rng.sample(NAMES, rng.randint(0, 3)))
            return LookupResult(request, matches, len(matches))
        if roll < 0.9 and self.pin_checks:  # answered at random: no hashing in the walk
            return PinChecked(rng.choice(self.pin_checks), rng.choice(list(PinResult)))
        if roll < 0.93 and self.recording:
            recording = self.recording.pop()
            if rng.random() < 0.2:
                return RecordingFailed(recording, "HTTP 500")
            return RecordingFinished(recording, rng.choice((0.2, 4.0, 60.0)))
        if roll < 0.95 and self.old_timers:
            return TimerFired(rng.choice(self.old_timers))  # a late firing
        if roll < 0.97 and self.ended_playbacks:
            return PlaybackFinished(rng.choice(self.ended_playbacks))  # a late end
        if roll < 0.98:
            return ConfigReloaded(rng.choice(CONFIGS))
        if roll < 0.99:
            return Resumed()
        return Digit(rng.choice("0123456789*#"))


def _check_holdings(call: Call, world: World) -> None:
    held = call.held
    assert {held.playback} - {None} == world.playing
    assert {held.timer} - {None} == world.timers
    assert held.legs == world.ringing | world.answered
    assert {held.bridge} - {None} == world.bridges
    assert {held.recording} - {None} == world.recording
    assert {held.conference} - {None} == world.conferences
    assert held.lookup is None or held.lookup in world.lookups
    assert held.pin_check is None or held.pin_check in world.pin_checks


def _walk(seed: int) -> None:
    rng = random.Random(seed)
    world = World()
    run = start(rng.choice(CONFIGS), locked_rooms=None)
    for command in run.commands:
        world.apply(command)
    for _ in range(STEPS):
        if run.call.ended:
            break
        for command in run.feed(world.next_event(rng, run)):
            world.apply(command)
        _check_holdings(run.call, world)
    hung_up = any(isinstance(c, HangUp) for c in run.commands)
    for command in run.feed(Hangup()):
        world.apply(command)
    assert run.call.ended
    assert run.call.held.nothing
    for left in ("playing", "timers", "ringing", "answered", "bridges", "recording", "conferences"):
        assert not getattr(world, left), f"{left} left after the hangup"
    ended = [c for c in run.commands if isinstance(c, PublishTrace) and c.kind is TraceKind.ENDED]
    assert len(ended) == 1
    assert sum(isinstance(c, HangUp) for c in run.commands) == (1 if hung_up else 0)
    for _ in range(5):  # nothing happens after the end, whatever arrives
        assert run.feed(world.next_event(rng, run)) == ()


def test_random_calls_hold_exactly_what_they_started_and_release_it_all_on_hangup() -> None:
    for seed in range(WALKS):
        try:
            _walk(seed)
        except AssertionError as error:
            raise AssertionError(f"seed {seed}: {error}") from error
