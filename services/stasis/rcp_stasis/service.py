"""Taking the application's calls: each finds its tenant and runs the flow in its own task.

`Receptionist.handle` is the ARI adapter's call handler. It also:
- hands new configurations to the calls of the tenant they concern (through `TenantConfigs`);
- reconciles after the event WebSocket comes back: a call of ours whose caller left meanwhile
  ends, one waiting on a lost event starts its menu again (the flow's `Resumed`); a channel
  left in the application by a stasis process that died is picked up: a caller in the menu
  hears the menu again, a caller bridged or in a conference is left talking (and cleaned up
  once they hang up), a ringing leg of a call nobody runs is hung up (one ringing in its
  caller's bridge too: that caller hears the menu again);
- drains: once `drain()` is called, new calls go back to the dialplan (whose fallback refuses
  them, so that the carrier tries another node) while the calls under way finish; those
  still up when the grace time is over are ended by the service (`Shutdown`), so that each
  call's record is closed with an outcome;
- closes the record of a call it took over bridged or in a conference once it ends, and,
  when it starts, those of calls a dead process of its Asterisk left whose callers hung up
  before anyone took them over;
- stores voicemail messages in the background, so that a caller who hangs up is not held.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from rcp.callflow import ids
from rcp.callflow.commands import TraceKind
from rcp.callflow.config import FlowOptions, TenantConfig
from rcp.callflow.events import CallContext, ConfigReloaded, Hangup, Resumed, Shutdown
from rcp.contracts import CallEvent
from rcp.db.pool import DATABASE_FAILURES
from rcp.schedule import decide
from rcp.vocabulary import Outcome

from rcp_stasis.ari import AriConnection, AriError
from rcp_stasis.executor import (
    RECORDING_VARIABLE,
    CallRunner,
    CallServices,
    publish_step,
    recording_in_progress,
    ringback_playbacks,
)
from rcp_stasis.metrics import StasisMetrics
from rcp_stasis.ports import AriCallPort, CallHandler, RecordingPort, VoicemailMessage
from rcp_stasis.tenants import TenantConfigs

log = structlog.get_logger(__name__)

# After the drain grace: how long the calls ended by the service take to hang up and publish.
SHUTDOWN_S = 5.0
PUBLISH_DRAIN_S = 10.0
# How far back a starting process looks for calls lost with a dead one (no call lasts longer).
LOST_CALLS_WINDOW = timedelta(days=1)

OpenCalls = Callable[[str, datetime, datetime], Awaitable[list[tuple[UUID, str]]]]
"""(node, since, before) -> (tenant, call id) of the node's calls whose record is open."""


