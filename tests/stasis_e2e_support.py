"""Real calls through the stasis service: a whole stack of the test module's own, and phones.

The stack: the stasis service (its composition root, on a Stasis app of its own), a directory
and a media service on subjects of their own, all on the session's database, NATS and the
local Asterisk. Nothing in it touches the stack's `receptionist` app.

The phones: one probe holds two apps of the module's own. Callers are Local channels
`Local/<number>@test-carrier/n` originated into the caller app, with the channel variable
`RCP_APP` naming the stasis app: their far half runs the `test-carrier` dialplan (the same
as `from-carrier`) and enters the stasis app with the number; their near half, once the
receptionist answers, is the caller's phone (it presses keys, records what it hears, speaks,
hangs up). Extensions ring `Local/<phones app>~<tag>.<number>@test-apps/n`, so each tenant's
phones are told apart by its tag, and the test answers, refuses or ignores each ring.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import io
import json
import random
import uuid
import wave
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from media_support import media_settings, running_media
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from nats_support import as_user
from prometheus_client.parser import text_string_to_metric_families
from rcp import subjects
from rcp.messaging import connect_nats
from rcp.pins import hash_pin
from rcp_devstack.ari_probe import AriProbe, Event, ari_probe
from rcp_devstack.settings import StackSettings
from rcp_directory.app import running as running_directory
from rcp_directory.settings import Settings as DirectorySettings
from rcp_stasis.app import RunningStasis
from rcp_stasis.app import running as running_stasis
from rcp_stasis.records_app import Settings as RecordsSettings
from rcp_stasis.records_app import running as running_records
from rcp_stasis.settings import Settings as StasisSettings
from roles_support import service_url
from schema_support import insert_device

WAIT_S = 30.0


def unique_app(role: str) -> str:
    return f"rcp-e2e-{role}-{uuid.uuid4().hex[:8]}"


def unique_e164() -> str:
    """A number of the French range set aside for fiction, unused by other tests."""
    return f"+3319{random.randint(10_000_000, 99_999_999)}"


def unique_outside_number() -> str:
    """A French fixed-line number (01 99 ..., set aside for fiction): one the default outbound
    policy of a French tenant allows."""
    return f"+33199{random.randint(0, 999_999):06d}"


def phone_dial_string(phones_app: str, tag: str, number: str) -> str:
    return f"Local/{phones_app}~{tag}.{number}@test-apps/n"


# --- the stack ------------------------------------------------------------------------------


@dataclass
class Apps:
    """The Stasis apps of a test run: the receptionist's, the phones', the callers'."""

    settings: StackSettings
    app: str
    phones_app: str
    caller_app: str


@dataclass
class Stack(Apps):
    """A running stasis, directory and media service of the module's own."""

    database_url: str
    stasis: RunningStasis
    stasis_settings: StasisSettings


def stasis_settings(
    database_url: str,
    app: str,
    phones_app: str,
    directory_scope: str,
    media_scope: str,
    **overrides: Any,
) -> StasisSettings:
    values: dict[str, Any] = {
        "database_url": service_url(database_url, "stasis"),
        "ops_port": 0,
        "ari_app": app,
        "stasis_take_calls": True,
        "stasis_call_records_durable": f"records-{uuid.uuid4().hex[:10]}",
        "stasis_call_records_from_start": False,
        "stasis_trunk_dial_template": phone_dial_string(phones_app, "trunk", "{number}"),
        # The phones are Local channels into the test-apps context: development only.
        "environment": "development",
        "allow_test_phones": True,
        "directory_nats_scope": directory_scope,
        "media_nats_scope": media_scope,
        "stasis_drain_grace_s": 5,
        "ari_reconnect_min_s": 0.2,
        "ari_reconnect_max_s": 1.0,
    }
    values.update(overrides)
    return StasisSettings(**values)


