"""The simulator and reality agree: for six paths through a tenant's menu, the decision trace
the admin's simulator answers (`POST /simulate`) equals the trace of a real call through
Asterisk and the stasis service, step for step.

Each path is played twice on the same tenant: once by a real caller (the test's phones, as in
`test_stasis_calls.py`), once as the simulator's actions. Compared: every step's kind and its
data. Left out (the normalisation), only what a real call has and a simulation cannot:
- `node` in the `started` step: the Asterisk (Stasis app) that took the call;
- the steps' times (`offset_ms` in the simulation, `at` in a call record): a real call's
  depend on Asterisk and the network, a simulation's on prompt lengths;
- call ids (a call record's own; a simulation's is `simulation`).
Everything else, numbers, reasons, outcomes, who hung up, must be equal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from admin_support import Admin, running_admin
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

CALLER = "+33612345678"
ONLY_REAL = {"started": {"node"}}
"""Per step kind, the data only a real call has."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def admin(stack: Stack, migrated_url: str) -> AsyncIterator[Admin]:
    """The admin API asking the stack's own directory and media services, with the flow
    options stasis has (the test phones, the trunk's dial template)."""
    stasis = stack.stasis_settings
    async with running_admin(
        migrated_url,
        directory_nats_scope=stasis.directory_nats_scope,
        media_nats_scope=stasis.media_nats_scope,
        stasis_trunk_dial_template=stasis.stasis_trunk_dial_template,
        environment="development",
        allow_test_phones=True,
    ) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def tenant(stack: Stack, lines: Phones) -> AsyncIterator[Tenant]:
    yield await provision(stack.database_url, stack.phones_app)
    await lines.hang_up_everything()


