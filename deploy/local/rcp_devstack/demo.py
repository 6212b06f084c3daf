"""The demo tenant of the local stack, and the demo call: a real call through the stasis service.

The tenant is written straight into the database because the stack must work before any
service does; it is upserted, so running `rcp-stack up` again changes nothing.
"""

from __future__ import annotations

import array
import asyncio
import io
import json
import uuid
import wave
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
from asyncpg.pool import PoolConnectionProxy
from rcp.db.pool import create_pool
from rcp.tokens import DEFAULT_LIFETIME, issue_token
from rcp_admin.passwords import generated_password, hash_password

from rcp_devstack.ari_probe import AriProbe, ari_probe
from rcp_devstack.settings import StackSettings

DEMO_SLUG = "demo"
# +33 1 99 00 xx xx is set aside in France for fiction: it rings nobody real.
DEMO_NUMBER = "+33199000001"
DEMO_CALLER_APP = "rcp-demo-caller"


@dataclass(frozen=True)
class DemoSpec:
    """One demo tenant: who it is, the number it answers on, what its receptionist says."""

    slug: str
    name: str
    locale: str
    timezone: str
    number: str
    greeting: str
    hours: str
    # Virtual extension 104's outside number: a fixed line of the tenant's own country (the
    # only kind the default outbound policy allows), in a range set aside for fiction.
    outside_number: str
    # A menu in another language that key 9 opens: its name, locale and greeting.
    other_menu: tuple[str, str, str] | None = None


FRENCH = DemoSpec(
    slug=DEMO_SLUG,
    name="Démo SARL",
    locale="fr-FR",
    timezone="Europe/Paris",
    number=DEMO_NUMBER,
    greeting="Bienvenue chez Démo SARL. Pour joindre un collaborateur par son nom, tapez 1. "
    "Pour nos horaires, tapez 2. Pour l'accueil, tapez 3. Pour la salle de conférence, "
    "tapez 4. Pour l'anglais, tapez 9.",
    hours="Nous sommes ouverts du lundi au vendredi, de 9 heures à 18 heures.",
    outside_number="+33199000104",
    other_menu=(
        "English",
        "en-GB",
        "Welcome to Démo SARL. To reach someone by name, press 1. For reception, press 3. "
        "To go back to the French menu, press star.",
    ),
)
ENGLISH = DemoSpec(
    slug="demo-en",
    name="Demo Ltd",
    locale="en-GB",
    timezone="Europe/London",
    # +44 1632 960xxx is set aside in the United Kingdom for drama: it rings nobody real.
    number="+441632960001",
    greeting="Welcome to Demo Limited. To reach someone by name, press 1. For our opening "
    "hours, press 2. For reception, press 3. For the meeting room, press 4.",
    hours="We are open Monday to Friday, from 9 am to 6 pm.",
    # 020 7946 0xxx is set aside in the United Kingdom for drama.
    outside_number="+442079460104",
)
DEMOS = {"fr": FRENCH, "en": ENGLISH}

MaybeId = uuid.UUID | None

EXTENSIONS = [
    # number, kind, first name, last name, device (a phone of the local stack's test-phones
    # context, which only the local stack's dialplan has)
    ("101", "physical", "Amélie", "Poulain", "phone-101"),
    ("102", "physical", "Jean-Pierre", "Lefèvre", "phone-102"),
    ("103", "physical", "Seán", "O'Brien", "phone-103"),
    ("104", "virtual", "Françoise", "Le Gall", None),  # rings the spec's outside number
]


@dataclass(frozen=True)
class DemoTenant:
    """What the demo seeded."""

    tenant_id: uuid.UUID
    number: str


