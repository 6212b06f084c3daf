"""The carrier's outbound policy of a tenant: which outside numbers its virtual extensions ring.

The carrier sets it; a tenant token may read it, so that its admins (and the web manager) can
see why a number is refused. A write is checked by `rcp.outbound.OutboundPolicy`, audited, and
announced (config-changed `outbound_policy`): the stasis service applies it to the tenant's
calls at once, those under way included. A tenant without a row has the default policy.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aiohttp import web
from rcp.outbound import (
    POLICY_COLUMNS,
    OutboundPolicy,
    Refusal,
    Verdict,
    check,
    policy_of,
    region_of_locale,
)

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import DESTINATION_NOT_ALLOWED, VALIDATION_FAILED, ApiError
from rcp_admin.resources import carrier_rows
from rcp_admin.routing import NO_CONTENT, TENANT, Call, Routes, answer, no_content
from rcp_admin.unit_of_work import Reader, Store

ROUTES = Routes(TENANT)

SELECT = (
    f"SELECT {', '.join(POLICY_COLUMNS)}, updated_at FROM outbound_policies WHERE tenant_id = $1"
)
VIRTUAL = """SELECT number, external_number FROM extensions
              WHERE tenant_id = $1 AND kind = 'virtual' ORDER BY number"""


async def tenant_policy(reader: Reader, tenant_id: UUID) -> OutboundPolicy:
    """The policy in force for a tenant (the default one without a row)."""
    locale: str = await reader.fetchval("SELECT locale FROM tenants WHERE id = $1", tenant_id)
    return policy_of(await reader.fetchrow(SELECT, tenant_id), locale)


def refusal_of(verdict: Verdict | None) -> s.DestinationRefusal | None:
    """Why a number is refused, as the API shows it (None if it is allowed)."""
    if verdict is None or verdict.allowed:
        return None
    return s.DestinationRefusal.model_validate(verdict.details())


def _why(verdict: Verdict) -> str:
    destination = verdict.destination
    match verdict.refusal:
        case Refusal.DENIED_PREFIX:
            return f"numbers beginning {verdict.prefix} are not allowed by your carrier's policy"
        case Refusal.INVALID_NUMBER:
            return "this is not a valid phone number"
        case Refusal.NON_GEOGRAPHIC:
            return (
                "satellite and international network numbers are not allowed by your "
                "carrier's policy"
            )
        case Refusal.INTERNATIONAL:
            return f"numbers of {destination.region} are not allowed by your carrier's policy"
        case _:
            kind = destination.number_type.value.replace("_", " ")
            return f"{kind} numbers are not allowed by your carrier's policy"


async def check_destination(
    reader: Reader, tenant_id: UUID, e164: str, field_name: str = "external_number"
) -> None:
    """Refuse an outside number the tenant's policy does not allow (422, with the number's type,
    its country and the rule that refused it in details)."""
    verdict = check(await tenant_policy(reader, tenant_id), e164)
    if not verdict.allowed:
        raise ApiError(DESTINATION_NOT_ALLOWED, _why(verdict), field_name, verdict.details())


async def _model(reader: Reader, tenant_id: UUID) -> s.OutboundPolicy:
    locale: str = await reader.fetchval("SELECT locale FROM tenants WHERE id = $1", tenant_id)
    row = await reader.fetchrow(SELECT, tenant_id)
    policy = policy_of(row, locale)
    refused = []
    for extension in await reader.fetch(VIRTUAL, tenant_id):
        refusal = refusal_of(check(policy, extension["external_number"]))
        if refusal is not None:
            refused.append(s.RefusedExtension(**dict(extension), refusal=refusal))
    return s.OutboundPolicy(
        home_region=row["home_region"] if row else None,
        country=policy.home_region,
        allowed_regions=list(row["allowed_regions"] if row else []),
        allowed_number_types=sorted(policy.allowed_types),
        allowed_prefixes=list(policy.allowed_prefixes),
        denied_prefixes=list(policy.denied_prefixes),
        refused_extensions=refused,
        updated_at=row["updated_at"] if row else None,
    )


async def read(store: Store, actor: Principal, tenant_id: UUID) -> s.OutboundPolicy:
    """The tenant's policy, and which of its virtual extensions it refuses."""
    await store.tenant_row(actor, tenant_id)
    return await _model(store.pool, tenant_id)


def _unique(items: list[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


async def update(
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    body: s.OutboundPolicyPatch,
    request_id: str | None,
) -> s.OutboundPolicy:
    """Change the tenant's policy (the fields given; a list replaces the one before)."""
    actor.require_carrier()
    async with store.write(actor, tenant_id, "outbound_policy", "update", None, request_id) as c:
        tenant = await store.tenant_row(actor, tenant_id, c.connection, lock=True)
        before = await _model(c.connection, tenant_id)
        values = before.model_dump(mode="json", include=set(POLICY_COLUMNS)) | body.model_dump(
            mode="json", exclude_unset=True
        )
        values = {k: v if k == "home_region" else _unique(v) for k, v in values.items()}
        try:
            OutboundPolicy(
                home_region=values["home_region"] or region_of_locale(tenant["locale"]),
                allowed_regions=frozenset(values["allowed_regions"]),
                allowed_types=frozenset(values["allowed_number_types"]),
                allowed_prefixes=tuple(values["allowed_prefixes"]),
                denied_prefixes=tuple(values["denied_prefixes"]),
            )
        except ValueError as error:
            raise ApiError(VALIDATION_FAILED, str(error)) from error
        await carrier_rows.upsert(
            c.connection, "outbound_policies", POLICY_COLUMNS, tenant_id, values
        )
        after = await _model(c.connection, tenant_id)
        c.record(before, after)
    return after


async def reset(store: Store, actor: Principal, tenant_id: UUID, request_id: str | None) -> None:
    """Give the tenant the default policy again (its own country, fixed lines and mobiles)."""
    await carrier_rows.reset(
        store, actor, tenant_id, request_id, "outbound_policy", "outbound_policies", _model
    )


@ROUTES.get("/outbound-policy", response=s.OutboundPolicy)
async def get_outbound_policy(c: Call) -> web.Response:
    """The carrier's outbound policy of the tenant, and what it refuses"""
    return answer(await read(c.store, c.principal, c.tenant_id))


@ROUTES.patch(
    "/outbound-policy", scope="carrier", body=s.OutboundPolicyPatch, response=s.OutboundPolicy
)
async def patch_outbound_policy(c: Call) -> web.Response:
    """Change the tenant's outbound policy"""
    body = await c.body(s.OutboundPolicyPatch)
    return answer(await update(c.store, c.principal, c.tenant_id, body, c.request_id))


@ROUTES.delete("/outbound-policy", scope="carrier", status=NO_CONTENT)
async def delete_outbound_policy(c: Call) -> web.Response:
    """Give the tenant the default outbound policy again"""
    await reset(c.store, c.principal, c.tenant_id, c.request_id)
    return no_content()
