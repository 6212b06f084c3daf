"""Real calls through the stasis service on the local Asterisk, end to end.

One stack (stasis, directory, media) and one set of phones serve the whole module; each test
makes a tenant of its own, so its phones and records are its own. A caller's recording of
what it heard proves that prompts were really played.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from rcp_devstack.settings import StackSettings
from stasis_e2e_support import (
    Phones,
    Stack,
    Tenant,
    ended_call,
    kind,
    phones,
    provision,
    receptionist_stack,
    steps_of,
    traced,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.asyncio(loop_scope="module")]

# A prompt, even quiet speech, is far louder than a line's silence (0) or comfort noise.
AUDIBLE = 100.0


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    asterisk: StackSettings, migrated_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    media_dir: Path = tmp_path_factory.mktemp("media")
    async with receptionist_stack(asterisk, migrated_url, media_dir) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lines(stack: Stack) -> AsyncIterator[Phones]:
    async with phones(stack) as held:
        yield held


@pytest_asyncio.fixture(loop_scope="module")
async def tenant(stack: Stack) -> Tenant:
    return await provision(stack.database_url, stack.phones_app)


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
    assert [s["kind"] for s in steps[:5]] == ["started", "answered", "menu", "key", "announcement"]
    assert steps[3]["action"] == "play_announcement"
    assert steps[0]["called_number"] == tenant.number
    assert steps[0]["caller_number"] == "+33612345678"
    assert record["outcome"] == "announcement"
    await lines.stasis_holds_nothing()


async def test_a_transfer_to_an_extension_that_answers_bridges_the_caller_with_it(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    caller = await lines.call(tenant)
    since = lines.mark()
    await lines.press(caller, "0")
    phone = await lines.ringing(tenant, "101", since)
    await lines.answer(phone)
    bridge = await lines.stasis_bridge()
    assert len(bridge["channels"]) == 2
    await lines.hang_up(phone)
    await lines.gone(caller)
    record = await ended_call(stack.database_url, tenant)
    assert record["outcome"] == "transferred"
    await lines.stasis_holds_nothing()