class Voicemails:
    """Stores voicemail messages in tasks of their own; `drain` waits for those under way."""

    def __init__(self, store: RecordingPort, metrics: StasisMetrics) -> None:
        self._store = store
        self._metrics = metrics
        self._saving: set[asyncio.Task[None]] = set()

    def save(self, message: VoicemailMessage) -> None:
        """Start storing a message."""
        self._start(self._save(message), f"voicemail-{message.recording}")

    def _start(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._saving.add(task)
        task.add_done_callback(self._saving.discard)

    async def _save(self, message: VoicemailMessage) -> None:
        try:
            saved = await self._store.save(message)
        except Exception:
            self._metrics.voicemails.labels(result="failed").inc()
            log.exception(
                "voicemail.save_failed",
                call_id=message.call_id,
                recording=message.recording,
                extension=message.extension_number,
            )
        else:
            self._metrics.voicemails.labels(result="saved" if saved else "empty").inc()

    def discard(self, recording: str) -> None:
        """Start deleting a recording that is no message."""
        self._start(self._discard(recording), f"discard-{recording}")

    async def _discard(self, recording: str) -> None:
        try:
            await self._store.discard(recording)
        except Exception:  # a leftover file, not a lost message: logged, not raised
            log.exception("voicemail.discard_failed", recording=recording)

    async def drain(self, timeout_s: float = 60.0) -> None:
        """Wait for the messages being stored (at most `timeout_s`)."""
        if not self._saving:
            return
        _, late = await asyncio.wait(set(self._saving), timeout=timeout_s)
        for task in late:
            task.cancel()


class Receptionist:
    """The call handler of the Stasis application."""

    def __init__(
        self,
        configs: TenantConfigs,
        services: CallServices,
        options: FlowOptions,
        open_calls: OpenCalls | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._configs = configs
        self._services = services
        self._options = options
        self._open_calls = open_calls
        # The flow reads no clock: the schedule's state is decided here, when a call starts.
        self._clock = clock
        self._started_at = datetime.now(UTC)  # calls of this process start after it
        self._runners: dict[str, CallRunner] = {}
        self._kept: dict[str, AriCallPort] = {}  # calls taken over bridged or in a conference
        self._idle = asyncio.Event()
        self._idle.set()
        self.draining = False
        self._suspects: set[str] = set()

    @property
    def active_calls(self) -> int:
        """How many calls the flow runs now."""
        return len(self._runners)

    def phases(self) -> dict[str, str]:
        """Each call's phase now, by its channel (for operators' logs and tests)."""
        return {channel: type(r.call.phase).__name__ for channel, r in self._runners.items()}

    async def handle(self, call: AriCallPort) -> None:
        """Run a call that has just entered the application, unless draining."""
        if self.draining:
            self._services.metrics.refused.labels(reason="draining").inc()
            await call.continue_in_dialplan()
            return
        await self._run(call, id_prefix="")

    async def resume(self, call: AriCallPort) -> None:
        """Run again, from its menu, a call whose process died (counted in whatever the
        caps); one that was leaving a message has it saved and ends."""
        # A caller hearing ringback or leaving a message when the process died goes on
        # doing so until it is stopped, and Asterisk holds every request on the channel
        # (answer, play) behind it.
        for playback in ringback_playbacks(call.channel_id):
            await call.stop_playback(playback)
        with contextlib.suppress(AriError):  # or it was told that a leg rang (`ring`)
            await call.stop_ringing()
        message = recording_in_progress(await call.variable(RECORDING_VARIABLE))
        if message is not None:
            recording = message[0]
            live = await call.stop_recording(recording)
            if not live and not await call.recording_stored(recording):
                message = None  # it never started: no message
        prefix = ids.resumed_prefix(call.channel_id, secrets.token_hex(3))
        await self._run(call, prefix, message, resumed=True)

    async def _run(
        self,
        call: AriCallPort,
        id_prefix: str,
        message: tuple[str, str] | None = None,
        *,
        resumed: bool = False,
    ) -> None:
        number = call.args[0] if call.args else ""
        try:
            config = await self._configs.for_number(number) if number else None
        except DATABASE_FAILURES:
            # Not cached and the database does not answer: the dialplan's fallback (sorry
            # prompt, then the configured fallback) serves the caller better than silence.
            log.exception("call.config_unreadable", channel=call.channel_id)
            self._services.metrics.refused.labels(reason="error").inc()
            await call.continue_in_dialplan()
            return
        if config is None:
            log.warning("call.unknown_number", channel=call.channel_id, number=number)
            self._services.metrics.refused.labels(reason="unknown_number").inc()
            await call.hang_up("unallocated")
            return
        tenant_id = config.tenant_id
        limits = self._services.limits
        if not limits.admit_call(tenant_id, config.limits, force=resumed):
            # The tenant has its cap of calls here: the caller hears busy (SIP 486), so that
            # the carrier's switch can say so or try elsewhere.
            log.warning(
                "call.tenant_inbound_cap",
                channel=call.channel_id,
                tenant_id=str(tenant_id),
                cap=config.limits.max_inbound_calls,
            )
            self._services.metrics.refused.labels(reason="tenant_inbound_calls").inc()
            await call.hang_up("busy")
            return
        try:
            await self._run_admitted(call, config, number, id_prefix, message)
        finally:
            limits.call_ended(tenant_id)

    async def _run_admitted(
        self,
        call: AriCallPort,
        config: TenantConfig,
        number: str,
        id_prefix: str,
        message: tuple[str, str] | None,
    ) -> None:
        if message is not None:
            recording, extension = message
            self._services.save_voicemail(
                VoicemailMessage(
                    config.tenant_id, call.channel_id, recording, extension, call.caller_number
                )
            )
            await call.set_variable(RECORDING_VARIABLE, "")
        context = CallContext(
            call_id=call.channel_id,
            called_number=number,
            caller_number=call.caller_number,
            config=config,
            options=self._options,
            id_prefix=id_prefix,
            message_saved=message is not None,
            schedule=decide(config.schedule, self._clock()),
        )
        runner = CallRunner(call, context, self._services)
        tenant_id = config.tenant_id
        self._runners[call.channel_id] = runner
        self._idle.clear()
        self._configs.watch(tenant_id, runner, _config_listener(runner))
        try:
            ended = await runner.run()
            log.info(
                "call.ended",
                call_id=context.call_id,
                tenant_id=str(tenant_id),
                outcome=ended.outcome.value if ended.outcome else None,
            )
        finally:
            self._configs.unwatch(tenant_id, runner)
            del self._runners[call.channel_id]
            self._settle()

    def _settle(self) -> None:
        if not self._runners and not self._kept:
            self._idle.set()

    def _keep(self, outcome: Outcome) -> CallHandler:
        """A handler for a call taken over bridged or in a conference: it is left as it is
        until someone hangs up, and its record is then closed with `outcome`."""

        async def keep(call: AriCallPort) -> None:
            self._kept[call.channel_id] = call
            self._idle.clear()
            try:
                ended = await wait_for_hangup(call)
                by = "caller" if ended is None or ended.leg_id is None else "callee"
                await self._close_record(call, outcome, by)
            finally:
                del self._kept[call.channel_id]
                self._settle()

        return keep

    async def _close_record(self, call: AriCallPort, outcome: Outcome, by: str) -> None:
        number = call.args[0] if call.args else ""
        try:
            config = await self._configs.for_number(number) if number else None
        except DATABASE_FAILURES:
            config = None
        if config is None:
            log.error("call.record_not_closed", call_id=call.channel_id, number=number)
            return
        self._publish_end(config.tenant_id, call.channel_id, outcome, by)

    def _publish_end(self, tenant_id: UUID, call_id: str, outcome: Outcome, by: str) -> None:
        """Close the record of a call no flow of ours ran to its end (in the background)."""
        event = CallEvent(
            tenant_id=tenant_id,
            call_id=call_id,
            kind=TraceKind.ENDED.value,
            data={"outcome": outcome.value, "by": by, "taken_over": True},
        )
        task = asyncio.create_task(
            publish_step(self._services, event, f"{call_id}:ended-{by}"), name=f"trace-{call_id}"
        )
        self._services.publishing.add(task)
        task.add_done_callback(self._services.publishing.discard)

    async def _close_lost(self, ari: AriConnection) -> None:
        """Close the records of the calls a dead process of this Asterisk left whose channels
        are gone (their callers hung up before anyone took them over): outcome failed."""
        if self._open_calls is None:
            return
        before = self._started_at
        try:
            found = await self._open_calls(ari.app, before - LOST_CALLS_WINDOW, before)
        except DATABASE_FAILURES as error:
            log.warning("stasis.lost_calls_unread", error=repr(error))  # the next start will
            return
        # (A caller who hung up while leaving a message leaves no file: Asterisk drops the
        # recording of a channel that hangs up while its application is not connected.)
        for tenant_id, call_id in found:
            if ari.owns(call_id) or await ari.channel(call_id) is not None:
                continue  # taken over: its own end closes it
            log.info("stasis.lost_call_closed", call_id=call_id, tenant_id=str(tenant_id))
            self._publish_end(tenant_id, call_id, Outcome.FAILED, "lost")

    async def drain(self, grace_s: float) -> None:
        """Take no more calls; wait up to `grace_s` for those under way to end, then end the
        rest, and wait for the last steps of their records to be published."""
        self.draining = True
        log.info("stasis.draining", calls=self.active_calls, grace_s=grace_s)
        try:
            async with asyncio.timeout(grace_s):
                await self._idle.wait()
        except TimeoutError:
            log.warning("stasis.grace_over", calls=self.active_calls + len(self._kept))
            for runner in self._runners.values():
                runner.tell(Shutdown())
            for kept in list(self._kept.values()):
                with contextlib.suppress(AriError):
                    await kept.hang_up()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SHUTDOWN_S):
                    await self._idle.wait()
        else:
            log.info("stasis.drained")
        await self._services.drain_publishing(PUBLISH_DRAIN_S)

    # --- reconciling after (re)connecting ---------------------------------------------------

    async def reconcile(self, ari: AriConnection, connections: int) -> None:
        """Bring the calls in line with the channels in the application (see the module)."""
        if connections > 1:
            for channel_id, runner in list(self._runners.items()):
                gone = await ari.channel(channel_id) is None
                runner.tell(Hangup() if gone else Resumed())
        await self._take_over_orphans(ari)
        if connections == 1:  # a start: did a process before this one die with calls?
            await self._close_lost(ari)

    async def _take_over_orphans(self, ari: AriConnection) -> None:
        orphans = [c for c in await ari.channels_in_app() if not ari.owns(c)]
        if not orphans:
            return
        log.info("stasis.reconciling", channels=len(orphans))
        bridges = {bridge["id"]: bridge for bridge in await ari.bridges()}
        bridge_of = {
            channel: bridge_id
            for bridge_id, bridge in bridges.items()
            for channel in bridge.get("channels", [])
        }
        for channel_id in orphans:
            if ari.owns(channel_id):
                continue  # taken meanwhile (a new call, or a leg of a caller taken over)
            channel = await ari.channel(channel_id)
            if channel is None:
                continue
            bridge_id = bridge_of.get(channel_id)
            if ids.is_leg(channel_id):
                await self._orphan_leg(ari, channel_id, bridges.get(bridge_id or ""))
            elif bridge_id is None:
                log.info("stasis.call_resumed", channel=channel_id)
                ari.take_over(channel, self.resume)
            elif ids.is_conference(bridge_id):
                keep = self._keep(Outcome.CONFERENCE)
                ari.take_over(channel, keep, conferences=[bridge_id])
            else:
                others = [c for c in bridges[bridge_id]["channels"] if c != channel_id]
                if await _any_answered(ari, others):
                    keep = self._keep(Outcome.TRANSFERRED)
                    ari.take_over(channel, keep, legs=others, bridges=[bridge_id])
                    continue
                # Its transfer still rang (a leg rings in the caller's bridge): the leg is
                # hung up, the bridge goes, and the caller hears the menu again.
                for leg in others:
                    await ari.hang_up_channel(leg)
                await ari.destroy_bridge(bridge_id)
                log.info("stasis.call_resumed", channel=channel_id, ringing=others)
                ari.take_over(channel, self.resume)

    async def sweep(self, ari: AriConnection) -> list[str]:
        """Hang up the legs left in the application with no call of ours, seen so at two
        sweeps in a row (a leg whose hang-up failed under load, or one Asterisk created after
        its call had given up on it); return them. Every leg is owned from before it exists
        until its call ends, so one unowned twice is a leak, never a leg being set up."""
        if not ari.connected:
            return []
        unowned = {c for c in await ari.channels_in_app() if ids.is_leg(c) and not ari.owns(c)}
        stale, self._suspects = unowned & self._suspects, unowned - self._suspects
        for leg in sorted(stale):
            log.warning("stasis.orphan_leg_hung_up", channel=leg)
            await ari.hang_up_channel(leg)
        return sorted(stale)

    async def sweep_every(self, ari: AriConnection, interval_s: float) -> None:
        """Sweep orphan legs every `interval_s`, until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.sweep(ari)
            except AriError as error:  # the next sweep tries again
                log.warning("stasis.sweep_failed", error=error.message)

    async def _orphan_leg(
        self, ari: AriConnection, leg: str, bridge: dict[str, Any] | None
    ) -> None:
        """A leg whose caller nobody runs: ringing (hang it up), or bridged with its caller
        (taken over with the caller), or left alone in a bridge (hang up, destroy)."""
        if bridge is not None and any(not ids.is_leg(c) for c in bridge.get("channels", [])):
            return
        log.info("stasis.orphan_leg_hung_up", channel=leg)
        await ari.hang_up_channel(leg)
        if bridge is not None:
            await ari.destroy_bridge(str(bridge["id"]))


async def _any_answered(ari: AriConnection, channels: list[str]) -> bool:
    """Whether one of these channels is up (answered), not ringing."""
    for channel_id in channels:
        channel = await ari.channel(channel_id)
        if channel is not None and channel.get("state") == "Up":
            return True
    return False


def _config_listener(runner: CallRunner) -> Callable[[TenantConfig], None]:
    return lambda config: runner.tell(ConfigReloaded(config))


async def wait_for_hangup(call: AriCallPort) -> Hangup | None:
    """Keep a call we took over until its caller or the other party leaves (that event); the
    adapter then releases the rest (hangs up the other party, destroys the bridge, leaves the
    room)."""
    async for event in call.events():
        if isinstance(event, Hangup):
            return event
    return None
