"""Concurrent calls through the stasis service, against a dialplan-only IVR doing the same.

    .venv/bin/python bench/calls/run.py [--calls 50 200] [--rounds 1] [--hold 2]

Needs the local stack's PostgreSQL, NATS and Asterisk (./rcp infra). It creates a database of
its own with one tenant (a greeting, key 1 transfers to extension 101), starts a media and a
stasis service of this checkout as separate processes on an ARI app of their own, and plays
the callers and the phone itself from two more ARI apps. For each number of calls it runs the
same menu-then-transfer twice in a row: through the `bench-ivr` dialplan context (Answer,
Background, WaitExten, Dial: Asterisk alone) and through the stasis service (`test-carrier`,
as a carrier's call). It reports CPU seconds per call of each process (/proc/<pid>/stat) and
their ratios, and the DTMF-to-command latency. Everything is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any

import aiohttp
import asyncpg
from nats.js.errors import NotFoundError
from rcp import subjects
from rcp.contracts.media import EnsurePrompt
from rcp.db.migrate import upgrade
from rcp.media_client import ensure_prompt
from rcp.messaging import connect_nats
from rcp_devstack.asterisk import ari_answers, ensure_dialplan
from rcp_devstack.processes import read_pid
from rcp_devstack.settings import StackSettings

ROOT = Path(__file__).resolve().parents[2]
# The import folders of this checkout (pyproject's package roots): the services started here
# run this checkout's code whatever the virtual environment was installed from.
CODE_FOLDERS = (
    "libs",
    "services/stasis",
    "services/directory",
    "services/media",
    "services/admin",
    "deploy/local",
    "deploy/ops",
)
CONTEXTS = ("bench-ivr", "test-carrier", "test-apps")
GREETING = "Bienvenue chez Banc d'Essai SARL. Pour joindre l'accueil, tapez 1."
EXTENSION = "101"
# With --outside, key 1 rings this virtual extension's outside number through the trunk (a
# French fixed-line number of the range set aside for fiction): the path the outbound policy
# and caps guard.
VIRTUAL_EXTENSION, OUTSIDE_NUMBER = "104", "+33199000101"
MENU_TIMEOUT_S = 60  # the schema's maximum: callers wait for each other before pressing
RING_S = 30
DTMF_MS = 100
START_TIMEOUT_S = 60.0
CALL_TIMEOUT_S = 120.0
SETTLE_TIMEOUT_S = 60.0
TICKS_PER_S = os.sysconf("SC_CLK_TCK")

Event = dict[str, Any]


# --- processes and CPU ------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process (all its threads) has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()  # after "(comm)": field 3 onwards
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def rss_kib(pid: int) -> int:
    """The process's resident memory now (VmRSS of /proc/<pid>/status), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """A service of this checkout, started as its own process, with its ops port."""

    name: str
    process: subprocess.Popen[bytes]
    ops_port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def failed_commands(self, since: int) -> dict[str, int]:
        """The ARI commands of calls that failed (`call.ari_failed` warnings) in the service's
        log after byte `since`, counted by command (Bridge, Play...)."""
        with self.log_path.open("rb") as log:
            log.seek(since)
            written = log.read().decode(errors="replace")
        failed: dict[str, int] = {}
        for line in written.splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict) and entry.get("event") == "call.ari_failed":
                    command = str(entry.get("command"))
                    failed[command] = failed.get(command, 0) + 1
        return failed

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def start_service(
    module: str, name: str, workdir: Path, settings: dict[str, str], logs: list[IO[bytes]]
) -> Service:
    ops_port = free_port()
    env = {
        **os.environ,
        **{f"RCP_{key.upper()}": value for key, value in settings.items()},
        "RCP_OPS_PORT": str(ops_port),
        "RCP_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(str(ROOT / folder) for folder in CODE_FOLDERS),
    }
    log_path = workdir / f"{name}.log"
    log = log_path.open("wb")
    logs.append(log)
    process = subprocess.Popen(
        [sys.executable, "-m", module], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    return Service(name, process, ops_port, log_path)


async def wait_ready(session: aiohttp.ClientSession, service: Service) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited:\n{service.log_tail()}")
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(f"http://127.0.0.1:{service.ops_port}/readyz") as response:
                if response.status == HTTPStatus.OK:
                    return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{service.name} not ready in {START_TIMEOUT_S} s:\n{service.log_tail()}")


async def scrape(session: aiohttp.ClientSession, service: Service) -> dict[str, float]:
    """The service's metrics as {'name{labels}': value}."""
    async with session.get(f"http://127.0.0.1:{service.ops_port}/metrics") as response:
        text = await response.text()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    return samples


DTMF_TO_ACTION = "rcp_stasis_dtmf_to_action_seconds"
ARI_REQUEST = "rcp_stasis_ari_request_seconds"
ARI_EVENT_LAG = "rcp_stasis_ari_event_lag_seconds"


def histogram_quantile(
    q: float, before: dict[str, float], after: dict[str, float], histogram: str = DTMF_TO_ACTION
) -> float:
    """Prometheus' histogram_quantile over what a histogram counted between two scrapes."""
    name = f"{histogram}_bucket"
    pattern = re.compile(rf'^{name}\{{le="([^"]+)"\}}$')
    buckets = sorted(
        (float(match.group(1)), after[key] - before.get(key, 0.0))
        for key in after
        if (match := pattern.match(key))
    )
    total = buckets[-1][1] if buckets else 0.0
    if total == 0:
        return float("nan")
    rank = q * total
    lower, below = 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if upper == float("inf"):
                return lower
            return lower + (upper - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = upper, count
    return lower


# --- the tenant -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    number: str
    greeting_id: uuid.UUID
    phone_endpoint: str


def trunk_dial_template(phones_app: str) -> str:
    """The stasis service's trunk for --outside: outside numbers ring the bench's phone."""
    return f"Local/{phones_app}~bench.{{number}}@test-apps/n"


async def provision(database_url: str, phones_app: str, *, outside: bool) -> Tenant:
    """One tenant: a greeting, and key 1 transferring to extension 101 (a phone of ours), or
    with `outside` to virtual extension 104 (an outside number, through the trunk)."""
    number = f"+3319{random.randint(10_000_000, 99_999_999)}"
    phone = f"Local/{phones_app}~bench.{EXTENSION}@test-apps/n"
    db = await asyncpg.connect(database_url)
    try:
        async with db.transaction():
            tenant_id = await db.fetchval(
                "INSERT INTO tenants (slug, name) VALUES ('bench', 'Banc d''Essai') RETURNING id"
            )
            await db.execute(
                "INSERT INTO phone_numbers (e164, tenant_id) VALUES ($1, $2)", number, tenant_id
            )
            greeting_id = await db.fetchval(
                "INSERT INTO prompts (tenant_id, source, tts_text, language) "
                "VALUES ($1, 'tts', $2, 'fr-FR') RETURNING id",
                tenant_id,
                GREETING,
            )
            device_id = await db.fetchval(
                "INSERT INTO devices (tenant_id, name, endpoint) VALUES ($1, 'phone', $2) "
                "RETURNING id",
                tenant_id,
                phone,
            )
            extension_id = await db.fetchval(
                "INSERT INTO extensions (tenant_id, number, kind, first_name, last_name, "
                "device_id) VALUES ($1, $2, 'physical', 'Amélie', 'Poulain', $3) RETURNING id",
                tenant_id,
                EXTENSION,
                device_id,
            )
            if outside:
                extension_id = await db.fetchval(
                    "INSERT INTO extensions (tenant_id, number, kind, first_name, last_name, "
                    "external_number) VALUES ($1, $2, 'virtual', 'Françoise', 'Le Gall', $3) "
                    "RETURNING id",
                    tenant_id,
                    VIRTUAL_EXTENSION,
                    OUTSIDE_NUMBER,
                )
                phone = trunk_dial_template(phones_app).format(number=OUTSIDE_NUMBER)
            await db.execute(
                "INSERT INTO receptionists (tenant_id, greeting_prompt_id, language, "
                "menu_timeout_s, transfer_ring_s) VALUES ($1, $2, 'fr-FR', $3, $4)",
                tenant_id,
                greeting_id,
                MENU_TIMEOUT_S,
                RING_S,
            )
            # The carrier's caps are checked on every call and outside leg, but set far above
            # what the bench places: it measures what the checks cost, not their refusals.
            await db.execute(
                "INSERT INTO tenant_limits (tenant_id, max_inbound_calls, max_outbound_legs, "
                "max_outbound_legs_per_minute) VALUES ($1, 10000, 10000, 100000)",
                tenant_id,
            )
            await db.execute(
                "INSERT INTO key_assignments (tenant_id, digit, action, target_kind, "
                "target_extension_id) VALUES ($1, '1', 'transfer', $2, $3)",
                tenant_id,
                "virtual_extension" if outside else "extension",
                extension_id,
            )
    finally:
        await db.close()
    return Tenant(tenant_id, number, greeting_id, phone)


# --- callers and the phone, on ARI ------------------------------------------------------------


@dataclass
class Call:
    """One caller's call and what happened to it, in time.monotonic() seconds."""

    channel: str
    number: str
    answered_at: float | None = None
    pressed_at: float | None = None
    rang_at: float | None = None
    phone_hung_up_at: float | None = None
    ended_at: float | None = None
    error: str | None = None


@dataclass
class Phase:
    """The calls of one measured run, and how many were up at once."""

    calls: list[Call]
    everyone_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: int = 0
    up: int = 0
    peak: int = 0
    answered: int = 0

    def on_arrived(self, *, answered: bool) -> None:
        """A call was answered, or failed before: once all are, everyone presses."""
        self.arrived += 1
        if answered:
            self.up += 1
            self.answered += 1
            self.peak = max(self.peak, self.up)
        if self.arrived == len(self.calls):
            self.everyone_arrived.set()

    def on_ended(self) -> None:
        self.up -= 1


class Ari:
    """One WebSocket for the callers' and the phone's apps; events routed per channel."""

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, caller_app: str, phones_app: str
    ) -> None:
        self._session = session
        self._base = f"{base_url}/ari"
        self.caller_app = caller_app
        self.phones_app = phones_app
        self.hold_s = 2.0
        self._channels: dict[str, asyncio.Queue[tuple[float, Event]]] = {}
        self.ringing: dict[str, Call] = {}  # caller number -> its call
        self.stray_rings = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def request(
        self, method: str, path: str, body: Any = None, *, missing_ok: bool = False, **params: str
    ) -> Any:
        url = f"{self._base}{path}"
        async with self._session.request(method, url, params=params, json=body) as response:
            if missing_ok and response.status == HTTPStatus.NOT_FOUND:
                return None
            if response.status >= HTTPStatus.BAD_REQUEST:
                text = await response.text()
                raise RuntimeError(f"ARI {method} {path}: {response.status} {text}")
            return None if response.status == HTTPStatus.NO_CONTENT else await response.json()

    async def pump(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        async for message in socket:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            received = time.monotonic()
            event: Event = json.loads(message.data)
            if event.get("type") == "StasisStart" and event.get("application") == self.phones_app:
                task = asyncio.create_task(self._phone(event, received))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                continue
            channel = event.get("channel", {}).get("id")
            queue = self._channels.get(channel) if channel else None
            if queue is not None:
                queue.put_nowait((received, event))

    async def _phone(self, event: Event, received: float) -> None:
        """The phone of extension 101: rings, answers, talks `hold_s`, hangs up."""
        channel = event["channel"]
        numbers = (channel["caller"]["number"], channel["connected"]["number"])
        call = next((self.ringing[n] for n in numbers if n in self.ringing), None)
        path = f"/channels/{channel['id']}"
        try:
            if call is None:  # not one of this phase's callers
                self.stray_rings += 1
                await self.request("DELETE", path, missing_ok=True)
                return
            call.rang_at = received
            await self.request("POST", f"{path}/answer")
            await asyncio.sleep(self.hold_s)
            call.phone_hung_up_at = time.monotonic()
            await self.request("DELETE", path, missing_ok=True)
        except (RuntimeError, aiohttp.ClientError, TimeoutError) as error:
            if call is not None:
                call.error = call.error or f"phone: {error}"

    @contextlib.contextmanager
    def following(self, call: Call) -> Iterator[asyncio.Queue[tuple[float, Event]]]:
        queue: asyncio.Queue[tuple[float, Event]] = asyncio.Queue()
        self._channels[call.channel] = queue
        self.ringing[call.number] = call
        try:
            yield queue
        finally:
            del self._channels[call.channel]
            del self.ringing[call.number]

    async def holds(self) -> int:
        """How many channels the callers' and the phone's apps hold now."""
        held = 0
        for app in (self.caller_app, self.phones_app):
            held += len((await self.request("GET", f"/applications/{app}"))["channel_ids"])
        return held


async def until(
    queue: asyncio.Queue[tuple[float, Event]], wanted: str, timeout_s: float, what: str
) -> float:
    """When the channel's next `wanted` event came; an error names `what` did not happen."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                received, event = await queue.get()
                if event["type"] == wanted:
                    return received
                if event["type"] in ("StasisEnd", "ChannelDestroyed"):
                    raise RuntimeError(f"hung up before {what}")
    except TimeoutError:
        raise RuntimeError(f"no {what} within {timeout_s:.0f} s") from None


@dataclass(frozen=True)
class Flow:
    """How a caller reaches the menu: the Local channel dialled and its variables."""

    name: str
    endpoint: str
    variables: dict[str, str]


async def place(ari: Ari, flow: Flow, phase: Phase, call: Call, press_after_s: float) -> None:
    """One caller: dial, wait for everyone to be in the menu, press 1, be transferred."""
    with ari.following(call) as queue:
        try:
            await ari.request(
                "POST",
                "/channels",
                {"variables": flow.variables},
                endpoint=flow.endpoint,
                app=ari.caller_app,
                channelId=call.channel,
                callerId=f"Bench <{call.number}>",
                timeout=str(int(CALL_TIMEOUT_S)),
                # As a carrier's trunk delivers calls: G.711. Left out, a Local channel takes
                # every audio format and Asterisk picks slin at 192 kHz, then resamples each
                # 8 kHz prompt frame for it (measured: most of its CPU went to codec_resample).
                formats="ulaw",
            )
            call.answered_at = await until(queue, "StasisStart", CALL_TIMEOUT_S, "answer")
        except (RuntimeError, aiohttp.ClientError, TimeoutError) as error:
            phase.on_arrived(answered=False)
            await give_up(ari, call, error)
            return
        phase.on_arrived(answered=True)
        try:
            # Every call up at once before anyone presses: N concurrent calls.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(MENU_TIMEOUT_S / 2):
                    await phase.everyone_arrived.wait()
            await asyncio.sleep(press_after_s)
            call.pressed_at = time.monotonic()
            await ari.request(
                "POST", f"/channels/{call.channel}/dtmf", dtmf="1", duration=str(DTMF_MS)
            )
            ended = RING_S + ari.hold_s + CALL_TIMEOUT_S
            call.ended_at = await until(queue, "StasisEnd", ended, "the end of the call")
        except (RuntimeError, aiohttp.ClientError, TimeoutError) as error:
            await give_up(ari, call, error)
        finally:
            phase.on_ended()
    if call.error is None and call.rang_at is None:
        call.error = "the call ended without the phone ringing"
    elif call.error is None and call.phone_hung_up_at is None:
        call.error = "the call ended before the phone hung up"


async def give_up(ari: Ari, call: Call, error: Exception) -> None:
    """Note why a call failed and hang it up (it may be gone already)."""
    call.error = call.error or str(error) or type(error).__name__
    with contextlib.suppress(RuntimeError, aiohttp.ClientError, TimeoutError):
        await ari.request("DELETE", f"/channels/{call.channel}", missing_ok=True)


# --- one measured phase -----------------------------------------------------------------------


@dataclass
class Result:
    """What one flow cost in one phase (one round) of a number of calls."""

    flow: str
    calls: int = 0
    completed: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    peak: int = 0
    wall_s: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)
    asterisk_idle_ms_per_s: list[float] = field(default_factory=list)
    dtmf_to_ring_s: list[float] = field(default_factory=list)
    metrics_before: dict[str, float] = field(default_factory=dict)
    metrics_after: dict[str, float] = field(default_factory=dict)
    stray_rings: int = 0
    dialplan_reloads: int = 0
    left_up: int = 0  # channels of the run still up once settled (or given up on)
    rss_idle_kib: int = 0  # stasis's resident memory after warm-up, no call up
    rss_peak_kib: int = 0  # its most while this phase's calls were up
    # ARI commands of stasis's calls that failed (its log): a failed Bridge is a caller never
    # connected to the phone that answered
    failed_commands: dict[str, int] = field(default_factory=dict)

    def memory_per_call_kib(self) -> float:
        """stasis's resident memory per concurrent call: (peak - idle) / calls up at once."""
        return (self.rss_peak_kib - self.rss_idle_kib) / max(self.peak, 1)

    def per_call_ms(self, process: str) -> float:
        return 1000 * self.cpu_s.get(process, 0.0) / max(self.calls, 1)


@dataclass
class Bench:
    """What the phases share: the ARI probe, the processes to watch, the stasis service."""

    settings: StackSettings
    session: aiohttp.ClientSession
    ari: Ari
    pids: dict[str, int]
    stasis: Service
    stasis_app: str
    database_url: str
    tenant: Tenant
    press_after_s: float
    press_spread_s: float
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    rss_idle_kib: int = 0  # stasis's resident memory after the warm-up, before any measure
    placed: int = 0  # calls placed so far: each gets a channel id and a number of its own
    records_due: int = 0  # calls the stasis service answered: each ends in a call record

    def spreads(self, count: int) -> list[float]:
        """When each caller presses, after the first: evenly over the spread, shuffled."""
        spreads = [self.press_spread_s * i / max(count - 1, 1) for i in range(count)]
        random.shuffle(spreads)
        return spreads

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    async def idle_rate(self, seconds: float = 2.0) -> float:
        """Asterisk's CPU milliseconds per second with none of our calls: others' load."""
        pid = self.pids["asterisk"]
        before = cpu_seconds(pid)
        await asyncio.sleep(seconds)
        return 1000 * (cpu_seconds(pid) - before) / seconds

    async def watch_memory(self, phase: Phase, result: Result) -> None:
        """stasis's resident memory, every 100 ms until cancelled: its most, in `result`."""
        pid = self.stasis.pid
        while True:
            result.rss_peak_kib = max(result.rss_peak_kib, rss_kib(pid))
            await asyncio.sleep(0.1)

    async def settle(self, flow: Flow) -> None:
        """Wait until no channel of ours is left and the stasis service is done with them."""
        async with asyncio.timeout(SETTLE_TIMEOUT_S):
            while await self.ari.holds():  # noqa: ASYNC110 - Asterisk's state
                await asyncio.sleep(0.2)
            if flow.name != "stasis":
                return
            path = f"/applications/{self.stasis_app}"
            while (await self.ari.request("GET", path))["channel_ids"]:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            # Its work per call ends with the call record written from its trace.
            db = await asyncpg.connect(self.database_url)
            try:
                query = "SELECT count(*) FROM call_records WHERE ended_at IS NOT NULL"
                while await db.fetchval(query) < self.records_due:  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
            finally:
                await db.close()

    async def sweep(self) -> int:
        """Hang up every channel of this run still up (callers and the legs rung for them);
        how many there were."""
        channels = await self.ari.request("GET", "/channels")
        left = [c["id"] for c in channels if c["id"].startswith(f"bench-{self.run}-")]
        for channel in left:
            await self.ari.request("DELETE", f"/channels/{channel}", missing_ok=True)
        return len(left)

    async def phase(self, flow: Flow, count: int, result: Result) -> None:
        """Place `count` concurrent calls through `flow`; add what they cost to `result`."""
        # Another checkout sharing this Asterisk may have reloaded a dialplan without ours.
        if await asyncio.to_thread(ensure_dialplan, self.settings, CONTEXTS):
            result.dialplan_reloads += 1
        result.asterisk_idle_ms_per_s.append(await self.idle_rate())
        calls = [
            # Ids of one width, none the beginning of another: with 500 calls, Asterisk 22
            # refused ids never used before as already in use (409; its log: "Channel Unique
            # ID 'bench-…-50' already in use by channel Local/s@bench-ivr-…;2").
            Call(f"bench-{self.run}-{self.placed + i:07d}", f"+336{self.placed + i:08d}")
            for i in range(count)
        ]
        self.placed += count
        phase = Phase(calls)
        stray_before = self.ari.stray_rings
        if flow.name == "stasis":
            result.metrics_before = result.metrics_before or await scrape(self.session, self.stasis)
        result.rss_idle_kib = self.rss_idle_kib or rss_kib(self.stasis.pid)
        watching = asyncio.create_task(self.watch_memory(phase, result))
        log_since = self.stasis.log_size()
        cpu_before, started = self.cpu(), time.monotonic()
        try:
            await asyncio.gather(
                *(
                    place(self.ari, flow, phase, call, self.press_after_s + spread)
                    for call, spread in zip(calls, self.spreads(count), strict=True)
                )
            )
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
        if flow.name == "stasis":
            self.records_due += phase.answered
        try:
            await self.settle(flow)
        except TimeoutError:
            result.errors["not settled"] = result.errors.get("not settled", 0) + 1
        cpu_after, ended = self.cpu(), time.monotonic()
        result.left_up += await self.sweep()
        if flow.name == "stasis":
            result.failed_commands = self.stasis.failed_commands(log_since)
        if flow.name == "stasis":
            result.metrics_after = await scrape(self.session, self.stasis)
        result.calls += count
        result.wall_s += ended - started
        result.peak = max(result.peak, phase.peak)
        result.stray_rings += self.ari.stray_rings - stray_before
        for name in cpu_after:
            result.cpu_s[name] = result.cpu_s.get(name, 0.0) + cpu_after[name] - cpu_before[name]
        for call in calls:
            if call.error is None:
                result.completed += 1
            else:
                reason = re.sub(r"[0-9a-f-]{36}|bench-\w+-\d+", "…", call.error)[:100]
                result.errors[reason] = result.errors.get(reason, 0) + 1
            if call.error is None and call.rang_at and call.pressed_at:
                result.dtmf_to_ring_s.append(call.rang_at - call.pressed_at)


# --- report -----------------------------------------------------------------------------------


def quantiles(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    ordered = sorted(values)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.99 + 0.5) - 1)]


