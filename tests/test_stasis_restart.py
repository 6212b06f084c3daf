"""The stasis service as a process of its own: killed with calls in the menu, none is dropped;
stopped with SIGTERM, it lets the call under way finish and takes no new one; calls keep their
whole decision trace through a stop and a NATS restart."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from media_support import media_settings, running_media
from nats_support import as_user
from rcp.messaging import connect_nats
from rcp_devstack.natsserver import private_nats
from rcp_devstack.settings import StackSettings
from rcp_directory.app import running as running_directory
from rcp_directory.settings import Settings as DirectorySettings
from rcp_stasis.records_app import Settings as RecordsSettings
from rcp_stasis.records_app import running as running_records
from roles_support import service_url
from stasis_e2e_support import (
    WAIT_S,
    Apps,
    Phones,
    Tenant,
    delete_durable,
    phone_dial_string,
    phones,
    provision,
    unique_app,
)

pytestmark = pytest.mark.asterisk

CALLS = 10


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class StasisProcess:
    """`rcp-stasis` run as a child process, with the environment a deployment would give it."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.port = int(env["RCP_OPS_PORT"])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = Path(sys.executable).parent / "rcp-stasis"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(binary)], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    async def ready(self) -> None:
        """Once /readyz says every check passes, the ARI app's WebSocket included."""
        async with aiohttp.ClientSession() as session, asyncio.timeout(WAIT_S):
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.2)

    def signal(self, number: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    async def draining(self) -> None:
        """Once /readyz reports that the service is draining."""
        async with aiohttp.ClientSession() as session, asyncio.timeout(WAIT_S):
            while True:
                async with session.get(f"http://127.0.0.1:{self.port}/readyz") as response:
                    if "draining" in (await response.json())["checks"]:
                        return
                await asyncio.sleep(0.1)

    async def wait(self, timeout_s: float = WAIT_S) -> int:
        assert self.process is not None
        process = self.process
        return await asyncio.wait_for(asyncio.to_thread(process.wait), timeout_s)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)


@pytest.fixture
def apps(asterisk: StackSettings) -> Apps:
    return Apps(asterisk, unique_app("rcp"), unique_app("phones"), unique_app("caller"))


@asynccontextmanager
async def services(
    apps: Apps,
    database_url: str,
    media_dir: Path,
    log: Path,
    grace_s: int = 20,
    nats_url: str | None = None,
) -> AsyncIterator[StasisProcess]:
    """Directory, media and the call records service in this process, stasis as a child
    process (started); all on `nats_url` if given, else the stack's NATS."""
    run = uuid.uuid4().hex[:12]
    nats = apps.settings.nats_url if nats_url is None else nats_url
    directory = DirectorySettings(
        database_url=service_url(database_url, "directory"),
        ops_port=0,
        directory_nats_scope=run,
        nats_url=nats,
    )
    media = media_settings(database_url, media_dir, nats_url=nats)
    env = {
        **os.environ,
        "RCP_DATABASE_URL": service_url(database_url, "stasis"),
        "RCP_OPS_PORT": str(_free_port()),
        "RCP_ARI_APP": apps.app,
        "RCP_STASIS_TAKE_CALLS": "true",
        "RCP_STASIS_CALL_RECORDS_DURABLE": f"records-{run}",
        "RCP_STASIS_CALL_RECORDS_FROM_START": "false",
        "RCP_STASIS_TRUNK_DIAL_TEMPLATE": phone_dial_string(apps.phones_app, "trunk", "{number}"),
        "RCP_ENVIRONMENT": "development",
        "RCP_ALLOW_TEST_PHONES": "true",
        "RCP_DIRECTORY_NATS_SCOPE": directory.directory_nats_scope,
        "RCP_MEDIA_NATS_SCOPE": media.media_nats_scope,
        "RCP_STASIS_DRAIN_GRACE_S": str(grace_s),
        "RCP_ARI_RECONNECT_MIN_S": "0.2",
        "RCP_ARI_RECONNECT_MAX_S": "1",
        "RCP_LOG_FORMAT": "console",
        "RCP_NATS_URL": nats,
    }
    records = RecordsSettings(
        database_url=env["RCP_DATABASE_URL"],
        ops_port=0,
        stasis_call_records_durable=env["RCP_STASIS_CALL_RECORDS_DURABLE"],
        stasis_call_records_from_start=False,
        nats_url=nats,
    )
    stasis = StasisProcess(env, log)
    async with running_directory(directory), running_media(media), running_records(records):
        stasis.start()
        try:
            await stasis.ready()
            yield stasis
        finally:
            stasis.stop()
            cleanup = as_user(apps.settings.model_copy(update={"nats_url": nats}))
            async with connect_nats(cleanup, "tests-cleanup") as client:
                await delete_durable(client.jetstream(), env["RCP_STASIS_CALL_RECORDS_DURABLE"])


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "stasis.log"
    yield path
    # The service's log is shown when a test fails (pytest prints captured output).
    if path.exists():
        sys.stdout.write(path.read_text(errors="replace")[-20000:])


