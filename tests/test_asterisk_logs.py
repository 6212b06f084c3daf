"""Asterisk's logs hold no caller's number unless someone debugging asks for it, keep no call
detail records, and rotate keeping a week: checked on an Asterisk of the test's own (this
checkout's configuration, in the stack's root, on ports and folders of its own)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from rcp_asterisk.render import AsteriskValues, rendered_files
from rcp_devstack.asterisk import TEMPLATES, PrivateAsterisk
from rcp_devstack.processes import free_port, run
from rcp_devstack.settings import StackSettings
from rcp_stasis import asterisk_logs

pytestmark = [pytest.mark.asterisk]

CALLER = "+33698765432"


@pytest.fixture
async def own_asterisk(asterisk: StackSettings, tmp_path: Path) -> AsyncIterator[PrivateAsterisk]:
    settings = asterisk.model_copy(
        update={
            "ari_url": f"http://127.0.0.1:{free_port()}",
            "asterisk_sip_port": free_port(),
            "asterisk_rtp_start": 20100,  # no RTP here: the calls are Local channels
            "asterisk_rtp_end": 20199,
        }
    )
    server = PrivateAsterisk(settings, f"logs{uuid.uuid4().hex[:8]}", tmp_path / "console.log")
    await asyncio.to_thread(server.prepare)
    try:
        server.start()
        async with asyncio.timeout(90):
            while not await asyncio.to_thread(server.answers):  # noqa: ASYNC110 - another process
                await asyncio.sleep(0.3)
        yield server
    finally:
        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(server.remove)


def _log_dir(server: PrivateAsterisk) -> Path:
    return server.root / f"var/log/asterisk-{server.name}"


async def _cli(server: PrivateAsterisk, command: str) -> str:
    return await asyncio.to_thread(
        run,
        [
            "chroot",
            str(server.root),
            "asterisk",
            "-C",
            f"{server.etc}/asterisk.conf",
            "-rx",
            command,
        ],
        f"asterisk -rx {command!r}",
    )


def _session(server: PrivateAsterisk) -> aiohttp.ClientSession:
    auth = aiohttp.encode_basic_auth(server.settings.ari_user, server.settings.ari_password)
    return aiohttp.ClientSession(
        headers={"Authorization": auth}, timeout=aiohttp.ClientTimeout(total=30)
    )


async def _call_while_no_stasis_runs(server: PrivateAsterisk) -> None:
    """A carrier's call from CALLER: with no stasis service connected, Stasis() fails and the
    fallback context takes it (the one place the dialplan logs anything)."""
    async with (
        _session(server) as session,
        session.post(
            f"{server.settings.ari_url}/ari/channels",
            params={
                "endpoint": "Local/+33199000123@from-carrier/n",
                "context": "receptionist-unavailable",
                "extension": "s",
                "priority": "1",
                "callerId": f"Caller <{CALLER}>",
            },
        ) as response,
    ):
        assert response.status == 200, await response.text()


async def _until_in(path: Path, text: str) -> str:
    async with asyncio.timeout(20):
        while True:
            content = await asyncio.to_thread(path.read_text, "utf-8", "replace")
            if text in content:
                return content
            await asyncio.sleep(0.2)


async def _until_exists(path: Path) -> None:
    async with asyncio.timeout(20):
        while not await asyncio.to_thread(path.exists):  # noqa: ASYNC110 - Asterisk writes it
            await asyncio.sleep(0.1)


async def test_a_callers_number_is_in_no_log_unless_a_debug_channel_is_added(
    own_asterisk: PrivateAsterisk,
) -> None:
    logs = _log_dir(own_asterisk)
    await _call_while_no_stasis_runs(own_asterisk)
    messages = await _until_in(logs / "messages", "unavailable (STASISSTATUS=FAILED)")
    await asyncio.sleep(1)  # what else the call logs
    written = {
        path.name: path.read_text("utf-8", "replace")
        for path in [*logs.rglob("*"), own_asterisk.log_file]
        if path.is_file()
    }
    assert "messages" in written
    assert messages
    for name, content in written.items():
        assert CALLER not in content, name
        assert CALLER.removeprefix("+") not in content, name
    assert not (logs / "cdr-csv").exists() or not any((logs / "cdr-csv").iterdir())

    await _cli(own_asterisk, "logger add channel privacy-debug debug")
    await _cli(own_asterisk, "core set debug 1")
    await _call_while_no_stasis_runs(own_asterisk)
    debug = await _until_in(logs / "privacy-debug", CALLER)
    assert f"the caller was {CALLER}" in debug


async def test_asterisk_rotates_its_log_files_keeping_a_week(
    own_asterisk: PrivateAsterisk,
) -> None:
    logs = _log_dir(own_asterisk)
    async with _session(own_asterisk) as session:
        # What the stasis service runs beside its Asterisk (every day; here every 0.1 s).
        schedule = asyncio.create_task(
            asterisk_logs.rotate_every(session, own_asterisk.settings.ari_url, 0.1)
        )
        try:
            await _until_exists(logs / "security.1")
        finally:
            schedule.cancel()
        for _ in range(9):
            await asterisk_logs.rotate(session, own_asterisk.settings.ari_url)
    for channel in asterisk_logs.LOG_CHANNELS:
        kept = sorted(p.name for p in logs.iterdir() if re.fullmatch(rf"{channel}(\.\d+)?", p.name))
        assert kept == [channel, *(f"{channel}.{n}" for n in range(7))], kept


def test_the_rendered_configuration_logs_no_verbose_or_debug_to_files_and_keeps_no_cdr() -> None:
    files = rendered_files(TEMPLATES, AsteriskValues(ari_password="x"), [])
    channels = dict(
        re.findall(r"^(\w[\w-]*) => (.+)$", files["logger.conf"].split("[logfiles]")[1], re.M)
    )
    assert channels.keys() == {"console", "messages", "security"}
    for name, levels in channels.items():
        assert not {"verbose", "debug", "trace"} & set(re.split(r"[,(]", levels)), name
    assert re.search(r"^enable = no$", files["cdr.conf"], re.M)
    for line in files["extensions.conf"].splitlines():
        if "CALLERID(num)" in line and not line.lstrip().startswith(";"):
            assert "Log(DEBUG," in line, line
