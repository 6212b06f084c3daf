"""What an admin instance keeps in memory (`rcp_admin.memory`): answers of GET
/receptionist/keys and verified tokens, forgotten by its own writes at once, by its peers'
through their config-changed announcements, by everything else after at most its time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from admin_support import Admin, running_admin
from rcp_admin.auth import Principal
from rcp_admin.memory import Memory

KEPT_LONG_S = 60.0  # far longer than any test: only a forget can end what is kept
DIAL_BY_NAME = {"action": "dial_by_name"}


@pytest_asyncio.fixture
async def pair(migrated_url: str) -> AsyncIterator[tuple[Admin, Admin]]:
    """Two admin instances on one database, each listening, each keeping for a minute. They
    connect to NATS as the test suite's user: the shared server grants the admin user what
    `rcp.nats_access` says as of its last reload (`test_nats_access` checks the row)."""
    async with (
        running_admin(migrated_url, listen=True, nats_user="tests") as first,
        running_admin(migrated_url, listen=True, nats_user="tests") as second,
    ):
        for admin in (first, second):
            assert admin.memory is not None
            admin.memory.ttl_s = KEPT_LONG_S
        yield first, second


async def _keys(admin: Admin, tenant_id: str) -> list[str | None]:
    body = await admin.carrier.ok("GET", f"/v1/tenants/{tenant_id}/receptionist/keys")
    return [item.get("action") for item in body["items"]]


async def _unannounced_assignment(admin: Admin, tenant_id: str, digit: str) -> None:
    """Assign a key straight in the database: nothing announces it."""
    await admin.pool.execute(
        """INSERT INTO key_assignments (tenant_id, menu_id, digit, action)
           SELECT tenant_id, id, $2, 'dial_by_name' FROM menus WHERE tenant_id = $1 AND is_first
           ON CONFLICT (tenant_id, menu_id, digit) DO UPDATE SET action = 'dial_by_name'""",
        uuid.UUID(tenant_id),
        digit,
    )


async def test_keys_are_answered_from_memory_until_a_write_through_this_instance(
    pair: tuple[Admin, Admin],
) -> None:
    first, _ = pair
    tenant_id, _ = await first.tenant("memo")
    before = await _keys(first, tenant_id)
    await _unannounced_assignment(first, tenant_id, "7")
    assert await _keys(first, tenant_id) == before  # kept: the database was not asked

    written = await first.carrier.ok(
        "PUT", f"/v1/tenants/{tenant_id}/receptionist/keys/3", DIAL_BY_NAME
    )
    after = await _keys(first, tenant_id)
    assert after == [item.get("action") for item in written["items"]]
    assert after[3] == after[7] == "dial_by_name"  # read again: the unannounced row too


async def test_a_write_through_one_instance_is_read_by_the_other_once_announced(
    pair: tuple[Admin, Admin],
) -> None:
    first, second = pair
    tenant_id, _ = await first.tenant("peer")
    assert (await _keys(second, tenant_id))[5] is None
    await _unannounced_assignment(first, tenant_id, "6")
    assert (await _keys(second, tenant_id))[6] is None  # the second keeps its answer

    await first.carrier.ok("PUT", f"/v1/tenants/{tenant_id}/receptionist/keys/5", DIAL_BY_NAME)
    deadline = asyncio.get_running_loop().time() + 1.0  # the propagation promise
    while (seen := await _keys(second, tenant_id))[5] is None:
        assert asyncio.get_running_loop().time() < deadline, seen
        await asyncio.sleep(0.02)
    assert seen[6] == "dial_by_name"


async def test_a_token_revoked_through_the_instance_is_refused_at_once(
    pair: tuple[Admin, Admin],
) -> None:
    first, _ = pair
    tenant_id, tenant = await first.tenant("revoked")
    await tenant.ok("GET", f"/v1/tenants/{tenant_id}/receptionist/keys")  # verified, kept
    tokens = await first.carrier.ok("GET", f"/v1/tenants/{tenant_id}/tokens")
    for token in tokens["items"]:
        await first.carrier.ok("DELETE", f"/v1/tenants/{tenant_id}/tokens/{token['id']}")
    answer = await tenant.call("GET", f"/v1/tenants/{tenant_id}/receptionist/keys")
    assert answer.status == 401, answer


async def test_a_suspended_tenants_token_is_refused_at_once(pair: tuple[Admin, Admin]) -> None:
    first, _ = pair
    tenant_id, tenant = await first.tenant("suspended")
    await tenant.ok("GET", f"/v1/tenants/{tenant_id}/receptionist/keys")
    await first.carrier.ok("PATCH", f"/v1/tenants/{tenant_id}", {"status": "suspended"})
    answer = await tenant.call("GET", f"/v1/tenants/{tenant_id}/receptionist/keys")
    assert answer.status == 403, answer


async def test_another_tenants_token_is_refused_what_memory_holds(
    pair: tuple[Admin, Admin],
) -> None:
    first, _ = pair
    tenant_id, _ = await first.tenant("owner")
    _, stranger = await first.tenant("stranger")
    await _keys(first, tenant_id)  # kept for the tenant
    answer = await stranger.call("GET", f"/v1/tenants/{tenant_id}/receptionist/keys")
    assert answer.status == 404, answer


async def test_a_token_revoked_elsewhere_is_refused_once_its_time_is_up(
    migrated_url: str,
) -> None:
    async with running_admin(migrated_url, listen=True, admin_memory_s=0.2) as admin:
        tenant_id, tenant = await admin.tenant("elsewhere")
        await tenant.ok("GET", f"/v1/tenants/{tenant_id}/receptionist/keys")
        await admin.pool.execute(  # as another instance, or the command line, revokes it
            "UPDATE admin_tokens SET revoked_at = now() WHERE tenant_id = $1",
            uuid.UUID(tenant_id),
        )
        await asyncio.sleep(0.3)
        answer = await tenant.call("GET", f"/v1/tenants/{tenant_id}/receptionist/keys")
        assert answer.status == 401, answer


async def test_a_read_begun_before_a_forget_is_not_kept() -> None:
    memory = Memory(ttl_s=KEPT_LONG_S, listening=True)
    tenant_id = uuid.uuid4()
    reads = 0
    release = asyncio.Event()

    async def read() -> int:
        nonlocal reads
        reads += 1
        await release.wait()
        return reads

    slow = asyncio.create_task(memory.read(tenant_id, "keys", read))
    await asyncio.sleep(0)
    memory.forget_tenant(tenant_id)  # a write committed while the read was under way
    release.set()
    assert await slow == 1
    assert await memory.read(tenant_id, "keys", read) == 2  # read again, then kept
    assert await memory.read(tenant_id, "keys", read) == 2


async def test_concurrent_reads_of_a_tenant_share_one() -> None:
    memory = Memory(ttl_s=KEPT_LONG_S, listening=True)
    tenant_id = uuid.uuid4()
    reads = 0

    async def read() -> int:
        nonlocal reads
        reads += 1
        await asyncio.sleep(0.01)
        return reads

    answers = await asyncio.gather(*(memory.read(tenant_id, "keys", read) for _ in range(5)))
    assert answers == [1] * 5


async def test_nothing_is_kept_by_an_instance_that_does_not_listen() -> None:
    memory = Memory(ttl_s=KEPT_LONG_S)
    tenant_id = uuid.uuid4()
    principal = Principal(token_id=uuid.uuid4(), name="t", tenant_id=tenant_id)
    memory.remember_token(b"digest", principal, KEPT_LONG_S, memory.token_generation())
    assert memory.token(b"digest") is None
    calls = 0

    async def read() -> int:
        nonlocal calls
        calls += 1
        return calls

    assert [await memory.read(tenant_id, "keys", read) for _ in range(2)] == [1, 2]


def test_a_token_is_kept_no_longer_than_it_lives_nor_after_its_tenant_changes() -> None:
    memory = Memory(ttl_s=KEPT_LONG_S, listening=True)
    tenant_id = uuid.uuid4()
    principal = Principal(token_id=uuid.uuid4(), name="t", tenant_id=tenant_id)
    memory.remember_token(b"expiring", principal, 0.0, memory.token_generation())
    assert memory.token(b"expiring") is None
    memory.remember_token(b"kept", principal, KEPT_LONG_S, memory.token_generation())
    assert memory.token(b"kept") == principal
    memory.forget_tenant(tenant_id)  # a change of its configuration: the token stays
    assert memory.token(b"kept") == principal
    memory.forget_tenant(tenant_id, tokens=True)  # the tenant itself changed
    assert memory.token(b"kept") is None


def test_a_token_looked_up_before_a_revocation_is_not_kept() -> None:
    memory = Memory(ttl_s=KEPT_LONG_S, listening=True)
    principal = Principal(token_id=uuid.uuid4(), name="t", tenant_id=None)
    generation = memory.token_generation()  # its look-up begins
    memory.forget_token(principal.token_id)  # type: ignore[arg-type]
    memory.remember_token(b"digest", principal, KEPT_LONG_S, generation)
    assert memory.token(b"digest") is None
