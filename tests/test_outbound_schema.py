"""The carrier's outbound policy and limits in PostgreSQL (revision 0003): their defaults are
`rcp.outbound`'s, and the database refuses malformed values."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from rcp.outbound import DEFAULT_NUMBER_TYPES, LIMIT_BOUNDS, TenantLimits


async def _tenant(db: asyncpg.Connection) -> uuid.UUID:
    tenant_id: uuid.UUID = await db.fetchval(
        "INSERT INTO tenants (slug, name) VALUES ($1, 'Policy SARL') RETURNING id",
        f"policy-{uuid.uuid4().hex[:8]}",
    )
    return tenant_id


async def test_a_new_rows_defaults_are_the_codes_defaults(db: asyncpg.Connection) -> None:
    tenant_id = await _tenant(db)
    await db.execute("INSERT INTO outbound_policies (tenant_id) VALUES ($1)", tenant_id)
    await db.execute("INSERT INTO tenant_limits (tenant_id) VALUES ($1)", tenant_id)
    policy = await db.fetchrow("SELECT * FROM outbound_policies WHERE tenant_id = $1", tenant_id)
    limits = await db.fetchrow("SELECT * FROM tenant_limits WHERE tenant_id = $1", tenant_id)
    assert policy is not None
    assert limits is not None
    assert policy["home_region"] is None
    assert set(policy["allowed_number_types"]) == DEFAULT_NUMBER_TYPES
    assert (
        policy["allowed_regions"] == policy["allowed_prefixes"] == policy["denied_prefixes"] == []
    )
    assert TenantLimits(**{name: limits[name] for name in LIMIT_BOUNDS}) == TenantLimits()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("home_region", "fr"),
        ("allowed_regions", ["FR", "France"]),
        ("allowed_number_types", ["fixed_line", "premium"]),
        ("allowed_prefixes", ["+33", "3389"]),
        ("denied_prefixes", ["+33 89"]),
    ],
)
async def test_malformed_policies_are_refused(
    db: asyncpg.Connection, column: str, value: object
) -> None:
    tenant_id = await _tenant(db)
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            f"INSERT INTO outbound_policies (tenant_id, {column}) VALUES ($1, $2)", tenant_id, value
        )


async def test_limits_outside_their_bounds_are_refused(db: asyncpg.Connection) -> None:
    tenant_id = await _tenant(db)
    for name, (low, high) in LIMIT_BOUNDS.items():
        for value in (low - 1, high + 1):
            with pytest.raises(asyncpg.CheckViolationError):
                await db.execute(
                    f"INSERT INTO tenant_limits (tenant_id, {name}) VALUES ($1, $2)",
                    tenant_id,
                    value,
                )
        await db.execute(
            f"INSERT INTO tenant_limits (tenant_id, {name}) VALUES ($1, $2) "
            f"ON CONFLICT (tenant_id) DO UPDATE SET {name} = EXCLUDED.{name}",
            tenant_id,
            high,
        )


async def test_a_tenants_policy_and_limits_go_with_it(db: asyncpg.Connection) -> None:
    tenant_id = await _tenant(db)
    await db.execute("INSERT INTO outbound_policies (tenant_id) VALUES ($1)", tenant_id)
    await db.execute("INSERT INTO tenant_limits (tenant_id) VALUES ($1)", tenant_id)
    await db.execute("DELETE FROM tenants WHERE id = $1", tenant_id)
    assert (
        await db.fetchval("SELECT count(*) FROM outbound_policies WHERE tenant_id = $1", tenant_id)
        == 0
    )
    assert (
        await db.fetchval("SELECT count(*) FROM tenant_limits WHERE tenant_id = $1", tenant_id) == 0
    )
