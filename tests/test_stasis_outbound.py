"""Toll fraud defences on real calls through the stasis service and the local Asterisk: the
carrier's outbound policy at call time, each tenant's call limits, the longest outbound call.

One stack and one set of phones serve the module (as in test_stasis_calls); each test makes a
tenant of its own, and sets the carrier's policy and limits for it in the database, as the
admin service will.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from nats.aio.client import Client as NatsClient
from nats_support import as_user
from rcp import subjects
from rcp.contracts import ConfigChanged
from rcp.messaging import connect_nats
from stasis_e2e_support import (
    Phones,
    Stack,
    Tenant,
    ended_call,
    kind,
    metric_sum,
    phone_dial_string,
    provision,
    stasis_metrics,
    steps_of,
    traced,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.asyncio(loop_scope="module")]

PREMIUM = "+33899123456"
AUDIBLE = 100.0


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def nats(stack: Stack) -> AsyncIterator[NatsClient]:
    async with connect_nats(as_user(stack.settings), "tests-outbound") as client:
        yield client


@pytest_asyncio.fixture(loop_scope="module")
async def tenant(stack: Stack, lines: Phones) -> AsyncIterator[Tenant]:
    yield await provision(stack.database_url, stack.phones_app)
    await lines.hang_up_everything()


async def _execute(stack: Stack, sql: str, *args: Any) -> None:
    connection = await asyncpg.connect(stack.database_url)
    try:
        await connection.execute(sql, *args)
    finally:
        await connection.close()


async def _limits(stack: Stack, tenant: Tenant, **limits: int) -> None:
    columns = ", ".join(limits)
    values = ", ".join(f"${n}" for n in range(2, len(limits) + 2))
    await _execute(
        stack,
        f"INSERT INTO tenant_limits (tenant_id, {columns}) VALUES ($1, {values})",
        tenant.id,
        *limits.values(),
    )


async def _refused(stack: Stack, reason: str) -> float:
    text = await stasis_metrics(stack)
    return metric_sum(text, "rcp_stasis_transfers_refused_total", reason=reason)


async def test_a_virtual_extension_to_a_premium_number_is_never_dialled_the_caller_hears_why(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    await _execute(
        stack,
        "UPDATE extensions SET external_number = $2 WHERE tenant_id = $1 AND number = '104'",
        tenant.id,
        PREMIUM,
    )
    refused_before = await _refused(stack, "destination_not_allowed")
    caller = await lines.call(tenant)
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    listening = await lines.start_listening(caller)
    await lines.press(caller, "6")
    steps = await traced(stack.database_url, tenant, kind("menu", reason="not_reachable"))
    assert await lines.heard(listening) > AUDIBLE  # "this number cannot be reached", the menu
    refused = next(s for s in steps if s["step"] == "transfer_result")
    assert refused == {
        "step": "transfer_result",
        "number": "104",
        "result": "refused",
        "reason": "destination_not_allowed",
        "refusal": "number_type",
        "number_type": "premium_rate",
        "country": "FR",
        "prefix": None,
    }
    await lines.phones_hold_nothing(timeout_s=2)  # nothing rang through the trunk
    assert await _refused(stack, "destination_not_allowed") == refused_before + 1
    await lines.hang_up(caller)
    await ended_call(stack.database_url, tenant)
    await lines.stasis_holds_nothing()


async def test_a_policy_the_carrier_tightens_applies_to_a_virtual_extension_saved_before(
    stack: Stack, lines: Phones, tenant: Tenant, nats: NatsClient
) -> None:
    caller = await lines.call(tenant)  # the configuration is loaded and cached now
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    await _execute(
        stack,
        "INSERT INTO outbound_policies (tenant_id, denied_prefixes) VALUES ($1, $2)",
        tenant.id,
        [tenant.external_number[:7]],
    )
    await _changed(nats, tenant, "outbound_policy")  # the call under way gets it
    await lines.press(caller, "6")
    steps = await traced(stack.database_url, tenant, kind("menu", reason="not_reachable"))
    refused = next(s for s in steps if s["step"] == "transfer_result")
    assert (refused["reason"], refused["refusal"]) == ("destination_not_allowed", "denied_prefix")
    await lines.phones_hold_nothing(timeout_s=2)
    await lines.hang_up(caller)
    await ended_call(stack.database_url, tenant)


async def test_a_call_past_the_tenants_inbound_cap_hears_busy_and_is_counted(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    await _limits(stack, tenant, max_inbound_calls=1)
    first = await lines.call(tenant)
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    since = lines.mark()
    second = await lines.request_json(
        "POST",
        "/channels",
        {"variables": {"RCP_APP": stack.app}},
        endpoint=f"Local/{tenant.number}@test-carrier/n",
        app=stack.caller_app,
        callerId="Test <+33612345679>",
    )
    gone = await lines.wait_for(
        lambda e: e.get("type") == "ChannelDestroyed" and e["channel"]["id"] == second["id"],
        since,
    )
    assert gone["cause"] == 17  # user busy
    text = await stasis_metrics(stack)
    assert metric_sum(text, "rcp_stasis_calls_refused_total", reason="tenant_inbound_calls") >= 1
    records = await asyncpg.connect(stack.database_url)
    try:
        count = await records.fetchval(
            "SELECT count(*) FROM call_records WHERE tenant_id = $1", tenant.id
        )
    finally:
        await records.close()
    assert count == 1  # the refused call never entered the call flow
    await lines.hang_up(first)
    await ended_call(stack.database_url, tenant)
    third = await lines.call(tenant)  # the cap counts calls under way, not calls ever made
    await lines.hang_up(third)


async def test_outside_legs_past_the_tenants_cap_are_not_dialled(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    await _limits(stack, tenant, max_outbound_legs=1)
    refused_before = await _refused(stack, "tenant_outbound_legs")
    first = await lines.call(tenant)
    since = lines.mark()
    await lines.press(first, "6")
    ringing = await lines.ringing(tenant, "104", since)  # the one outside leg allowed
    second = await lines.call(tenant, caller_number="+33612345679")
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    await lines.press(second, "6")
    steps = await traced(
        stack.database_url, tenant, kind("transfer_result", reason="tenant_outbound_legs")
    )
    refused = next(s for s in steps if kind("transfer_result", reason="tenant_outbound_legs")(s))
    assert (refused["number"], refused["result"]) == ("104", "refused")
    assert await _refused(stack, "tenant_outbound_legs") == refused_before + 1
    await lines.hang_up(ringing)
    for caller in (first, second):
        await lines.hang_up(caller)
    await lines.stasis_holds_nothing()


async def test_new_outside_legs_past_the_tenants_rate_are_not_dialled(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    await _limits(stack, tenant, max_outbound_legs_per_minute=1)
    first = await lines.call(tenant)
    since = lines.mark()
    await lines.press(first, "6")
    await lines.hang_up(await lines.ringing(tenant, "104", since), reason="busy")
    await traced(stack.database_url, tenant, kind("transfer_result", number="104", result="busy"))
    await lines.hang_up(first)
    await ended_call(stack.database_url, tenant)
    second = await lines.call(tenant)  # the leg of the first call has ended: only the rate is left
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    await lines.press(second, "6")
    await traced(stack.database_url, tenant, kind("transfer_result", reason="tenant_outbound_rate"))
    await lines.phones_hold_nothing(timeout_s=2)
    await lines.hang_up(second)
    await lines.stasis_holds_nothing()


async def test_an_outside_call_is_cut_at_the_tenants_longest_outbound_call(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    await _limits(stack, tenant, max_outbound_call_s=10)
    caller = await lines.call(tenant)
    since = lines.mark()
    await lines.press(caller, "6")
    outside = await lines.ringing(tenant, "104", since)
    await lines.answer(outside)
    await lines.stasis_bridge()
    record = await ended_call(stack.database_url, tenant, timeout_s=40)
    await lines.gone(outside)  # both ends are hung up by the receptionist
    await lines.gone(caller)
    steps = steps_of(record)
    assert kind("limit", reason="max_outbound_call_s", seconds=10)(
        next(s for s in steps if s["step"] == "limit")
    )
    assert record["outcome"] == "transferred"
    bridged = next(s for s in steps if s["step"] == "bridged")
    assert bridged["number"] == "104"
    text = await stasis_metrics(stack)
    assert metric_sum(text, "rcp_stasis_outbound_calls_cut_total") >= 1
    await lines.stasis_holds_nothing()


async def _changed(nats: NatsClient, tenant: Tenant, entity: str) -> None:
    """Announce a change as the admin service does, and give the calls under way time to
    read the configuration again."""
    change = ConfigChanged(tenant_id=tenant.id, entity=entity)  # type: ignore[arg-type]
    await nats.publish(subjects.config_changed(tenant.id), change.model_dump_json().encode())
    await asyncio.sleep(1)


async def test_an_extension_rings_its_device_and_follows_it_when_the_carrier_moves_it(
    stack: Stack, lines: Phones, tenant: Tenant, nats: NatsClient
) -> None:
    caller = await lines.call(tenant)  # the configuration is loaded and cached now
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    await _execute(
        stack,
        "UPDATE devices SET endpoint = $2 WHERE tenant_id = $1 AND name = 'phone-101'",
        tenant.id,
        phone_dial_string(stack.phones_app, tenant.tag, "moved"),
    )
    await _changed(nats, tenant, "device")
    since = lines.mark()
    await lines.press(caller, "0")
    phone = await lines.ringing(tenant, "moved", since)  # the device's new endpoint rings
    await lines.hang_up(phone)
    await lines.hang_up(caller)
    await ended_call(stack.database_url, tenant)
    await lines.stasis_holds_nothing()


async def test_a_dial_string_of_old_that_is_no_device_is_never_dialled(
    stack: Stack, lines: Phones, tenant: Tenant
) -> None:
    await _execute(
        stack,
        """UPDATE extensions SET device_id = NULL, legacy_dial_string = 'PJSIP/carrier'
            WHERE tenant_id = $1 AND number = '103'""",
        tenant.id,
    )
    caller = await lines.call(tenant)
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    listening = await lines.start_listening(caller)
    await lines.press(caller, "8")
    steps = await traced(stack.database_url, tenant, kind("menu", reason="not_reachable"))
    assert await lines.heard(listening) > AUDIBLE
    refused = next(s for s in steps if s["step"] == "transfer_result")
    assert (refused["number"], refused["reason"]) == ("103", "endpoint_not_allowed")
    await lines.phones_hold_nothing(timeout_s=2)
    await lines.hang_up(caller)
    await ended_call(stack.database_url, tenant)