async def seed_demo(pool: asyncpg.Pool, spec: DemoSpec = FRENCH) -> DemoTenant:
    """Create (or leave as it is) a demo tenant with extensions, a ring group, a room, keys."""
    async with pool.acquire() as connection, connection.transaction():
        tenant_id = await connection.fetchval(
            """INSERT INTO tenants (slug, name, locale, timezone) VALUES ($1, $2, $3, $4)
               ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug RETURNING id""",
            spec.slug,
            spec.name,
            spec.locale,
            spec.timezone,
        )
        owner = await connection.fetchval(
            "SELECT tenant_id FROM phone_numbers WHERE e164 = $1", spec.number
        )
        if owner is None:
            await connection.execute(
                "INSERT INTO phone_numbers (e164, tenant_id) VALUES ($1, $2)",
                spec.number,
                tenant_id,
            )
        elif owner != tenant_id:
            raise LookupError(f"{spec.number} already belongs to another tenant than {spec.slug}")
        for number, kind, first, last, device in EXTENSIONS:
            device_id = None if device is None else await _device(connection, tenant_id, device)
            await connection.execute(
                """INSERT INTO extensions (tenant_id, number, kind, first_name, last_name,
                                           device_id, external_number)
                   VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, number) DO NOTHING""",
                tenant_id,
                number,
                kind,
                first,
                last,
                device_id,
                spec.outside_number if kind == "virtual" else None,
            )
        group_id = await connection.fetchval(
            """INSERT INTO ring_groups (tenant_id, number, name, strategy, ring_seconds)
               VALUES ($1, '200', 'Accueil', 'simultaneous', 20)
               ON CONFLICT (tenant_id, number) DO UPDATE SET name = ring_groups.name RETURNING id""",
            tenant_id,
        )
        await connection.execute(
            """INSERT INTO ring_group_members (tenant_id, ring_group_id, extension_id, position)
               SELECT $1, $2, id, row_number() OVER (ORDER BY number) - 1 FROM extensions
                WHERE tenant_id = $1 AND number IN ('101', '102')
               ON CONFLICT (tenant_id, ring_group_id, extension_id) DO NOTHING""",
            tenant_id,
            group_id,
        )
        room_id = await connection.fetchval(
            """INSERT INTO conference_rooms (tenant_id, number, name) VALUES ($1, '300', 'Salle Monet')
               ON CONFLICT (tenant_id, number) DO UPDATE SET name = conference_rooms.name RETURNING id""",
            tenant_id,
        )
        greeting_id = await _tts_prompt(connection, tenant_id, spec.greeting, spec.locale)
        hours_id = await _tts_prompt(connection, tenant_id, spec.hours, spec.locale)
        await connection.execute(
            """INSERT INTO receptionists (tenant_id, greeting_prompt_id, language, dial_extension_enabled)
               VALUES ($1, $2, $3, true) ON CONFLICT (tenant_id) DO NOTHING""",
            tenant_id,
            greeting_id,
            spec.locale,
        )
        amelie = await connection.fetchval(
            "SELECT id FROM extensions WHERE tenant_id = $1 AND number = '101'", tenant_id
        )
        keys: list[tuple[str, str, MaybeId, str | None, MaybeId, MaybeId, MaybeId]] = [
            ("1", "dial_by_name", None, None, None, None, None),
            ("2", "play_announcement", hours_id, None, None, None, None),
            ("3", "transfer", None, "ring_group", None, group_id, None),
            ("4", "transfer", None, "conference", None, None, room_id),
            ("0", "transfer", None, "extension", amelie, None, None),
        ]
        for digit, action, prompt, target_kind, extension, group, room in keys:
            await connection.execute(
                """INSERT INTO key_assignments (tenant_id, digit, action, prompt_id, target_kind,
                       target_extension_id, target_ring_group_id, target_conference_id)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                   ON CONFLICT (tenant_id, menu_id, digit) DO NOTHING""",
                tenant_id,
                digit,
                action,
                prompt,
                target_kind,
                extension,
                group,
                room,
            )
        if spec.other_menu is not None:
            await _other_menu(connection, tenant_id, spec.other_menu, group_id, amelie)
    return DemoTenant(tenant_id=tenant_id, number=spec.number)


async def _other_menu(
    connection: PoolConnectionProxy[asyncpg.Record],
    tenant_id: uuid.UUID,
    menu: tuple[str, str, str],
    group_id: uuid.UUID,
    amelie: uuid.UUID,
) -> None:
    """Key 9 opens a menu in another language: 1 dial by name, 3 reception, 0 Amélie."""
    name, locale, greeting = menu
    greeting_id = await _tts_prompt(connection, tenant_id, greeting, locale)
    menu_id = await connection.fetchval(
        """INSERT INTO menus (tenant_id, name, language, greeting_prompt_id) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, name) DO UPDATE SET name = menus.name RETURNING id""",
        tenant_id,
        name,
        locale,
        greeting_id,
    )
    first = await connection.fetchval(
        "SELECT id FROM menus WHERE tenant_id = $1 AND is_first", tenant_id
    )
    keys: list[tuple[uuid.UUID, str, str, str | None, MaybeId, MaybeId, MaybeId]] = [
        (first, "9", "open_menu", None, None, None, menu_id),
        (menu_id, "1", "dial_by_name", None, None, None, None),
        (menu_id, "3", "transfer", "ring_group", None, group_id, None),
        (menu_id, "0", "transfer", "extension", amelie, None, None),
    ]
    for menu_of_key, digit, action, kind, extension, group, target_menu in keys:
        await connection.execute(
            """INSERT INTO key_assignments (tenant_id, menu_id, digit, action, target_kind,
                   target_extension_id, target_ring_group_id, target_menu_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (tenant_id, menu_id, digit) DO NOTHING""",
            tenant_id,
            menu_of_key,
            digit,
            action,
            kind,
            extension,
            group,
            target_menu,
        )


