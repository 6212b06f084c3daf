"""The demo `./rcp up` ends with (`receptionist demo`): demo tenants in French and English,
each called through a stasis service."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from nats.aio.msg import Msg
from nats_support import as_user
from rcp import subjects
from rcp.db.migrate import upgrade
from rcp.messaging import connect_nats, reached_server
from rcp_devstack.demo import DEMOS, FRENCH, DemoSpec, demo_call, seed_demo
from rcp_devstack.settings import StackSettings
from stasis_e2e_support import (
    Tenant,
    ended_call,
    kind,
    phones,
    receptionist_stack,
    traced,
)

pytestmark = pytest.mark.asterisk


@pytest.mark.parametrize("spec", DEMOS.values(), ids=DEMOS.keys())
async def test_the_demo_call_goes_through_the_menu_and_dials_by_name(
    spec: DemoSpec, asterisk: StackSettings, make_database: object, tmp_path: Path
) -> None:
    assert callable(make_database)
    url: str = await asyncio.to_thread(make_database)
    await asyncio.to_thread(upgrade, url, configure_logging=False)
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        seeded = await seed_demo(pool, spec)
        assert await seed_demo(pool, spec) == seeded  # provisioning twice changes nothing
        language = await pool.fetchval(
            "SELECT language FROM receptionists WHERE tenant_id = $1", seeded.tenant_id
        )
    assert language == spec.locale
    async with receptionist_stack(asterisk, url, tmp_path / "media") as stack:
        settings = asterisk.model_copy(update={"database_url": url})
        lines = await demo_call(
            settings, spec.number, context="test-carrier", variables={"RCP_APP": stack.app}
        )
    said = "\n".join(lines)
    assert "the receptionist answers" in said
    assert "caller hears the greeting: " in said
    assert "of speech" in said
    assert "receptionist: key (digit=2, action=play_announcement)" in said
    assert "receptionist: lookup_result" in said
    assert "receptionist: transfer (kind=extension, number=102" in said
    assert "receptionist: ended" in said


def test_receptionist_demo_says_in_one_line_why_it_cannot_call(
    asterisk: StackSettings, make_database: object
) -> None:
    # Asterisk's ARI is not where the settings say: the command provisions the tenant, then
    # fails with one line, exit status 1 and no traceback.
    assert callable(make_database)
    url: str = make_database()
    upgrade(url, configure_logging=False)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "receptionist"), "demo", "--language", "en"],
        env={**os.environ, "RCP_DATABASE_URL": url, "RCP_ARI_URL": nowhere},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Demo call to Demo Ltd (en-GB" in done.stdout
    assert done.stderr.startswith("receptionist: demo: ")
    assert "Traceback" not in done.stderr


async def test_pour_l_anglais_tapez_9_opens_the_demo_english_menu_whose_prompts_are_english(
    asterisk: StackSettings, make_database: object, tmp_path: Path
) -> None:
    assert "Pour l'anglais, tapez 9." in FRENCH.greeting
    assert callable(make_database)
    url: str = await asyncio.to_thread(make_database)
    await asyncio.to_thread(upgrade, url, configure_logging=False)
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        seeded = await seed_demo(pool, FRENCH)
    asked: list[tuple[str, str]] = []
    no_match = asyncio.Event()

    async def collect(msg: Msg) -> None:
        request = json.loads(msg.data)
        asked.append((request.get("text") or "", request["language"]))
        if asked[-1] == ("No name matches your entry.", "en-GB"):
            no_match.set()

    async with receptionist_stack(asterisk, url, tmp_path / "media") as stack:
        tenant = Tenant(seeded.tenant_id, seeded.number, "", stack.phones_app, "")
        scope = stack.stasis_settings.media_nats_scope
        async with (
            connect_nats(as_user(stack.settings), "tests-demo") as nats,
            phones(stack) as lines,
        ):
            await nats.subscribe(subjects.MEDIA_ENSURE_PROMPT.every_tenant(scope), cb=collect)
            await reached_server(nats)
            caller = await lines.call(tenant)
            await traced(url, tenant, kind("menu", reason="greeting"))
            await lines.press(caller, "9")
            await traced(url, tenant, kind("menu", reason="opened", menu="English"))
            await lines.press(caller, "1")
            await traced(url, tenant, kind("key", action="dial_by_name"))
            await lines.press(caller, "999")  # WWW: nobody
            await traced(url, tenant, kind("lookup_result", total=0))
            await asyncio.wait_for(no_match.wait(), timeout=10)
            # Back in the English menu once the caller has heard so.
            await traced(url, tenant, kind("menu", reason="name_not_found", menu="English"))
            await lines.press(caller, "*")  # from the English menu, back to the French one
            await traced(url, tenant, kind("menu", reason="back", menu="Menu principal"))
            await lines.hang_up(caller)
            await ended_call(url, tenant)
            await lines.stasis_holds_nothing()
    assert ("Aucun nom ne correspond à votre saisie.", "fr-FR") not in asked
