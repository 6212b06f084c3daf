"""Signing in and out: people's sessions, their own account, and the links emails carry.

A person signs in with their email and password and gets a session cookie (HttpOnly, Secure,
SameSite=Strict) and the session's CSRF token, which every change made with the cookie sends
back in `X-CSRF-Token`. A session ends after an idle time without requests, at its absolute
end, when its person signs out (here or everywhere), changes or resets their password, or is
disabled. Failed sign-ins are limited per client address and per account (429 with
Retry-After), and an unknown account takes as long to refuse as a wrong password.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from http import HTTPStatus
from uuid import UUID

import asyncpg
import structlog
from aiohttp import web
from rcp.errors import ErrorCode
from rcp.vocabulary import LinkPurpose, TenantStatus, UserRole

from rcp_admin import emails
from rcp_admin import schemas as s
from rcp_admin.auth import (
    CARRIER_ROLES,
    SESSION_COOKIE,
    Principal,
    client_address,
    csrf_token,
    new_session_secret,
)
from rcp_admin.errors import SIGN_IN_FAILED, WRONG_PASSWORD, ApiError
from rcp_admin.links import find_link, new_link
from rcp_admin.passwords import check_strength, hash_password, needs_rehash, verify_password
from rcp_admin.resources.users import revoke_sessions, send, to_user
from rcp_admin.routing import GATE_KEY, Call, Routes, answer, no_content
from rcp_admin.unit_of_work import Reader, Store, fetch_one, returned

log = structlog.get_logger(__name__)

ROUTES = Routes("/v1")

USER_QUERY = """SELECT u.*, n.status AS tenant_status
                  FROM users u LEFT JOIN tenants n ON n.id = u.tenant_id"""


def person(user: asyncpg.Record, session_id: UUID | None = None) -> Principal:
    """The principal a signed-in person acts as."""
    return Principal(
        token_id=None,
        name=user["email"],
        tenant_id=user["tenant_id"],
        user_id=user["id"],
        role=UserRole(user["role"]),
        session_id=session_id,
    )


def _refuse_suspended(user: asyncpg.Record) -> None:
    if user["tenant_status"] == TenantStatus.SUSPENDED:
        raise ApiError(
            ErrorCode.TENANT_SUSPENDED,
            "this tenant is suspended: its people cannot sign in until the carrier reactivates it",
        )


async def open_session(
    store: Store,
    user: asyncpg.Record,
    request: web.Request,
    request_id: str | None,
    password_hash: str | None = None,
) -> tuple[s.Session, str]:
    """A new session for the user (audited as `user.sign_in`); its answer and its secret.
    `password_hash`: a stronger hash of the same password to store at the same time."""
    secret = new_session_secret()
    actor = person(user)
    address = client_address(request, request.app[GATE_KEY].trusted_proxies)
    async with store.scoped_to(actor).write(
        actor, user["tenant_id"], "user", "sign_in", str(user["id"]), request_id
    ) as change:
        row = returned(
            await change.connection.fetchrow(
                """INSERT INTO user_sessions (user_id, tenant_id, secret_hash, address,
                                              user_agent, expires_at)
                   VALUES ($1, $2, $3, $4, $5, now() + $6::interval) RETURNING *""",
                user["id"],
                user["tenant_id"],
                _hash(store, secret),
                address[:100],
                request.headers.get("User-Agent", "")[:300],
                store.sessions.absolute,
            )
        )
        await change.connection.execute(
            """UPDATE users SET last_sign_in_at = now(), password_hash = coalesce($2, password_hash)
                WHERE id = $1""",
            user["id"],
            password_hash,
        )
        fresh = await fetch_one(
            change.connection, ("user", "email"), USER_QUERY + " WHERE u.id = $1", user["id"]
        )
    session = _session(store, fresh, secret, row["id"], row["expires_at"])
    return session, secret


def _hash(store: Store, secret: str) -> bytes:
    from rcp.tokens import hash_token  # noqa: PLC0415 - keep the import beside its one use

    return hash_token(secret, store.token_pepper)


def _session(
    store: Store,
    user: asyncpg.Record,
    secret: str,
    session_id: UUID,
    expires_at: datetime,
    view_as: UUID | None = None,
) -> s.Session:
    return s.Session(
        kind="user",
        name=user["email"],
        tenant_id=view_as or user["tenant_id"],
        user=to_user(user),
        role=UserRole(user["role"]),
        csrf_token=csrf_token(secret, store.token_pepper),
        expires_at=expires_at,
        idle_minutes=int(store.sessions.idle.total_seconds() // 60),
        read_only=view_as is not None,
        view_as=view_as,
    )


def with_cookie(store: Store, response: web.Response, secret: str) -> web.Response:
    """Set the session cookie: the browser sends it back to this site only, never to scripts."""
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(store.sessions.absolute.total_seconds()),
        path="/",
        httponly=True,
        secure=store.sessions.secure_cookie,
        samesite="Strict",
    )
    return response


def without_cookie(response: web.Response) -> web.Response:
    """Clear the session cookie."""
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


# --- signing in and out --------------------------------------------------------------------


@ROUTES.post("/session", scope="public", body=s.SignIn, response=s.Session)
async def sign_in(c: Call) -> web.Response:
    """Sign in with an email address and a password (sets the session cookie)"""
    gate = c.request.app[GATE_KEY]
    address = client_address(c.request, gate.trusted_proxies)
    body = await c.body(s.SignIn)
    gate.accounts.check(body.email)
    user = await c.store.everyone().fetchrow(USER_QUERY + " WHERE u.email = $1", body.email)
    stored = None if user is None else user["password_hash"]
    verified = await verify_password(stored, body.password)
    if user is None or stored is None or not verified:
        gate.failures.failed(address)
        gate.accounts.failed(body.email)
        log.info("admin.sign_in_failed", address=address)
        raise ApiError(SIGN_IN_FAILED, "the email address or the password is wrong", "password")
    if user["disabled_at"] is not None:
        raise ApiError(ErrorCode.FORBIDDEN, "this account is disabled: ask your admin")
    _refuse_suspended(user)
    rehashed = await hash_password(body.password) if needs_rehash(stored) else None
    session, secret = await open_session(c.store, user, c.request, c.request_id, rehashed)
    return with_cookie(c.store, answer(session), secret)


@ROUTES.get("/session", response=s.Session, access="self")
async def get_session(c: Call) -> web.Response:
    """Who is calling: the signed-in person (and their CSRF token), or the token"""
    p = c.principal
    if p.user_id is None:
        return answer(s.Session(kind="token", name=p.name, tenant_id=p.tenant_id))
    row = await fetch_one(
        c.store.everyone(),
        ("session", "session"),
        """SELECT s.expires_at, s.view_as_tenant_id, u.*, NULL AS tenant_status
             FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1""",
        p.session_id,
    )
    secret = c.request.cookies.get(SESSION_COOKIE, "")
    return answer(
        _session(
            c.store,
            row,
            secret,
            p.session_id or row["id"],
            row["expires_at"],
            row["view_as_tenant_id"],
        )
    )


@ROUTES.delete("/session", status=HTTPStatus.NO_CONTENT, access="self")
async def sign_out(c: Call) -> web.Response:
    """Sign out (ends this session, clears its cookie)"""
    p = _staff(c.principal)
    async with c.store.scoped_to(p).write(
        p, _own_tenant(c.principal), "user", "sign_out", str(p.user_id), c.request_id
    ) as change:
        await change.connection.execute(
            "UPDATE user_sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
            p.session_id,
        )
    return without_cookie(no_content())


# --- carrier staff viewing a tenant ("view as") ---------------------------------------------


def _staff(p: Principal) -> Principal:
    """The person as themselves: carrier staff viewing a tenant act in the carrier's scope on
    their own session and account (their row is no tenant's)."""
    return replace(p, tenant_id=None, read_only=False) if p.read_only else p


async def _set_viewing(c: Call, tenant_id: UUID, viewing: UUID | None, action: str) -> None:
    """Point the caller's session at a tenant (or back at none), audited in that tenant's log."""
    staff = _staff(c.principal)
    async with c.store.scoped_to(staff).write(
        staff, tenant_id, "session", action, str(tenant_id), c.request_id
    ) as change:
        await change.connection.execute(
            "UPDATE user_sessions SET view_as_tenant_id = $2 WHERE id = $1",
            staff.session_id,
            viewing,
        )
        change.after = {"viewer": staff.name, "role": staff.role and staff.role.value}


@ROUTES.post("/session/view-as", body=s.ViewAs, response=s.Session, access="self")
async def view_as(c: Call) -> web.Response:
    """Carrier staff: view a tenant's pages read-only with this session (audited in the
    tenant's log as session.view_as); DELETE ends it"""
    p = c.principal
    if p.user_id is None or p.role not in CARRIER_ROLES:
        raise ApiError(ErrorCode.FORBIDDEN, "only the carrier's staff may view a tenant")
    if p.read_only:
        raise ApiError(
            ErrorCode.CONFLICT, "you are viewing a tenant already: end it first", "tenant_id"
        )
    body = await c.body(s.ViewAs)
    await c.store.tenant_row(p, body.tenant_id)
    await _set_viewing(c, body.tenant_id, body.tenant_id, "view_as")
    return await get_session(c)


@ROUTES.delete("/session/view-as", status=HTTPStatus.NO_CONTENT, access="self")
async def end_view_as(c: Call) -> web.Response:
    """Stop viewing a tenant: the session is the carrier's staff's again (audited as
    session.view_as_end)"""
    p = c.principal
    if not p.read_only or p.tenant_id is None:
        raise ApiError(ErrorCode.CONFLICT, "you are not viewing a tenant")
    await _set_viewing(c, p.tenant_id, None, "view_as_end")
    return no_content()


# --- one's own account ---------------------------------------------------------------------


async def _me(reader: Reader, user_id: UUID | None) -> asyncpg.Record:
    return await fetch_one(reader, ("user", "user"), USER_QUERY + " WHERE u.id = $1", user_id)


def _own_tenant(p: Principal) -> UUID | None:
    """The tenant a person's own changes are recorded under (not the one they view as)."""
    return None if p.read_only else p.tenant_id


@ROUTES.patch("/me", body=s.MePatch, response=s.User, access="self")
async def patch_me(c: Call) -> web.Response:
    """Change your name or language"""
    p = c.principal
    body = await c.body(s.MePatch)
    async with c.store.write(
        p, _own_tenant(p), "user", "update", str(p.user_id), c.request_id
    ) as change:
        before = to_user(await _me(change.connection, p.user_id))
        await change.connection.execute(
            "UPDATE users SET name = coalesce($2, name), language = coalesce($3, language) WHERE id = $1",
            p.user_id,
            body.name,
            body.language,
        )
        after = to_user(await _me(change.connection, p.user_id))
        change.record(before, after)
    return answer(after)


@ROUTES.put("/me/password", body=s.PasswordChange, status=HTTPStatus.NO_CONTENT, access="self")
async def change_password(c: Call) -> web.Response:
    """Change your password (your other sessions end)"""
    p = c.principal
    body = await c.body(s.PasswordChange)
    gate = c.request.app[GATE_KEY]
    gate.accounts.check(p.name)
    me = await _me(c.store.everyone(), p.user_id)
    if not await verify_password(me["password_hash"], body.current_password):
        gate.accounts.failed(p.name)
        raise ApiError(WRONG_PASSWORD, "your current password is not this one", "current_password")
    check_strength(body.new_password, me["email"], "new_password")
    digest = await hash_password(body.new_password)
    async with c.store.write(
        p, _own_tenant(p), "user", "password_change", str(p.user_id), c.request_id
    ) as change:
        await change.connection.execute(
            "UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1",
            p.user_id,
            digest,
        )
        ended = await revoke_sessions(change.connection, me["id"], keep=p.session_id)
        change.after = {"other_sessions_ended": ended}
    return no_content()


@ROUTES.get("/me/sessions", response=s.SessionList, access="self")
async def list_my_sessions(c: Call) -> web.Response:
    """Your open sessions (where and since when)"""
    p = c.principal
    rows = await c.store.everyone().fetch(
        """SELECT * FROM user_sessions WHERE user_id = $1 AND revoked_at IS NULL
              AND expires_at > now() AND last_seen_at > now() - $2::interval
            ORDER BY last_seen_at DESC""",
        p.user_id,
        c.store.sessions.idle,
    )
    items = [
        s.SessionInfo.model_validate({**dict(r), "current": r["id"] == p.session_id}) for r in rows
    ]
    return answer(s.SessionList(items=items))


@ROUTES.delete("/me/sessions", status=HTTPStatus.NO_CONTENT, access="self")
async def sign_out_everywhere(c: Call) -> web.Response:
    """Sign out everywhere: every session of yours ends, this one too"""
    p = c.principal
    async with c.store.write(
        p, _own_tenant(p), "user", "sign_out_everywhere", str(p.user_id), c.request_id
    ) as change:
        ended = await revoke_sessions(change.connection, p.user_id)  # type: ignore[arg-type]
        change.after = {"sessions_ended": ended}
    return without_cookie(no_content())


# --- links sent by email: password resets and invitations ----------------------------------


@ROUTES.post("/password-reset", scope="public", body=s.ResetRequest, status=HTTPStatus.NO_CONTENT)
async def request_password_reset(c: Call) -> web.Response:
    """Ask for a password reset link by email (the answer is the same for any address)"""
    gate = c.request.app[GATE_KEY]
    address = client_address(c.request, gate.trusted_proxies)
    body = await c.body(s.ResetRequest)
    gate.failures.failed(address)  # every request counts: no address may flood mailboxes
    store = c.store
    user = await store.everyone().fetchrow(
        USER_QUERY
        + """ WHERE u.email = $1 AND u.disabled_at IS NULL AND u.password_hash IS NOT NULL
              AND NOT EXISTS (SELECT FROM user_links l WHERE l.user_id = u.id
                                 AND l.purpose = 'password_reset'
                                 AND l.created_at > now() - interval '1 minute')""",
        body.email,
    )
    if user is None or user["tenant_status"] == TenantStatus.SUSPENDED:
        return no_content()
    actor = person(user)
    async with store.scoped_to(actor).write(
        actor, user["tenant_id"], "user", "password_reset_request", str(user["id"]), c.request_id
    ) as change:
        link = await new_link(store, change.connection, user, LinkPurpose.PASSWORD_RESET)
    sent, problem = await send(
        store, emails.password_reset(to_user(user), link.url, link.expires_at)
    )
    if not sent:
        log.warning("admin.password_reset_not_sent", problem=problem)
    return no_content()


@ROUTES.post("/links/check", scope="public", body=s.LinkCheck, response=s.Link)
async def check_link(c: Call) -> web.Response:
    """What a link from an email is for, and whose (410 link_invalid once used or expired)"""
    gate = c.request.app[GATE_KEY]
    body = await c.body(s.LinkCheck)
    try:
        row = await find_link(c.store.everyone(), c.store.token_pepper, body.token)
    except ApiError:
        gate.failures.failed(client_address(c.request, gate.trusted_proxies))
        raise
    return answer(s.Link(purpose=row["purpose"], email=row["email"], expires_at=row["expires_at"]))


@ROUTES.post("/links/use", scope="public", body=s.LinkUse, response=s.Session)
async def use_link(c: Call) -> web.Response:
    """Choose a password with a link from an email (an invitation or a reset): signs you in,
    and a reset ends every other session"""
    gate = c.request.app[GATE_KEY]
    body = await c.body(s.LinkUse)
    store = c.store
    try:
        row = await find_link(store.everyone(), store.token_pepper, body.token)
    except ApiError:
        gate.failures.failed(client_address(c.request, gate.trusted_proxies))
        raise
    _refuse_suspended(row)
    check_strength(body.password, row["email"])
    digest = await hash_password(body.password)
    actor = person(row)
    action = "accept_invitation" if row["purpose"] == LinkPurpose.INVITATION else "password_reset"
    async with store.scoped_to(actor).write(
        actor, row["tenant_id"], "user", action, str(row["id"]), c.request_id
    ) as change:
        locked = await find_link(change.connection, store.token_pepper, body.token, lock=True)
        await change.connection.execute(
            "UPDATE user_links SET used_at = now() WHERE id = $1", locked["link_id"]
        )
        await change.connection.execute(
            "UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1",
            row["id"],
            digest,
        )
        change.after = {"sessions_ended": await revoke_sessions(change.connection, row["id"])}
    user = await fetch_one(
        store.everyone(), ("user", "token"), USER_QUERY + " WHERE u.id = $1", row["id"]
    )
    session, secret = await open_session(store, user, c.request, c.request_id)
    return with_cookie(store, answer(session), secret)
