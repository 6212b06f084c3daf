"""The demo tenant of the local stack, and the demo call that proves the path through Asterisk.

The tenant is written straight into the database because the stack must work before any
service does; it is upserted, so running `rcp-stack up` again changes nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
import asyncpg
from asyncpg.pool import PoolConnectionProxy
from rcp import media_client, subjects
from rcp.contracts.directory import SearchRequest, SearchResult
from rcp.contracts.media import EnsurePrompt
from rcp.db.pool import create_pool
from rcp.messaging import connect_nats, request
from rcp.tokens import issue_token

from rcp_devstack.ari_probe import Event, ari_probe
from rcp_devstack.settings import StackSettings

DEMO_SLUG = "demo"
# +33 1 99 00 xx xx is set aside in France for fiction: it rings nobody real.
DEMO_NUMBER = "+33199000001"
DEMO_CALLER_APP = "rcp-demo-caller"

MaybeId = uuid.UUID | None

EXTENSIONS = [
    # number, kind, first name, last name, dial string, outside number
    ("101", "physical", "Amélie", "Poulain", "Local/101@test-phones", None),
    ("102", "physical", "Jean-Pierre", "Lefèvre", "Local/102@test-phones", None),
    ("103", "physical", "Seán", "O'Brien", "Local/103@test-phones", None),
    ("104", "virtual", "Françoise", "Le Gall", None, "+33199000104"),
]


@dataclass(frozen=True)
class DemoTenant:
    """What the demo seeded."""

    tenant_id: uuid.UUID
    number: str
    greeting_prompt_id: uuid.UUID | None = None


async def demo_tenant(pool: asyncpg.Pool) -> DemoTenant:
    """The seeded demo tenant."""
    row = await pool.fetchrow(
        """SELECT t.id, r.greeting_prompt_id FROM tenants t JOIN receptionists r ON r.tenant_id = t.id
            WHERE t.slug = $1""",
        DEMO_SLUG,
    )
    if row is None:
        raise LookupError("the demo tenant is not there: run rcp-stack up")
    return DemoTenant(row["id"], DEMO_NUMBER, row["greeting_prompt_id"])


async def seed_demo(pool: asyncpg.Pool) -> DemoTenant:
    """Create (or leave as it is) the demo tenant with extensions, a ring group, a room, keys."""
    async with pool.acquire() as connection, connection.transaction():
        tenant_id = await connection.fetchval(
            """INSERT INTO tenants (slug, name, locale, timezone) VALUES ($1, $2, 'fr-FR', 'Europe/Paris')
               ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug RETURNING id""",
            DEMO_SLUG,
            "Démo SARL",
        )
        await connection.execute(
            "INSERT INTO phone_numbers (e164, tenant_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            DEMO_NUMBER,
            tenant_id,
        )
        for number, kind, first, last, dial, outside in EXTENSIONS:
            await connection.execute(
                """INSERT INTO extensions (tenant_id, number, kind, first_name, last_name,
                                           dial_string, external_number)
                   VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, number) DO NOTHING""",
                tenant_id,
                number,
                kind,
                first,
                last,
                dial,
                outside,
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
        greeting_id = await _tts_prompt(
            connection,
            tenant_id,
            "Bienvenue chez Démo SARL. Pour joindre un collaborateur par son nom, tapez 1. "
            "Pour nos horaires, tapez 2. Pour l'accueil, tapez 3. Pour la salle de conférence, "
            "tapez 4.",
        )
        hours_id = await _tts_prompt(
            connection,
            tenant_id,
            "Nous sommes ouverts du lundi au vendredi, de 9 heures à 18 heures.",
        )
        await connection.execute(
            """INSERT INTO receptionists (tenant_id, greeting_prompt_id, language, dial_extension_enabled)
               VALUES ($1, $2, 'fr-FR', true) ON CONFLICT (tenant_id) DO NOTHING""",
            tenant_id,
            greeting_id,
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
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, digit) DO NOTHING""",
                tenant_id,
                digit,
                action,
                prompt,
                target_kind,
                extension,
                group,
                room,
            )
    return DemoTenant(tenant_id=tenant_id, number=DEMO_NUMBER)


