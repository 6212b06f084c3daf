"""Taking the application's calls: each finds its tenant and runs the flow in its own task.

`Receptionist.handle` is the ARI adapter's call handler. It also:
- hands new configurations to the calls of the tenant they concern (through `TenantConfigs`);
- reconciles after the event WebSocket comes back: a call of ours whose caller left meanwhile
  ends, one waiting on a lost event starts its menu again (the flow's `Resumed`); a channel
  left in the application by a stasis process that died is picked up: a caller in the menu
  hears the menu again, a caller bridged or in a conference is left talking (and cleaned up
  once they hang up), a ringing leg of a call nobody runs is hung up;
- drains: once `drain()` is called, new calls go back to the dialplan (whose fallback refuses
  them, so that the carrier tries another node) while the calls under way finish;
- stores voicemail messages in the background, so that a caller who hangs up is not held.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

import asyncpg
import structlog

from rcp_stasis import ids
from rcp_stasis.ari import AriConnection, AriError
from rcp_stasis.config import FlowOptions, TenantConfig
from rcp_stasis.events import CallContext, ConfigReloaded, Hangup, Resumed
from rcp_stasis.executor import CallRunner, CallServices
from rcp_stasis.metrics import StasisMetrics
from rcp_stasis.ports import AriCallPort, RecordingPort, VoicemailMessage
from rcp_stasis.tenants import TenantConfigs

log = structlog.get_logger(__name__)


class Voicemails:
    """Stores voicemail messages in tasks of their own; `drain` waits for those under way."""

    def __init__(self, store: RecordingPort, metrics: StasisMetrics) -> None:
        self._store = store
        self._metrics = metrics
        self._saving: set[asyncio.Task[None]] = set()

    def save(self, message: VoicemailMessage) -> None:
        """Start storing a message."""
        task = asyncio.create_task(self._save(message), name=f"voicemail-{message.recording}")
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
    ) -> None:
        self._configs = configs
        self._services = services
        self._options = options
        self._runners: dict[str, CallRunner] = {}
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
        """Run again, from its menu, a call whose process died (counted in whatever the caps)."""
        await self._run(
            call, id_prefix=ids.resumed_prefix(call.channel_id, secrets.token_hex(3)), resumed=True
        )

    async def _run(self, call: AriCallPort, id_prefix: str, *, resumed: bool = False) -> None:
        number = call.args[0] if call.args else ""
        try:
            config = await self._configs.for_number(number) if number else None
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
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
            await self._run_admitted(call, config, number, id_prefix)
        finally:
            limits.call_ended(tenant_id)

    async def _run_admitted(
        self, call: AriCallPort, config: TenantConfig, number: str, id_prefix: str
    ) -> None:
        context = CallContext(
            call_id=call.channel_id,
            called_number=number,
            caller_number=call.caller_number,
            config=config,
            options=self._options,
            id_prefix=id_prefix,
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
            if not self._runners:
                self._idle.set()

    async def drain(self, grace_s: float) -> None:
        """Take no more calls; wait up to `grace_s` for those under way to end."""
        self.draining = True
        log.info("stasis.draining", calls=self.active_calls, grace_s=grace_s)
        try:
            async with asyncio.timeout(grace_s):
                await self._idle.wait()
        except TimeoutError:
            log.warning("stasis.grace_over", calls=self.active_calls)
        else:
            log.info("stasis.drained")

    # --- reconciling after (re)connecting ---------------------------------------------------

    async def reconcile(self, ari: AriConnection, connections: int) -> None:
        """Bring the calls in line with the channels in the application (see the module)."""
        if connections > 1:
            for channel_id, runner in list(self._runners.items()):
                gone = await ari.channel(channel_id) is None
                runner.tell(Hangup() if gone else Resumed())
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
                ari.take_over(channel, wait_for_hangup, conferences=[bridge_id])
            else:
                others = [c for c in bridges[bridge_id]["channels"] if c != channel_id]
                ari.take_over(channel, wait_for_hangup, legs=others, bridges=[bridge_id])

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


def _config_listener(runner: CallRunner) -> Callable[[TenantConfig], None]:
    return lambda config: runner.tell(ConfigReloaded(config))


async def wait_for_hangup(call: AriCallPort) -> None:
    """Keep a call we took over until its caller or the other party leaves; the adapter then
    releases the rest (hangs up the other party, destroys the bridge, leaves the room)."""
    async for event in call.events():
        if event.type in ("StasisEnd", "ChannelDestroyed"):
            return