async def _menus(database_url: str, tenant: Tenant) -> int:
    """How many times the tenant's calls have started their menu from the greeting."""
    connection = await asyncpg.connect(database_url)
    try:
        count: int = await connection.fetchval(
            """SELECT count(*) FROM call_records r, jsonb_array_elements(r.trace) AS step
                WHERE r.tenant_id = $1 AND step->>'kind' = 'menu'
                  AND step->'data'->>'reason' = 'greeting'""",
            tenant.id,
        )
        return count
    finally:
        await connection.close()


async def _until_menus(database_url: str, tenant: Tenant, menus: int) -> None:
    try:
        async with asyncio.timeout(WAIT_S):
            while await _menus(database_url, tenant) < menus:  # noqa: ASYNC110 - in the database
                await asyncio.sleep(0.2)
    except TimeoutError:
        connection = await asyncpg.connect(database_url)
        try:
            traces = await connection.fetch(
                "SELECT call_id, trace FROM call_records WHERE tenant_id = $1", tenant.id
            )
        finally:
            await connection.close()
        raise AssertionError(f"not {menus} menus: {[dict(t) for t in traces]}") from None


# A transferred call's decisions, in the order it made them: what its trace must hold whole.
TRANSFERRED = ["started", "menu", "key", "transfer", "transfer_result", "ended"]


async def _ended_traces(database_url: str, tenant: Tenant) -> list[tuple[str, list[str]]]:
    """Once one of the tenant's call records is ended (its `ended` step written): each ended
    record's outcome and the kinds of its trace's steps, in order."""
    connection = await asyncpg.connect(database_url)
    try:
        async with asyncio.timeout(WAIT_S):
            query = (
                "SELECT outcome, trace FROM call_records "
                "WHERE tenant_id = $1 AND ended_at IS NOT NULL"
            )
            while not (rows := await connection.fetch(query, tenant.id)):  # noqa: ASYNC110
                await asyncio.sleep(0.2)  # in the database
    finally:
        await connection.close()
    return [(row["outcome"], [step["kind"] for step in json.loads(row["trace"])]) for row in rows]


def _in_order(kinds: list[str], wanted: list[str]) -> bool:
    """Whether `wanted` appears in `kinds` in that order (other steps may sit between)."""
    remaining = iter(kinds)
    return all(kind in remaining for kind in wanted)


async def test_calls_survive_a_killed_service_and_the_next_one_takes_them_on(
    apps: Apps, migrated_url: str, tmp_path: Path, log_file: Path
) -> None:
    tenant = await provision(migrated_url, apps.phones_app)
    async with (
        services(apps, migrated_url, tmp_path / "media", log_file) as stasis,
        phones(apps) as lines,
    ):
        talking = await lines.call(tenant)  # one call bridged with extension 102
        since = lines.mark()
        await lines.press(talking, "3")
        await lines.ringing(tenant, "101", since)
        phone = await lines.ringing(tenant, "102", since)
        await lines.answer(phone)
        bridge = await lines.stasis_bridge()
        callers = [await lines.call(tenant) for _ in range(CALLS)]
        await _until_menus(migrated_url, tenant, CALLS + 1)

        await _killed_and_started_again(stasis)

        await _until_menus(migrated_url, tenant, 2 * CALLS + 1)  # each menu started over
        for caller in callers:  # none was dropped
            assert await lines.probe.request("GET", f"/channels/{caller}", missing_ok=True)
        # The bridged call was left talking, and is cleaned up once its caller hangs up.
        still = await lines.probe.request("GET", f"/bridges/{bridge['id']}")
        assert sorted(still["channels"]) == sorted(bridge["channels"])
        await lines.hang_up(talking)
        await lines.gone(phone)
        since = lines.mark()
        for caller in callers:  # and each answers its keys again
            await lines.press(caller, "0")
        await _all_rung(lines, tenant, since)
        for caller in callers:
            await lines.hang_up(caller)
        await lines.stasis_holds_nothing()
        await lines.phones_hold_nothing()


async def test_a_transfer_still_ringing_in_its_bridge_when_the_service_dies_goes_back_to_the_menu(
    apps: Apps, migrated_url: str, tmp_path: Path, log_file: Path
) -> None:
    tenant = await provision(migrated_url, apps.phones_app)
    async with (
        services(apps, migrated_url, tmp_path / "media", log_file) as stasis,
        phones(apps) as lines,
    ):
        caller = await lines.call(tenant)
        await _until_menus(migrated_url, tenant, 1)
        since = lines.mark()
        await lines.press(caller, "0")
        phone = await lines.ringing(tenant, "101", since)
        bridge = await lines.stasis_bridge()  # the leg rings in the caller's bridge
        assert len(bridge["channels"]) == 2

        await _killed_and_started_again(stasis)

        await _until_menus(migrated_url, tenant, 2)  # the caller hears the menu again
        await lines.gone(phone)  # the leg that rang is hung up
        assert await lines.probe.request("GET", f"/bridges/{bridge['id']}", missing_ok=True) is None
        since = lines.mark()
        await lines.press(caller, "0")  # and the keys work again
        await lines.ringing(tenant, "101", since)
        await lines.hang_up(caller)
        await lines.stasis_holds_nothing()
        await lines.phones_hold_nothing()


