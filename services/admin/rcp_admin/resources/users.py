"""People: a tenant's users (admin, editor, viewer) and the carrier's staff (operator, support).

A tenant's admins invite its users (an email with a one-time link to choose a password),
change their role, disable and delete them; the carrier does the same for any tenant and for
its own staff (under `/v1/users`). A tenant keeps at least one active admin once it has one,
and the carrier at least one active operator. Disabling or deleting someone signs them out
everywhere at once.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from aiohttp import web
from rcp.errors import ErrorCode, ReceptionistError
from rcp.vocabulary import LinkPurpose, UserRole

from rcp_admin import emails
from rcp_admin import schemas as s
from rcp_admin.auth import CARRIER_ROLES, Principal
from rcp_admin.errors import LAST_ADMIN, VALIDATION_FAILED, ApiError
from rcp_admin.links import new_link
from rcp_admin.passwords import check_strength, hash_password
from rcp_admin.routing import TENANT, Call, Handler, Route, answer, created, no_content
from rcp_admin.unit_of_work import Reader, Store, fetch_one, jsonable, returned

log = structlog.get_logger(__name__)

TENANT_ROLES = frozenset({UserRole.ADMIN, UserRole.EDITOR, UserRole.VIEWER})


def to_user(row: asyncpg.Record) -> s.User:
    """A user as the API shows it (never their password's hash)."""
    status = (
        "disabled"
        if row["disabled_at"] is not None
        else "invited"
        if row["password_hash"] is None
        else "active"
    )
    fields = {name: row[name] for name in s.User.model_fields if name != "status"}
    return s.User.model_validate({**fields, "status": status})


def _check_role(tenant_id: UUID | None, role: UserRole) -> None:
    if tenant_id is None and role not in CARRIER_ROLES:
        raise ApiError(VALIDATION_FAILED, "the carrier's staff are operators or support", "role")
    if tenant_id is not None and role not in TENANT_ROLES:
        raise ApiError(VALIDATION_FAILED, "a tenant's users are admins, editors or viewers", "role")


def _require_owner(actor: Principal, tenant_id: UUID | None) -> None:
    """The carrier's staff are the carrier's to manage; a tenant's, its admins' (the route
    checked the tenant) or the carrier's."""
    if tenant_id is None:
        actor.require_carrier()


async def _one(
    reader: Reader, tenant_id: UUID | None, user_id: UUID, lock: bool = False
) -> asyncpg.Record:
    return await fetch_one(
        reader,
        ("user", "user_id"),
        "SELECT * FROM users WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2"
        + (" FOR UPDATE" if lock else ""),
        user_id,
        tenant_id,
    )


async def list_all(store: Store, actor: Principal, tenant_id: UUID | None) -> s.UserList:
    """The tenant's users (None: the carrier's staff), by email."""
    _require_owner(actor, tenant_id)
    if tenant_id is not None:
        await store.tenant_row(actor, tenant_id)
    rows = await store.pool.fetch(
        "SELECT * FROM users WHERE tenant_id IS NOT DISTINCT FROM $1 ORDER BY email", tenant_id
    )
    return s.UserList(items=[to_user(r) for r in rows])


async def read(store: Store, actor: Principal, tenant_id: UUID | None, user_id: UUID) -> s.User:
    """One user."""
    _require_owner(actor, tenant_id)
    if tenant_id is not None:
        await store.tenant_row(actor, tenant_id)
    return to_user(await _one(store.pool, tenant_id, user_id))


async def invite(
    store: Store,
    actor: Principal,
    tenant_id: UUID | None,
    body: s.UserCreate,
    request_id: str | None,
) -> s.InvitedUser:
    """A new user, invited by email to choose a password (the link is good once, for the
    invitation's lifetime)."""
    _require_owner(actor, tenant_id)
    _check_role(tenant_id, body.role)
    async with store.write(actor, tenant_id, "user", "invite", None, request_id) as change:
        tenant = None
        if tenant_id is not None:
            tenant = await store.tenant_row(actor, tenant_id, change.connection)
        row = returned(
            await change.connection.fetchrow(
                """INSERT INTO users (tenant_id, email, name, role, language)
                   VALUES ($1, $2, $3, $4, $5) RETURNING *""",
                tenant_id,
                body.email,
                body.name,
                body.role,
                body.language,
            )
        )
        user = to_user(row)
        link = await new_link(store, change.connection, row, LinkPurpose.INVITATION)
        change.key, change.after = str(user.id), jsonable(user)
    message = emails.invitation(
        user, link.url, link.expires_at, actor_name(actor), tenant["name"] if tenant else None
    )
    sent, problem = await send(store, message)
    return s.InvitedUser(
        **user.model_dump(),
        invitation=s.Invitation(sent=sent, expires_at=link.expires_at, problem=problem),
    )


def actor_name(actor: Principal) -> str:
    """How an email names who acted: the person, else the carrier."""
    return actor.name if actor.user_id is not None else ""


async def send(store: Store, message: emails.EmailMessage) -> tuple[bool, str | None]:
    """Hand a message to the relay: whether it took it, and if not why (nothing is undone:
    the invitation can be sent again)."""
    if store.mailer is None:
        return False, "no mail relay is configured (RCP_SMTP_HOST)"
    try:
        await store.mailer.send(message)
    except ReceptionistError as error:
        log.warning("admin.mail_not_sent", code=str(error.code), error=error.message)
        return False, error.message
    return True, None


async def resend_invitation(
    store: Store, actor: Principal, tenant_id: UUID | None, user_id: UUID, request_id: str | None
) -> s.Invitation:
    """Send a user who has not chosen a password yet a new invitation (the old links stop
    working)."""
    _require_owner(actor, tenant_id)
    async with store.write(
        actor, tenant_id, "user", "invite_again", str(user_id), request_id
    ) as change:
        tenant = None
        if tenant_id is not None:
            tenant = await store.tenant_row(actor, tenant_id, change.connection)
        row = await _one(change.connection, tenant_id, user_id, lock=True)
        if row["password_hash"] is not None:
            raise ApiError(
                ErrorCode.CONFLICT,
                "this user has already chosen a password: they can reset it from the sign-in page",
                "user_id",
            )
        link = await new_link(store, change.connection, row, LinkPurpose.INVITATION)
    user = to_user(row)
    message = emails.invitation(
        user, link.url, link.expires_at, actor_name(actor), tenant["name"] if tenant else None
    )
    sent, problem = await send(store, message)
    return s.Invitation(sent=sent, expires_at=link.expires_at, problem=problem)


async def create_with_password(
    store: Store,
    actor: Principal,
    tenant_id: UUID | None,
    body: s.UserCreate,
    password: str,
    request_id: str | None = None,
) -> s.User:
    """A user who can sign in at once with `password` (the command line's, e.g. the carrier's
    first operator)."""
    _require_owner(actor, tenant_id)
    _check_role(tenant_id, body.role)
    check_strength(password, body.email)
    digest = await hash_password(password)
    async with store.write(actor, tenant_id, "user", "create", None, request_id) as change:
        if tenant_id is not None:
            await store.tenant_row(actor, tenant_id, change.connection)
        row = await change.connection.fetchrow(
            """INSERT INTO users (tenant_id, email, name, role, language, password_hash,
                                  password_changed_at)
               VALUES ($1, $2, $3, $4, $5, $6, now()) RETURNING *""",
            tenant_id,
            body.email,
            body.name,
            body.role,
            body.language,
            digest,
        )
        user = to_user(returned(row))
        change.key, change.after = str(user.id), jsonable(user)
    return user


async def _keeps_an_admin(connection: Reader, tenant_id: UUID | None) -> None:
    """Refuse a change that leaves a tenant (or the carrier) that had an active admin (or
    operator) with none."""
    role = UserRole.OPERATOR if tenant_id is None else UserRole.ADMIN
    left = await connection.fetchval(
        """SELECT count(*) FROM users WHERE tenant_id IS NOT DISTINCT FROM $1 AND role = $2
              AND disabled_at IS NULL AND password_hash IS NOT NULL""",
        tenant_id,
        role,
    )
    if left == 0:
        who = "the carrier's last operator" if tenant_id is None else "the tenant's last admin"
        raise ApiError(
            LAST_ADMIN,
            f"this is {who}: give someone else that role first",
            "role",
        )


def _was_admin(row: asyncpg.Record) -> bool:
    return (
        row["role"] in (UserRole.ADMIN, UserRole.OPERATOR)
        and row["disabled_at"] is None
        and row["password_hash"] is not None
    )


async def update(
    store: Store,
    actor: Principal,
    tenant_id: UUID | None,
    user_id: UUID,
    body: s.UserPatch,
    request_id: str | None,
) -> s.User:
    """Change a user's name, role or language, or disable (sign out everywhere) or enable them."""
    _require_owner(actor, tenant_id)
    if body.role is not None:
        _check_role(tenant_id, body.role)
    async with store.write(actor, tenant_id, "user", "update", str(user_id), request_id) as change:
        connection = change.connection
        if tenant_id is not None:
            await store.tenant_row(actor, tenant_id, connection)
        current = await _one(connection, tenant_id, user_id, lock=True)
        values = body.model_dump(exclude_unset=True, exclude={"disabled"})
        disabled = body.disabled
        await connection.execute(
            """UPDATE users SET name = coalesce($2, name), role = coalesce($3, role),
                      language = coalesce($4, language),
                      disabled_at = CASE WHEN $5::boolean IS NULL THEN disabled_at
                                         WHEN $5 THEN coalesce(disabled_at, now()) END
                WHERE id = $1""",
            user_id,
            values.get("name"),
            values.get("role"),
            values.get("language"),
            disabled,
        )
        if disabled:
            await revoke_sessions(connection, user_id)
        row = await _one(connection, tenant_id, user_id)
        if _was_admin(current) and not _was_admin(row):
            await _keeps_an_admin(connection, tenant_id)
        change.record(to_user(current), to_user(row))
    return to_user(row)


async def delete(
    store: Store, actor: Principal, tenant_id: UUID | None, user_id: UUID, request_id: str | None
) -> None:
    """Delete a user: signed out at once; the audit log keeps what they did, by their email."""
    _require_owner(actor, tenant_id)
    async with store.write(actor, tenant_id, "user", "delete", str(user_id), request_id) as change:
        if tenant_id is not None:
            await store.tenant_row(actor, tenant_id, change.connection)
        current = await _one(change.connection, tenant_id, user_id, lock=True)
        await change.connection.execute("DELETE FROM users WHERE id = $1", user_id)
        if _was_admin(current):
            await _keeps_an_admin(change.connection, tenant_id)
        change.before = jsonable(to_user(current))


async def revoke_sessions(connection: Reader, user_id: UUID, keep: UUID | None = None) -> int:
    """End a user's sessions (but `keep`); how many were open."""
    status: str = await connection.execute(
        """UPDATE user_sessions SET revoked_at = now()
            WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $2""",
        user_id,
        keep,
    )
    return int(status.rsplit(maxsplit=1)[-1])


async def sign_out(
    store: Store, actor: Principal, tenant_id: UUID | None, user_id: UUID, request_id: str | None
) -> None:
    """Sign a user out everywhere (a lost phone, someone leaving)."""
    _require_owner(actor, tenant_id)
    async with store.write(
        actor, tenant_id, "user", "sign_out_everywhere", str(user_id), request_id
    ) as change:
        if tenant_id is not None:
            await store.tenant_row(actor, tenant_id, change.connection)
        await _one(change.connection, tenant_id, user_id)
        ended = await revoke_sessions(change.connection, user_id)
        change.after = {"sessions_ended": ended}


# --- handlers: the same operations for a tenant's users and for the carrier's staff --------


def _owner(c: Call) -> UUID | None:
    return c.tenant_id if "tenant_id" in c.request.match_info else None


async def list_users(c: Call) -> web.Response:
    return answer(await list_all(c.store, c.principal, _owner(c)))


async def invite_user(c: Call) -> web.Response:
    body = await c.body(s.UserCreate)
    return created(await invite(c.store, c.principal, _owner(c), body, c.request_id))


async def get_user(c: Call) -> web.Response:
    return answer(await read(c.store, c.principal, _owner(c), c.path_uuid("user_id", "user")))


async def patch_user(c: Call) -> web.Response:
    body = await c.body(s.UserPatch)
    user_id = c.path_uuid("user_id", "user")
    return answer(await update(c.store, c.principal, _owner(c), user_id, body, c.request_id))


async def delete_user(c: Call) -> web.Response:
    await delete(c.store, c.principal, _owner(c), c.path_uuid("user_id", "user"), c.request_id)
    return no_content()


async def invite_user_again(c: Call) -> web.Response:
    user_id = c.path_uuid("user_id", "user")
    return answer(await resend_invitation(c.store, c.principal, _owner(c), user_id, c.request_id))


async def sign_user_out(c: Call) -> web.Response:
    await sign_out(c.store, c.principal, _owner(c), c.path_uuid("user_id", "user"), c.request_id)
    return no_content()


def _named(handler: Handler, name: str) -> Handler:
    """The same handler under another operation id (the carrier's staff's)."""

    async def named(c: Call) -> web.StreamResponse:
        return await handler(c)

    named.__name__ = name
    return named


def _routes(root: str, staff: bool, whose: str) -> list[Route]:
    one = f"{root}/users/{{user_id}}"
    access: dict[str, Any] = {"scope": "carrier" if staff else "tenant", "access": "admin"}
    handlers: list[Handler] = [
        list_users, invite_user, get_user, patch_user, delete_user, invite_user_again,
        sign_user_out,
    ]  # fmt: skip
    if staff:
        handlers = [_named(h, h.__name__.replace("user", "staff")) for h in handlers]
    list_users_, invite_user_, get_user_, patch_user_, delete_user_, again_, sign_out_ = handlers
    return [
        Route("GET", f"{root}/users", list_users_, f"List {whose}", response=s.UserList, **access),
        Route(
            "POST",
            f"{root}/users",
            invite_user_,
            f"Invite one of {whose} by email",
            body=s.UserCreate,
            response=s.InvitedUser,
            status=HTTPStatus.CREATED,
            **access,
        ),
        Route("GET", one, get_user_, f"Read one of {whose}", response=s.User, **access),
        Route(
            "PATCH",
            one,
            patch_user_,
            f"Change one of {whose} (name, role, language, disabled)",
            body=s.UserPatch,
            response=s.User,
            **access,
        ),
        Route(
            "DELETE",
            one,
            delete_user_,
            f"Delete one of {whose}",
            status=HTTPStatus.NO_CONTENT,
            **access,
        ),
        Route(
            "POST",
            f"{one}/invitation",
            again_,
            f"Send one of {whose} a new invitation",
            response=s.Invitation,
            **access,
        ),
        Route(
            "DELETE",
            f"{one}/sessions",
            sign_out_,
            f"Sign one of {whose} out everywhere",
            status=HTTPStatus.NO_CONTENT,
            **access,
        ),
    ]


ROUTES = _routes(TENANT, False, "the tenant's users") + _routes("/v1", True, "the carrier's staff")