async def _device(
    connection: PoolConnectionProxy[asyncpg.Record], tenant_id: uuid.UUID, name: str
) -> uuid.UUID:
    """The demo phone `phone-<n>` of the tenant, `Local/<n>@test-phones` (kept as it is if a
    database of before devices already made it a device, under another name)."""
    endpoint = f"Local/{name.removeprefix('phone-')}@test-phones"
    found: uuid.UUID = await connection.fetchval(
        """INSERT INTO devices (tenant_id, name, endpoint) VALUES ($1, $2, $3)
           ON CONFLICT (tenant_id, endpoint) DO UPDATE SET endpoint = EXCLUDED.endpoint
           RETURNING id""",
        tenant_id,
        name,
        endpoint,
    )
    return found


async def _tts_prompt(
    connection: PoolConnectionProxy[asyncpg.Record],
    tenant_id: uuid.UUID,
    text: str,
    language: str,
) -> uuid.UUID:
    existing: uuid.UUID | None = await connection.fetchval(
        "SELECT id FROM prompts WHERE tenant_id = $1 AND source = 'tts' AND tts_text = $2",
        tenant_id,
        text,
    )
    if existing is not None:
        return existing
    created: uuid.UUID = await connection.fetchval(
        """INSERT INTO prompts (tenant_id, source, tts_text, language) VALUES ($1, 'tts', $2, $3)
           RETURNING id""",
        tenant_id,
        text,
        language,
    )
    return created


FIRST_OPERATOR = "operator@receptionist.local"


async def ensure_first_operator(pool: asyncpg.Pool, email: str = FIRST_OPERATOR) -> str | None:
    """The carrier's first operator, once: the password to print (shown this once), or None
    if the carrier already has an operator."""
    password = generated_password()
    made = await pool.fetchval(
        """INSERT INTO users (email, name, role, language, password_hash, password_changed_at)
           SELECT $1, 'Operator', 'operator', 'en', $2, now()
            WHERE NOT EXISTS (SELECT FROM users WHERE tenant_id IS NULL AND role = 'operator')
           ON CONFLICT (email) DO NOTHING
           RETURNING id""",
        email,
        await hash_password(password),
    )
    if made is None:
        return None
    await pool.execute(
        """INSERT INTO audit_log (tenant_id, actor, action, entity, entity_key, after)
           VALUES (NULL, 'rcp-stack', 'user.create', 'user', $1,
                   jsonb_build_object('email', $2::text, 'role', 'operator'))""",
        str(made),
        email,
    )
    return password


async def issue_admin_token(
    pool: asyncpg.Pool, pepper: str, name: str, tenant_slug: str | None
) -> str:
    """Store a new admin token (carrier scope, or one tenant's) and return it in clear."""
    issued = issue_token(pepper)
    async with pool.acquire() as connection:
        tenant_id = None
        if tenant_slug is not None:
            tenant_id = await connection.fetchval(
                "SELECT id FROM tenants WHERE slug = $1", tenant_slug
            )
            if tenant_id is None:
                raise LookupError(f"no tenant with slug {tenant_slug!r}")
        await connection.execute(
            """INSERT INTO admin_tokens (scope, tenant_id, name, token_hash, token_prefix,
                                         expires_at)
               VALUES ($1, $2, $3, $4, $5, now() + $6::interval)""",
            "tenant" if tenant_id else "carrier",
            tenant_id,
            name,
            issued.digest,
            issued.prefix,
            DEFAULT_LIFETIME,
        )
    return issued.token


DEMO_CALLER = "+33199000999"
SPEECH_RMS = 100.0  # what a line carries when nothing is said stays far below


