"""Faults a carrier will meet, with a call in every phase (menu, name entry, ringing, bridged,
voicemail): what the callers hear, that their keys work once it is over, that every call's
record is closed with an outcome, and that no channel, bridge or recording is left behind.

Each test runs a receptionist of its own (fault_support): its own nats-server, database and
service processes, so that pausing NATS or refusing the database disturbs nobody else.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import nats
import pytest
from fault_support import (
    BUDGET_S,
    SLACK_S,
    Caller,
    FaultStack,
    Listeners,
    fault_stack,
    key_steps,
    open_records,
    outcomes,
    paused,
    report,
    silence_after,
    voicemails,
)
from nats_support import login
from rcp import subjects
from rcp.contracts.directory import SearchRequest, SearchResult
from rcp.messaging import request
from rcp_devstack.asterisk import PrivateAsterisk
from rcp_devstack.processes import free_port
from rcp_devstack.settings import StackSettings
from stasis_e2e_support import WAIT_S, Phones, metric_sum, phones, refuse_connections

pytestmark = pytest.mark.asterisk

HOURS = "2"
VOICEMAIL_SILENCE_S = 5  # the silence that ends a message (FlowOptions.voicemail_silence_s)
LEF = "533"  # L-E-F: Lefèvre; the third key starts the search


@pytest.fixture
async def stack(asterisk: StackSettings, own_url: str, tmp_path: Path) -> AsyncIterator[FaultStack]:
    async with fault_stack(asterisk, own_url, tmp_path) as running:
        yield running


async def heard_within_budget(
    ears: Listeners, caller: Caller, moment_s: float, waited_s: float = 0.0
) -> float:
    """Seconds from `moment_s` to the next speech the caller heard; fails past the budget
    (plus `waited_s`, the flow's own wait for the caller, such as the inter-digit time)."""
    heard = await ears.stop_listening(caller)
    silence = silence_after(heard, moment_s)
    assert silence is not None, f"{caller.phase}: nothing heard after {moment_s:.1f} s"
    assert silence <= waited_s + BUDGET_S + SLACK_S, (
        f"{caller.phase}: {silence:.2f} s of silence after {moment_s:.1f} s"
    )
    return silence


async def finish_calls(
    ears: Listeners,
    calls: dict[str, Caller],
    *,
    still_ringing: bool = True,
    in_menu: tuple[str, ...] = ("menu", "name"),
) -> dict[str, float]:
    """Once the fault is over: every caller's keys work (each heard within the budget), the
    ringing extension answers (or, `still_ringing` False, that caller is in the menu again),
    the bridged one hangs up, the message is left; then the callers hang up. Returns each
    caller's silence after their key."""
    lines = ears.lines
    in_menu = in_menu if still_ringing else (*in_menu, "ringing")
    after = {phase: await ears.press(calls[phase], HOURS) for phase in in_menu}
    ringing = calls["ringing"]
    assert ringing.extension is not None
    if still_ringing:
        await lines.answer(ringing.extension)
        await ears.bridged(ringing)
    await lines.hang_up(ringing.extension)
    bridged = calls["bridged"]
    assert bridged.extension is not None
    await lines.hang_up(bridged.extension)
    await ears.stop_speaking(calls["voicemail"])  # silence ends the message, the
    await lines.gone(calls["voicemail"].phone)  # receptionist thanks and hangs up
    await asyncio.sleep(BUDGET_S + SLACK_S)
    silences = {
        phase: await heard_within_budget(ears, calls[phase], moment)
        for phase, moment in after.items()
    }
    for caller in calls.values():
        await ears.stop_listening(caller)
        await lines.hang_up(caller.phone)
    return silences


async def nothing_left(stack: FaultStack, lines: Phones, calls: dict[str, Caller]) -> None:
    """No channel, bridge or recording left, and every call's record closed."""
    await lines.stasis_holds_nothing()
    await lines.phones_hold_nothing()
    stored = await lines.probe.request("GET", "/recordings/stored")
    ours = [
        r["name"] for r in stored if any(r["name"].startswith(c.call_id) for c in calls.values())
    ]
    assert ours == []
    for _ in range(150):  # the last steps of the traces reach the database within 30 s
        if not await open_records(stack.database_url, stack.tenant):
            break
        await asyncio.sleep(0.2)
    assert await open_records(stack.database_url, stack.tenant) == []
    for caller in calls.values():  # every key reached the flow, and its trace step the record
        pressed = sum(keys.count(HOURS) for _, keys in caller.keys)
        assert await key_steps(stack.database_url, caller.call_id, HOURS) == pressed, caller


async def saved_messages(stack: FaultStack, expected: int) -> int:
    """The tenant's voicemail messages, once there are `expected` (stored in the background
    after the call) or after 30 s."""
    for _ in range(150):
        if (count := await voicemails(stack.database_url, stack.tenant)) >= expected:
            return count
        await asyncio.sleep(0.2)
    return await voicemails(stack.database_url, stack.tenant)


async def records_open(stack: FaultStack, *callers: Caller) -> None:
    """Once the calls' records exist (their starts written), within 30 s."""
    for _ in range(150):
        if {c.call_id for c in callers} <= set(await outcomes(stack.database_url, stack.tenant)):
            return
        await asyncio.sleep(0.2)


async def test_a_5_s_nats_stall_costs_callers_at_most_the_budget_and_everything_recovers(
    stack: FaultStack,
) -> None:
    async with phones(stack.apps) as lines:
        ears = Listeners(lines, stack.tenant)
        calls = await ears.in_phases()
        with paused(stack.nats):
            hours_asked = await ears.press(calls["menu"], HOURS)
            spelled = await ears.press(calls["name"], LEF)
            await asyncio.sleep(5.0)
        after = await finish_calls(ears, calls)
        during = {
            "menu": await heard_within_budget(ears, calls["menu"], hours_asked),
            "name": await heard_within_budget(ears, calls["name"], spelled),
        }
        await nothing_left(stack, lines, calls)
    ended = await outcomes(stack.database_url, stack.tenant)
    assert ended[calls["bridged"].call_id] == "transferred"
    assert ended[calls["ringing"].call_id] == "transferred"
    assert ended[calls["voicemail"].call_id] == "voicemail"
    assert await saved_messages(stack, 1) == 1
    report(f"nats stall 5 s: silence during {during}, after {after}")


async def test_stasis_killed_with_calls_in_every_phase_the_next_process_serves_them_all(
    stack: FaultStack,
) -> None:
    async with phones(stack.apps) as lines:
        ears = Listeners(lines, stack.tenant)
        calls = await ears.in_phases()
        # A caller who hangs up while no stasis runs (nobody takes the call over), and one
        # whose message ends meanwhile (silence) and who waits on the line.
        lost = await ears.call("lost")
        said = await ears.call("said")
        await ears.press(said, "5")
        await ears.speak_message(said)
        await records_open(stack, lost, said)
        await asyncio.sleep(4.0)  # what the caller says lasts a while
        await stack.stasis.kill()
        killed = {phase: caller.now() for phase, caller in calls.items()}
        await ears.stop_listening(lost)
        await lines.hang_up(lost.phone)
        await lines.gone(lost.phone)
        await ears.stop_speaking(said)
        await asyncio.sleep(VOICEMAIL_SILENCE_S + 1)  # the recording ends on silence
        down_s = calls["menu"].now() - killed["menu"]
        stack.stasis.start()
        back_s = await stack.stasis.ready()
        after = await finish_calls(ears, calls, still_ringing=False)
        # Those who were in the menu, spelling a name or hearing ringback hear the menu again.
        again = {
            phase: await heard_within_budget(ears, calls[phase], killed[phase], down_s + back_s)
            for phase in ("menu", "name", "ringing")
        }
        await lines.gone(said.phone)  # "message saved, goodbye"
        await nothing_left(stack, lines, {**calls, "lost": lost, "said": said})
    ended = await outcomes(stack.database_url, stack.tenant)
    assert ended[lost.call_id] == "failed"  # closed by the next process
    assert ended[said.call_id] == "voicemail"  # its message saved by the next process
    assert ended[calls["bridged"].call_id] == "transferred"
    assert ended[calls["voicemail"].call_id] == "voicemail"
    assert await saved_messages(stack, 2) == 2
    report(f"stasis SIGKILL: ready again in {back_s:.1f} s, menu again after {again}, keys {after}")


async def test_stasis_stopped_with_sigterm_serves_its_calls_for_the_grace_then_ends_each_with_an_outcome(
    stack: FaultStack,
) -> None:
    grace_s = float(stack.stasis.env["RCP_STASIS_DRAIN_GRACE_S"])
    async with phones(stack.apps) as lines:
        ears = Listeners(lines, stack.tenant)
        calls = await ears.in_phases()
        stack.stasis.signal(signal.SIGTERM)
        stopping = calls["menu"].now()
        keys = await ears.press(calls["menu"], HOURS)  # calls go on meanwhile
        assert await stack.stasis.wait(grace_s + WAIT_S) == 0
        stopped_s = calls["menu"].now() - stopping
        during = await heard_within_budget(ears, calls["menu"], keys)
        for caller in calls.values():  # every caller was hung up by the service
            await lines.gone(caller.phone)
            await ears.stop_listening(caller)
        for caller in calls.values():
            if caller.extension is not None:
                await lines.gone(caller.extension)
        await nothing_left(stack, lines, calls)
    ended = await outcomes(stack.database_url, stack.tenant)
    assert {phase: ended[caller.call_id] for phase, caller in calls.items()} == {
        "menu": "failed",
        "name": "failed",
        "ringing": "failed",
        "bridged": "transferred",
        "voicemail": "voicemail",  # what was said until then is kept
    }
    assert await saved_messages(stack, 1) == 1
    report(
        f"stasis SIGTERM: stopped {stopped_s:.1f} s after (grace {grace_s:g} s), key {during:.2f} s"
    )


async def test_directory_killed_dial_by_name_says_it_is_unavailable_at_once_and_works_once_back(
    stack: FaultStack,
) -> None:
    async with phones(stack.apps) as lines:
        ears = Listeners(lines, stack.tenant)
        calls = await ears.in_phases()
        name = calls["name"]
        await stack.directory.kill()
        spelled = await ears.press(name, LEF)
        await asyncio.sleep(BUDGET_S + SLACK_S)
        stack.directory.start()
        back_s = await stack.directory.ready()
        await ears.press(name, "1")
        await asyncio.sleep(1.0)
        respelled = await ears.press(name, LEF)  # Lefèvre, found: his name, then a transfer
        since = lines.mark()
        name.extension = await lines.ringing(stack.tenant, "102", since)
        after = await finish_calls(ears, calls, in_menu=("menu",))
        during = await heard_within_budget(ears, name, spelled)
        found = await heard_within_budget(ears, name, respelled)
        await nothing_left(stack, lines, calls)
    ended = await outcomes(stack.database_url, stack.tenant)
    assert ended[calls["bridged"].call_id] == "transferred"
    assert ended[calls["voicemail"].call_id] == "voicemail"
    assert await saved_messages(stack, 1) == 1
    report(
        f"directory killed: unavailable said {during:.2f} s after the last digit, "
        f"back in {back_s:.1f} s, name found {found:.2f} s after it; keys {after}"
    )


async def stand_ins(stack: FaultStack) -> float:
    """How many prompts the stasis service has replaced by the stand-in so far."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{stack.stasis.port}/metrics") as response,
    ):
        text = await response.text()
    return metric_sum(text, "rcp_stasis_stand_in_prompts_total")


async def test_media_killed_cached_prompts_still_play_and_new_ones_give_way_to_the_stand_in(
    stack: FaultStack,
) -> None:
    async with phones(stack.apps) as lines:
        ears = Listeners(lines, stack.tenant)
        calls = await ears.in_phases()
        menu, name = calls["menu"], calls["name"]
        await ears.press(menu, HOURS)  # heard once: cached from now on
        await asyncio.sleep(BUDGET_S)
        await stack.media.kill()
        before = await stand_ins(stack)
        cached_key = await ears.press(menu, HOURS)
        await asyncio.sleep(BUDGET_S)
        assert await stand_ins(stack) == before  # played from the caches
        spelled = await ears.press(name, LEF)  # Lefèvre's name: never said, so never cached
        since = lines.mark()
        name.extension = await lines.ringing(stack.tenant, "102", since)
        assert await stand_ins(stack) > before
        stack.media.start()
        back_s = await stack.media.ready()
        after = await finish_calls(ears, calls, in_menu=("menu",))
        cached = await heard_within_budget(ears, menu, cached_key)
        stand_in = await heard_within_budget(ears, name, spelled)
        await nothing_left(stack, lines, calls)
    ended = await outcomes(stack.database_url, stack.tenant)
    assert ended[calls["bridged"].call_id] == "transferred"
    assert ended[calls["voicemail"].call_id] == "voicemail"
    assert await saved_messages(stack, 1) == 1
    report(
        f"media killed: cached prompt {cached:.2f} s after the key, stand-in {stand_in:.2f} s "
        f"after the last digit; media back in {back_s:.1f} s; keys {after}"
    )


async def until_ready(stack: FaultStack) -> float:
    """Seconds until every service says it is ready again."""
    started = asyncio.get_running_loop().time()
    for service in stack.services:
        await service.ready()
    return asyncio.get_running_loop().time() - started


async def test_a_30_s_nats_stall_is_reported_not_ready_and_every_service_recovers_by_itself(
    stack: FaultStack,
) -> None:
    async with phones(stack.apps) as lines:
        ears = Listeners(lines, stack.tenant)
        calls = await ears.in_phases()
        with paused(stack.nats):
            hours_asked = await ears.press(calls["menu"], HOURS)
            spelled = await ears.press(calls["name"], LEF)
            await asyncio.sleep(BUDGET_S + SLACK_S)
            for service in stack.services:  # readiness tells the truth, and costs nothing
                checks = await service.readiness()
                assert checks["nats"] != "ok", (service.name, checks)
            await asyncio.sleep(30.0 - BUDGET_S - SLACK_S)
        recovered_s = await until_ready(stack)
        after = await finish_calls(ears, calls)
        during = {
            "menu": await heard_within_budget(ears, calls["menu"], hours_asked),
            "name": await heard_within_budget(ears, calls["name"], spelled),
        }
        await nothing_left(stack, lines, calls)
    ended = await outcomes(stack.database_url, stack.tenant)
    assert ended[calls["bridged"].call_id] == "transferred"
    assert ended[calls["ringing"].call_id] == "transferred"
    assert ended[calls["voicemail"].call_id] == "voicemail"
    assert await saved_messages(stack, 1) == 1
    report(
        f"nats stall 30 s: silence during {during}, all ready {recovered_s:.1f} s after "
        f"SIGCONT, keys after {after}"
    )


async def warm_directory(stack: FaultStack) -> None:
    """Have the directory load the tenant's names, as calls of the day would have."""
    client = await nats.connect(stack.nats.url, **login())
    try:
        ask = SearchRequest(tenant_id=stack.tenant.id, digits=LEF, complete=True)
        subject = subjects.DIRECTORY_SEARCH.subject(stack.tenant.id)
        await request(client, subject, ask, SearchResult, 10)
    finally:
        await client.close()


async def test_postgresql_refusing_connections_for_30_s_leaves_calls_served_and_loses_no_record(
    stack: FaultStack, settings: StackSettings
) -> None:
    await warm_directory(stack)
    async with phones(stack.apps) as lines:
        ears = Listeners(lines, stack.tenant)
        calls = await ears.in_phases()
        name = calls["name"]
        await refuse_connections(settings.database_url, stack.database_url, allow=False)
        try:
            hours_asked = await ears.press(calls["menu"], HOURS)
            spelled = await ears.press(name, LEF)  # found in the directory's memory
            since = lines.mark()
            name.extension = await lines.ringing(stack.tenant, "102", since)
            late = await ears.call("late")  # a new call of a tenant whose settings are cached
            late_key = await ears.press(late, HOURS)
            await asyncio.sleep(30.0)
        finally:
            await refuse_connections(settings.database_url, stack.database_url, allow=True)
        recovered_s = await until_ready(stack)
        calls["late"] = late
        after = await finish_calls(ears, calls, in_menu=("menu", "late"))
        during = {
            "menu": await heard_within_budget(ears, calls["menu"], hours_asked),
            "name": await heard_within_budget(ears, name, spelled),
            "late": await heard_within_budget(ears, late, late_key),
        }
        await nothing_left(stack, lines, calls)
    ended = await outcomes(stack.database_url, stack.tenant)
    assert ended[calls["bridged"].call_id] == "transferred"
    assert ended[calls["ringing"].call_id] == "transferred"
    assert ended[calls["voicemail"].call_id] == "voicemail"
    assert await saved_messages(stack, 1) == 1
    report(
        f"postgres refused 30 s: silence during {during}, all ready {recovered_s:.1f} s after, "
        f"keys after {after}"
    )


@pytest.fixture
async def own_asterisk(asterisk: StackSettings, tmp_path: Path) -> AsyncIterator[PrivateAsterisk]:
    """A second Asterisk, on ports of its own: restarting it disturbs nobody."""
    settings = asterisk.model_copy(
        update={
            "ari_url": f"http://127.0.0.1:{free_port()}",
            "asterisk_sip_port": free_port(),
            "asterisk_rtp_start": 20000,  # no RTP here: the calls are Local channels
            "asterisk_rtp_end": 20099,
        }
    )
    server = PrivateAsterisk(settings, f"fault{uuid.uuid4().hex[:8]}", tmp_path / "asterisk.log")
    await asyncio.to_thread(server.prepare)
    try:
        server.start()
        await answering(server)
        yield server
    finally:
        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(server.remove)


async def answering(server: PrivateAsterisk) -> float:
    """Seconds until the Asterisk's ARI answers."""
    started = asyncio.get_running_loop().time()
    async with asyncio.timeout(90):
        while not await asyncio.to_thread(server.answers):  # noqa: ASYNC110 - another process
            await asyncio.sleep(0.3)
    return asyncio.get_running_loop().time() - started


async def test_asterisk_restarted_calls_cut_are_closed_and_new_calls_are_served(
    own_asterisk: PrivateAsterisk, own_url: str, tmp_path: Path
) -> None:
    async with fault_stack(own_asterisk.settings, own_url, tmp_path) as stack:
        async with phones(stack.apps) as lines:
            calls = await Listeners(lines, stack.tenant).in_phases()
        await asyncio.to_thread(own_asterisk.stop)  # every call is cut
        own_asterisk.start()
        asterisk_s = await answering(own_asterisk)
        stasis_s = await stack.stasis.ready()  # its application is connected again
        async with phones(stack.apps) as lines:
            ears = Listeners(lines, stack.tenant)
            after = await ears.call("after")
            key = await ears.press(after, HOURS)
            await asyncio.sleep(BUDGET_S + SLACK_S)
            served = await heard_within_budget(ears, after, key)
            await lines.hang_up(after.phone)
            await nothing_left(stack, lines, {**calls, "after": after})
        ended = await outcomes(stack.database_url, stack.tenant)
        cut = {phase: ended[caller.call_id] for phase, caller in calls.items()}
        assert cut["bridged"] == "transferred"
        # The record says a message was left; the message itself is lost with Asterisk: after
        # its restart it serves no file of a recording it did not finish (README, operations).
        assert cut["voicemail"] == "voicemail"
    report(
        f"asterisk restarted: ARI back in {asterisk_s:.1f} s, stasis ready {stasis_s:.1f} s "
        f"later, cut calls ended {cut}, a new caller's key answered {served:.2f} s after"
    )