@dataclass(frozen=True)
class Round:
    """One round: the dialplan IVR's phase, then stasis's, with the same number of calls."""

    ivr: Result
    stasis: Result

    def figures(self) -> dict[str, float]:
        """This round's per-call figures and their ratios (the issue's table)."""
        ivr, stasis = self.ivr, self.stasis
        s, a = stasis.per_call_ms("stasis"), stasis.per_call_ms("asterisk")
        base = ivr.per_call_ms("asterisk")
        ivr_p50, ivr_p99 = quantiles(ivr.dtmf_to_ring_s)
        ari_p50, ari_p99 = quantiles(stasis.dtmf_to_ring_s)
        before, after = stasis.metrics_before, stasis.metrics_after
        figures = {
            f"{result.flow} {process}": result.per_call_ms(process)
            for result in (ivr, stasis)
            for process in PROCESSES
        }
        return {
            **figures,
            "stasis / Asterisk (same calls)": s / a,
            "stasis / Asterisk running the dialplan IVR": s / base,
            "Asterisk under stasis / Asterisk dialplan IVR": a / base,
            "(stasis + Asterisk) / Asterisk dialplan IVR": (s + a) / base,
            "DTMF to action p50 ms": 1000 * histogram_quantile(0.5, before, after),
            "DTMF to action p99 ms": 1000 * histogram_quantile(0.99, before, after),
            "ARI request p50 ms": 1000 * histogram_quantile(0.5, before, after, ARI_REQUEST),
            "ARI request p99 ms": 1000 * histogram_quantile(0.99, before, after, ARI_REQUEST),
            "event age p50 ms": 1000 * histogram_quantile(0.5, before, after, ARI_EVENT_LAG),
            "event age p99 ms": 1000 * histogram_quantile(0.99, before, after, ARI_EVENT_LAG),
            "ring IVR p50 ms": 1000 * ivr_p50,
            "ring IVR p99 ms": 1000 * ivr_p99,
            "ring stasis p50 ms": 1000 * ari_p50,
            "ring stasis p99 ms": 1000 * ari_p99,
            "ring p99 stasis / IVR": ari_p99 / ivr_p99,
            "memory per call KiB": stasis.memory_per_call_kib(),
            "wall s IVR": ivr.wall_s,
            "wall s stasis": stasis.wall_s,
        }


