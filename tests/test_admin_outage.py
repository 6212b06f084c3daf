"""The admin API while PostgreSQL refuses connections: 503 with a code and Retry-After on
every route (tokens are checked in the database too), nothing changed, and back to normal
once the database is."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from admin_support import Admin, running_admin
from rcp_devstack.settings import StackSettings
from stasis_e2e_support import refuse_connections


@pytest.fixture
async def admin_alone(own_url: str) -> AsyncIterator[Admin]:
    async with running_admin(own_url) as running:
        yield running


async def test_while_the_database_refuses_connections_every_route_answers_503_to_retry(
    settings: StackSettings, own_url: str, admin_alone: Admin
) -> None:
    carrier = admin_alone.carrier
    before = await carrier.ok("GET", "/v1/tenants")
    await refuse_connections(settings.database_url, own_url, allow=False)
    try:
        for method, path, body in (
            ("GET", "/v1/tenants", None),
            ("POST", "/v1/tenants", {"slug": "outage-tenant", "name": "Panne SARL"}),
        ):
            answer = await carrier.call(method, path, body)
            assert (answer.status, answer.body["code"]) == (503, "database_unavailable"), answer
            assert int(answer.headers["Retry-After"]) > 0
            assert "try again" in answer.body["message"]
    finally:
        await refuse_connections(settings.database_url, own_url, allow=True)
    after = await carrier.ok("GET", "/v1/tenants")
    assert after == before  # the refused write changed nothing
