"""A running admin API on the test database, and a small client for it."""

from __future__ import annotations

import contextlib
import io
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
from multidict import CIMultiDict
from rcp.db.pool import create_pool
from rcp.mail import SmtpSender
from rcp.messaging import connect_nats
from rcp.telemetry import Metrics, serve_app
from rcp.tokens import issue_token
from rcp_admin.app import build_app
from rcp_admin.media import NatsMediaGateway
from rcp_admin.memory import Memory, listening
from rcp_admin.routing import STORE_KEY
from rcp_admin.settings import Settings as AdminSettings
from roles_support import service_url


@dataclass
class Answer:
    """One HTTP answer."""

    status: int
    body: Any
    headers: CIMultiDict[str]  # case-insensitive, like HTTP


class Client:
    """Calls the admin API with one token."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str | None) -> None:
        self.session = session
        self.base = base
        self.token = token

    def as_(self, token: str | None) -> Client:
        """The same API with another token (None: no token)."""
        return Client(self.session, self.base, token)

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        if self.token is not None:
            sent["Authorization"] = f"Bearer {self.token}"
        kwargs: dict[str, Any] = {"headers": sent}
        if raw is not None:
            kwargs["data"] = io.BytesIO(raw)
            sent.setdefault("Content-Type", "application/json")
        elif body is not None:
            kwargs["json"] = body
        async with self.session.request(method, self.base + path, **kwargs) as response:
            parsed: Any
            if response.content_type.startswith("audio/"):
                parsed = await response.read()
            else:
                text = await response.text()
                try:
                    parsed = await response.json(content_type=None) if text else None
                except ValueError:
                    parsed = text
            return Answer(response.status, parsed, CIMultiDict(response.headers))

    async def ok(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Any:
        """Call and insist on a 2xx answer."""
        answer = await self.call(method, path, body, headers)
        assert 200 <= answer.status < 300, (method, path, answer.status, answer.body)
        return answer.body


@dataclass
class Admin:
    """The running API: a carrier client, the owner's pool (the test's own, to seed and
    inspect the tables), the settings (the service's: its own role's URL)."""

    carrier: Client
    pool: asyncpg.Pool
    settings: AdminSettings
    memory: Memory | None = None  # what it keeps between requests, if it listens

    async def tenant(self, name: str = "acme", devices: Iterable[str] = ()) -> tuple[str, Client]:
        """A new tenant (with the devices named, provisioned by the carrier) and a client
        holding that tenant's own token."""
        slug = f"{name}-{uuid.uuid4().hex[:8]}"
        tenant = await self.carrier.ok("POST", "/v1/tenants", {"slug": slug, "name": name.title()})
        token = await self.carrier.ok(
            "POST", f"/v1/tenants/{tenant['id']}/tokens", {"name": f"{name} admin"}
        )
        await self.devices(tenant["id"], *devices)
        return tenant["id"], self.carrier.as_(token["token"])

    async def devices(self, tenant_id: str, *names: str) -> None:
        """Provision devices for a tenant, as the carrier does: each a PJSIP endpoint of its
        own (an endpoint rings for one tenant only)."""
        for name in names:
            await self.carrier.ok(
                "POST",
                f"/v1/tenants/{tenant_id}/devices",
                {"name": name, "endpoint": device_endpoint(tenant_id, name)},
            )


def device_endpoint(tenant_id: str, name: str) -> str:
    """The PJSIP endpoint the tests give a tenant's device."""
    return f"PJSIP/t{tenant_id[:8]}-{name}"


async def carrier_token(pool: asyncpg.Pool, pepper: str) -> str:
    """A carrier token written straight into the database (as the CLI does)."""
    issued = issue_token(pepper)
    await pool.execute(
        """INSERT INTO admin_tokens (scope, name, token_hash, token_prefix)
           VALUES ('carrier', 'tests', $1, $2)""",
        issued.digest,
        issued.prefix,
    )
    return issued.token


