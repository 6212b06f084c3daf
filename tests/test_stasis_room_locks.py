"""Conference PINs on real calls: a PIN is checked against its hash, and a room that keeps
getting wrong PINs across calls is locked: even the right PIN is then refused, the caller hears
that the room is locked and gets the menu again; it is counted, and logged without any PIN.

The module's stasis locks a room after three wrong PINs (the least the setting allows), so
that one caller's three tries lock it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import structlog
from rcp_devstack.settings import StackSettings
from stasis_e2e_support import (
    ROOM_PIN,
    WAIT_S,
    Phones,
    Stack,
    Tenant,
    call_records,
    ended_call,
    kind,
    metric_sum,
    provision,
    receptionist_stack,
    stasis_metrics,
    steps_of,
    traced,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.asyncio(loop_scope="module")]

AUDIBLE = 100.0
WRONG = ("1111", "2222", "3333")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    asterisk: StackSettings, migrated_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    media_dir: Path = tmp_path_factory.mktemp("media")
    async with receptionist_stack(
        asterisk, migrated_url, media_dir, stasis_pin_lock_failures=3, stasis_pin_lock_s=600
    ) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def tenant(stack: Stack, lines: Phones) -> AsyncIterator[Tenant]:
    yield await provision(stack.database_url, stack.phones_app)
    await lines.hang_up_everything()


async def _pin_results(stack: Stack, tenant: Tenant, count: int) -> list[str]:
    """The results of the PIN checks of the tenant's latest call, once there are `count`."""
    results: list[str] = []
    async with asyncio.timeout(WAIT_S):
        while len(results) < count:
            await asyncio.sleep(0.1)
            records = await call_records(stack.database_url, tenant)
            steps = steps_of(records[-1]) if records else []
            results = [str(s["result"]) for s in steps if s["step"] == "pin"]
    return results


async def _lock_room(stack: Stack, lines: Phones, tenant: Tenant) -> None:
    """One caller types three wrong PINs for room 300: hung up, and the room is locked."""
    caller = await lines.call(tenant)
    await lines.press(caller, "4")
    await traced(stack.database_url, tenant, kind("key", action="transfer"))
    for tries, pin in enumerate(WRONG, start=1):
        await lines.press(caller, f"{pin}#")
        assert await _pin_results(stack, tenant, tries) == ["wrong"] * tries
    await lines.gone(caller)  # three wrong PINs: goodbye
    assert (await ended_call(stack.database_url, tenant))["outcome"] == "invalid_input"


async def test_wrong_pins_across_calls_lock_the_room_and_the_caller_hears_it(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    before = await stasis_metrics(stack)
    with structlog.testing.capture_logs() as logs:
        await _lock_room(stack, lines, tenant)
        second = await lines.call(tenant, caller_number="+33612345679")
        await lines.press(second, "4")
        await traced(stack.database_url, tenant, kind("key", action="transfer"))
        listening = await lines.start_listening(second)
        await lines.press(second, f"{ROOM_PIN}#")  # the right PIN, refused unchecked
        steps = await traced(stack.database_url, tenant, kind("menu", reason="room_locked"))
        assert await lines.heard(listening) > AUDIBLE  # "this room is locked", then the menu
    assert [s for s in steps if s["step"] == "pin"] == [
        {"step": "pin", "number": "300", "correct": False, "result": "locked"}
    ]
    assert not any(s["step"] == "conference" for s in steps)
    _, bridges = await lines.stasis_holds()
    assert bridges == []  # nobody joined the room
    await lines.hang_up(second)
    await ended_call(stack.database_url, tenant)

    after = await stasis_metrics(stack)
    for result, added in (("wrong", 3), ("locked", 1)):
        counted = metric_sum(after, "rcp_stasis_conference_pins_total", result=result)
        was = metric_sum(before, "rcp_stasis_conference_pins_total", result=result)
        assert counted == was + added
    locked = metric_sum(after, "rcp_stasis_conference_rooms_locked_total")
    assert locked == metric_sum(before, "rcp_stasis_conference_rooms_locked_total") + 1
    (entry,) = [e for e in logs if e["event"] == "conference.room_locked"]
    assert (entry["tenant_id"], entry["room"]) == (str(tenant.id), "300")
    written = json.dumps(logs, default=str) + json.dumps(await _all_steps(stack, tenant))
    for pin in (*WRONG, ROOM_PIN):
        assert pin not in written  # neither the log nor the traces hold a PIN typed


async def test_another_tenants_room_of_the_same_number_stays_open(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    await _lock_room(stack, lines, tenant)
    other = await provision(stack.database_url, stack.phones_app)
    caller = await lines.call(other)
    await lines.press(caller, "4")
    await traced(stack.database_url, other, kind("key", action="transfer"))
    await lines.press(caller, f"{ROOM_PIN}#")
    await traced(stack.database_url, other, kind("conference", number="300"))
    assert await _pin_results(stack, other, 1) == ["correct"]
    await lines.hang_up(caller)
    await ended_call(stack.database_url, other)
    await lines.stasis_holds_nothing()


async def _all_steps(stack: Stack, tenant: Tenant) -> list[Any]:
    return [steps_of(r) for r in await call_records(stack.database_url, tenant)]
