"""The dashboard's counts for real calls: callers through Asterisk, the stasis service and the
call records service (its durable consumer, as the stasis role). What `call_counts` holds for
the tenant is what the stored traces of its calls say (counted again in Python), and the
dashboard answers from it."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from admin_support import Admin, running_admin
from call_counts_support import recount, stored
from stasis_e2e_support import (
    Phones,
    Stack,
    call_records,
    ended_call,
    kind,
    provision,
    steps_of,
    traced,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.asyncio(loop_scope="module")]

CALLER = "+33612345678"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def admin(stack: Stack, migrated_url: str) -> AsyncIterator[Admin]:
    async with running_admin(migrated_url) as running:
        yield running


async def test_real_calls_are_counted_as_their_traces_say(
    stack: Stack, lines: Phones, admin: Admin
) -> None:
    tenant = await provision(stack.database_url, stack.phones_app)
    # Dial by name: 532 is Jean-Pierre Lefèvre and Jean Martin; the caller hangs up.
    caller = await lines.call(tenant, CALLER)
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    await lines.press(caller, "1")
    await traced(stack.database_url, tenant, kind("key", action="dial_by_name"))
    await lines.press(caller, "532")
    await traced(stack.database_url, tenant, kind("lookup_result", total=2))
    await lines.hang_up(caller)
    await ended_call(stack.database_url, tenant)
    # A key that does nothing, until the retries run out.
    caller = await lines.call(tenant, CALLER)
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    for failures in range(1, 5):
        await lines.press(caller, "9")
        reason = "invalid" if failures < 4 else "retries_exhausted"
        await traced(stack.database_url, tenant, kind("menu", reason=reason, failures=failures))
    await lines.gone(caller)
    await ended_call(stack.database_url, tenant)

    records = await call_records(stack.database_url, tenant)
    async with asyncpg.create_pool(stack.database_url, min_size=1, max_size=1) as pool:
        counts = await stored(pool, tenant.id)
    got = await admin.carrier.ok("GET", f"/v1/tenants/{tenant.id}/dashboard")

    assert len(records) == 2
    assert counts == recount(records)
    keys = Counter(
        (step.get("digit"), step.get("action") or "unassigned")
        for record in records
        for step in steps_of(record)
        if step["step"] == "key"
    )
    assert keys[("9", "unassigned")] == 4
    assert got["keys"] == [
        {"digit": digit, "action": action, "presses": presses}
        for (digit, action), presses in sorted(keys.items(), key=lambda k: (-k[1], k[0]))
    ]
    assert (got["calls"], got["answered_calls"]) == (2, 2)
    assert sorted((o["outcome"], o["calls"]) for o in got["outcomes"]) == [
        ("caller_hangup", 1),
        ("invalid_input", 1),
    ]
    assert got["dial_by_name"] == {"searches": 1, "found": 1, "no_match": 0, "failed": 0}
