"""The executor between the call flow and Asterisk, where Asterisk cannot be made to do what a
test needs on demand: a ring group's first answerer hanging up before it is bridged.

That race (the answer reaches the service, then the leg goes while its bridge is being made)
is won or lost by milliseconds on a real Asterisk; here the call's port is a fake whose bridge
fails as Asterisk's does when the leg has gone (422), or succeeds. The flow, the executor and
the trace publisher are the real ones, on a nats-server of the test's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from uuid import UUID

import pytest
from nats_support import as_user
from prometheus_client import CollectorRegistry
from rcp.callflow.events import CallContext, DialResult, DialStatus, Hangup
from rcp.callflow.flow import Call
from rcp.callflow.prompts import Playable
from rcp.messaging import connect_nats, ensure_streams
from rcp.settings import CommonSettings
from rcp.vocabulary import Outcome
from rcp_devstack.natsserver import PrivateNats, private_nats
from rcp_devstack.settings import StackSettings
from rcp_stasis.ari import AriError
from rcp_stasis.executor import CallRunner, CallServices
from rcp_stasis.limits import CallLimits
from rcp_stasis.metrics import StasisMetrics
from rcp_stasis.ports import AsteriskEvent, DirectoryPage, KeyPressed
from rcp_stasis.room_locks import LockPolicy, RoomLocks
from stasis_flow_support import BASE

CALLER = "caller-1"


class _Prompts:
    """Every prompt playable at once (the media service is not what is tested here)."""

    async def uri_for(self, tenant_id: UUID, piece: Playable, budget_s: float | None = None) -> str:
        return f"sound:{type(piece).__name__}"

    def forget(self, tenant_id: UUID) -> None:
        pass


class _NoDirectory:
    async def search(
        self, tenant_id: UUID, digits: str, page_size: int, cursor: str | None = None
    ) -> DirectoryPage:
        return DirectoryPage((), 0)


class _Call:
    """A caller's channel as the executor sees it: what it asked for, in order, and the events
    the test makes Asterisk send. `bridge` fails like Asterisk's when `leg_gone_first`."""

    def __init__(self, *, leg_gone_first: bool) -> None:
        self.channel_id = CALLER
        self.args: tuple[str, ...] = ("+33199000001",)
        self.caller_number: str | None = "+33612345678"
        self.leg_gone_first = leg_gone_first
        self.asked: list[tuple[str, ...]] = []
        self.dialled: dict[str, str] = {}  # endpoint -> leg id
        self._events: asyncio.Queue[AsteriskEvent] = asyncio.Queue()

    def send(self, event: AsteriskEvent) -> None:
        self._events.put_nowait(event)

    async def events(self) -> AsyncIterator[AsteriskEvent]:
        while True:
            yield await self._events.get()

    async def answer(self) -> None:
        self.asked.append(("answer",))

    async def play(self, playback_id: str, media: Sequence[str]) -> None:
        self.asked.append(("play", playback_id))

    async def stop_playback(self, playback_id: str) -> bool:
        self.asked.append(("stop playback", playback_id))
        return True

    async def dial(
        self,
        leg_id: str,
        endpoint: str,
        timeout_s: int,
        caller_id: str | None = None,
        bridge_id: str | None = None,
    ) -> None:
        self.dialled[endpoint] = leg_id
        self.asked.append(("dial", leg_id))

    async def ring(self) -> None:
        self.asked.append(("ring",))

    async def stop_ringing(self) -> None:
        self.asked.append(("stop ringing",))

    async def hang_up_leg(self, leg_id: str) -> bool:
        self.asked.append(("hang up leg", leg_id))
        return not self.leg_gone_first

    async def bridge(self, bridge_id: str, leg_id: str) -> None:
        self.asked.append(("bridge", leg_id))
        if self.leg_gone_first:
            raise AriError(422, "Channel not in Stasis application")

    async def destroy_bridge(self, bridge_id: str) -> bool:
        self.asked.append(("destroy bridge", bridge_id))
        return True

    async def join_conference(self, conference_id: str) -> None:
        raise AssertionError("no conference in these calls")

    async def leave_conference(self, conference_id: str) -> None:
        raise AssertionError("no conference in these calls")

    async def record(
        self, name: str, *, max_duration_s: int, max_silence_s: int, beep: bool, terminate_on: str
    ) -> None:
        raise AssertionError("no recording in these calls")

    async def stop_recording(self, name: str) -> bool:
        raise AssertionError("no recording in these calls")

    async def recording_stored(self, name: str) -> bool:
        return False

    async def variable(self, name: str) -> str | None:
        return None

    async def set_variable(self, name: str, value: str) -> None:
        self.asked.append(("set variable", name))

    async def continue_in_dialplan(self) -> bool:
        return True

    async def hang_up(self, reason: str = "normal") -> bool:
        self.asked.append(("hang up",))
        return True

    async def release(self) -> None:
        pass

    def after(self, what: tuple[str, ...]) -> list[tuple[str, ...]]:
        """What was asked after `what` (its last time)."""
        at = len(self.asked) - 1 - self.asked[::-1].index(what)
        return self.asked[at + 1 :]