@asynccontextmanager
async def running_admin(
    database_url: str, listen: bool = False, **overrides: Any
) -> AsyncIterator[Admin]:
    """The admin application served on a free port of 127.0.0.1, logged in as its own role
    (`database_url` is the owner's); `listen`: hearing config-changed as the service does,
    so that it keeps answers and tokens in memory (`rcp_admin.memory`)."""
    settings = AdminSettings(
        database_url=service_url(database_url, "admin"),
        ops_port=0,
        admin_http_port=0,
        **overrides,
    )
    metrics = Metrics("admin")
    async with (
        create_pool(settings, "tests-admin") as pool,
        create_pool(settings.model_copy(update={"database_url": database_url}), "tests") as own,
        connect_nats(settings, "tests-admin") as nats,
        aiohttp.ClientSession() as media_http,
    ):
        app = build_app(
            pool,
            nats,
            metrics,
            settings,
            NatsMediaGateway(nats, media_http, settings.media_nats_scope),
            SmtpSender(settings) if settings.mail_enabled else None,
        )
        memory = app[STORE_KEY].memory
        async with (
            listening(memory, nats) if listen else contextlib.nullcontext(),
            serve_app(app, "127.0.0.1", 0) as port,
            aiohttp.ClientSession() as session,
        ):
            token = await carrier_token(own, settings.token_pepper)
            yield Admin(
                Client(session, f"http://127.0.0.1:{port}", token),
                own,
                settings,
                memory if listen else None,
            )


class Person:
    """Calls the admin API as a person signed in through the web manager would: the session
    cookie (kept by hand, so its attributes can be read) and its CSRF token on every change."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base
        self.cookie: str | None = None
        self.csrf: str | None = None
        self.set_cookie: str = ""  # the last Set-Cookie header, as sent

    async def sign_in(self, email: str, password: str) -> Answer:
        """POST /v1/session; keeps the cookie and the CSRF token it answers."""
        answer = await self.call("POST", "/v1/session", {"email": email, "password": password})
        if answer.status == 200:
            self.csrf = answer.body["csrf_token"]
        return answer

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        csrf: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """A request with the cookie, and (`csrf`) the CSRF token on changes."""
        sent = dict(headers or {})
        if self.cookie is not None:
            sent["Cookie"] = f"rcp_session={self.cookie}"
        if csrf and self.csrf is not None and method not in ("GET", "HEAD"):
            sent["X-CSRF-Token"] = self.csrf
        kwargs: dict[str, Any] = {"headers": sent}
        if body is not None:
            kwargs["json"] = body
        async with self.session.request(method, self.base + path, **kwargs) as response:
            text = await response.text()
            try:
                parsed: Any = await response.json(content_type=None) if text else None
            except ValueError:
                parsed = text
            cookie = response.headers.get("Set-Cookie")
            if cookie is not None and cookie.startswith("rcp_session="):
                self.set_cookie = cookie
                value = cookie.split(";", 1)[0].removeprefix("rcp_session=").strip('"')
                self.cookie = value or None
            return Answer(response.status, parsed, CIMultiDict(response.headers))

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        """Call and insist on a 2xx answer."""
        answer = await self.call(method, path, body)
        assert 200 <= answer.status < 300, (method, path, answer.status, answer.body)
        return answer.body


PASSWORD = "correct horse battery"


async def add_person(
    admin: Admin, tenant_id: str | None, role: str, password: str = PASSWORD
) -> str:
    """A user who has chosen `password` (written straight into the database, as the command
    line's `user add` does); returns their email."""
    from rcp_admin.passwords import hash_password  # noqa: PLC0415

    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    await admin.pool.execute(
        """INSERT INTO users (tenant_id, email, role, password_hash, password_changed_at)
           VALUES ($1, $2, $3, $4, now())""",
        None if tenant_id is None else uuid.UUID(tenant_id),
        email,
        role,
        await hash_password(password),
    )
    return email


async def signed_in(
    admin: Admin, tenant_id: str | None, role: str, password: str = PASSWORD
) -> tuple[str, Person]:
    """A new user of the tenant (None: the carrier's staff) with `role`, signed in."""
    email = await add_person(admin, tenant_id, role, password)
    person = Person(admin.carrier.session, admin.carrier.base)
    answer = await person.sign_in(email, password)
    assert answer.status == 200, answer
    return email, person