@dataclass
class DemoCall:
    """The caller's side of the demo call: its phone, what it hears, the call's trace."""

    probe: AriProbe
    settings: StackSettings
    database: asyncpg.Connection
    tenant_id: uuid.UUID
    started: datetime
    lines: list[str]
    channel: str = ""
    shown: int = 0
    listening: dict[str, int] = field(default_factory=dict)

    def say(self, line: str) -> None:
        self.lines.append(line)
        print(f"  {line}", flush=True)

    async def trace(self) -> list[dict[str, Any]]:
        """The call's decision trace so far, as the stasis service published it."""
        trace = await self.database.fetchval(
            """SELECT trace FROM call_records WHERE tenant_id = $1 AND caller_number = $2
                 AND started_at >= $3 ORDER BY started_at DESC LIMIT 1""",
            self.tenant_id,
            DEMO_CALLER,
            self.started,
        )
        steps: list[dict[str, Any]] = json.loads(trace) if isinstance(trace, str) else []
        return steps

    async def until(self, kind: str, timeout_s: float = 30.0, **data: object) -> None:
        """Show the trace's new steps until one of `kind` (with `data`) is among them."""
        async with asyncio.timeout(timeout_s):
            while True:
                steps = await self.trace()
                for step in steps[self.shown :]:
                    details = ", ".join(f"{k}={v}" for k, v in step["data"].items())
                    self.say(
                        f"    receptionist: {step['kind']}" + (f" ({details})" if details else "")
                    )
                self.shown = len(steps)
                if any(
                    s["kind"] == kind and all(s["data"].get(k) == v for k, v in data.items())
                    for s in steps
                ):
                    return
                await asyncio.sleep(0.2)

    async def press(self, keys: str) -> None:
        self.say(f"caller presses {' '.join(keys)}")
        for key in keys:
            await self.probe.request(
                "POST", f"/channels/{self.channel}/dtmf", dtmf=key, duration="100"
            )
            await asyncio.sleep(0.2)

    async def listen(self) -> str:
        """Start recording what the caller hears."""
        name = f"demo-heard-{uuid.uuid4().hex[:8]}"
        self.listening[name] = self.probe.mark()
        await self.probe.request(
            "POST", f"/channels/{self.channel}/record", name=name, format="wav"
        )
        return name

    async def heard(self, name: str, what: str) -> None:
        """Say how much the caller heard since `listen` (speech or silence)."""
        # Looked for since the recording began: Asterisk ends one by itself after a few
        # seconds without a frame (a pause between prompts), before it is asked to.
        body = await self.probe.stop_recording(name, self.listening.pop(name))
        seconds, loudness = length_and_loudness(body)
        sound = "speech" if loudness > SPEECH_RMS else "silence"
        self.say(f"caller hears {what}: {seconds:.1f} s of {sound}")


def length_and_loudness(wav: bytes) -> tuple[float, float]:
    """A WAV's length in seconds and its loudness (root mean square of the samples)."""
    if not wav:
        return 0.0, 0.0
    with wave.open(io.BytesIO(wav)) as audio:
        frames = audio.getnframes()
        samples = array.array("h", audio.readframes(frames))
        seconds = frames / audio.getframerate()
    if not samples:
        return seconds, 0.0
    return seconds, float((sum(s * s for s in samples) / len(samples)) ** 0.5)


async def demo_call(
    settings: StackSettings,
    number: str,
    *,
    context: str = "from-carrier",
    variables: dict[str, str] | None = None,
) -> list[str]:
    """Call the demo number as the carrier would, through the running stasis service.

    The caller is a Local channel whose near half is played here (its own Stasis app): it
    presses keys and records what it hears, while the call's decision trace is read as the
    stasis service publishes it. It hears the greeting, asks for the opening hours (2), then
    dials by name (1, then L-E-F for Lefèvre), and hangs up once the transfer has an answer
    (in the local stack no phone answers 102: its voicemail greets the caller).
    """
    lines: list[str] = []
    database = await asyncpg.connect(settings.database_url)
    try:
        tenant_id = await database.fetchval(
            "SELECT tenant_id FROM phone_numbers WHERE e164 = $1", number
        )
        if tenant_id is None:
            raise LookupError(f"no tenant has the number {number}")
        async with ari_probe(
            settings.ari_url, settings.ari_user, settings.ari_password, [DEMO_CALLER_APP]
        ) as probe:
            call = DemoCall(probe, settings, database, tenant_id, datetime.now(UTC), lines)
            await _place_demo_call(call, number, context, variables or {})
    finally:
        await database.close()
    return lines