PROCESSES = ("asterisk", "stasis", "media", "records", "bench")


def spread(values: list[float], digits: int = 1, width: int = 0) -> str:
    """The median of the rounds' values, and their spread: `12.3 [11.0-14.1]`."""
    shown = [v for v in values if not math.isnan(v)]  # NaN: a round without the figure
    if not shown:
        return "n/a".rjust(width)
    median = f"{statistics.median(shown):.{digits}f}"
    if len(shown) == 1:
        return median.rjust(width)
    return f"{median} [{min(shown):.{digits}f}-{max(shown):.{digits}f}]".rjust(width)


def report(count: int, rounds: list[Round], args: argparse.Namespace) -> list[str]:
    """The table of one number of calls: per-call figures of each round, as their median and
    [min-max] over the rounds (nothing summed)."""
    figures = [one.figures() for one in rounds]

    def of(name: str, digits: int = 1, width: int = 0) -> str:
        return spread([f[name] for f in figures], digits, width)

    lines = [
        f"{count} concurrent calls x {len(rounds)} round(s): menu (greeting; key 1 pressed by "
        f"all over {args.press_spread:g} s once all are up), transfer to a phone that answers "
        f"and hangs up after {args.hold:g} s",
        "  per call: median [min-max] over the rounds; calls, done and failed summed, peak the "
        "least of the rounds",
        f"  {'flow':<14} {'calls':>5} {'done':>5} {'failed':>6} {'peak':>5} "
        + " ".join(f"{name:>18}" for name in ("Asterisk", "stasis", "media", "records", "bench"))
        + "  (CPU ms per call)",
    ]
    for flow in ("dialplan IVR", "stasis"):
        results = [one.ivr if flow == "dialplan IVR" else one.stasis for one in rounds]
        calls = sum(r.calls for r in results)
        done = sum(r.completed for r in results)
        peak = min(r.peak for r in results)
        lines.append(
            f"  {flow:<14} {calls:>5} {done:>5} {calls - done:>6} {peak:>5} "
            + " ".join(of(f"{flow} {process}", 1, 18) for process in PROCESSES)
        )
    lines += [
        f"  {name:<47} {of(name, 2)}"
        for name in (
            "stasis / Asterisk (same calls)",
            "stasis / Asterisk running the dialplan IVR",
            "Asterisk under stasis / Asterisk dialplan IVR",
            "(stasis + Asterisk) / Asterisk dialplan IVR",
        )
    ]
    lines += [
        f"  rcp_stasis_dtmf_to_action_seconds (interpolated in buckets), ms: "
        f"p50 {of('DTMF to action p50 ms')}, p99 {of('DTMF to action p99 ms')}",
        f"  within it, Asterisk answering a request (rcp_stasis_ari_request_seconds), ms: "
        f"p50 {of('ARI request p50 ms')}, p99 {of('ARI request p99 ms')}; key press and dial "
        f"events' age on arrival (rcp_stasis_ari_event_lag_seconds, Asterisk's timestamps "
        f"in ms): p50 {of('event age p50 ms')}, p99 {of('event age p99 ms')}",
        f"  DTMF to the phone ringing, caller side (digit of {DTMF_MS} ms included), ms:",
        f"    dialplan IVR  p50 {of('ring IVR p50 ms')}  p99 {of('ring IVR p99 ms')}",
        f"    stasis        p50 {of('ring stasis p50 ms')}  p99 {of('ring stasis p99 ms')}",
        f"    p99 stasis / IVR {of('ring p99 stasis / IVR', 2)}",
    ]
    idle = statistics.median(one.stasis.rss_idle_kib for one in rounds)
    lines.append(
        f"  stasis memory per concurrent call (RSS at the peak less RSS after warm-up, "
        f"{idle / 1024:.1f} MiB, / peak): {of('memory per call KiB')} KiB; RSS at the peak "
        + ", ".join(f"{one.stasis.rss_peak_kib / 1024:.1f}" for one in rounds)
        + " MiB"
    )
    lines.append(
        f"  wall s per round: dialplan IVR {of('wall s IVR')}, stasis {of('wall s stasis')}"
    )
    first, last = rounds[0].stasis, rounds[-1].stasis
    before, after = first.metrics_before, last.metrics_after
    stasis_calls = max(sum(one.stasis.calls for one in rounds), 1)
    observed = after.get("rcp_stasis_dtmf_to_action_seconds_count", 0.0) - before.get(
        "rcp_stasis_dtmf_to_action_seconds_count", 0.0
    )
    outcomes = {
        key.split('"')[1]: after[key] - before.get(key, 0.0)
        for key in after
        if key.startswith("rcp_stasis_calls_total{") and after[key] - before.get(key, 0.0)
    }
    lines.append(f"  stasis outcomes (all rounds): {outcomes}, {observed:.0f} key presses timed")
    for what, metric in (
        ("ARI requests", "rcp_stasis_ari_requests_total"),
        ("ARI messages from Asterisk (events and answers)", "rcp_stasis_ari_events_total"),
    ):
        counts = {
            key.split('"')[1]: after[key] - before.get(key, 0.0)
            for key in after
            if key.startswith(metric + "{") and after[key] - before.get(key, 0.0)
        }
        lines.append(
            f"  {what} per call: {sum(counts.values()) / stasis_calls:.2f} ("
            + ", ".join(
                f"{name} {count / stasis_calls:.2f}" for name, count in sorted(counts.items())
            )
            + ")"
        )
    idle_rates = [
        value
        for one in rounds
        for result in (one.ivr, one.stasis)
        for value in result.asterisk_idle_ms_per_s
    ]
    lines.append(
        "  Asterisk idle before each phase (others' load): "
        + ", ".join(f"{value:.0f}" for value in idle_rates)
        + " CPU ms/s"
    )
    for number, one in enumerate(rounds, 1):
        for result in (one.ivr, one.stasis):
            where = f"round {number}, {result.flow}"
            if result.dialplan_reloads:
                lines.append(
                    f"  ({where}: the dialplan was missing {', '.join(CONTEXTS)}, rendered "
                    "from this checkout and reloaded: another checkout shares this Asterisk)"
                )
            if result.left_up:
                lines.append(
                    f"  ({where}: {result.left_up} channels of the run were still up after "
                    "the calls ended, and were hung up by the bench)"
                )
            if result.errors or result.stray_rings:
                lines.append(
                    f"  FAILURES ({where}): {result.errors}, stray rings {result.stray_rings}"
                )
            if result.failed_commands:
                lines.append(
                    f"  FAILURES ({where}): ARI commands of calls that failed (its log, "
                    f"call.ari_failed): {result.failed_commands}"
                )
    return lines


