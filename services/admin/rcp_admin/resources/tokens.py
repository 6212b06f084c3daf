"""Admin tokens: issued (shown once), listed and revoked by the carrier.

A token is the carrier's (every tenant) or one tenant's; the same operations serve both,
under `/v1/tokens` and under a tenant's path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from uuid import UUID

import asyncpg
from aiohttp import web
from rcp.tokens import issue_token

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.routing import TENANT, Call, Route, answer, created, no_content
from rcp_admin.unit_of_work import Store, fetch_one, jsonable, returned


def _token(row: asyncpg.Record | None) -> s.Token:
    row = returned(row)
    return s.Token.model_validate({**dict(row), "prefix": row["token_prefix"]})


async def issue(
    store: Store,
    actor: Principal,
    tenant_id: UUID | None,
    body: s.TokenCreate,
    request_id: str | None,
) -> s.IssuedToken:
    """A new token for the tenant (None: a carrier token); its secret is shown only here.
    It expires when asked, within the longest lifetime, or after the default one."""
    actor.require_carrier()
    expires_at = store.token_lifetime.expiry(body.expires_at, datetime.now(UTC))
    issued = issue_token(store.token_pepper)
    async with store.write(actor, tenant_id, "token", "issue", None, request_id) as change:
        if tenant_id is not None:
            await store.tenant_row(actor, tenant_id, change.connection)
        row = await change.connection.fetchrow(
            """INSERT INTO admin_tokens (scope, tenant_id, name, token_hash, token_prefix, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
            "carrier" if tenant_id is None else "tenant",
            tenant_id,
            body.name,
            issued.digest,
            issued.prefix,
            expires_at,
        )
        token = _token(row)
        change.key, change.after = str(token.id), jsonable(token)
    return s.IssuedToken(**token.model_dump(), token=issued.token)


async def list_all(store: Store, actor: Principal, tenant_id: UUID | None) -> s.TokenList:
    """The tenant's tokens (None: the carrier's)."""
    actor.require_carrier()
    if tenant_id is not None:
        await store.tenant_row(actor, tenant_id)
    rows = await store.pool.fetch(
        """SELECT * FROM admin_tokens WHERE tenant_id IS NOT DISTINCT FROM $1
           ORDER BY created_at""",
        tenant_id,
    )
    return s.TokenList(items=[_token(r) for r in rows])


async def revoke(
    store: Store, actor: Principal, tenant_id: UUID | None, token_id: UUID, request_id: str | None
) -> None:
    """Revoke a token at once (revoking it again changes nothing)."""
    actor.require_carrier()
    async with store.write(
        actor, tenant_id, "token", "revoke", str(token_id), request_id
    ) as change:
        row = await fetch_one(
            change.connection,
            ("token", "token_id"),
            """UPDATE admin_tokens SET revoked_at = coalesce(revoked_at, now())
                WHERE id = $1 AND tenant_id IS NOT DISTINCT FROM $2 RETURNING *""",
            token_id,
            tenant_id,
        )
        change.after = jsonable(_token(row))
    store.memory.forget_token(token_id)  # refused at once here (`rcp_admin.memory`)


async def _issue(c: Call, tenant_id: UUID | None) -> web.Response:
    body = await c.body(s.TokenCreate)
    return created(await issue(c.store, c.principal, tenant_id, body, c.request_id))


async def _revoke(c: Call, tenant_id: UUID | None) -> web.Response:
    token_id = c.path_uuid("token_id", "token")
    await revoke(c.store, c.principal, tenant_id, token_id, c.request_id)
    return no_content()


async def issue_tenant_token(c: Call) -> web.Response:
    return await _issue(c, c.tenant_id)


async def list_tenant_tokens(c: Call) -> web.Response:
    return answer(await list_all(c.store, c.principal, c.tenant_id))


async def revoke_tenant_token(c: Call) -> web.Response:
    return await _revoke(c, c.tenant_id)


async def issue_carrier_token(c: Call) -> web.Response:
    return await _issue(c, None)


async def list_carrier_tokens(c: Call) -> web.Response:
    return answer(await list_all(c.store, c.principal, None))


async def revoke_carrier_token(c: Call) -> web.Response:
    return await _revoke(c, None)


def _routes(root: str, owner: str, prefix: str) -> list[Route]:
    handlers = {
        "tenant": (issue_tenant_token, list_tenant_tokens, revoke_tenant_token),
        "carrier": (issue_carrier_token, list_carrier_tokens, revoke_carrier_token),
    }[owner]
    return [
        Route(
            "POST",
            f"{root}/tokens",
            handlers[0],
            f"Issue a {owner} {prefix}token (shown once)",
            "carrier",
            s.TokenCreate,
            s.IssuedToken,
            HTTPStatus.CREATED,
        ),
        Route(
            "GET",
            f"{root}/tokens",
            handlers[1],
            "List a tenant's tokens" if owner == "tenant" else "List carrier tokens",
            "carrier",
            response=s.TokenList,
        ),
        Route(
            "DELETE",
            f"{root}/tokens/{{token_id}}",
            handlers[2],
            f"Revoke a {owner} token",
            "carrier",
            status=HTTPStatus.NO_CONTENT,
        ),
    ]


ROUTES = _routes(TENANT, "tenant", "admin ") + _routes("/v1", "carrier", "")