async def _place_demo_call(
    call: DemoCall, number: str, context: str, variables: dict[str, str]
) -> None:
    probe = call.probe
    async with probe._session.post(
        f"{call.settings.ari_url}/ari/channels",
        params={
            "endpoint": f"Local/{number}@{context}/n",
            "app": DEMO_CALLER_APP,
            "callerId": f"Demo <{DEMO_CALLER}>",
        },
        json={"variables": variables},
    ) as response:
        response.raise_for_status()
        call.channel = str((await response.json())["id"])
    call.say(f"caller {DEMO_CALLER} dials {number} (Asterisk context {context})")
    answered = await probe.wait_for(
        lambda e: (
            e.get("channel", {}).get("id") == call.channel
            and e.get("type") in ("StasisStart", "ChannelDestroyed")
        ),
        30,
    )
    if answered["type"] == "ChannelDestroyed":
        raise LookupError(
            f"the demo call to {number} was refused (cause {answered.get('cause')}): is "
            "rcp-stasis running and connected to Asterisk? (./rcp status)"
        )
    call.say("the receptionist answers")
    listening = await call.listen()
    await call.until("menu", reason="greeting")
    await asyncio.sleep(3)
    await call.heard(listening, "the greeting")

    await call.press("2")
    listening = await call.listen()
    await call.until("menu", reason="after_announcement")
    await call.heard(listening, "the opening hours")

    await call.press("1")
    await call.until("key", action="dial_by_name")
    listening = await call.listen()
    await asyncio.sleep(2)
    await call.heard(listening, '"the first three letters of the name"')
    await call.press("533")
    listening = await call.listen()
    await call.until("transfer")
    await call.until("transfer_result", timeout_s=40)  # 102 answers, or not (no phone here)
    await asyncio.sleep(2)
    await call.heard(listening, "the name, then what follows")

    call.say("caller hangs up")
    await probe.request("DELETE", f"/channels/{call.channel}", missing_ok=True)
    await call.until("ended")


def run_demo_call(settings: StackSettings, number: str) -> list[str]:
    """Blocking wrapper of `demo_call` (its lines are printed as they happen)."""
    return asyncio.run(asyncio.wait_for(demo_call(settings, number), 180))


async def seed_demos(settings: StackSettings, specs: list[DemoSpec]) -> list[DemoTenant]:
    """Provision the demo tenants (each left as it is if it exists)."""
    async with create_pool(settings, "rcp-demo") as pool:
        return [await seed_demo(pool, spec) for spec in specs]


def run_demo(settings: StackSettings, languages: list[str]) -> list[str]:
    """`receptionist demo`, and the end of `rcp-stack up`: provision the demo tenants of
    `languages` (fr, en) and call each through the running stack, printing each step."""
    specs = [DEMOS[language] for language in languages]
    lines: list[str] = []
    for spec, seeded in zip(specs, asyncio.run(seed_demos(settings, specs)), strict=True):
        print(
            f"Demo call to {spec.name} ({spec.locale}, tenant '{spec.slug}', {seeded.number}), "
            "through the stasis service: what happens at each step",
            flush=True,
        )
        lines += run_demo_call(settings, seeded.number)
    return lines


async def demo_keys_through_api(settings: StackSettings, api: str) -> list[str]:
    """Read the demo tenant's keys through the admin API with a token made for this and
    revoked right after, so that repeated runs leave no usable token behind."""
    async with create_pool(settings, "rcp-stack") as pool:
        token = await issue_admin_token(pool, settings.token_pepper, "rcp-stack demo", DEMO_SLUG)
        try:
            headers = {"Authorization": f"Bearer {token}"}
            async with aiohttp.ClientSession(headers=headers) as session:
                async with session.get(f"{api}/v1/tenants") as response:
                    tenant = (await response.json())["items"][0]
                async with session.get(
                    f"{api}/v1/tenants/{tenant['id']}/receptionist/keys"
                ) as response:
                    keys = (await response.json())["items"]
        finally:
            await pool.execute(
                "UPDATE admin_tokens SET revoked_at = now() WHERE token_prefix = $1",
                token.split("_")[1],
            )
    lines = []
    for key in keys:
        if not key["assigned"]:
            continue
        detail = key["action"]
        if key["target"]:
            detail += (
                f" -> {key['target']['kind']} {key['target']['number']} ({key['target']['name']})"
            )
        elif key["prompt"]:
            detail += f' -> "{key["prompt"]["text"]}"'
        lines.append(f"key {key['digit']}: {detail}")
    return lines