def decisions(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each step as its kind and data, without what only a real call has."""
    return [
        {k: v for k, v in step.items() if k not in ONLY_REAL.get(step["step"], set())}
        for step in steps
    ]


async def simulated(admin: Admin, tenant: Tenant, body: dict[str, Any]) -> list[dict[str, Any]]:
    answer = await admin.carrier.call(
        "POST", f"/v1/tenants/{tenant.id}/simulate", {"caller_number": CALLER, **body}
    )
    assert answer.status == 200, answer.body
    return [{**step["data"], "step": step["kind"]} for step in answer.body["trace"]]


async def real(stack: Stack, tenant: Tenant) -> list[dict[str, Any]]:
    return steps_of(await ended_call(stack.database_url, tenant))


async def agree(
    stack: Stack, admin: Admin, tenant: Tenant, body: dict[str, Any]
) -> list[dict[str, Any]]:
    """The real call's trace (it has just ended), once it equals the simulated one."""
    called = decisions(await real(stack, tenant))
    simulation = decisions(await simulated(admin, tenant, body))
    assert simulation == called
    return called


async def test_an_announcement_then_hanging_up(
    stack: Stack, lines: Phones, admin: Admin, tenant: Tenant
) -> None:
    caller = await lines.call(tenant, CALLER)
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    await lines.press(caller, "2")
    await traced(stack.database_url, tenant, kind("menu", reason="after_announcement"))
    await lines.hang_up(caller)
    steps = await agree(stack, admin, tenant, {"actions": [{"keys": "2"}, {"hang_up": True}]})
    assert [s["step"] for s in steps][-4:] == ["key", "announcement", "menu", "ended"]
    assert steps[-1] == {"step": "ended", "outcome": "announcement", "by": "caller"}


async def test_a_transfer_that_is_answered(
    stack: Stack, lines: Phones, admin: Admin, tenant: Tenant
) -> None:
    caller = await lines.call(tenant, CALLER)
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    await lines.transfer_answered(tenant, caller)
    await lines.hang_up(caller)
    body = {
        "actions": [{"keys": "0"}, {"hang_up": True}],
        "phones": [{"number": "101", "does": "answer", "after_s": 1}],
    }
    steps = await agree(stack, admin, tenant, body)
    assert [s["step"] for s in steps][-4:] == ["transfer", "transfer_result", "bridged", "ended"]


async def test_a_transfer_nobody_answers_goes_to_the_voicemail(
    stack: Stack, lines: Phones, admin: Admin, tenant: Tenant
) -> None:
    caller = await lines.call(tenant, CALLER)
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    since = lines.mark()
    await lines.press(caller, "0")
    await lines.ringing(tenant, "101", since)  # it rings its 5 s, unanswered
    await traced(stack.database_url, tenant, kind("voicemail", number="101"))
    await _until_recording(stack)
    await lines.speak(caller)
    await asyncio.sleep(2)
    await lines.hang_up(caller)
    body = {
        "actions": [{"keys": "0"}, {"wait_s": 2}, {"hang_up": True}],
        "phones": [{"number": "101", "does": "no_answer"}],
    }
    steps = await agree(stack, admin, tenant, body)
    assert {"step": "transfer_result", "number": "101", "result": "no_answer"} in steps
    assert steps[-1] == {"step": "ended", "outcome": "voicemail", "by": "caller"}


async def test_dial_by_name_with_several_matches(
    stack: Stack, lines: Phones, admin: Admin, tenant: Tenant
) -> None:
    caller = await lines.call(tenant, CALLER)
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    since = lines.mark()
    await lines.press(caller, "1")
    await traced(stack.database_url, tenant, kind("key", action="dial_by_name"))
    await lines.press(caller, "532")  # J E A: Jean-Pierre Lefèvre, Jean Martin
    await traced(stack.database_url, tenant, kind("lookup_result", total=2))
    await lines.press(caller, "2")
    steps = await traced(stack.database_url, tenant, kind("choice", digit="2"))
    chosen = next(s["number"] for s in steps if s["step"] == "choice")
    phone = await lines.ringing(tenant, chosen, since)
    await lines.answer(phone)
    await traced(stack.database_url, tenant, kind("bridged"))
    await lines.hang_up(caller)
    body = {"actions": [{"keys": "1"}, {"keys": "532"}, {"keys": "2"}, {"hang_up": True}]}
    steps = await agree(stack, admin, tenant, body)
    assert {"step": "lookup_result", "total": 2, "page": 0, "heard": 2} in steps


async def test_dialling_an_extension_number(stack: Stack, lines: Phones, admin: Admin) -> None:
    tenant = await provision(stack.database_url, stack.phones_app, dial_extension=True)
    caller = await lines.call(tenant, CALLER)
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    since = lines.mark()
    await lines.press(caller, "102")  # 1 is a key too: the digits that follow make it a number
    phone = await lines.ringing(tenant, "102", since)
    await lines.answer(phone)
    await traced(stack.database_url, tenant, kind("bridged"))
    await lines.hang_up(caller)
    body = {"actions": [{"keys": "102"}, {"hang_up": True}]}
    steps = await agree(stack, admin, tenant, body)
    assert {"step": "extension", "number": "102", "found": "Extension"} in steps
    await lines.hang_up_everything()


async def test_an_invalid_key_until_the_retries_run_out(
    stack: Stack, lines: Phones, admin: Admin, tenant: Tenant
) -> None:
    caller = await lines.call(tenant, CALLER)
    await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
    for failures in range(1, 5):
        await lines.press(caller, "9")
        reason = "invalid" if failures < 4 else "retries_exhausted"
        await traced(stack.database_url, tenant, kind("menu", reason=reason, failures=failures))
    await lines.gone(caller)  # the goodbye, then the receptionist hangs up
    steps = await agree(stack, admin, tenant, {"actions": [{"keys": "9"}] * 4})
    assert steps[-1] == {"step": "ended", "outcome": "invalid_input", "by": "receptionist"}


async def _until_recording(stack: Stack, timeout_s: float = 30) -> None:
    """Once a call of the stack records the caller (after the greeting and the beep)."""
    receptionist = stack.stasis.receptionist
    assert receptionist is not None
    async with asyncio.timeout(timeout_s):
        while "VoicemailRecording" not in receptionist.phases().values():  # noqa: ASYNC110
            await asyncio.sleep(0.1)
