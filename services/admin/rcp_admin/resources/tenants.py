"""Tenants: created, changed and deleted by the carrier; each tenant's admins read their own.

Deleting a tenant erases it: its rows go (the schema cascades), its audio files go (the media
service deletes them once the deletion commits), and its audit entries are redacted (their
before and after, the keys they name and the names of its own tokens), so that the audit log
keeps that something was done, when and by which carrier token, and nothing of the tenant.
"""

from __future__ import annotations

from http import HTTPStatus
from uuid import UUID

from aiohttp import web

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import TENANT_ACTIVE, ApiError
from rcp_admin.routing import TENANT, Call, Routes, answer, created, no_content
from rcp_admin.unit_of_work import Reader, Store, jsonable, returned

ROUTES = Routes()


async def create(
    store: Store, actor: Principal, body: s.TenantCreate, request_id: str | None
) -> s.Tenant:
    """A new tenant, with its receptionist."""
    actor.require_carrier()
    async with store.write(actor, None, "tenant", "create", body.slug, request_id) as change:
        row = await change.connection.fetchrow(
            """INSERT INTO tenants (slug, name, locale, timezone) VALUES ($1, $2, $3, $4)
               RETURNING *""",
            body.slug,
            body.name,
            body.locale,
            body.timezone,
        )
        row = returned(row)
        await change.connection.execute(
            "INSERT INTO receptionists (tenant_id, language) VALUES ($1, $2)",
            row["id"],
            body.locale,
        )
        tenant = s.Tenant.model_validate(dict(row))
        change.tenant_id, change.key, change.after = row["id"], str(row["id"]), jsonable(tenant)
    return tenant


async def list_all(store: Store, actor: Principal) -> s.TenantList:
    """Every tenant the actor sees: all for the carrier, its own for a tenant."""
    rows = await store.pool.fetch(
        "SELECT * FROM tenants WHERE $1::uuid IS NULL OR id = $1 ORDER BY slug", actor.tenant_id
    )
    return s.TenantList(items=[s.Tenant.model_validate(dict(r)) for r in rows])


async def read(store: Store, actor: Principal, tenant_id: UUID) -> s.Tenant:
    """One tenant."""
    return s.Tenant.model_validate(dict(await store.tenant_row(actor, tenant_id)))


async def update(
    store: Store, actor: Principal, tenant_id: UUID, body: s.TenantPatch, request_id: str | None
) -> s.Tenant:
    """Change a tenant's name, locale, time zone or status."""
    actor.require_carrier()
    async with store.write(
        actor, tenant_id, "tenant", "update", str(tenant_id), request_id
    ) as change:
        current = await store.tenant_row(actor, tenant_id, change.connection, lock=True)
        before = s.Tenant.model_validate(dict(current))
        values = before.model_dump() | body.model_dump(exclude_unset=True, exclude_none=True)
        row = await change.connection.fetchrow(
            """UPDATE tenants SET name = $2, locale = $3, timezone = $4, status = $5
                WHERE id = $1 RETURNING *""",
            tenant_id,
            values["name"],
            values["locale"],
            values["timezone"],
            values["status"],
        )
        after = s.Tenant.model_validate(dict(returned(row)))
        change.record(before, after)
    return after


async def delete(store: Store, actor: Principal, tenant_id: UUID, request_id: str | None) -> None:
    """Erase a suspended tenant: everything it owns, its audio files, its audit entries' data."""
    actor.require_carrier()
    async with store.write(
        actor, tenant_id, "tenant", "delete", str(tenant_id), request_id
    ) as change:
        row = await store.tenant_row(actor, tenant_id, change.connection, lock=True)
        if row["status"] != "suspended":
            raise ApiError(
                TENANT_ACTIVE,
                "a tenant is deleted with everything it owns, voicemail included: "
                "suspend it first (PATCH status=suspended), then delete it",
                "status",
            )
        connection = change.connection
        change.audio_to_forget = [
            r["content_hash"]
            for r in await connection.fetch(
                """SELECT DISTINCT content_hash FROM prompts
                    WHERE tenant_id = $1 AND source <> 'tts' AND content_hash IS NOT NULL""",
                tenant_id,
            )
        ]
        counts = await connection.fetchrow(
            """SELECT (SELECT count(*) FROM extensions WHERE tenant_id = $1) AS extensions,
                      (SELECT count(*) FROM prompts WHERE tenant_id = $1) AS prompts,
                      (SELECT count(*) FROM voicemail_messages WHERE tenant_id = $1) AS voicemail,
                      (SELECT count(*) FROM call_records WHERE tenant_id = $1) AS call_records""",
            tenant_id,
        )
        await redact_audit(connection, tenant_id)
        # What was erased, and nothing of the tenant: not even its name (a sole trader's).
        change.before = {"erased": dict(returned(counts))}
        await connection.execute("DELETE FROM tenants WHERE id = $1", tenant_id)


async def redact_audit(connection: Reader, tenant_id: UUID) -> None:
    """Strip a tenant's audit entries of its data: what was written (before, after), the keys
    they name (numbers, names) and the names of the tenant's own tokens and people that acted. Kept: when,
    which action on which kind of thing, carrier and command-line actors, request ids."""
    await connection.execute(
        """UPDATE audit_log
              SET before = NULL, after = NULL,
                  entity_key = CASE WHEN entity = 'tenant' THEN entity_key END,
                  actor = CASE WHEN actor_token_id IN (SELECT id FROM admin_tokens
                                                        WHERE tenant_id = $1)
                               THEN 'erased tenant admin'
                               WHEN actor_user_id IN (SELECT id FROM users WHERE tenant_id = $1)
                               THEN 'erased tenant user' ELSE actor END
            WHERE tenant_id = $1""",
        tenant_id,
    )


@ROUTES.post(
    "/v1/tenants",
    scope="carrier",
    body=s.TenantCreate,
    response=s.Tenant,
    status=HTTPStatus.CREATED,
)
async def create_tenant(c: Call) -> web.Response:
    """Create a tenant (with its receptionist)"""
    body = await c.body(s.TenantCreate)
    return created(await create(c.store, c.principal, body, c.request_id))


@ROUTES.get("/v1/tenants", response=s.TenantList)
async def list_tenants(c: Call) -> web.Response:
    """List tenants (a tenant token sees its own)"""
    return answer(await list_all(c.store, c.principal))


@ROUTES.get(TENANT, response=s.Tenant)
async def get_tenant(c: Call) -> web.Response:
    """Read a tenant"""
    return answer(await read(c.store, c.principal, c.tenant_id))


@ROUTES.patch(TENANT, scope="carrier", body=s.TenantPatch, response=s.Tenant)
async def patch_tenant(c: Call) -> web.Response:
    """Change a tenant's name, locale, time zone or status"""
    body = await c.body(s.TenantPatch)
    return answer(await update(c.store, c.principal, c.tenant_id, body, c.request_id))


@ROUTES.delete(TENANT, scope="carrier", status=HTTPStatus.NO_CONTENT)
async def delete_tenant(c: Call) -> web.Response:
    """Delete a suspended tenant and everything it owns"""
    await delete(c.store, c.principal, c.tenant_id, c.request_id)
    return no_content()
