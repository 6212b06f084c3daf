"""Tenant isolation over every endpoint: another tenant's ids answer 404, no token 401."""

from __future__ import annotations

import io
import re
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from admin_support import Admin, Client, running_admin
from media_support import media_settings, running_media, speech
from rcp_admin.resources import ROUTES
from rcp_admin.routing import Route

TENANT_ROUTES = [route for route in ROUTES if "{tenant_id}" in route.path]


@pytest_asyncio.fixture
async def admin(migrated_url: str) -> AsyncIterator[Admin]:
    """The admin API, with a burst that lets one token call every endpoint in a row (the
    API has more operations than the default burst of 60)."""
    async with running_admin(migrated_url, admin_rate_burst=1000) as running:
        yield running


@pytest_asyncio.fixture
async def admin_with_media(migrated_url: str, tmp_path: Path) -> AsyncIterator[Admin]:
    """The admin API with a real media service behind it (audio endpoints), and the same
    burst."""
    scope = f"admin{uuid.uuid4().hex[:10]}"
    async with (
        running_media(media_settings(migrated_url, tmp_path / "media", media_nats_scope=scope)),
        running_admin(
            migrated_url,
            media_nats_scope=scope,
            admin_upload_max_bytes=2 * 1024 * 1024,
            admin_rate_burst=1000,
        ) as admin,
    ):
        yield admin


async def _populate(admin: Admin, name: str) -> dict[str, str]:
    """A tenant with one of everything; returns the values for its path parameters."""
    tenant_id, tenant = await admin.tenant(name, devices=("desk-101", "desk-102", "spare"))
    t = f"/v1/tenants/{tenant_id}"
    e164 = f"+3319{uuid.uuid4().int % 10**8:08d}"
    await admin.carrier.ok("POST", f"{t}/numbers", {"e164": e164})
    for number in ("101", "102"):
        await tenant.ok(
            "POST",
            f"{t}/extensions",
            {
                "number": number,
                "kind": "physical",
                "last_name": "Dupont",
                "device": f"desk-{number}",
            },
        )
    await tenant.ok(
        "POST", f"{t}/ring-groups", {"number": "200", "name": "Accueil", "members": ["101"]}
    )
    await tenant.ok("POST", f"{t}/conference-rooms", {"number": "300", "name": "Salle"})
    await tenant.ok("PUT", f"{t}/receptionist/keys/1", {"action": "dial_by_name"})
    menu = await tenant.ok("POST", f"{t}/menus", {"name": "Ventes"})
    holiday = await tenant.ok("POST", f"{t}/holidays", {"name": "Noël", "start": "2027-12-25"})
    await tenant.ok("POST", f"{t}/receptionist/publish", {})  # version 2, with them
    prompt = await tenant.ok("POST", f"{t}/prompts", {"text": "Bonjour", "language": "fr-FR"})
    recording = await _recording(admin, tenant_id, tenant)
    message = await admin.pool.fetchval(
        """INSERT INTO voicemail_messages (tenant_id, extension_number, prompt_id, duration_ms)
           VALUES ($1, '101', $2, 1000) RETURNING id""",
        tenant_id,
        recording,
    )
    call = await admin.pool.fetchval(
        """INSERT INTO call_records (tenant_id, call_id, called_number, started_at)
           VALUES ($1, 'isolation', $2, now()) RETURNING id""",
        tenant_id,
        e164,
    )
    tokens = await admin.carrier.ok("GET", f"{t}/tokens")
    user = await tenant.ok(
        "POST",
        f"{t}/users",
        {"email": f"{name}-{uuid.uuid4().hex[:8]}@example.com", "role": "viewer"},
    )
    return {
        "user_id": user["id"],
        "tenant_id": tenant_id,
        "e164": e164.replace("+", "%2B"),
        "digit": "1",
        "prompt_id": prompt["id"],
        "message_id": str(message),
        "token_id": tokens["items"][0]["id"],
        "name": "spare",
        "menu_id": menu["id"],
        "holiday_id": holiday["id"],
        "call_id": str(call),
    }


async def _recording(admin: Admin, tenant_id: str, tenant: Client) -> uuid.UUID:
    """A prompt to hang a voicemail message on: real audio when the media service is there."""
    if not admin.settings.media_nats_scope:
        found: uuid.UUID = await admin.pool.fetchval(
            """INSERT INTO prompts (tenant_id, source, status, content_hash)
               VALUES ($1, 'recording', 'ready', repeat('c', 64)) RETURNING id""",
            tenant_id,
        )
        return found
    with tempfile.TemporaryDirectory() as folder:
        audio = speech(Path(folder) / "message.wav", "Rappelez-moi demain.", "fr").read_bytes()
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(audio), filename="message.wav")
    async with tenant.session.post(
        f"{tenant.base}/v1/tenants/{tenant_id}/prompts",
        data=form,
        headers={"Authorization": f"Bearer {tenant.token}"},
    ) as response:
        assert response.status == 201, await response.text()
        return uuid.UUID((await response.json())["id"])