# --- main -------------------------------------------------------------------------------------


def _as_tests(settings: StackSettings) -> StackSettings:
    """The local stack's development user (rcp.nats_access), which may do what no service may."""
    return settings.model_copy(update={"nats_user": "tests"})


async def delete_durable(settings: StackSettings, durable: str) -> None:
    async with connect_nats(_as_tests(settings), "bench-calls") as nc:
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_consumer(subjects.EVENTS_STREAM, durable)


async def bench(args: argparse.Namespace, settings: StackSettings, database_url: str) -> bool:
    run = uuid.uuid4().hex[:8]
    stasis_app, caller_app, phones_app = (
        f"bench-{role}-{run}" for role in ("rcp", "caller", "phones")
    )
    media_scope, durable = f"bench{run}", f"bench-records-{run}"
    workdir = Path(tempfile.mkdtemp(prefix="rcp-bench-calls-"))
    logs: list[IO[bytes]] = []
    services: list[Service] = []
    try:
        tenant = await provision(database_url, phones_app, outside=args.outside)
        # A developer's machine: the local stack's secrets are allowed.
        common = {"database_url": database_url, "environment": "development"}
        media = start_service(
            "rcp_media.main",
            "media",
            workdir,
            {
                **common,
                "media_dir": str(workdir / "media"),
                "media_http_port": str(free_port()),
                "media_nats_scope": media_scope,
            },
            logs,
        )
        services.append(media)
        stasis = start_service(
            "rcp_stasis.main",
            "stasis",
            workdir,
            {
                **common,
                "ari_app": stasis_app,
                "stasis_call_records_durable": durable,
                "stasis_call_records_from_start": "false",
                "media_nats_scope": media_scope,
                "stasis_drain_grace_s": "5",
                # The phone is a Local channel into the test-apps context: development only.
                "allow_test_phones": "true",
                **(
                    {"stasis_trunk_dial_template": trunk_dial_template(phones_app)}
                    if args.outside
                    else {}
                ),
            },
            logs,
        )
        services.append(stasis)
        # Call records are written by their own service (rcp-call-records), not by stasis.
        records = start_service(
            "rcp_stasis.records_app",
            "call-records",
            workdir,
            {
                **common,
                "stasis_call_records_durable": durable,
                "stasis_call_records_from_start": "false",
            },
            logs,
        )
        services.append(records)
        headers = {
            "Authorization": aiohttp.encode_basic_auth(settings.ari_user, settings.ari_password)
        }
        connector = aiohttp.TCPConnector(limit=args.connections)
        timeout = aiohttp.ClientTimeout(total=CALL_TIMEOUT_S)
        async with aiohttp.ClientSession(
            headers=headers, connector=connector, timeout=timeout
        ) as session:
            await wait_ready(session, media)
            await wait_ready(session, stasis)
            await wait_ready(session, records)
            async with connect_nats(_as_tests(settings), "bench-calls") as nc:
                ask = EnsurePrompt(tenant_id=tenant.id, prompt_id=tenant.greeting_id)
                greeting = (await ensure_prompt(nc, ask, scope=media_scope)).media
            ari = Ari(session, settings.ari_url, caller_app, phones_app)
            ari.hold_s = args.hold
            ws_url = settings.ari_url.replace("http", "ws", 1) + "/ari/events"
            socket = await session.ws_connect(
                ws_url,
                params={"app": f"{caller_app},{phones_app}", "subscribeAll": "false"},
                heartbeat=20,
                timeout=aiohttp.ClientWSTimeout(ws_close=10),
            )
            pump = asyncio.create_task(ari.pump(socket))
            try:
                return await measure(
                    args,
                    settings,
                    session,
                    ari,
                    stasis,
                    media,
                    records,
                    tenant,
                    database_url,
                    greeting,
                    stasis_app,
                )
            finally:
                await socket.close()
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
    finally:
        for service in services:
            service.process.terminate()
        for service in services:
            try:
                service.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                service.process.kill()
        for log in logs:
            log.close()
        await delete_durable(settings, durable)
        if args.keep_logs:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


