"""The carrier's outbound policy of a tenant: which outside numbers its virtual extensions ring.

The carrier sets it; a tenant token may read it, so that its admins (and the web manager) can
see why a number is refused. A write is checked by `rcp.outbound.OutboundPolicy`, audited, and
announced (config-changed `outbound_policy`): the stasis service applies it to the tenant's
calls at once, those under way included. A tenant without a row has the default policy.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
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
from rcp_admin.errors import DESTINATION_NOT_ALLOWED, ApiError
from rcp_admin.resources.tenant_rows import TenantRow
from rcp_admin.unit_of_work import Reader

VIRTUAL = """SELECT number, external_number FROM extensions
              WHERE tenant_id = $1 AND kind = 'virtual' ORDER BY number"""


async def tenant_policy(reader: Reader, tenant_id: UUID) -> OutboundPolicy:
    """The policy in force for a tenant (the default one without a row)."""
    locale: str = await reader.fetchval("SELECT locale FROM tenants WHERE id = $1", tenant_id)
    return policy_of(await reader.fetchrow(POLICIES.select, tenant_id), locale)


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


class Policies(TenantRow):
    """The tenant's outbound policy."""

    entity = "outbound_policy"
    table = "outbound_policies"
    columns = POLICY_COLUMNS
    path = "/outbound-policy"
    models = (s.OutboundPolicyPatch, s.OutboundPolicy)
    summaries = (
        "The carrier's outbound policy of the tenant, and what it refuses",
        "Change the tenant's outbound policy",
        "Give the tenant the default outbound policy again",
    )

    async def to_model(self, reader: Reader, tenant_id: UUID) -> s.OutboundPolicy:
        """The policy in force, and which of the tenant's virtual extensions it refuses."""
        locale: str = await reader.fetchval("SELECT locale FROM tenants WHERE id = $1", tenant_id)
        row = await reader.fetchrow(self.select, tenant_id)
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

    def check(self, tenant: asyncpg.Record, values: dict[str, Any]) -> None:
        """A policy `rcp.outbound.OutboundPolicy` accepts (a null country: the locale's)."""
        OutboundPolicy(
            home_region=values["home_region"] or region_of_locale(tenant["locale"]),
            allowed_regions=frozenset(values["allowed_regions"]),
            allowed_types=frozenset(values["allowed_number_types"]),
            allowed_prefixes=tuple(values["allowed_prefixes"]),
            denied_prefixes=tuple(values["denied_prefixes"]),
        )


POLICIES = Policies()
ROUTES = POLICIES.routes()
