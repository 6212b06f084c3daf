"""The executor: runs one call's flow on Asterisk, the directory and the media service.

One `CallRunner` per call, in the call's own task. Everything that happens to the call comes
through one inbox, in order: ARI events (from the adapter's per-call queue), timers firing,
directory answers, and what the service tells it (a new configuration, a reconnection). The
runner turns each into a flow event, `step`s the flow, and carries out the commands one after
the other before taking the next item; so the flow sees a strict sequence of events and
Asterisk gets its requests in the order the flow decided them.

What Asterisk says comes in the flow's words already (the adapter's `AsteriskEvent`s: ARI's
event names, dial statuses and hangup causes stay in `rcp_stasis.ari`). What the runner
absorbs (see docs/asterisk.md):
- two first plays of the same new media URI at once can fail (asterisk/asterisk#1689): a
  playback that fails is played again once before the flow hears that it ended;
- DTMF does not stop a playback: the flow asks for it, and a 404 (just finished) is no error.

A prompt that cannot be had (the media service slow or down, or Asterisk unable to fetch it)
is replaced by a stand-in Asterisk keeps itself ("this service is unavailable..." in the
tenant's language): the caller hears speech, never a silent menu.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from uuid import UUID

import structlog
from nats.js import JetStreamContext
from rcp import subjects
from rcp.callflow import commands, events, ids
from rcp.callflow.flow import Call, step
from rcp.callflow.prompts import STAND_IN, Prompt, Tone, local_sound, render
from rcp.contracts import CallEvent
from rcp.errors import ReceptionistError
from rcp.messaging import NotAllStored, PipelinedPublisher, publish_event
from rcp.pins import verify_pin

from rcp_stasis.ari import AriError, AriNotFound
from rcp_stasis.limits import CallLimits
from rcp_stasis.metrics import StasisMetrics
from rcp_stasis.ports import (
    AriCallPort,
    AsteriskEvent,
    DirectoryPort,
    KeyPressed,
    PlaybackEnded,
    PromptPort,
    VoicemailMessage,
)
from rcp_stasis.room_locks import RoomLocks

log = structlog.get_logger(__name__)

# A trace step that cannot be published (NATS stalled or down) is tried again this often,
# for this long: the call's record closes once NATS is back, however long the call was.
PUBLISH_RETRY_S = (0.5, 1.0, 2.0, 5.0)
PUBLISH_GIVE_UP_S = 15 * 60.0
# How long the acknowledgements of steps published together are awaited (JetStream's default
# for one) before they are published again one by one.
PUBLISH_ACK_WAIT_S = 5.0


MIN_PROMPT_BUDGET_S = 0.3

# Set on the caller's channel while a message is being recorded ("<recording>|<extension>"):
# a process that takes the call over from a dead one finds the message there and saves it.
RECORDING_VARIABLE = "RCP_VOICEMAIL_RECORDING"


def recording_in_progress(value: str | None) -> tuple[str, str] | None:
    """(recording, extension number) from RECORDING_VARIABLE's value, if it names one."""
    recording, _, extension = (value or "").partition("|")
    return (recording, extension) if recording and extension else None


def ringback_playbacks(channel_id: str) -> tuple[str, str]:
    """The ARI ids a caller's ringback plays under: two, used in turn, so that a new ringback
    never takes the id of one Asterisk may still be stopping. Fixed per channel, so that a
    process that takes a call over from a dead one can stop the ringback it left: a tone
    plays until stopped, and holds every later request on the channel (answer, play) behind
    it."""
    return f"{channel_id}-ringback-a", f"{channel_id}-ringback-b"