@pytest.fixture
def server(tmp_path: Path, settings: StackSettings) -> Iterator[PrivateNats]:
    with private_nats(tmp_path, settings.nats_credentials_dir) as started:
        yield started


@pytest.fixture
async def services(server: PrivateNats) -> AsyncIterator[CallServices]:
    stasis = as_user(CommonSettings(nats_url=server.url), "stasis")
    async with connect_nats(stasis, "stasis") as nc:
        js = nc.jetstream()
        await ensure_streams(js)
        services = CallServices(
            prompts=_Prompts(),
            directory=_NoDirectory(),
            jetstream=js,
            save_voicemail=lambda message: None,
            discard_recording=lambda name: None,
            metrics=StasisMetrics(CollectorRegistry()),
            limits=CallLimits(10),
            room_locks=RoomLocks(LockPolicy()),
        )
        yield services
        await services.drain_publishing(10)


async def until(check: object, call: _Call, timeout_s: float = 5.0) -> None:
    """Wait until the fake has been asked for `check` (a request, as recorded)."""
    async with asyncio.timeout(timeout_s):
        while check not in call.asked:  # noqa: ASYNC110 - the runner's task records it
            await asyncio.sleep(0.01)


async def ring_group_answered(
    services: CallServices, call: _Call
) -> tuple[asyncio.Task[Call], str, str]:
    """A call in the demo tenant's simultaneous ring group (key 3: 101 and 102), 102 answering
    first; the runner's task, 101's leg and 102's."""
    context = CallContext(CALLER, "+33199000001", "+33612345678", BASE)
    running = asyncio.create_task(CallRunner(call, context, services).run())
    await until(("answer",), call)
    call.send(KeyPressed("3", 0.0))
    async with asyncio.timeout(5):
        while len(call.dialled) < 2:  # noqa: ASYNC110 - the runner's task dials them
            await asyncio.sleep(0.01)
    first, second = call.dialled["PJSIP/phone-101"], call.dialled["PJSIP/phone-102"]
    call.send(DialResult(second, DialStatus.ANSWERED))
    await until(("bridge", second), call)
    return running, first, second


async def test_a_ring_group_answerer_gone_before_its_bridge_leaves_the_caller_ringing_the_others(
    services: CallServices,
) -> None:
    call = _Call(leg_gone_first=True)
    running, first, second = await ring_group_answered(services, call)
    await until(("play", f"{CALLER}-ringback-a"), call)  # the call's second ringback
    after = call.after(("bridge", second))
    assert ("hang up leg", first) not in call.asked  # 101 still rings
    assert [a[0] for a in after][:3] == ["hang up leg", "destroy bridge", "play"]
    assert not running.done()  # the caller waits for 101, hearing ringback
    call.send(Hangup())
    ended = await asyncio.wait_for(running, 5)
    assert ended.outcome is Outcome.CALLER_HANGUP  # never connected: no transfer
    assert ("hang up leg", first) in call.after(("play", after[2][1]))


async def test_a_ring_group_answerer_bridged_is_a_transfer_and_the_others_stop_ringing_then(
    services: CallServices,
) -> None:
    call = _Call(leg_gone_first=False)
    running, first, second = await ring_group_answered(services, call)
    await until(("hang up leg", first), call)
    call.send(Hangup(second))  # the phone hangs up after talking
    ended = await asyncio.wait_for(running, 5)
    assert ended.outcome is Outcome.TRANSFERRED
    assert call.after(("bridge", second))[0] == ("hang up leg", first)