def records_settings(stasis: StasisSettings, **overrides: Any) -> RecordsSettings:
    """The call records service that writes what `stasis` publishes (its durable, NATS and
    database role), for tests that read call records."""
    values: dict[str, Any] = {
        "database_url": stasis.database_url,
        "nats_url": stasis.nats_url,
        "ops_port": 0,
        "environment": stasis.environment,
        "stasis_call_records_durable": stasis.stasis_call_records_durable,
        "stasis_call_records_from_start": stasis.stasis_call_records_from_start,
    }
    values.update(overrides)
    return RecordsSettings(**values)


@asynccontextmanager
async def receptionist_stack(
    settings: StackSettings,
    database_url: str,
    media_dir: Path,
    media_overrides: dict[str, Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[Stack]:
    """Directory, media and stasis services of their own, until the block exits (`overrides`
    are stasis's settings, `media_overrides` media's)."""
    run = uuid.uuid4().hex[:12]
    directory = DirectorySettings(
        database_url=service_url(database_url, "directory"),
        ops_port=0,
        database_pool_max=4,
        directory_nats_scope=run,
    )
    media = media_settings(database_url, media_dir, **(media_overrides or {}))
    app, phones_app = unique_app("rcp"), unique_app("phones")
    stasis = stasis_settings(
        database_url,
        app,
        phones_app,
        directory.directory_nats_scope,
        media.media_nats_scope,
        **overrides,
    )
    async with running_directory(directory):
        try:
            async with (
                running_records(records_settings(stasis)),
                running_media(media),
                running_stasis(stasis) as running,
            ):
                assert running.ari is not None
                async with asyncio.timeout(WAIT_S):
                    await running.ari.wait_connected()
                yield Stack(
                    settings=settings,
                    app=app,
                    phones_app=phones_app,
                    caller_app=unique_app("caller"),
                    database_url=database_url,
                    stasis=running,
                    stasis_settings=stasis,
                )
        finally:  # once stasis has stopped: a running consumer would create it again
            async with connect_nats(as_user(settings), "tests-cleanup") as nc:
                await delete_durable(nc.jetstream(), stasis.stasis_call_records_durable)


async def delete_durable(js: JetStreamContext, durable: str) -> None:
    """Delete a test's call records consumer (the stream outlives the test run)."""
    with contextlib.suppress(NotFoundError):
        await js.delete_consumer(subjects.EVENTS_STREAM, durable)


async def refuse_connections(admin_url: str, database_url: str, allow: bool) -> None:
    """Make PostgreSQL refuse (or accept again) connections to the database of
    `database_url`, cutting those open: the database is unreachable for real."""
    name = database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(admin_url, timeout=10)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allow).lower()}')
        if not allow:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                name,
            )
    finally:
        await admin.close()


async def stasis_metrics(stack: Stack) -> str:
    """The stack's stasis service's /metrics text."""
    port = stack.stasis.infrastructure.ops_port
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        return await response.text()


