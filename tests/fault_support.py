"""Fault tests: a whole receptionist of the test's own, whose pieces can be killed and paused,
and callers in every phase who measure what they hear.

The stack: a private nats-server (it is paused with SIGSTOP, which must never happen to the
shared one), a database of the test's own (made to refuse connections), and the directory,
media and stasis services as child processes (killed with SIGKILL, stopped with SIGTERM),
all on the local Asterisk under Stasis app names of the test's own.

What a caller hears is recorded from a snoop channel on the receptionist's side of the call
(`spy=out`): unlike a recording of the caller's own channel, which only holds the frames that
arrived, a snoop runs on a timer, so silence is recorded as silence and the time in the file
is the time on the clock.
"""

from __future__ import annotations

import array
import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
import wave
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from media_support import media_settings
from pydantic_settings import BaseSettings
from rcp_devstack.natsserver import PrivateNats, private_nats
from rcp_devstack.processes import free_port
from rcp_devstack.settings import StackSettings
from rcp_directory.settings import Settings as DirectorySettings
from rcp_stasis.executor import RECORDING_VARIABLE
from roles_support import service_url
from stasis_e2e_support import (
    WAIT_S,
    Apps,
    Phones,
    Tenant,
    provision,
    records_settings,
    stasis_settings,
    unique_app,
)

# What the issue promises a caller in a degraded system, and what measuring it adds: the
# key's own length, the snoop's and the recording's start.
BUDGET_S = 3.0
SLACK_S = 0.8
SPEECH_RMS = 300.0  # of 32767: louder than line noise, far below any prompt
WINDOW_S = 0.05


def report(line: str) -> None:
    """A measurement, printed for the run's log (pytest -s, or the report of a failure)."""
    print(line)  # noqa: T201


def env_of(settings: BaseSettings) -> dict[str, str]:
    """The environment variables that give a service these settings."""
    env = {}
    for name, value in settings.model_dump(mode="json").items():
        if value is not None:
            env[f"RCP_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env


class ServiceProcess:
    """`rcp-<service>` run as a child process, as a deployment runs it."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.env = {**os.environ, **env, "RCP_LOG_FORMAT": "console"}
        self.log = log
        self.port = int(env["RCP_OPS_PORT"])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = Path(sys.executable).parent / f"rcp-{self.name}"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(binary)], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    async def ready(self, timeout_s: float = WAIT_S) -> float:
        """Seconds until /readyz says every check passes."""
        started = time.monotonic()
        async with aiohttp.ClientSession() as session, asyncio.timeout(timeout_s):
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/readyz") as response:
                        if response.status == 200:
                            return time.monotonic() - started
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.2)

    async def readiness(self) -> dict[str, str]:
        """The checks /readyz reports now."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{self.port}/readyz") as response,
        ):
            return dict((await response.json())["checks"])

    def signal(self, number: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    async def wait(self, timeout_s: float = WAIT_S) -> int:
        assert self.process is not None
        process = self.process
        return await asyncio.wait_for(asyncio.to_thread(process.wait), timeout_s)

    async def kill(self) -> None:
        """SIGKILL, and wait until it is gone."""
        self.signal(signal.SIGKILL)
        await self.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)

    def tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@dataclass
class FaultStack:
    """The test's own receptionist: its NATS, database, services, tenant and phones."""

    apps: Apps
    nats: PrivateNats
    database_url: str
    directory: ServiceProcess
    media: ServiceProcess
    stasis: ServiceProcess
    records: ServiceProcess
    tenant: Tenant

    @property
    def services(self) -> tuple[ServiceProcess, ...]:
        return (self.directory, self.media, self.stasis, self.records)


@asynccontextmanager
async def fault_stack(
    settings: StackSettings, database_url: str, tmp_path: Path, **stasis_overrides: Any
) -> AsyncIterator[FaultStack]:
    """Start the test's own NATS and services (ready), with a tenant whose calls last: its
    menu waits 20 s for a key and its extensions ring for a minute."""
    apps = Apps(settings, unique_app("rcp"), unique_app("phones"), unique_app("caller"))
    tenant = await provision(database_url, apps.phones_app, ring_s=60)
    await _execute(
        database_url, "UPDATE receptionists SET menu_timeout_s = 20 WHERE tenant_id = $1", tenant.id
    )
    with private_nats(tmp_path / "nats", settings.nats_credentials_dir) as nats:
        directory = DirectorySettings(
            database_url=service_url(database_url, "directory"),
            nats_url=nats.url,
            ops_port=free_port(),
        )
        media = media_settings(
            database_url,
            tmp_path / "media",
            nats_url=nats.url,
            ops_port=free_port(),
            media_http_port=free_port(),  # fixed: its URLs must survive a restart
            media_nats_scope="",
        )
        stasis = stasis_settings(
            database_url,
            apps.app,
            apps.phones_app,
            directory.directory_nats_scope,
            "",
            nats_url=nats.url,
            ops_port=free_port(),
            ari_url=settings.ari_url,
            **stasis_overrides,
        )
        stack = FaultStack(
            apps,
            nats,
            database_url,
            ServiceProcess("directory", env_of(directory), tmp_path / "directory.log"),
            ServiceProcess("media", env_of(media), tmp_path / "media.log"),
            ServiceProcess("stasis", env_of(stasis), tmp_path / "stasis.log"),
            ServiceProcess(
                "call-records",
                env_of(records_settings(stasis, ops_port=free_port())),
                tmp_path / "call-records.log",
            ),
            tenant,
        )
        try:
            for service in stack.services:
                service.start()
            for service in stack.services:
                await service.ready()
            yield stack
        finally:
            for service in reversed(stack.services):
                service.stop()
            for service in stack.services:  # shown by pytest when the test fails
                sys.stdout.write(f"--- {service.name} ---\n{service.tail()}\n")


