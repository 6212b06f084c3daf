"""The demo call `./rcp up` ends with, through a stasis service on the demo tenant."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from rcp.db.migrate import upgrade
from rcp_devstack.demo import DEMO_NUMBER, demo_call, seed_demo
from rcp_devstack.settings import StackSettings
from stasis_e2e_support import receptionist_stack

pytestmark = pytest.mark.asterisk


async def test_the_demo_call_goes_through_the_menu_and_dials_by_name(
    asterisk: StackSettings, make_database: object, tmp_path: Path
) -> None:
    assert callable(make_database)
    url: str = await asyncio.to_thread(make_database)
    await asyncio.to_thread(upgrade, url, configure_logging=False)
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        await seed_demo(pool)
    async with receptionist_stack(asterisk, url, tmp_path / "media") as stack:
        settings = asterisk.model_copy(update={"database_url": url})
        lines = await demo_call(
            settings, DEMO_NUMBER, context="test-carrier", variables={"RCP_APP": stack.app}
        )
    said = "\n".join(lines)
    assert "the receptionist answers" in said
    assert "caller hears the greeting: " in said
    assert "of speech" in said
    assert "receptionist: key (digit=2, action=play_announcement)" in said
    assert "receptionist: lookup_result" in said
    assert "receptionist: transfer (kind=extension, number=102" in said
    assert "receptionist: ended" in said