async def _tts_prompt(
    connection: PoolConnectionProxy[asyncpg.Record], tenant_id: uuid.UUID, text: str
) -> uuid.UUID:
    existing: uuid.UUID | None = await connection.fetchval(
        "SELECT id FROM prompts WHERE tenant_id = $1 AND source = 'tts' AND tts_text = $2",
        tenant_id,
        text,
    )
    if existing is not None:
        return existing
    created: uuid.UUID = await connection.fetchval(
        """INSERT INTO prompts (tenant_id, source, tts_text, language) VALUES ($1, 'tts', $2, 'fr-FR')
           RETURNING id""",
        tenant_id,
        text,
    )
    return created


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
            """INSERT INTO admin_tokens (scope, tenant_id, name, token_hash, token_prefix)
               VALUES ($1, $2, $3, $4, $5)""",
            "tenant" if tenant_id else "carrier",
            tenant_id,
            name,
            issued.digest,
            issued.prefix,
        )
    return issued.token


async def demo_call(settings: StackSettings, number: str) -> list[str]:
    """Call the demo number through Asterisk's from-carrier context; return what happened.

    The stack itself answers as the `receptionist` application here (the stasis service's
    call flow is not connected to it yet): the call takes the path a real call takes, from
    the dialplan into Stasis with the number; the greeting comes from the media service and
    the name the caller spells is looked up by the directory service, both over NATS.
    """
    trace: list[str] = []
    async with create_pool(settings, "rcp-stack") as pool:
        tenant = await demo_tenant(pool)
    apps = [settings.ari_app, DEMO_CALLER_APP]
    async with (
        connect_nats(settings, "rcp-stack-demo") as nats,
        ari_probe(settings.ari_url, settings.ari_user, settings.ari_password, apps) as probe,
    ):

        def entered(app: str) -> Callable[[Event], bool]:
            return lambda e: e.get("type") == "StasisStart" and e.get("application") == app

        caller = await probe.request(
            "POST",
            "/channels",
            endpoint=f"Local/{number}@from-carrier/n",
            app=DEMO_CALLER_APP,
            callerId="Demo <+33199000999>",
        )
        trace.append(f"caller dials {number} (channel {caller['id']})")
        start = await probe.wait_for(entered(settings.ari_app))
        callee = start["channel"]["id"]
        trace.append(
            f"Asterisk hands the call to Stasis app '{settings.ari_app}' "
            f"with argument {start['args']}"
        )
        await probe.request("POST", f"/channels/{callee}/answer")
        await probe.wait_for(entered(DEMO_CALLER_APP))
        trace.append("the receptionist side answers")
        greeting = await media_client.ensure_prompt(
            nats, EnsurePrompt(tenant_id=tenant.tenant_id, prompt_id=tenant.greeting_prompt_id)
        )
        trace.append(
            f"the media service renders the French greeting ({greeting.duration_ms / 1000:.1f} s, "
            f"{'rendered now' if greeting.rendered else 'from its cache'})"
        )
        await probe.request("POST", f"/channels/{callee}/play", media=f"sound:{greeting.uri}")
        await probe.wait_for(lambda e: e.get("type") == "PlaybackFinished")
        trace.append("Asterisk fetches it over HTTP and plays it to the caller, to the end")
        # One request for the three keys: separate requests would overlap on the line.
        await probe.request(
            "POST", f"/channels/{caller['id']}/dtmf", dtmf="533", duration="100", between="150"
        )
        received = await probe.wait_for_all(
            # Each app the probe holds gets its own copy of an event: count the receptionist's.
            lambda e: (
                e.get("type") == "ChannelDtmfReceived"
                and e["channel"]["id"] == callee
                and e.get("application") == settings.ari_app
            ),
            3,
        )
        digits = "".join(e["digit"] for e in received)
        trace.append(f"the caller spells J-E-L on the keypad: the receptionist receives {digits}")
        found = await request(
            nats,
            subjects.DIRECTORY_SEARCH,
            SearchRequest(tenant_id=tenant.tenant_id, digits="533"),
            SearchResult,
            timeout_s=5,
        )
        names = ", ".join(f"{m.display_name} ({m.number})" for m in found.matches) or "nobody"
        trace.append(f"the directory service finds {names}")
        await probe.request("DELETE", f"/channels/{callee}")
        await probe.wait_for(
            lambda e: e.get("type") == "StasisEnd" and e["channel"]["id"] == callee
        )
        trace.append("the call is hung up and leaves Stasis")
    return trace


def run_demo_call(settings: StackSettings, number: str) -> list[str]:
    """Blocking wrapper of `demo_call`."""
    return asyncio.run(asyncio.wait_for(demo_call(settings, number), 60))


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
