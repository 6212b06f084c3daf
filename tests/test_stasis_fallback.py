"""A call the stasis service cannot serve goes to the dialplan's fallback, not to silence.

The database is made unreachable for real (connections refused by PostgreSQL) while the
tenant's configuration is not cached yet: the service counts the call as refused on an
error and hands it back to Asterisk, whose fallback plays the sorry prompt and sends the
caller to the fallback dial string.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from rcp_devstack.settings import StackSettings
from stasis_e2e_support import (
    Stack,
    Tenant,
    metric_sum,
    phone_dial_string,
    phones,
    provision,
    receptionist_stack,
    refuse_connections,
)

pytestmark = [pytest.mark.asterisk]

FALLBACK_NUMBER = "0612000000"


@pytest_asyncio.fixture
async def stack(asterisk: StackSettings, own_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with receptionist_stack(asterisk, own_url, tmp_path) as running:
        yield running


async def _refuse_connections(stack: Stack, allow: bool) -> None:
    await refuse_connections(stack.settings.database_url, stack.database_url, allow)


async def _refused_on_error(stack: Stack) -> float:
    port = stack.stasis.infrastructure.ops_port
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    return metric_sum(text, "rcp_stasis_calls_refused_total", reason="error")


async def test_a_call_whose_tenant_cannot_be_read_goes_to_the_dialplan_fallback(
    stack: Stack,
) -> None:
    tenant: Tenant = await provision(stack.database_url, stack.phones_app)
    async with phones(stack) as lines:
        await _refuse_connections(stack, allow=False)
        try:
            since = lines.mark()
            caller = await lines.request_json(
                "POST",
                "/channels",
                {
                    "variables": {
                        "RCP_APP": stack.app,
                        "RCP_FALLBACK_DIAL": phone_dial_string(
                            stack.phones_app, "fallback", FALLBACK_NUMBER
                        ),
                    }
                },
                endpoint=f"Local/{tenant.number}@test-carrier/n",
                app=stack.caller_app,
                callerId="Test <+33612345678>",
            )
            await lines.wait_for(  # the fallback rings: the caller was not left hanging
                lambda e: (
                    e.get("type") == "StasisStart"
                    and e.get("application") == stack.phones_app
                    and e.get("args") == [f"fallback.{FALLBACK_NUMBER}"]
                ),
                since,
                timeout_s=60,
            )
            assert await _refused_on_error(stack) == 1
            await lines.hang_up(str(caller["id"]))
        finally:
            await _refuse_connections(stack, allow=True)
            await lines.hang_up_everything()