async def _execute(database_url: str, query: str, *args: object) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(query, *args)
    finally:
        await connection.close()


async def _fetch(database_url: str, query: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


# --- callers who listen ---------------------------------------------------------------------


@dataclass
class Caller:
    """A call in progress: the caller's phone, the receptionist's side, and what is heard."""

    phase: str
    phone: str  # the caller's own channel (the test presses keys there)
    call_id: str  # the receptionist's side of the call: the call's id in its record
    snoop: str
    recording: str
    started: float  # when the recording began (time.monotonic())
    extension: str | None = None  # the extension's phone, while one rings or talks
    keys: list[tuple[float, str]] = field(default_factory=list)  # (when, keys)

    def now(self) -> float:
        """Seconds into the recording."""
        return time.monotonic() - self.started


class Listeners:
    """Callers of the test, placed through the phones' probe, each recorded as it hears."""

    def __init__(self, lines: Phones, tenant: Tenant) -> None:
        self.lines = lines
        self.tenant = tenant
        self.callers: list[Caller] = []
        self.heard: dict[str, array.array[int]] = {}

    async def call(self, phase: str) -> Caller:
        """Dial the tenant's number; once the receptionist answers, start listening."""
        lines, stack = self.lines, self.lines.stack
        phone = f"fault-{uuid.uuid4().hex[:12]}"
        call_id = f"{phone}-rx"
        await lines.request_json(
            "POST",
            "/channels",
            {"variables": {"RCP_APP": stack.app}},
            endpoint=f"Local/{self.tenant.number}@test-carrier/n",
            app=stack.caller_app,
            channelId=phone,
            otherChannelId=call_id,
            callerId="Test <+33612345678>",
            formats="ulaw",
        )
        await lines.wait_for(
            lambda e: e.get("type") == "StasisStart" and e["channel"]["id"] == phone
        )
        snoop = await lines.probe.request(
            "POST", f"/channels/{call_id}/snoop", spy="out", app=stack.caller_app
        )
        await lines.wait_for(
            lambda e: e.get("type") == "StasisStart" and e["channel"]["id"] == snoop["id"]
        )
        recording = f"fault-heard-{uuid.uuid4().hex[:10]}"
        await lines.probe.request(
            "POST", f"/channels/{snoop['id']}/record", name=recording, format="wav"
        )
        caller = Caller(phase, phone, call_id, str(snoop["id"]), recording, time.monotonic())
        self.callers.append(caller)
        return caller

    async def press(self, caller: Caller, keys: str) -> float:
        """Press keys; return when the last one was pressed (seconds into the recording)."""
        await self.lines.press(caller.phone, keys)
        pressed = caller.now()
        caller.keys.append((pressed, keys))
        return pressed

    async def bridged(self, caller: Caller) -> dict[str, Any]:
        """The bridge of the caller's call, once its extension is in it too."""
        async with asyncio.timeout(WAIT_S):
            while True:
                for bridge in await self.lines.probe.request("GET", "/bridges"):
                    channels = bridge["channels"]
                    if caller.call_id in channels and len(channels) >= 2:
                        return dict(bridge)
                await asyncio.sleep(0.1)

    async def recording(self, caller: Caller) -> str:
        """The name of the message the receptionist records from the caller, once it does
        (the stasis service names it in a channel variable of the call, for its successor)."""
        path = f"/channels/{caller.call_id}/variable"
        async with asyncio.timeout(WAIT_S):
            while True:
                found = await self.lines.probe.request(
                    "GET", path, missing_ok=True, variable=RECORDING_VARIABLE
                )
                name = (found or {}).get("value", "").partition("|")[0]
                live = f"/recordings/live/{name}"
                if name and await self.lines.probe.request("GET", live, missing_ok=True):
                    return str(name)
                await asyncio.sleep(0.1)

    async def stop_speaking(self, caller: Caller) -> None:
        """The caller stops speaking."""
        await self.lines.probe.request("DELETE", f"/playbacks/{caller.phone}", missing_ok=True)

    async def stop_listening(self, caller: Caller) -> array.array[int]:
        """What the caller heard, from the start (the snoop is hung up)."""
        if caller.recording not in self.heard:
            body = await self.lines.probe.stop_recording(caller.recording)
            await self.lines.hang_up(caller.snoop)
            self.heard[caller.recording] = _samples(body)
        return self.heard[caller.recording]

    async def in_phases(self) -> dict[str, Caller]:
        """One call in each phase: menu, name entry, ringing, bridged, voicemail."""
        calls = {phase: await self.call(phase) for phase in PHASES}
        lines, tenant = self.lines, self.tenant
        await self.press(calls["voicemail"], "5")
        await self.press(calls["name"], "1")
        since = lines.mark()
        await self.press(calls["ringing"], "0")
        calls["ringing"].extension = await lines.ringing(tenant, "101", since)
        since = lines.mark()
        await self.press(calls["bridged"], "8")  # 103
        calls["bridged"].extension = await lines.ringing(tenant, "103", since)
        await lines.answer(calls["bridged"].extension)
        await self.bridged(calls["bridged"])
        await self.speak_message(calls["voicemail"])
        return calls

    async def speak_message(self, caller: Caller) -> None:
        """Once the receptionist records the caller's message ("Leave a message for Amélie
        Poulain after the beep"), the caller speaks, for as long as the message lasts (a
        minute of Asterisk's own sound files: a tone would not do, a Local channel only sends
        it when it gets audio). A playback holds the caller's keys behind it: this one starts
        after the last."""
        await self.recording(caller)
        await self.lines.probe.request(
            "POST",
            f"/channels/{caller.phone}/play",
            media=",".join(["sound:demo-congrats"] * 6),
            playbackId=caller.phone,
        )


PHASES = ("menu", "name", "ringing", "bridged", "voicemail")


def _samples(body: bytes) -> array.array[int]:
    if not body:
        return array.array("h")
    with wave.open(io.BytesIO(body)) as audio:
        assert audio.getframerate() == RATE, audio.getframerate()
        return array.array("h", audio.readframes(audio.getnframes()))


RATE = 8000


def speech_windows(samples: array.array[int]) -> list[bool]:
    """For each window of WINDOW_S: whether it holds speech (or a tone)."""
    size = int(RATE * WINDOW_S)
    windows = []
    for start in range(0, len(samples) - size + 1, size):
        chunk = samples[start : start + size]
        windows.append((sum(s * s for s in chunk) / size) ** 0.5 > SPEECH_RMS)
    return windows


def silence_after(samples: array.array[int], moment_s: float) -> float | None:
    """The silence the caller heard after `moment_s` (into the recording) until speech began
    again: a key stops the prompt playing then, and what answers it follows the silence.
    None if nothing was heard after it."""
    windows = speech_windows(samples)
    index = int(moment_s / WINDOW_S)
    while index < len(windows) and windows[index]:  # the prompt the key stopped, ending
        index += 1
    silent_from = index
    while index < len(windows) and not windows[index]:
        index += 1
    if index >= len(windows):
        return None
    return (index - silent_from) * WINDOW_S


def speech_s(samples: array.array[int], start_s: float = 0.0, end_s: float | None = None) -> float:
    """Seconds of speech heard between two moments of the recording."""
    windows = speech_windows(samples)
    last = len(windows) if end_s is None else int(end_s / WINDOW_S)
    return sum(windows[int(start_s / WINDOW_S) : last]) * WINDOW_S


@contextmanager
def paused(nats: PrivateNats) -> Iterator[None]:
    """NATS frozen for the block (SIGSTOP), then let go (SIGCONT)."""
    nats.pause()
    try:
        yield
    finally:
        nats.resume()


async def open_records(database_url: str, tenant: Tenant) -> list[asyncpg.Record]:
    """The tenant's call records without an end or an outcome."""
    return await _fetch(
        database_url,
        "SELECT call_id, trace FROM call_records WHERE tenant_id = $1"
        " AND (ended_at IS NULL OR outcome IS NULL)",
        tenant.id,
    )


async def outcomes(database_url: str, tenant: Tenant) -> dict[str, str | None]:
    """Each of the tenant's calls' outcome, by call id."""
    rows = await _fetch(
        database_url,
        "SELECT call_id, outcome FROM call_records WHERE tenant_id = $1",
        tenant.id,
    )
    return {row["call_id"]: row["outcome"] for row in rows}


async def key_steps(database_url: str, call_id: str, digit: str) -> int:
    """How many times the call's record shows the key `digit` pressed in the menu."""
    rows = await _fetch(
        database_url,
        """SELECT 1 FROM call_records r, jsonb_array_elements(r.trace) AS step
            WHERE r.call_id = $1 AND step->>'kind' = 'key' AND step->'data'->>'digit' = $2""",
        call_id,
        digit,
    )
    return len(rows)


async def voicemails(database_url: str, tenant: Tenant) -> int:
    """How many voicemail messages the tenant has."""
    rows = await _fetch(
        database_url, "SELECT 1 FROM voicemail_messages WHERE tenant_id = $1", tenant.id
    )
    return len(rows)
