"""Real calls through the stasis service on the local Asterisk, end to end.

One stack (stasis, directory, media) and one set of phones serve the whole module; each test
makes a tenant of its own, so its phones and records are its own. A caller's recording of
what it heard proves that prompts were really played.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from nats.aio.subscription import Subscription
from nats_support import as_user
from prometheus_client.parser import text_string_to_metric_families
from rcp import subjects
from rcp.callflow.ids import LEG_MARK
from rcp.contracts import VoicemailLeft
from rcp.messaging import connect_nats, reached_server
from stasis_e2e_support import (
    Phones,
    Stack,
    Tenant,
    ended_call,
    kind,
    provision,
    steps_of,
    traced,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.asyncio(loop_scope="module")]

# A prompt, even quiet speech, is far louder than a line's silence (0) or comfort noise.
AUDIBLE = 100.0


@pytest_asyncio.fixture(loop_scope="module")
async def tenant(stack: Stack, lines: Phones) -> AsyncIterator[Tenant]:
    yield await provision(stack.database_url, stack.phones_app)
    await lines.hang_up_everything()  # a test that failed half way leaves no call to the next


async def test_the_caller_hears_the_greeting_then_the_announcement_and_the_menu_again(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    caller = await lines.call(tenant)
    listening = await lines.start_listening(caller)
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    await lines.press(caller, "2")
    await traced(stack.database_url, tenant, kind("menu", reason="after_announcement"))
    assert await lines.heard(listening) > AUDIBLE
    await lines.hang_up(caller)
    record = await ended_call(stack.database_url, tenant)
    steps = steps_of(record)
    # The schedule step says which state (here: no hours set, so open) chose the first menu.
    assert [s["step"] for s in steps[:6]] == [
        "started",
        "answered",
        "schedule",
        "menu",
        "key",
        "announcement",
    ]
    assert steps[4]["action"] == "play_announcement"
    assert steps[0]["called_number"] == tenant.number
    assert steps[0]["caller_number"] == "+33612345678"
    assert record["outcome"] == "announcement"
    await lines.stasis_holds_nothing()


async def test_a_transfer_to_an_extension_that_answers_bridges_the_caller_with_it(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    caller = await lines.call(tenant)
    phone, bridge = await lines.transfer_answered(tenant, caller)
    assert len(bridge["channels"]) == 2
    await lines.hang_up(phone)
    await lines.gone(caller)
    record = await ended_call(stack.database_url, tenant)
    assert record["outcome"] == "transferred"
    await lines.stasis_holds_nothing()


async def test_a_local_caller_is_not_told_that_the_phone_rings_so_no_tone_outlasts_the_answer(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    # Told, an answered Local channel plays Asterisk's ring tone until a voice frame comes
    # through the bridge; this phone answers and says nothing (docs/asterisk.md).
    caller = await lines.call(tenant)
    phone = await lines.transfer_ringing(tenant, caller)
    await asyncio.sleep(1)  # ringing
    await lines.answer(phone)
    await traced(stack.database_url, tenant, kind("bridged", number="101"))
    listening = await lines.start_listening(caller)
    await asyncio.sleep(2)
    assert await lines.heard(listening) < AUDIBLE
    await lines.hang_up(phone)
    await ended_call(stack.database_url, tenant)
    await lines.stasis_holds_nothing()


async def test_a_busy_extension_sends_the_caller_to_its_voicemail(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    caller = await lines.call(tenant)
    since = lines.mark()
    await lines.press(caller, "0")
    phone = await lines.ringing(tenant, "101", since)
    await lines.hang_up(phone, reason="busy")
    steps = await traced(stack.database_url, tenant, kind("voicemail", number="101"))
    assert any(kind("transfer_result", number="101", result="busy")(s) for s in steps)
    await lines.hang_up(caller)
    record = await ended_call(stack.database_url, tenant)
    assert record["outcome"] == "caller_hangup"
    await lines.stasis_holds_nothing()


async def test_an_extension_without_voicemail_that_does_not_answer_gives_the_menu_again(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    caller = await lines.call(tenant)
    since = lines.mark()
    await lines.press(caller, "8")
    phone = await lines.ringing(tenant, "103", since)
    steps = await traced(stack.database_url, tenant, kind("menu", reason="unavailable"))
    assert any(kind("transfer_result", number="103", result="no_answer")(s) for s in steps)
    await lines.gone(phone)  # it stopped ringing
    await lines.hang_up(caller)
    await ended_call(stack.database_url, tenant)
    await lines.stasis_holds_nothing()


async def test_a_voicemail_is_recorded_stored_listed_and_announced(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    async with connect_nats(as_user(stack.settings), "tests-voicemail") as nats:
        announced = await nats.subscribe(subjects.voicemail_left(tenant.id))
        await reached_server(nats)
        await _voicemail_is_recorded_stored_listed_and_announced(stack, lines, tenant, announced)


async def _voicemail_is_recorded_stored_listed_and_announced(
    stack: Stack, lines: Phones, tenant: Tenant, announced: Subscription
) -> None:
    caller = await lines.call(tenant)
    await lines.press(caller, "5")
    await traced(stack.database_url, tenant, kind("voicemail", number="101"))
    # The greeting plays; the recording starts after it (the beep).
    await _until_recording(stack)
    await lines.speak(caller)
    await asyncio.sleep(3)  # the message itself: what the caller says lasts a while
    await lines.press(caller, "#")
    record = await ended_call(stack.database_url, tenant)
    assert record["outcome"] == "voicemail"
    message = await announced.next_msg(timeout=60)
    left = VoicemailLeft.model_validate_json(message.data)
    row = await _fetchrow(
        stack.database_url,
        "SELECT m.*, p.source FROM voicemail_messages m JOIN prompts p ON p.id = m.prompt_id"
        " WHERE m.tenant_id = $1",
        tenant.id,
    )
    assert row is not None
    assert (row["id"], row["extension_number"], row["caller_number"]) == (
        left.message_id,
        "101",
        "+33612345678",
    )
    assert (row["extension_id"], row["source"], row["call_id"]) == (
        tenant.ids["101"],
        "recording",
        record["call_id"],
    )
    assert row["duration_ms"] > 500
    await announced.unsubscribe()
    await lines.stasis_holds_nothing()


async def test_a_virtual_extension_rings_its_outside_number_through_the_trunk(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    caller = await lines.call(tenant)
    since = lines.mark()
    await lines.press(caller, "6")
    outside = await lines.ringing(tenant, "104", since)
    await lines.answer(outside)
    await lines.stasis_bridge()
    await lines.hang_up(caller)
    await lines.gone(outside)
    record = await ended_call(stack.database_url, tenant)
    assert record["outcome"] == "transferred"
    await lines.stasis_holds_nothing()


async def test_a_simultaneous_ring_group_rings_all_and_the_first_to_answer_wins(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    caller = await lines.call(tenant)
    since = lines.mark()
    await lines.press(caller, "3")
    first = await lines.ringing(tenant, "101", since)
    second = await lines.ringing(tenant, "102", since)
    await lines.answer(second)
    await lines.gone(first)  # the other stops ringing
    bridge = await lines.stasis_bridge()
    assert len(bridge["channels"]) == 2
    await lines.hang_up(caller)
    await lines.gone(second)
    steps = steps_of(await ended_call(stack.database_url, tenant))
    assert any(kind("bridged", number="102")(s) for s in steps)
    await lines.stasis_holds_nothing()


async def test_a_sequential_ring_group_rings_each_in_turn_then_its_fallback_voicemail(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    caller = await lines.call(tenant)
    since = lines.mark()
    await lines.press(caller, "7")
    first = await lines.ringing(tenant, "101", since)
    await lines.gone(first)  # rang out
    second = await lines.ringing(tenant, "102", since)
    await lines.gone(second)
    steps = await traced(stack.database_url, tenant, kind("voicemail", number="102"))
    results = [(s["number"], s["result"]) for s in steps if s["step"] == "transfer_result"]
    assert results == [("101", "no_answer"), ("102", "no_answer")]
    await lines.hang_up(caller)
    await ended_call(stack.database_url, tenant)
    await lines.stasis_holds_nothing()


async def test_a_conference_room_asks_its_pin_and_lets_the_caller_in_once_right(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    caller = await lines.call(tenant)
    await lines.press(caller, "4")
    await traced(stack.database_url, tenant, kind("key", action="transfer"))
    await lines.press(caller, "1111#")
    await traced(stack.database_url, tenant, kind("pin", correct=False))
    await lines.press(caller, "4321#")
    await traced(stack.database_url, tenant, kind("conference", number="300"))
    room = await lines.stasis_bridge(channels=1)
    assert room["id"] == f"{tenant.id}-conference-300"
    assert len(room["channels"]) == 1
    await lines.hang_up(caller)
    record = await ended_call(stack.database_url, tenant)
    assert record["outcome"] == "conference"
    await lines.stasis_holds_nothing()


async def test_dial_by_name_with_one_match_says_the_name_and_transfers(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    caller = await lines.call(tenant)
    since = lines.mark()
    await lines.press(caller, "1")
    await traced(stack.database_url, tenant, kind("key", action="dial_by_name"))
    await lines.press(caller, "768")  # P O U: Poulain
    phone = await lines.ringing(tenant, "101", since)
    steps = await traced(stack.database_url, tenant, kind("transfer", number="101"))
    assert any(kind("lookup_result", total=1)(s) for s in steps)
    await lines.hang_up(caller)
    await lines.gone(phone)
    await ended_call(stack.database_url, tenant)
    await lines.stasis_holds_nothing()


async def test_dial_by_name_with_several_matches_offers_them_and_the_caller_picks_one(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    caller = await lines.call(tenant)
    since = lines.mark()
    await lines.press(caller, "1")
    await traced(stack.database_url, tenant, kind("key", action="dial_by_name"))
    listening = await lines.start_listening(caller)
    await lines.press(caller, "532")  # J E A: Jean-Pierre Lefèvre, Jean Martin
    await traced(stack.database_url, tenant, kind("lookup_result", total=2))
    await asyncio.sleep(2)  # "pour Jean-Pierre Lefèvre, tapez 1..." is being said
    assert await lines.heard(listening) > AUDIBLE
    await lines.press(caller, "2")
    steps = await traced(stack.database_url, tenant, kind("choice", digit="2"))
    chosen = next(s["number"] for s in steps if s["step"] == "choice")
    assert chosen in ("102", "105")
    phone = await lines.ringing(tenant, chosen, since)
    await lines.hang_up(caller)
    await lines.gone(phone)
    await ended_call(stack.database_url, tenant)
    await lines.stasis_holds_nothing()


async def test_a_digit_that_is_a_key_and_begins_an_extension_waits_then_acts_as_the_key(
    stack: Stack, lines: Phones
) -> None:
    tenant = await provision(stack.database_url, stack.phones_app, dial_extension=True)
    caller = await lines.call(tenant)
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    await lines.press(caller, "1")  # key 1, and the start of extension 10
    await traced(stack.database_url, tenant, kind("key", digit="1", action="dial_by_name"))
    await lines.hang_up(caller)
    await ended_call(stack.database_url, tenant)

    caller = await lines.call(tenant)
    since = lines.mark()
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    await lines.press(caller, "10")
    phone = await lines.ringing(tenant, "10", since)
    steps = await traced(stack.database_url, tenant, kind("extension", number="10"))
    assert not any(s["step"] == "key" for s in steps)
    await lines.hang_up(caller)
    await lines.gone(phone)
    await ended_call(stack.database_url, tenant)
    await lines.stasis_holds_nothing()


async def _until_recording(stack: Stack, timeout_s: float = 30) -> None:
    """Once a call of the stack records the caller (after the greeting and the beep)."""
    receptionist = stack.stasis.receptionist
    assert receptionist is not None
    async with asyncio.timeout(timeout_s):
        while "VoicemailRecording" not in receptionist.phases().values():  # noqa: ASYNC110
            await asyncio.sleep(0.1)


async def _fetchrow(database_url: str, query: str, *args: object) -> asyncpg.Record | None:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetchrow(query, *args)
    finally:
        await connection.close()


# --- a hangup in each phase leaves nothing behind --------------------------------------------


async def _in_menu(stack: Stack, lines: Phones, tenant: Tenant, caller: str) -> None:
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))


async def _typing_a_name(stack: Stack, lines: Phones, tenant: Tenant, caller: str) -> None:
    await lines.press(caller, "1")
    await traced(stack.database_url, tenant, kind("key", action="dial_by_name"))
    await lines.press(caller, "5")


async def _choosing_a_name(stack: Stack, lines: Phones, tenant: Tenant, caller: str) -> None:
    await lines.press(caller, "1")
    await traced(stack.database_url, tenant, kind("key", action="dial_by_name"))
    await lines.press(caller, "532")
    await traced(stack.database_url, tenant, kind("lookup_result", total=2))


async def _hearing_the_announcement(
    stack: Stack, lines: Phones, tenant: Tenant, caller: str
) -> None:
    await lines.press(caller, "2")
    await traced(stack.database_url, tenant, kind("announcement"))


async def _ringing(stack: Stack, lines: Phones, tenant: Tenant, caller: str) -> None:
    since = lines.mark()
    await lines.press(caller, "3")
    await lines.ringing(tenant, "101", since)
    await lines.ringing(tenant, "102", since)


async def _bridged(stack: Stack, lines: Phones, tenant: Tenant, caller: str) -> None:
    await lines.transfer_answered(tenant, caller)


async def _typing_the_pin(stack: Stack, lines: Phones, tenant: Tenant, caller: str) -> None:
    await lines.press(caller, "4")
    await traced(stack.database_url, tenant, kind("key", action="transfer"))
    await lines.press(caller, "43")


async def _in_conference(stack: Stack, lines: Phones, tenant: Tenant, caller: str) -> None:
    await lines.press(caller, "4")
    await traced(stack.database_url, tenant, kind("key", action="transfer"))
    await lines.press(caller, "4321#")
    await traced(stack.database_url, tenant, kind("conference"))


async def _hearing_the_voicemail_greeting(
    stack: Stack, lines: Phones, tenant: Tenant, caller: str
) -> None:
    await lines.press(caller, "5")
    await traced(stack.database_url, tenant, kind("voicemail"))


async def _leaving_a_message(stack: Stack, lines: Phones, tenant: Tenant, caller: str) -> None:
    await lines.press(caller, "5")
    await _until_recording(stack)
    await lines.speak(caller)
    await asyncio.sleep(2)  # the caller speaks, then hangs up without pressing #


PHASES = {
    "menu": (_in_menu, "caller_hangup"),
    "typing a name": (_typing_a_name, "caller_hangup"),
    "choosing among names": (_choosing_a_name, "caller_hangup"),
    "announcement": (_hearing_the_announcement, "announcement"),
    "ringing a group": (_ringing, "caller_hangup"),
    "bridged": (_bridged, "transferred"),
    "typing a PIN": (_typing_the_pin, "caller_hangup"),
    "in conference": (_in_conference, "conference"),
    "voicemail greeting": (_hearing_the_voicemail_greeting, "caller_hangup"),
    "recording a message": (_leaving_a_message, "voicemail"),
}


@pytest.mark.parametrize("phase", list(PHASES))
async def test_a_hangup_in_any_phase_releases_every_channel_and_bridge(
    stack: Stack, lines: Phones, tenant: Tenant, phase: str
) -> None:
    reach, outcome = PHASES[phase]
    caller = await lines.call(tenant)
    await reach(stack, lines, tenant, caller)
    await lines.hang_up(caller)
    record = await ended_call(stack.database_url, tenant)
    assert record["outcome"] == outcome
    await lines.stasis_holds_nothing()
    await lines.phones_hold_nothing()


async def test_calls_are_counted_in_the_service_metrics_without_caller_or_tenant_labels(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    caller = await lines.call(tenant)
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    await lines.press(caller, "2")
    await traced(stack.database_url, tenant, kind("menu", reason="after_announcement"))
    await lines.transfer_answered(tenant, caller)
    await lines.hang_up(caller)
    await ended_call(stack.database_url, tenant)
    await lines.stasis_holds_nothing()
    samples = await _scrape(stack)
    assert samples[("rcp_stasis_ari_connected", ())] == 1
    assert samples[("rcp_stasis_active_calls", ())] == 0
    assert samples[("rcp_stasis_calls_total", (("outcome", "transferred"),))] >= 1
    assert samples[("rcp_stasis_key_presses_total", (("action", "play_announcement"),))] >= 1
    assert samples[("rcp_stasis_dtmf_to_action_seconds_count", ())] >= 1
    assert samples[("rcp_stasis_transfers_total", (("kind", "extension"), ("result", "answered")))]
    allowed = {"outcome", "action", "kind", "result", "reason", "operation", "le"}
    for name, labels in samples:
        if name.startswith("rcp_stasis_"):
            assert {label for label, _ in labels} <= allowed, name


async def _scrape(stack: Stack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    port = stack.stasis.infrastructure.ops_port
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_a_leg_left_in_the_app_by_no_call_is_hung_up_at_the_second_sweep(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    # A ringing leg whose call lost hold of it (as when its hang-up failed under load): the
    # first sweep only notes it, the second hangs it up; the caller's own channel, in the
    # app with no leg mark, is never touched.
    receptionist, ari = stack.stasis.receptionist, stack.stasis.ari
    assert receptionist is not None
    assert ari is not None
    caller = await lines.call(tenant)
    since = lines.mark()
    await lines.press(caller, "0")
    phone = await lines.ringing(tenant, "101", since)
    channels, _ = await lines.stasis_holds()
    legs = [c for c in channels if LEG_MARK in c]
    assert len(legs) == 1
    assert await receptionist.sweep(ari) == []  # owned by its call: nothing to do
    ari._forget(legs[0])
    assert await receptionist.sweep(ari) == []  # unowned once: maybe being set up
    assert await receptionist.sweep(ari) == legs
    await lines.gone(phone)
    channels, _ = await lines.stasis_holds_settled(
        lambda held: not any(LEG_MARK in c for c in held[0])
    )
    assert len(channels) == 1  # the caller's side, still in the call
    assert LEG_MARK not in channels[0]
    await lines.hang_up(caller)
    await ended_call(stack.database_url, tenant)
    await lines.stasis_holds_nothing()