@dataclass(frozen=True)
class CallServices:
    """What every call shares: the ports, the trace publisher, voicemail, metrics."""

    prompts: PromptPort
    directory: DirectoryPort
    jetstream: JetStreamContext
    save_voicemail: Callable[[VoicemailMessage], None]
    discard_recording: Callable[[str], None]
    metrics: StasisMetrics
    limits: CallLimits
    room_locks: RoomLocks
    wait_budget_s: float = 2.5
    """What a caller waiting on the directory and the media service may wait in all, from
    the moment they start waiting to the request for what they hear next."""
    node: str = ""
    """Names the Asterisk whose calls these are (its Stasis app) in each call's `started`
    step, so that a successor can close the records of calls lost with a dead process."""
    publishing: set[asyncio.Task[None]] = field(default_factory=set)
    """Calls' trace publishers still at work after their calls ended (NATS was away)."""

    @cached_property
    def traces(self) -> PipelinedPublisher:
        """What publishes the calls' trace steps (on `jetstream`'s connection)."""
        return PipelinedPublisher(self.jetstream)

    async def drain_publishing(self, timeout_s: float) -> None:
        """Wait (at most `timeout_s`) for the trace steps of ended calls to be published."""
        if self.publishing:
            _, late = await asyncio.wait(set(self.publishing), timeout=timeout_s)
            for task in late:
                task.cancel()
                log.warning("call.trace_lost", task=task.get_name())


@dataclass
class _Playback:
    """A playback Asterisk runs for the flow: the flow's id, its media, whether retried."""

    flow_id: str
    media: list[str]
    retried: bool = False
    stand_in: bool = False  # the stand-in itself, played in place of `media`


@dataclass
class _Held:
    """What the runner keeps beside the flow to translate ARI's answers back."""

    playbacks: dict[str, _Playback] = field(default_factory=dict)  # by ARI playback id
    playing: dict[str, str] = field(default_factory=dict)  # flow id -> ARI id
    timers: dict[int, asyncio.TimerHandle] = field(default_factory=dict)
    lookups: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    cursors: dict[tuple[str, int], str] = field(default_factory=dict)
    outside: set[str] = field(default_factory=set)  # outside legs counted by the limits


Inbox = asyncio.Queue[AsteriskEvent | events.Event]