async def _killed_and_started_again(stasis: StasisProcess) -> None:
    """Kill the service, and start it again on the same app: it finds the calls the dead one
    left."""
    stasis.signal(signal.SIGKILL)
    await stasis.wait()
    stasis.start()
    await stasis.ready()


async def _all_rung(lines: Phones, tenant: Tenant, since: int) -> None:
    """Once extension 101 has rung once for each call."""
    name = tenant.phone("101")

    def count() -> int:
        return sum(
            1
            for event in lines.probe.events[since:]
            if event.get("type") == "StasisStart" and event.get("args") == [name]
        )

    async with asyncio.timeout(WAIT_S):
        while count() < CALLS:  # noqa: ASYNC110 - the probe's events fill in another task
            await asyncio.sleep(0.1)


async def test_sigterm_lets_the_call_finish_with_its_whole_trace_stored_and_sends_new_calls_back(
    apps: Apps, migrated_url: str, tmp_path: Path, log_file: Path
) -> None:
    tenant = await provision(migrated_url, apps.phones_app)
    async with (
        services(apps, migrated_url, tmp_path / "media", log_file) as stasis,
        phones(apps) as lines,
    ):
        caller = await lines.call(tenant)
        phone, _ = await lines.transfer_answered(tenant, caller)

        stasis.signal(signal.SIGTERM)
        await stasis.draining()
        # Draining: a new call goes back to the dialplan, whose fallback refuses it.
        late = await lines.request_json(
            "POST",
            "/channels",
            {"variables": {"RCP_APP": apps.app}},
            endpoint=f"Local/{tenant.number}@test-carrier/n",
            app=apps.caller_app,
        )
        refused = await lines.wait_for(
            lambda e: e.get("type") == "ChannelDestroyed" and e["channel"]["id"] == late["id"]
        )
        assert refused["cause"] == 34
        # The call under way goes on until its people hang up; then the service ends.
        assert await lines.probe.request("GET", f"/channels/{caller}", missing_ok=True)
        await lines.hang_up(phone)
        assert await stasis.wait() == 0
        await lines.gone(caller)
        # Stopped, the service had published every decision of the call: its record is whole.
        traces = await _ended_traces(migrated_url, tenant)
        transferred = [kinds for outcome, kinds in traces if outcome == "transferred"]
        assert len(transferred) == 1, traces
        assert _in_order(transferred[0], TRANSFERRED), traces


async def test_a_call_outlasting_the_grace_time_is_hung_up_whole_and_its_trace_stored(
    apps: Apps, migrated_url: str, tmp_path: Path, log_file: Path
) -> None:
    tenant = await provision(migrated_url, apps.phones_app)
    async with (
        services(apps, migrated_url, tmp_path / "media", log_file, grace_s=2) as stasis,
        phones(apps) as lines,
    ):
        caller = await lines.call(tenant)
        phone, bridge = await lines.transfer_answered(tenant, caller)

        stasis.signal(signal.SIGTERM)
        assert await stasis.wait() == 0
        # Nobody hung up, yet nothing is left: both people's channels and their bridge.
        await lines.gone(caller)
        await lines.gone(phone)
        assert await lines.probe.request("GET", f"/bridges/{bridge['id']}", missing_ok=True) is None
        # Hung up by the stopping service, the call's trace still reached the stream whole.
        traces = await _ended_traces(migrated_url, tenant)
        assert len(traces) == 1, traces
        assert _in_order(traces[0][1], TRANSFERRED), traces


async def test_a_nats_restart_during_a_transfer_loses_none_of_the_calls_trace(
    apps: Apps, migrated_url: str, tmp_path: Path, log_file: Path
) -> None:
    tenant = await provision(migrated_url, apps.phones_app)
    # A NATS server of the test's own, stopped and started again: never the stack's.
    with private_nats(tmp_path / "nats", apps.settings.nats_credentials_dir) as server:
        async with (
            services(apps, migrated_url, tmp_path / "media", log_file, nats_url=server.url),
            phones(apps) as lines,
        ):
            caller = await lines.call(tenant)
            await _until_menus(migrated_url, tenant, 1)
            await asyncio.to_thread(server.stop)
            try:  # the key press, the transfer and its answer happen while NATS is down
                phone, _ = await lines.transfer_answered(tenant, caller)
            finally:
                await asyncio.to_thread(server.start)
            await lines.hang_up(phone)
            await lines.gone(caller)
            traces = await _ended_traces(migrated_url, tenant)
    assert len(traces) == 1, traces
    assert _in_order(traces[0][1], TRANSFERRED), traces