def _path(route: Route, params: dict[str, str]) -> str:
    numbers = {"extensions": "102", "ring-groups": "200", "conference-rooms": "300"}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "number" and "/versions/" in route.path:
            return "2"  # the version with the menu and the holiday
        if name == "number":
            collection = route.path.split("/")[-2]
            return numbers[collection]
        return params[name]

    return re.sub(r"{(\w+)}", fill, route.path) + QUERIES.get(route.path, "")


# Query strings a route cannot do without.
QUERIES = {"/v1/tenants/{tenant_id}/simulate/speech": "?text=Bonjour&language=fr-FR"}


# Bodies valid for tenant B, in an order where each write finds what it needs.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/tenants/{tenant_id}/simulate"): {"configuration": "draft"},
    ("PATCH", "/v1/tenants/{tenant_id}"): {"status": "suspended"},
    ("POST", "/v1/tenants/{tenant_id}/tokens"): {"name": "second"},
    ("POST", "/v1/tenants/{tenant_id}/numbers"): {"e164": "+33199999001"},
    ("POST", "/v1/tenants/{tenant_id}/extensions"): {
        "number": "103",
        "kind": "physical",
        "last_name": "Z",
        "device": "desk-101",
    },
    ("PATCH", "/v1/tenants/{tenant_id}/extensions/{number}"): {"first_name": "Zoé"},
    ("POST", "/v1/tenants/{tenant_id}/ring-groups"): {"number": "201", "name": "Ventes"},
    ("PATCH", "/v1/tenants/{tenant_id}/ring-groups/{number}"): {"ring_seconds": 30},
    ("POST", "/v1/tenants/{tenant_id}/conference-rooms"): {"number": "301", "name": "Salle 2"},
    ("PATCH", "/v1/tenants/{tenant_id}/conference-rooms/{number}"): {"pin": "4321"},
    ("POST", "/v1/tenants/{tenant_id}/devices"): {"name": "lobby", "endpoint": "PJSIP/lobby"},
    ("PATCH", "/v1/tenants/{tenant_id}/devices/{name}"): {"endpoint": "PJSIP/spare-moved"},
    ("PATCH", "/v1/tenants/{tenant_id}/outbound-policy"): {"allowed_number_types": ["mobile"]},
    ("PATCH", "/v1/tenants/{tenant_id}/limits"): {"max_inbound_calls": 5},
    ("PATCH", "/v1/tenants/{tenant_id}/retention"): {"voicemail_days": 30},
    ("PATCH", "/v1/tenants/{tenant_id}/receptionist"): {"menu_timeout_s": 6},
    ("PUT", "/v1/tenants/{tenant_id}/receptionist/keys/{digit}"): {"action": "dial_by_name"},
    ("POST", "/v1/tenants/{tenant_id}/menus"): {"name": "Sales", "language": "en-GB"},
    ("PATCH", "/v1/tenants/{tenant_id}/menus/{menu_id}"): {"menu_timeout_s": 8},
    ("PUT", "/v1/tenants/{tenant_id}/menus/{menu_id}/keys/{digit}"): {"action": "dial_by_name"},
    ("PUT", "/v1/tenants/{tenant_id}/schedule"): {
        "weekly": {"mon": [{"start": "09:00", "end": "18:00"}]}
    },
    ("PUT", "/v1/tenants/{tenant_id}/schedule/override"): {"mode": "closed"},
    ("POST", "/v1/tenants/{tenant_id}/receptionist/publish"): {"comment": "isolation"},
    ("POST", "/v1/tenants/{tenant_id}/receptionist/versions/{number}/rollback"): {},
    ("POST", "/v1/tenants/{tenant_id}/holidays"): {"name": "Toussaint", "start": "2027-11-01"},
    ("POST", "/v1/tenants/{tenant_id}/holidays/public"): {"country": "FR", "year": 2027},
    ("POST", "/v1/tenants/{tenant_id}/holidays/ical"): {
        "calendar": "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20270815\n"
        "SUMMARY:Assomption\nEND:VEVENT\nEND:VCALENDAR\n"
    },
    ("PATCH", "/v1/tenants/{tenant_id}/directory"): {
        "entries": [{"number": "101", "reachable_by_name": False}]
    },
    ("POST", "/v1/tenants/{tenant_id}/prompts"): {"text": "Hallo", "language": "nl-NL"},
    ("POST", "/v1/tenants/{tenant_id}/users"): {
        "email": f"new-{uuid.uuid4().hex[:8]}@example.com",
        "role": "editor",
    },
    ("PATCH", "/v1/tenants/{tenant_id}/users/{user_id}"): {"name": "Zoé"},
    ("PATCH", "/v1/tenants/{tenant_id}/voicemail/{message_id}"): {"status": "read"},
    ("POST", "/v1/tenants/{tenant_id}/import"): {
        "receptionist": {},
        "extensions": [
            {"number": "101", "kind": "physical", "last_name": "Dupont", "device": "desk-101"}
        ],
    },
}
DELETE_ORDER = [
    "draft",
    "keys",
    "override",
    "holidays",
    "menus",
    "voicemail",
    "prompts",
    "ring-groups",
    "conference-rooms",
    "extensions",
    "devices",
    "outbound-policy",
    "limits",
    "numbers",
    "tokens",
    "sessions",
    "{user_id}",
    "{tenant_id}",
]