class CallRunner:
    """Runs one call from `CallStarted` to its end (use `run`, once)."""

    def __init__(
        self, port: AriCallPort, context: events.CallContext, services: CallServices
    ) -> None:
        self.port = port
        self.context = context
        self.call = Call()
        self._services = services
        self._inbox: Inbox = asyncio.Queue()
        self._held = _Held()
        # Made when the step is taken, so that its time is the step's, however late NATS is.
        self._traces: asyncio.Queue[CallEvent | None] = asyncio.Queue()
        self._published = 0
        self._transfer_kind = "extension"
        self._stand_in = local_sound(STAND_IN, context.config.receptionist.language)
        self._ringbacks = 0
        self._waiting_since: float | None = None  # a lookup under way: the caller waits

    @property
    def tenant_id(self) -> UUID:
        """The tenant the call belongs to."""
        return self.context.config.tenant_id

    def tell(self, event: events.Event) -> None:
        """Hand the call an event from outside (a new configuration, a reconnection)."""
        self._inbox.put_nowait(event)

    async def run(self) -> Call:
        """Run the call until the flow ends it; return its last state."""
        metrics = self._services.metrics
        metrics.active_calls.inc()
        pump = asyncio.create_task(self._pump(), name=f"events-{self.port.channel_id}")
        publisher = asyncio.create_task(self._publish(), name=f"trace-{self.port.channel_id}")
        try:
            await self._step(events.CallStarted(self.context))
            while not self.call.ended:
                await self._take(await self._inbox.get())
            return self.call
        finally:
            metrics.active_calls.dec()
            pump.cancel()
            self._cancel_pending()
            for leg in list(self._held.outside):  # the adapter hangs them up as the call ends
                self._leg_ended(leg)
            self._traces.put_nowait(None)
            if not publisher.done():  # NATS is slow or away: it goes on after the call
                self._services.publishing.add(publisher)
                publisher.add_done_callback(self._services.publishing.discard)

    def _cancel_pending(self) -> None:
        for timer in self._held.timers.values():
            timer.cancel()
        for lookup in self._held.lookups.values():
            lookup.cancel()
        self._held.timers.clear()
        self._held.lookups.clear()

    async def _pump(self) -> None:
        async for event in self.port.events():
            self._inbox.put_nowait(event)

    # --- the flow ---------------------------------------------------------------------------

    async def _step(self, event: events.Event, received: float | None = None) -> None:
        self.call, to_do = step(self.call, event)
        for command in to_do:
            await self._execute(command)
        if received is not None and to_do:
            self._services.metrics.dtmf_to_action.observe(time.monotonic() - received)

    async def _execute(self, command: commands.Command) -> None:  # noqa: PLR0912, PLR0915 - one case per command
        port = self.port
        try:
            match command:
                case commands.PublishTrace():
                    self._count(command)
                    data = dict(command.data)
                    if command.kind is commands.TraceKind.STARTED and self._services.node:
                        data["node"] = self._services.node
                    self._traces.put_nowait(
                        CallEvent(
                            tenant_id=self.tenant_id,
                            call_id=self.context.call_id,
                            kind=command.kind.value,
                            data=data,
                        )
                    )
                case commands.Answer():
                    await port.answer()
                case commands.Play(playback_id=playback, prompts=prompts):
                    await self._play(playback, prompts)
                case commands.StopPlayback(playback_id=playback):
                    await self._stop_playback(playback)
                case commands.StartTimer(generation=generation, seconds=seconds):
                    loop = asyncio.get_running_loop()
                    self._held.timers[generation] = loop.call_later(
                        seconds, self._inbox.put_nowait, events.TimerFired(generation)
                    )
                case commands.CancelTimer(generation=generation):
                    if (timer := self._held.timers.pop(generation, None)) is not None:
                        timer.cancel()
                case commands.LookUpNames(request_id=request, digits=digits, page=page):
                    self._waiting_since = asyncio.get_running_loop().time()
                    task = asyncio.create_task(self._look_up(request, digits, page))
                    self._held.lookups[request] = task
                case commands.CheckPin():
                    await self._check_pin(command)
                case commands.Dial():
                    await self._dial(command)
                case commands.Ring():
                    await port.ring()
                case commands.StopRinging():
                    await port.stop_ringing()
                case commands.HangUpLeg(leg_id=leg):
                    await port.hang_up_leg(leg)
                case commands.Bridge(bridge_id=bridge, leg_id=leg):
                    await self._bridge(bridge, leg)
                case commands.DestroyBridge(bridge_id=bridge):
                    await port.destroy_bridge(bridge)
                case commands.JoinConference(conference_id=conference):
                    await self._join(conference)
                case commands.LeaveConference(conference_id=conference):
                    await port.leave_conference(conference)
                case commands.Record():
                    await self._record(command)
                case commands.StopRecording(recording=recording):
                    await port.stop_recording(recording)
                case commands.SaveVoicemail(
                    recording=recording, extension_number=number, caller_number=by
                ):
                    call_id = self.context.call_id
                    message = VoicemailMessage(self.tenant_id, call_id, recording, number, by)
                    self._services.save_voicemail(message)
                    await port.set_variable(RECORDING_VARIABLE, "")  # handled: forget it
                case commands.DiscardRecording(recording=recording):
                    self._services.discard_recording(recording)
                    await port.set_variable(RECORDING_VARIABLE, "")
                case commands.HangUp():
                    await port.hang_up()
        except AriNotFound:
            pass  # the caller or what was acted on has just gone: its own event follows
        except AriError as error:
            log.warning(
                "call.ari_failed",
                call_id=self.context.call_id,
                command=type(command).__name__,
                error=error.message,
            )

    async def _stop_playback(self, playback: str) -> None:
        ari_id = self._held.playing.pop(playback, None)
        if ari_id is not None:
            self._held.playbacks.pop(ari_id, None)
            await self.port.stop_playback(ari_id)

    async def _play(self, playback: str, prompts: tuple[Prompt, ...]) -> None:
        media = await self._media(prompts)
        if not media:  # nothing could be made playable: as if it had played
            self._inbox.put_nowait(events.PlaybackFinished(playback))
            return
        ari_id = playback
        if all(isinstance(prompt, Tone) for prompt in prompts):
            self._ringbacks += 1
            ari_id = ringback_playbacks(self.port.channel_id)[self._ringbacks % 2]
        await self._start_playback(playback, ari_id, media, retried=False)

    async def _start_playback(
        self, flow_id: str, ari_id: str, media: list[str], *, retried: bool, stand_in: bool = False
    ) -> None:
        self._held.playbacks[ari_id] = _Playback(flow_id, media, retried, stand_in)
        self._held.playing[flow_id] = ari_id
        try:
            await self.port.play(ari_id, media)
        except AriError:
            self._held.playbacks.pop(ari_id, None)
            self._held.playing.pop(flow_id, None)
            self._inbox.put_nowait(events.PlaybackFinished(flow_id))
            raise

    async def _media(self, prompts: tuple[Prompt, ...]) -> list[str]:
        """The URIs of every piece of the prompts; in place of those that cannot be had in
        what is left of the caller's wait, the stand-in (once)."""
        loop = asyncio.get_running_loop()
        waited = 0.0 if self._waiting_since is None else loop.time() - self._waiting_since
        self._waiting_since = None
        # A caller who waited on a failed lookup already: the prompt that follows gets what
        # is left of the budget (a moment at least, enough for a cached or quick one).
        budget = max(self._services.wait_budget_s - waited, MIN_PROMPT_BUDGET_S)
        pieces = [piece for prompt in prompts for piece in render(prompt)]
        uris = await asyncio.gather(
            *(self._services.prompts.uri_for(self.tenant_id, piece, budget) for piece in pieces),
            return_exceptions=True,
        )
        media = []
        for piece, uri in zip(pieces, uris, strict=True):
            if isinstance(uri, str):
                media.append(uri)
            elif isinstance(uri, Exception):
                self._services.metrics.dependency_failures.labels(dependency="media").inc()
                log.warning(
                    "call.prompt_unavailable",
                    call_id=self.context.call_id,
                    piece=repr(piece),
                    error=repr(uri),
                )
                if self._stand_in not in media:  # said once, where the first piece is missing
                    self._services.metrics.stand_ins.labels(reason="not_ready").inc()
                    media.append(self._stand_in)
            else:
                raise uri
        return media

    async def _look_up(self, request: str, digits: str, page: int) -> None:
        cursor = self._held.cursors.get((digits, page)) if page else None
        try:
            found = await self._services.directory.search(
                self.tenant_id, digits, self.context.options.matches_per_page, cursor
            )
        except ReceptionistError as error:
            self._services.metrics.dependency_failures.labels(dependency="directory").inc()
            self._inbox.put_nowait(events.LookupFailed(request, error.code))
            return
        except Exception as error:  # a bug or a broken connection: the caller hears "sorry"
            self._services.metrics.dependency_failures.labels(dependency="directory").inc()
            log.exception("call.lookup_failed", call_id=self.context.call_id)
            self._inbox.put_nowait(events.LookupFailed(request, type(error).__name__))
            return
        finally:
            self._held.lookups.pop(request, None)
        next_page = None
        if found.next_cursor is not None:
            next_page = page + 1
            self._held.cursors[(digits, next_page)] = found.next_cursor
        self._inbox.put_nowait(events.LookupResult(request, found.matches, found.total, next_page))

    async def _check_pin(self, check: commands.CheckPin) -> None:
        """Check a PIN off the event loop (about 50 ms of hashing) and count a wrong one
        against its room. Awaited in the call's own task: the call waits for the answer, its
        hangup is taken after, so hanging up at once does not escape the count."""
        locks, metrics, room = self._services.room_locks, self._services.metrics, check.room_number
        if locks.locked(self.tenant_id, room):
            result = events.PinResult.LOCKED
        elif await asyncio.to_thread(verify_pin, check.digits, check.pin_hash):
            result = events.PinResult.CORRECT
        else:
            result = events.PinResult.WRONG
            if locks.failed(self.tenant_id, room):
                metrics.conference_rooms_locked.inc()
                log.warning(
                    "conference.room_locked",
                    call_id=self.context.call_id,
                    tenant_id=str(self.tenant_id),
                    room=room,
                    failures=locks.policy.max_failures,
                    window_s=locks.policy.window_s,
                    lock_s=locks.policy.lock_s,
                )
        metrics.conference_pins.labels(result=result.value).inc()
        self._inbox.put_nowait(events.PinChecked(check.request_id, result))

    async def _dial(self, dial: commands.Dial) -> None:
        leg = dial.leg_id
        if dial.outside:
            config = self.call.context.config if self.call.context else self.context.config
            refusal = self._services.limits.take_leg(self.tenant_id, config.limits)
            if refusal is not None:
                log.warning(
                    "call.outside_leg_refused",
                    call_id=self.context.call_id,
                    tenant_id=str(self.tenant_id),
                    reason=refusal.value,
                )
                self._inbox.put_nowait(
                    events.DialResult(leg, events.DialStatus.REFUSED, refusal.value)
                )
                return
            self._held.outside.add(leg)
            self._services.metrics.outbound_legs_dialled.inc()
        try:
            await self.port.dial(
                leg,
                dial.endpoint,
                dial.timeout_s,
                caller_id=dial.caller_id,
                bridge_id=dial.bridge_id,
            )
        except AriError:
            self._leg_ended(leg)
            self._inbox.put_nowait(events.DialResult(leg, events.DialStatus.FAILED))
            raise

    def _leg_ended(self, leg: str) -> None:
        """An outside leg is gone: the limits count it out (once)."""
        if leg in self._held.outside:
            self._held.outside.discard(leg)
            self._services.limits.leg_ended(self.tenant_id)

    async def _bridge(self, bridge: str, leg: str) -> None:
        try:
            await self.port.bridge(bridge, leg)
        except AriError:
            # Gone before it could be bridged (or Asterisk did not bridge it): hung up, if it
            # is still there, and the flow told it went.
            with contextlib.suppress(AriError):
                await self.port.hang_up_leg(leg)
            self._inbox.put_nowait(events.Hangup(leg))
            raise
        self._inbox.put_nowait(events.LegBridged(leg))

    async def _join(self, conference: str) -> None:
        try:
            await self.port.join_conference(conference)
        except AriError:
            self._inbox.put_nowait(events.Hangup())
            raise

    async def _record(self, record: commands.Record) -> None:
        try:
            if record.voicemail_for is not None:
                value = f"{record.recording}|{record.voicemail_for}"
                await self.port.set_variable(RECORDING_VARIABLE, value)
            await self.port.record(
                record.recording,
                max_duration_s=record.max_duration_s,
                max_silence_s=record.max_silence_s,
                beep=record.beep,
                terminate_on=record.terminate_on,
            )
        except AriError as error:
            self._inbox.put_nowait(events.RecordingFailed(record.recording, f"HTTP {error.status}"))
            raise

    # --- what Asterisk says ------------------------------------------------------------------

    async def _take(self, item: AsteriskEvent | events.Event) -> None:
        """One item of the inbox: what Asterisk said of the call, or an event for the flow."""
        match item:
            case KeyPressed(digit=digit):
                await self._step(events.Digit(digit), received=item.received)
            case PlaybackEnded():
                await self._playback_finished(item)
            case events.DialResult(leg_id=leg, status=status) if (
                status is not events.DialStatus.ANSWERED
            ):
                self._leg_ended(leg)  # rang out, busy, failed: the limits count it out
                await self._step(item)
            case events.Hangup(leg_id=str() as leg):
                self._leg_ended(leg)
                await self._step(item)
            case _:
                await self._step(item)

    async def _playback_finished(self, event: PlaybackEnded) -> None:
        ari_id = event.playback_id
        playback = self._held.playbacks.pop(ari_id, None)
        if playback is None:
            return  # one we stopped, or played again
        failed = event.failed
        if failed and not playback.retried:
            # Asterisk's media cache can fail two simultaneous first plays of one URI.
            log.info("call.playback_retried", call_id=self.context.call_id, playback=ari_id)
            with contextlib.suppress(AriError):
                await self._start_playback(
                    playback.flow_id, f"{playback.flow_id}-again", playback.media, retried=True
                )
                return
        if failed and not playback.stand_in:
            # Failed twice: Asterisk cannot fetch it (the media service is down and its cache
            # does not hold the file). The caller hears the stand-in, not silence.
            log.warning("call.playback_failed", call_id=self.context.call_id, playback=ari_id)
            self._services.metrics.stand_ins.labels(reason="playback_failed").inc()
            with contextlib.suppress(AriError):
                await self._start_playback(
                    playback.flow_id,
                    f"{playback.flow_id}-stand-in",
                    [self._stand_in],
                    retried=True,
                    stand_in=True,
                )
                return
        if self._held.playing.get(playback.flow_id) == ari_id:
            del self._held.playing[playback.flow_id]
        await self._step(events.PlaybackFinished(playback.flow_id))

    # --- the decision trace and metrics -----------------------------------------------------

    def _count(self, trace: commands.PublishTrace) -> None:
        metrics, data = self._services.metrics, trace.data
        match trace.kind:
            case commands.TraceKind.KEY:
                action = data.get("action")
                metrics.key_presses.labels(action=str(action) if action else "invalid").inc()
            case commands.TraceKind.EXTENSION:
                metrics.key_presses.labels(action="extension").inc()
            case commands.TraceKind.TRANSFER:
                self._transfer_kind = str(data.get("kind"))
            case commands.TraceKind.TRANSFER_RESULT:
                result = str(data.get("result"))
                metrics.transfers.labels(kind=self._transfer_kind, result=result).inc()
                if result == "refused":
                    metrics.transfers_refused.labels(reason=str(data.get("reason"))).inc()
            case commands.TraceKind.LIMIT:
                metrics.outbound_calls_cut.inc()
            case commands.TraceKind.CONFERENCE:
                metrics.transfers.labels(kind="conference", result="joined").inc()
            case commands.TraceKind.ENDED:
                metrics.calls.labels(outcome=str(data.get("outcome"))).inc()
            case _:
                pass

    async def _publish(self) -> None:
        """Publish the call's trace steps in the order they were made: those made while the
        last ones were being acknowledged go together, pipelined (`publish_steps`)."""
        prefix = ids.call_prefix(self.context.call_id, self.context.id_prefix)
        ended = False
        while not ended:
            batch: list[tuple[CallEvent, str]] = []
            event = await self._traces.get()
            while event is not None:
                self._published += 1
                batch.append((event, f"{prefix}:{self._published}"))
                if self._traces.empty():
                    break
                event = self._traces.get_nowait()
            ended = event is None  # the call's end: the last steps are in the batch
            if batch:
                await publish_steps(self._services, batch)