async def measure(
    args: argparse.Namespace,
    settings: StackSettings,
    session: aiohttp.ClientSession,
    ari: Ari,
    stasis: Service,
    media: Service,
    records: Service,
    tenant: Tenant,
    database_url: str,
    greeting: str,
    stasis_app: str,
) -> bool:
    asterisk = read_pid(settings.run_dir / "asterisk.pid")
    if asterisk is None:
        raise RuntimeError(f"no Asterisk pid in {settings.run_dir}: run ./rcp infra")
    pids = {
        "asterisk": asterisk,
        "stasis": stasis.pid,
        "media": media.pid,
        "records": records.pid,
        "bench": os.getpid(),
    }
    flows = {
        "dialplan IVR": Flow(
            "dialplan IVR",
            "Local/s@bench-ivr/n",
            {
                "RCP_BENCH_GREETING": greeting.removeprefix("sound:"),
                "RCP_BENCH_PHONE": tenant.phone_endpoint,
                "RCP_BENCH_WAIT_S": str(MENU_TIMEOUT_S),
                "RCP_BENCH_RING_S": str(RING_S),
            },
        ),
        "stasis": Flow("stasis", f"Local/{tenant.number}@test-carrier/n", {"RCP_APP": stasis_app}),
    }
    bench = Bench(
        settings,
        session,
        ari,
        pids,
        stasis,
        stasis_app,
        database_url,
        tenant,
        args.press_after,
        args.press_spread,
    )
    print(
        f"bench/calls: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"Asterisk pid {asterisk}, stasis pid {stasis.pid}, app {stasis_app}"
    )
    warm = {name: Result(name) for name in flows}
    for name, flow in flows.items():  # fills Asterisk's media cache and the services' caches
        await bench.phase(flow, args.warm_up, warm[name])
    print(
        "warm-up (not measured): "
        + ", ".join(
            f"{r.flow} {r.completed}/{r.calls} completed {r.errors or ''}"
            + (" (dialplan reloaded first)" if r.dialplan_reloads else "")
            for r in warm.values()
        )
    )
    # The memory per call is counted from stasis's memory here: warmed up, no call up.
    bench.rss_idle_kib = rss_kib(stasis.pid)
    ok = True
    for count in args.calls:
        rounds = []
        for _ in range(args.rounds):
            results = {name: Result(name) for name in flows}
            for name, flow in flows.items():
                await bench.phase(flow, count, results[name])
            rounds.append(Round(results["dialplan IVR"], results["stasis"]))
        print("\n".join(report(count, rounds, args)))
        ok = ok and all(
            r.completed == r.calls and not r.errors and not r.stray_rings and not r.failed_commands
            for one in rounds
            for r in (one.ivr, one.stasis)
        )
    return ok


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--rounds", type=int, default=1, help="IVR then stasis, this many times")
    parser.add_argument("--hold", type=float, default=2.0, help="seconds the phone talks")
    parser.add_argument(
        "--press-after",
        type=float,
        default=0.5,
        help="seconds after every call is up before each caller presses 1",
    )
    parser.add_argument(
        "--press-spread",
        type=float,
        default=2.0,
        help="callers press 1 one after the other over this many seconds (0: all at once)",
    )
    parser.add_argument("--warm-up", type=int, default=3, help="unmeasured calls per flow first")
    parser.add_argument("--connections", type=int, default=50, help="the bench's ARI pool")
    parser.add_argument(
        "--outside",
        action="store_true",
        help="key 1 rings a virtual extension's outside number through the trunk (the path "
        "the outbound policy and caps guard) instead of extension 101",
    )
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    settings = StackSettings()
    if not ari_answers(settings):
        raise SystemExit(f"Asterisk ARI does not answer at {settings.ari_url}: run ./rcp infra")
    if ensure_dialplan(settings, CONTEXTS):
        print("dialplan rendered from this checkout and reloaded (a context was missing)")
    base, _, _ = settings.database_url.rpartition("/")
    database = f"rcp_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{base}/postgres")
    await admin.execute(f'CREATE DATABASE "{database}"')
    try:
        url = f"{base}/{database}"
        await asyncio.to_thread(upgrade, url, configure_logging=False)
        ok = await bench(args, settings, url)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    if not ok:
        print("some calls failed: see FAILURES above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run by its path
    from bench.support import asyncio_run  # the repository is on the path now

    sys.exit(asyncio_run(main()))