def metric_sum(text: str, name: str, **labels: str) -> float:
    """The sum of the series of `name` in a /metrics text whose labels include `labels`."""
    return sum(
        float(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


# --- a tenant -------------------------------------------------------------------------------


@dataclass
class Tenant:
    """A tenant made for one test: its id, number, phones' tag, and its rows' ids."""

    id: uuid.UUID
    number: str
    tag: str
    phones_app: str
    external_number: str
    ids: dict[str, uuid.UUID] = field(default_factory=dict)

    def phone(self, number: str) -> str:
        """What a phone of this tenant's extension `number` is called in the phones app."""
        return f"{self.tag}.{number}"

    @property
    def virtual_phone(self) -> str:
        """What the virtual extension's outside number rings in the phones app."""
        return f"trunk.{self.external_number}"


GREETING = "Bienvenue chez Test SARL. Pour nos horaires, tapez 2."
ROOM_PIN = "4321"
HOURS = "Nous sommes ouverts du lundi au vendredi."

# number, first name, last name, voicemail
PHONES = (
    ("101", "Amélie", "Poulain", True),
    ("102", "Jean-Pierre", "Lefèvre", True),
    ("103", "Seán", "O'Brien", False),
    ("105", "Jean", "Martin", True),
)


async def provision(
    database_url: str,
    phones_app: str,
    *,
    dial_extension: bool = False,
    ring_s: int = 5,
    group_ring_s: int = 5,
) -> Tenant:
    """A tenant like the demo's, with phones in `phones_app`; keys:
    1 dial by name, 2 hours, 3 group 200 (101+102 at once), 4 room 300 (PIN 4321),
    5 voicemail of 101, 6 virtual 104, 7 group 201 (101 then 102, then 102's voicemail),
    8 extension 103 (no voicemail), 0 extension 101 — and, with dial-extension on,
    extension 10 (so that 1 is both a key and the start of a number)."""
    tag = uuid.uuid4().hex[:8]
    number = unique_e164()
    external = unique_outside_number()
    connection = await asyncpg.connect(database_url)
    try:
        async with connection.transaction():
            return await _provision(
                connection, phones_app, tag, number, external, dial_extension, ring_s, group_ring_s
            )
    finally:
        await connection.close()


async def _provision(
    db: asyncpg.Connection,
    phones_app: str,
    tag: str,
    number: str,
    external: str,
    dial_extension: bool,
    ring_s: int,
    group_ring_s: int,
) -> Tenant:
    tenant_id: uuid.UUID = await db.fetchval(
        "INSERT INTO tenants (slug, name) VALUES ($1, 'Test SARL') RETURNING id", f"e2e-{tag}"
    )
    tenant = Tenant(tenant_id, number, tag, phones_app, external)
    await db.execute(
        "INSERT INTO phone_numbers (e164, tenant_id) VALUES ($1, $2)", number, tenant_id
    )
    ids = tenant.ids
    for prompt, text in (("greeting", GREETING), ("hours", HOURS)):
        ids[prompt] = await db.fetchval(
            "INSERT INTO prompts (tenant_id, source, tts_text, language) VALUES ($1, 'tts', $2, 'fr-FR') RETURNING id",
            tenant_id,
            text,
        )
    extensions = [*PHONES, *((("10", "Dix", "Poste", True),) if dial_extension else ())]
    for ext, first, last, voicemail in extensions:
        device = await insert_device(
            db, tenant_id, f"phone-{ext}", phone_dial_string(phones_app, tag, ext)
        )
        ids[ext] = await db.fetchval(
            """INSERT INTO extensions (tenant_id, number, kind, first_name, last_name, device_id, voicemail_enabled)
               VALUES ($1, $2, 'physical', $3, $4, $5, $6) RETURNING id""",
            tenant_id,
            ext,
            first,
            last,
            device,
            voicemail,
        )
    ids["104"] = await db.fetchval(
        """INSERT INTO extensions (tenant_id, number, kind, first_name, last_name, external_number)
           VALUES ($1, '104', 'virtual', 'Françoise', 'Le Gall', $2) RETURNING id""",
        tenant_id,
        external,
    )
    ids["200"] = await db.fetchval(
        """INSERT INTO ring_groups (tenant_id, number, name, strategy, ring_seconds)
           VALUES ($1, '200', 'Accueil', 'simultaneous', $2) RETURNING id""",
        tenant_id,
        group_ring_s,
    )
    ids["201"] = await db.fetchval(
        """INSERT INTO ring_groups (tenant_id, number, name, strategy, ring_seconds,
                                    no_answer_action, no_answer_extension_id)
           VALUES ($1, '201', 'Support', 'sequential', $2, 'voicemail', $3) RETURNING id""",
        tenant_id,
        group_ring_s,
        ids["102"],
    )
    for group in ("200", "201"):
        for position, member in enumerate(("101", "102")):
            await db.execute(
                """INSERT INTO ring_group_members (tenant_id, ring_group_id, extension_id, position)
                   VALUES ($1, $2, $3, $4)""",
                tenant_id,
                ids[group],
                ids[member],
                position,
            )
    ids["300"] = await db.fetchval(
        """INSERT INTO conference_rooms (tenant_id, number, name, pin_hash)
           VALUES ($1, '300', 'Salle Monet', $2) RETURNING id""",
        tenant_id,
        hash_pin(ROOM_PIN),
    )
    await db.execute(
        """INSERT INTO receptionists (tenant_id, greeting_prompt_id, language, dial_extension_enabled,
                                      menu_timeout_s, inter_digit_timeout_s, transfer_ring_s)
           VALUES ($1, $2, 'fr-FR', $3, 5, 2, $4)""",
        tenant_id,
        ids["greeting"],
        dial_extension,
        ring_s,
    )
    keys: list[tuple[str, str, str | None, str | None, str | None]] = [
        # digit, action, prompt, target kind, target
        ("1", "dial_by_name", None, None, None),
        ("2", "play_announcement", "hours", None, None),
        ("3", "transfer", None, "ring_group", "200"),
        ("4", "transfer", None, "conference", "300"),
        ("5", "transfer", None, "voicemail", "101"),
        ("6", "transfer", None, "virtual_extension", "104"),
        ("7", "transfer", None, "ring_group", "201"),
        ("8", "transfer", None, "extension", "103"),
        ("0", "transfer", None, "extension", "101"),
    ]
    for digit, action, announcement, kind, target in keys:
        target_id = ids[target] if target else None
        await db.execute(
            """INSERT INTO key_assignments (tenant_id, digit, action, prompt_id, target_kind,
                   target_extension_id, target_ring_group_id, target_conference_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            tenant_id,
            digit,
            action,
            ids[announcement] if announcement else None,
            kind,
            target_id if kind in ("extension", "virtual_extension", "voicemail") else None,
            target_id if kind == "ring_group" else None,
            target_id if kind == "conference" else None,
        )
    return tenant


# --- the phones -----------------------------------------------------------------------------


class Phones:
    """The module's probe: plays callers (caller app) and extensions' phones (phones app)."""

    def __init__(self, probe: AriProbe, stack: Apps) -> None:
        self.probe = probe
        self.stack = stack

    def mark(self) -> int:
        """A point in the event history: `wait_for(since=...)` looks only after it."""
        return self.probe.mark()

    async def wait_for(
        self, match: Callable[[Event], bool], since: int = 0, timeout_s: float = WAIT_S
    ) -> Event:
        """The first event after `since` that `match` accepts (already received or to come)."""
        return await self.probe.wait_for(match, timeout_s, since)

    async def call(self, tenant: Tenant, caller_number: str = "+33612345678") -> str:
        """Dial the tenant's number; return the caller's channel once the receptionist answers."""
        channel = await self.request_json(
            "POST",
            "/channels",
            {"variables": {"RCP_APP": self.stack.app}},
            endpoint=f"Local/{tenant.number}@test-carrier/n",
            app=self.stack.caller_app,
            callerId=f"Test <{caller_number}>",
            formats="ulaw",  # as a carrier's trunk delivers calls (see rcp_devstack.demo)
        )
        caller = str(channel["id"])
        await self.wait_for(
            lambda e: e.get("type") == "StasisStart" and e["channel"]["id"] == caller
        )
        return caller

    async def request_json(self, method: str, path: str, body: Any, **params: str) -> Any:
        """A REST call with a JSON body."""
        session = self.probe._session
        base = self.stack.settings.ari_url + "/ari"
        async with session.request(method, base + path, params=params, json=body) as response:
            if response.status >= 400:
                raise RuntimeError(
                    f"ARI {method} {path}: {response.status} {await response.text()}"
                )
            return await response.json() if response.status != 204 else None

    async def press(self, channel: str, digits: str) -> None:
        """Press keys on a phone, one after the other."""
        for digit in digits:
            await self.probe.request(
                "POST", f"/channels/{channel}/dtmf", dtmf=digit, duration="100"
            )
            await asyncio.sleep(0.2)  # keys pressed by a person come apart

    async def ringing(self, tenant: Tenant, number: str, since: int = 0) -> str:
        """The phone channel that rings for the tenant's extension `number` (or outside number)."""
        name = tenant.virtual_phone if number == "104" else tenant.phone(number)
        event = await self.wait_for(
            lambda e: (
                e.get("type") == "StasisStart"
                and e.get("application") == self.stack.phones_app
                and e.get("args") == [name]
            ),
            since,
        )
        return str(event["channel"]["id"])

    async def transfer_ringing(self, tenant: Tenant, caller: str) -> str:
        """The caller presses 0 (transfer to 101): the phone's channel, once it rings."""
        since = self.mark()
        await self.press(caller, "0")
        return await self.ringing(tenant, "101", since)

    async def transfer_answered(self, tenant: Tenant, caller: str) -> tuple[str, dict[str, Any]]:
        """The caller presses 0 (transfer to 101) and 101 answers: the phone's channel and the
        bridge that holds the two."""
        phone = await self.transfer_ringing(tenant, caller)
        await self.answer(phone)
        return phone, await self.stasis_bridge()

    async def answer(self, channel: str) -> None:
        await self.probe.request("POST", f"/channels/{channel}/answer")

    async def hang_up(self, channel: str, reason: str = "normal") -> None:
        await self.probe.request("DELETE", f"/channels/{channel}", missing_ok=True, reason=reason)

    async def gone(self, channel: str) -> Event:
        """Once the channel has left the probe's apps (hung up)."""
        return await self.wait_for(
            lambda e: e.get("type") == "StasisEnd" and e["channel"]["id"] == channel
        )

    async def speak(self, channel: str, media: str = "sound:hello-world") -> None:
        """The phone's user says something (a sound played into the call)."""
        await self.probe.request("POST", f"/channels/{channel}/play", media=media)

    async def start_listening(self, channel: str) -> str:
        """Record what the phone hears; returns the recording's name."""
        name = f"e2e-heard-{uuid.uuid4().hex[:10]}"
        await self.probe.request(
            "POST", f"/channels/{channel}/record", name=name, format="wav", ifExists="overwrite"
        )
        return name

    async def heard(self, name: str) -> float:
        """Stop a recording of what a phone heard; its loudness (root mean square, 0 silent)."""
        await self.probe.request("POST", f"/recordings/live/{name}/stop", missing_ok=True)
        await self.wait_for(  # the file is complete once Asterisk says so
            lambda e: (
                e.get("type") in ("RecordingFinished", "RecordingFailed")
                and e["recording"]["name"] == name
            )
        )
        session = self.probe._session
        url = f"{self.stack.settings.ari_url}/ari/recordings/stored/{name}/file"
        for _ in range(50):
            async with session.get(url) as response:
                if response.status == 200:
                    body = await response.read()
                    break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"no recording {name}")
        await self.probe.request("DELETE", f"/recordings/stored/{name}", missing_ok=True)
        with wave.open(io.BytesIO(body)) as audio:
            samples = array.array("h", audio.readframes(audio.getnframes()))
        if not samples:
            return 0.0
        return float((sum(s * s for s in samples) / len(samples)) ** 0.5)

    async def stasis_holds(self) -> tuple[list[str], list[str]]:
        """The channels and bridges the stasis app holds now."""
        path = f"/applications/{self.stack.app}"
        application = await self.probe.request("GET", path, missing_ok=True)
        if application is None:  # no stasis connected for a while: Asterisk forgot the app
            return [], []
        return list(application["channel_ids"]), list(application["bridge_ids"])

    async def stasis_bridge(self, channels: int = 2, timeout_s: float = WAIT_S) -> dict[str, Any]:
        """The first bridge the stasis app holds, once it holds one with `channels` in it."""
        async with asyncio.timeout(timeout_s):
            while True:
                _, bridges = await self.stasis_holds()
                if bridges:
                    path = f"/bridges/{bridges[0]}"
                    bridge: dict[str, Any] | None = await self.probe.request(
                        "GET", path, missing_ok=True
                    )
                    if bridge is not None and len(bridge["channels"]) >= channels:
                        return bridge
                await asyncio.sleep(0.1)

    async def hang_up_everything(self) -> None:
        """Hang up every caller and phone still up (after a test, so that none outlives it)."""
        for app in (self.stack.caller_app, self.stack.phones_app):
            application = await self.probe.request("GET", f"/applications/{app}")
            for channel in application["channel_ids"]:
                await self.hang_up(channel)

    async def phones_hold_nothing(self, timeout_s: float = WAIT_S) -> None:
        """Return once no phone rings or talks any more (the phones app holds no channel)."""
        channels: list[str] = []
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    path = f"/applications/{self.stack.phones_app}"
                    channels = (await self.probe.request("GET", path))["channel_ids"]
                    if not channels:
                        return
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise AssertionError(f"phones still up: {channels}") from None

    async def stasis_holds_settled(
        self,
        settled: Callable[[tuple[list[str], list[str]]], bool],
        timeout_s: float = WAIT_S,
    ) -> tuple[list[str], list[str]]:
        """What the stasis app holds, once `settled` says so (Asterisk lists a channel for a
        moment after its hang-up is sent); fail after `timeout_s`."""
        held: tuple[list[str], list[str]] = ([], [])
        try:
            async with asyncio.timeout(timeout_s):
                while not settled(held := await self.stasis_holds()):  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise AssertionError(f"the stasis app still holds {held}") from None
        return held

    async def stasis_holds_nothing(self, timeout_s: float = WAIT_S) -> None:
        """Return once the stasis app holds no channel and no bridge; fail after `timeout_s`."""
        await self.stasis_holds_settled(lambda held: not any(held), timeout_s)


@asynccontextmanager
async def phones(stack: Apps) -> AsyncIterator[Phones]:
    """Hold the module's caller and phones apps for the duration of the block."""
    settings = stack.settings
    async with ari_probe(
        settings.ari_url,
        settings.ari_user,
        settings.ari_password,
        [stack.caller_app, stack.phones_app],
    ) as probe:
        yield Phones(probe, stack)


def _steps(record: asyncpg.Record | None) -> list[dict[str, Any]]:
    if record is None:
        return []
    trace = record["trace"]
    loaded = json.loads(trace) if isinstance(trace, str) else trace
    return [{**step["data"], "step": step["kind"]} for step in loaded]


async def call_records(database_url: str, tenant: Tenant) -> list[asyncpg.Record]:
    """The tenant's call records, oldest first."""
    connection = await asyncpg.connect(database_url)
    try:
        return list(
            await connection.fetch(
                "SELECT * FROM call_records WHERE tenant_id = $1 ORDER BY started_at", tenant.id
            )
        )
    finally:
        await connection.close()


async def traced(
    database_url: str,
    tenant: Tenant,
    match: Callable[[dict[str, Any]], bool],
    timeout_s: float = WAIT_S,
    nth: int | None = None,
) -> list[dict[str, Any]]:
    """The trace of the tenant's latest call (or of its `nth`, 1 the first: a later call's
    record may not be written yet when an earlier one already matches) once a step `match`
    accepts is in it: each step as one dict (its data, and its kind as `step`)."""
    steps: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                records = await call_records(database_url, tenant)
                if nth is not None:
                    records = records[:nth] if len(records) >= nth else []
                steps = _steps(records[-1] if records else None)
                if any(match(step) for step in steps):
                    return steps
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"no such step in the trace: {steps}") from None


def kind(name: str, **data: Any) -> Callable[[dict[str, Any]], bool]:
    """Matches a trace step of this kind whose data has these values."""
    return lambda step: step["step"] == name and all(step.get(k) == v for k, v in data.items())


async def ended_call(
    database_url: str, tenant: Tenant, timeout_s: float = WAIT_S, nth: int | None = None
) -> asyncpg.Record:
    """The tenant's latest call record (or its `nth`, as `traced`), once that call has ended."""
    await traced(database_url, tenant, kind("ended"), timeout_s, nth)
    records = await call_records(database_url, tenant)
    return records[-1 if nth is None else nth - 1]


def steps_of(record: asyncpg.Record) -> list[dict[str, Any]]:
    """A call record's trace, each step as one dict (its data, and its kind as `step`)."""
    return _steps(record)