async def publish_steps(services: CallServices, steps: Sequence[tuple[CallEvent, str]]) -> None:
    """Publish steps of one call in their order, pipelined (`PipelinedPublisher`: each written
    to NATS before any acknowledgement is awaited, then the acknowledgements awaited
    together; one connection keeps the steps' order in the stream). Should one be refused or
    not acknowledged within PUBLISH_ACK_WAIT_S (NATS stalled, down, reconnecting), the steps
    from the first one not stored are published again one after the other by
    `publish_step`, which retries: their message ids make a step that was stored after all
    count once, at its first place."""
    messages = [
        (subjects.call_event(event.tenant_id, event.kind), event.model_dump_json().encode(), key)
        for event, key in steps
    ]
    stored = 0
    failure: Exception
    try:
        await services.traces.publish(messages, PUBLISH_ACK_WAIT_S)
    except NotAllStored as error:
        stored, failure = error.stored, error
    except Exception as error:  # NATS stalled or down: one by one, with retries
        failure = error
    else:
        return
    services.metrics.trace_publish_failures.inc()
    log.warning(
        "call.trace_batch_unacknowledged",
        call_id=steps[0][0].call_id,
        steps=len(steps),
        acknowledged=stored,
        error=repr(failure),
    )
    for event, message_id in steps[stored:]:
        await publish_step(services, event, message_id)


async def publish_step(services: CallServices, event: CallEvent, message_id: str) -> None:
    """Publish one step of a call's trace, trying again while NATS fails (the message id makes
    a step that was stored after all count once), until PUBLISH_GIVE_UP_S."""
    subject = subjects.call_event(event.tenant_id, event.kind)
    loop = asyncio.get_running_loop()
    give_up = loop.time() + PUBLISH_GIVE_UP_S
    for attempt in itertools.count():
        try:
            await publish_event(services.jetstream, subject, event, message_id)
        except Exception as error:  # NATS stalled or down: the call goes on meanwhile
            services.metrics.trace_publish_failures.inc()
            log.warning(
                "call.trace_publish_failed",
                call_id=event.call_id,
                kind=event.kind,
                attempt=attempt + 1,
                error=repr(error),
            )
            if loop.time() >= give_up:
                log.exception("call.trace_lost", call_id=event.call_id, kind=event.kind)
                return
            await asyncio.sleep(PUBLISH_RETRY_S[min(attempt, len(PUBLISH_RETRY_S) - 1)])
        else:
            return