def _ordered(routes: list[Route]) -> list[Route]:
    """Reads and writes, then deletes of what they made, the import, and the tenant itself."""
    deletes = sorted(
        (r for r in routes if r.method == "DELETE"),
        key=lambda r: next(
            i for i, part in enumerate(DELETE_ORDER) if part in r.path.split("/")[-2:]
        ),
    )
    others = [r for r in routes if r.method != "DELETE" and not r.path.endswith("/import")]
    imports = [r for r in routes if r.path.endswith("/import")]
    return others + deletes[:-1] + imports + deletes[-1:]


@pytest.fixture
async def two_tenants(admin: Admin) -> tuple[Client, dict[str, str], dict[str, str]]:
    a_params = await _populate(admin, "alpha")
    b_params = await _populate(admin, "beta")
    tokens = await admin.carrier.ok(
        "POST", f"/v1/tenants/{a_params['tenant_id']}/tokens", {"name": "a2"}
    )
    return admin.carrier.as_(tokens["token"]), a_params, b_params


async def test_tenant_token_gets_404_on_every_endpoint_of_another_tenant(
    two_tenants: tuple[Client, dict[str, str], dict[str, str]],
) -> None:
    alpha, _, beta = two_tenants
    for route in TENANT_ROUTES:
        answer = await alpha.call(
            route.method, _path(route, beta), BODIES.get((route.method, route.path))
        )
        assert answer.status == 404, (route.method, route.path, answer.status, answer.body)
        assert answer.body["code"] == "not_found"
        assert beta["tenant_id"] not in str(answer.body)


async def test_no_token_gets_401_on_every_endpoint(admin: Admin) -> None:
    params = {
        "tenant_id": str(uuid.uuid4()),
        "e164": "%2B33199000001",
        "digit": "1",
        "prompt_id": str(uuid.uuid4()),
        "message_id": str(uuid.uuid4()),
        "token_id": str(uuid.uuid4()),
        "name": "spare",
        "menu_id": str(uuid.uuid4()),
        "holiday_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "call_id": str(uuid.uuid4()),
    }
    anonymous = admin.carrier.as_(None)
    for route in ROUTES:
        if route.scope == "public":  # signing in, and the links emails carry
            continue
        answer = await anonymous.call(
            route.method, _path(route, params), BODIES.get((route.method, route.path))
        )
        assert answer.status == 401, (route.method, route.path, answer.status)
        assert answer.headers.get("WWW-Authenticate", "").startswith("Bearer")
    wrong = await admin.carrier.as_("rcp_deadbeef_not-a-token").call("GET", "/v1/tenants")
    assert wrong.status == 401


async def test_carrier_token_works_on_every_endpoint_of_any_tenant(admin_with_media: Admin) -> None:
    admin = admin_with_media  # audio endpoints need the media service
    params = await _populate(admin, "gamma")
    for route in _ordered(TENANT_ROUTES):
        answer = await admin.carrier.call(
            route.method, _path(route, params), BODIES.get((route.method, route.path))
        )
        assert 200 <= answer.status < 300, (route.method, route.path, answer.status, answer.body)


async def test_tenant_token_cannot_use_carrier_operations_on_its_own_tenant(
    two_tenants: tuple[Client, dict[str, str], dict[str, str]],
) -> None:
    alpha, own, _ = two_tenants
    for route in ROUTES:
        if route.scope != "carrier":
            continue
        answer = await alpha.call(
            route.method, _path(route, own), BODIES.get((route.method, route.path))
        )
        assert answer.status == 403, (route.method, route.path, answer.status)
    listed = await alpha.ok("GET", "/v1/tenants")
    assert [t["id"] for t in listed["items"]] == [own["tenant_id"]]
