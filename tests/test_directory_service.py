"""The directory service over real NATS and PostgreSQL, started through its composition root."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import asyncpg
import pytest
from admin_support import Admin
from nats.aio.client import Client as NatsClient
from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from rcp import subjects
from rcp.contracts import ConfigChanged
from rcp.contracts.directory import (
    ReverseRequest,
    ReverseResult,
    SearchBy,
    SearchRequest,
    SearchResult,
)
from rcp.db.pool import create_pool
from rcp.errors import RemoteError
from rcp.messaging import request
from rcp_devstack.settings import StackSettings
from rcp_directory.app import RunningDirectory, running
from rcp_directory.metrics import DirectoryMetrics
from rcp_directory.ports import TenantListings, TenantState
from rcp_directory.service import IndexCache
from rcp_directory.settings import Settings
from rcp_directory.source import PostgresDirectory
from roles_support import service_url
from schema_support import insert_device

T = TypeVar("T")

_KEYPAD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "22233344455566677778889999")
TIMEOUT_S = 10.0


def keys(spelled: str) -> str:
    """The digits that spell upper-case letters."""
    return spelled.translate(_KEYPAD)


async def eventually(probe: Callable[[], Awaitable[T | None]], within_s: float) -> T:
    """Ask `probe` until it returns something, for at most `within_s` seconds."""
    deadline = time.monotonic() + within_s
    while True:
        outcome = await probe()
        if outcome is not None:
            return outcome
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {within_s} s")
        await asyncio.sleep(0.01)


def directory_settings(stack: StackSettings, database_url: str, **overrides: Any) -> Settings:
    """Settings of a directory instance on subjects of its own, so that parallel test runs
    on the shared NATS server never answer each other's requests."""
    run = uuid.uuid4().hex
    return Settings(
        database_url=service_url(database_url, "directory"),
        nats_url=stack.nats_url,
        ops_port=0,
        database_pool_max=4,
        directory_nats_scope=run,
        **overrides,
    )


@pytest.fixture
def service_settings(settings: StackSettings, migrated_url: str) -> Settings:
    return directory_settings(settings, migrated_url)


@pytest.fixture
async def directory(service_settings: Settings) -> AsyncIterator[RunningDirectory]:
    async with running(service_settings) as started:
        yield started


async def new_tenant(db: asyncpg.Connection, status: str = "active") -> uuid.UUID:
    tenant_id: uuid.UUID = await db.fetchval(
        "INSERT INTO tenants (slug, name, status) VALUES ($1, 'Test', $2) RETURNING id",
        f"dir-{uuid.uuid4().hex[:12]}",
        status,
    )
    return tenant_id


async def add_extension(
    db: asyncpg.Connection,
    tenant_id: uuid.UUID,
    number: str,
    first: str,
    last: str,
    *,
    reachable_by_name: bool = True,
    prompt_id: uuid.UUID | None = None,
) -> None:
    await db.execute(
        """INSERT INTO extensions (tenant_id, number, kind, first_name, last_name, device_id,
                                   reachable_by_name, name_prompt_id)
           VALUES ($1, $2, 'physical', $3, $4, $7, $5, $6)""",
        tenant_id,
        number,
        first,
        last,
        reachable_by_name,
        prompt_id,
        await insert_device(db, tenant_id, f"desk-{number}-{uuid.uuid4().hex[:6]}"),
    )


async def search(
    nc: NatsClient, settings: Settings, tenant_id: uuid.UUID, digits: str, **fields: Any
) -> SearchResult:
    return await request(
        nc,
        subjects.DIRECTORY_SEARCH.subject(tenant_id, settings.directory_nats_scope),
        SearchRequest(tenant_id=tenant_id, digits=digits, **fields),
        SearchResult,
        timeout_s=TIMEOUT_S,
    )


async def reverse(
    nc: NatsClient, settings: Settings, tenant_id: uuid.UUID, number: str
) -> ReverseResult:
    return await request(
        nc,
        subjects.DIRECTORY_REVERSE.subject(tenant_id, settings.directory_nats_scope),
        ReverseRequest(tenant_id=tenant_id, number=number),
        ReverseResult,
        timeout_s=TIMEOUT_S,
    )


def numbers(result: SearchResult) -> list[str]:
    return [match.number for match in result.matches]


async def test_search_answers_reachable_extensions_with_names_and_recorded_name(
    directory: RunningDirectory,
    service_settings: Settings,
    nats_client: NatsClient,
    db: asyncpg.Connection,
) -> None:
    tenant = await new_tenant(db)
    prompt: uuid.UUID = await db.fetchval(
        """INSERT INTO prompts (tenant_id, source, tts_text, language)
           VALUES ($1, 'tts', 'Jean-Pierre Lefèvre', 'fr-FR') RETURNING id""",
        tenant,
    )
    await add_extension(db, tenant, "101", "Amélie", "Poulain", reachable_by_name=False)
    await add_extension(db, tenant, "102", "Jean-Pierre", "Lefèvre", prompt_id=prompt)
    await add_extension(db, tenant, "103", "Seán", "O'Brien")

    found = await search(nats_client, service_settings, tenant, keys("LEF"))
    assert found.total == 1
    assert found.next_cursor is None
    match = found.matches[0]
    assert (match.number, match.first_name, match.last_name, match.display_name) == (
        "102",
        "Jean-Pierre",
        "Lefèvre",
        "Jean-Pierre Lefèvre",
    )
    assert (match.name_prompt_id, match.whole_name) == (prompt, True)

    brien = await search(nats_client, service_settings, tenant, keys("BRI"), by=SearchBy.LAST_NAME)
    assert (numbers(brien), brien.matches[0].whole_name) == (["103"], False)
    # Amélie is not reachable by name: neither found nor looked up.
    assert (await search(nats_client, service_settings, tenant, keys("AME"))).total == 0
    assert (await reverse(nats_client, service_settings, tenant, "101")).entry is None
    entry = (await reverse(nats_client, service_settings, tenant, "102")).entry
    assert entry is not None
    assert (entry.display_name, entry.name_prompt_id) == ("Jean-Pierre Lefèvre", prompt)


async def test_tenants_never_see_each_others_extensions(
    directory: RunningDirectory,
    service_settings: Settings,
    nats_client: NatsClient,
    db: asyncpg.Connection,
) -> None:
    acme, other = await new_tenant(db), await new_tenant(db)
    await add_extension(db, acme, "201", "Françoise", "Le Gall")
    await add_extension(db, other, "201", "Gaëlle", "Le Bihan")
    await add_extension(db, other, "202", "Françoise", "Legrand")

    assert numbers(await search(nats_client, service_settings, acme, keys("LEG"))) == ["201"]
    assert numbers(await search(nats_client, service_settings, other, keys("LEG"))) == ["202"]
    assert (await search(nats_client, service_settings, acme, keys("LEB"))).total == 0
    assert (await search(nats_client, service_settings, acme, keys("FRA"))).total == 1
    acme_201 = (await reverse(nats_client, service_settings, acme, "201")).entry
    assert acme_201 is not None
    assert acme_201.last_name == "Le Gall"
    assert (await reverse(nats_client, service_settings, acme, "202")).entry is None


async def test_results_come_in_pages_linked_by_cursors(
    directory: RunningDirectory,
    service_settings: Settings,
    nats_client: NatsClient,
    db: asyncpg.Connection,
) -> None:
    tenant = await new_tenant(db)
    for n, first in enumerate(["Anne", "Bruno", "Chloé", "David", "Élise"]):
        await add_extension(db, tenant, f"30{n}", first, "Martin")
    await add_extension(db, tenant, "310", "Marc", "Zidane")

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        page = await search(
            nats_client, service_settings, tenant, keys("MAR"), page_size=2, cursor=cursor
        )
        assert page.total == 6
        seen.extend(match.display_name for match in page.matches)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [
        "Anne Martin",
        "Bruno Martin",
        "Chloé Martin",
        "David Martin",
        "Élise Martin",
        "Marc Zidane",
    ]


async def test_errors_come_back_typed_with_codes_never_as_time_outs(
    directory: RunningDirectory,
    service_settings: Settings,
    nats_client: NatsClient,
    db: asyncpg.Connection,
) -> None:
    tenant = await new_tenant(db)
    suspended = await new_tenant(db, status="suspended")
    await add_extension(db, tenant, "401", "Jo", "Lo")

    async def code_of(tenant_id: uuid.UUID, digits: str, **fields: Any) -> RemoteError:
        with pytest.raises(RemoteError) as caught:
            await search(nats_client, service_settings, tenant_id, digits, **fields)
        return caught.value

    unknown = await code_of(uuid.uuid4(), "533")
    assert unknown.code == "no_such_tenant"
    assert (await code_of(suspended, "533")).code == "tenant_suspended"
    assert (await code_of(tenant, "")).code == "empty_input"
    invalid = await code_of(tenant, "5013")
    assert invalid.code == "invalid_digits"
    assert invalid.details["invalid"] == [
        {"position": 1, "character": "0"},
        {"position": 2, "character": "1"},
    ]
    assert "'0', '1'" in invalid.message
    too_few = await code_of(tenant, "56")
    assert (too_few.code, too_few.details) == ("too_few_digits", {"entered": 2, "needed": 3})
    assert (await code_of(tenant, "56", cursor="nonsense")).code == "invalid_request"
    # Ended early with #: two digits are enough.
    assert numbers(await search(nats_client, service_settings, tenant, "56", complete=True)) == [
        "401"
    ]
    with pytest.raises(RemoteError) as caught:
        await reverse(nats_client, service_settings, uuid.uuid4(), "401")
    assert caught.value.code == "no_such_tenant"
    nameless = subjects.DIRECTORY_SEARCH.every_tenant(service_settings.directory_nats_scope)
    raw = await nats_client.request(
        nameless.replace("*", "no-tenant"), b'{"digits": "533"}', timeout=TIMEOUT_S
    )
    assert b'"code":"invalid_request"' in raw.data
    assert b"names no tenant" in raw.data


async def test_the_tenant_is_the_one_the_subject_names_never_another_in_the_body(
    directory: RunningDirectory,
    service_settings: Settings,
    nats_client: NatsClient,
    db: asyncpg.Connection,
) -> None:
    tenant = await new_tenant(db)
    other = await new_tenant(db)
    await add_extension(db, tenant, "401", "Jo", "Lo")
    await add_extension(db, other, "402", "Jo", "Lo")
    subject = subjects.DIRECTORY_SEARCH.subject(tenant, service_settings.directory_nats_scope)

    # No tenant in the body: the subject's is searched.
    raw = await nats_client.request(
        subject, b'{"digits": "56", "complete": true}', timeout=TIMEOUT_S
    )
    assert b'"number":"401"' in raw.data
    # The subject names one tenant and the body another: refused, nothing of either answered.
    body = SearchRequest(tenant_id=other, digits="56", complete=True).model_dump_json().encode()
    raw = await nats_client.request(subject, body, timeout=TIMEOUT_S)
    assert b'"code":"forbidden"' in raw.data
    assert b'"number"' not in raw.data


async def test_renamed_extension_is_found_under_its_new_name_within_a_second(
    directory: RunningDirectory,
    service_settings: Settings,
    nats_client: NatsClient,
    db: asyncpg.Connection,
) -> None:
    tenant = await new_tenant(db)
    await add_extension(db, tenant, "501", "Jean-Pierre", "Lefèvre")
    await add_extension(db, tenant, "502", "Amélie", "Poulain")
    assert numbers(await search(nats_client, service_settings, tenant, keys("LEF"))) == ["501"]

    # What the admin API does: commit, then publish the change.
    await db.execute(
        "UPDATE extensions SET last_name = 'Rousseau' WHERE tenant_id = $1 AND number = '501'",
        tenant,
    )
    await db.execute(
        "UPDATE extensions SET reachable_by_name = false WHERE tenant_id = $1 AND number = '502'",
        tenant,
    )
    change = ConfigChanged(tenant_id=tenant, entity="extension", key="501")
    await nats_client.publish(subjects.config_changed(tenant), change.model_dump_json().encode())

    async def renamed() -> SearchResult | None:
        found = await search(nats_client, service_settings, tenant, keys("ROUS"))
        return found if found.total else None

    found = await eventually(renamed, within_s=1.0)
    assert found.matches[0].display_name == "Jean-Pierre Rousseau"
    assert (await search(nats_client, service_settings, tenant, keys("LEF"))).total == 0
    assert (await search(nats_client, service_settings, tenant, keys("POUL"))).total == 0


async def test_tenant_created_after_a_lookup_is_served_once_its_change_is_published(
    directory: RunningDirectory,
    service_settings: Settings,
    nats_client: NatsClient,
    db: asyncpg.Connection,
) -> None:
    tenant = uuid.uuid4()
    with pytest.raises(RemoteError, match="no tenant"):
        await search(nats_client, service_settings, tenant, keys("LEF"))
    await db.execute(
        "INSERT INTO tenants (id, slug, name) VALUES ($1, $2, 'New')",
        tenant,
        f"dir-{tenant.hex[:12]}",
    )
    await add_extension(db, tenant, "601", "Jean-Pierre", "Lefèvre")
    change = ConfigChanged(tenant_id=tenant, entity="tenant")
    await nats_client.publish(subjects.config_changed(tenant), change.model_dump_json().encode())

    async def served() -> SearchResult | None:
        try:
            return await search(nats_client, service_settings, tenant, keys("LEF"))
        except RemoteError:
            return None

    assert numbers(await eventually(served, within_s=1.0)) == ["601"]


async def test_index_older_than_its_max_age_is_reloaded_without_an_event(
    settings: StackSettings, migrated_url: str, nats_client: NatsClient, db: asyncpg.Connection
) -> None:
    short_lived = directory_settings(settings, migrated_url, directory_index_max_age_s=0.2)
    tenant = await new_tenant(db)
    await add_extension(db, tenant, "651", "Jean-Pierre", "Lefèvre")
    async with running(short_lived):
        assert (await search(nats_client, short_lived, tenant, keys("LEF"))).total == 1
        # A change whose event was missed (published while this instance was disconnected).
        await db.execute(
            "UPDATE extensions SET last_name = 'Rousseau' WHERE tenant_id = $1", tenant
        )

        async def reloaded() -> SearchResult | None:
            found = await search(nats_client, short_lived, tenant, keys("ROUS"))
            return found if found.total else None

        await eventually(reloaded, within_s=10.0)


def _sample(directory: RunningDirectory, name: str, **labels: str) -> float:
    value = directory.infrastructure.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_first_lookups_of_a_tenant_arriving_together_load_it_once(
    directory: RunningDirectory,
    service_settings: Settings,
    nats_client: NatsClient,
    db: asyncpg.Connection,
) -> None:
    tenant = await new_tenant(db)
    for n in range(50):
        await add_extension(db, tenant, f"7{n:02}", f"Prénom{n}", "Lefèvre")
    before = _sample(directory, "rcp_directory_index_loads_total", result="ok")
    results = await asyncio.gather(
        *(search(nats_client, service_settings, tenant, keys("LEF")) for _ in range(20))
    )
    assert {result.total for result in results} == {50}
    assert _sample(directory, "rcp_directory_index_loads_total", result="ok") == before + 1


async def test_two_instances_share_the_load_of_one_subject(
    settings: StackSettings,
    service_settings: Settings,
    nats_client: NatsClient,
    db: asyncpg.Connection,
) -> None:
    tenant = await new_tenant(db)
    await add_extension(db, tenant, "801", "Jean-Pierre", "Lefèvre")
    first_settings = service_settings.model_copy(update={"instance_id": "dir-test-a"})
    second_settings = service_settings.model_copy(update={"instance_id": "dir-test-b"})
    async with running(first_settings) as first, running(second_settings) as second:
        semaphore = asyncio.Semaphore(50)

        async def one() -> int:
            async with semaphore:
                return (await search(nats_client, service_settings, tenant, keys("LEF"))).total

        totals = await asyncio.gather(*(one() for _ in range(400)))
        assert totals == [1] * 400
        answered = [
            {
                endpoint.name: endpoint.num_requests
                for endpoint in instance.service.stats().endpoints
            }
            for instance in (first, second)
        ]
    assert answered[0]["search"] > 0
    assert answered[1]["search"] > 0
    assert answered[0]["search"] + answered[1]["search"] == 400


async def _get(port: int, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, await response.text()


async def test_metrics_count_lookups_by_result_and_report_the_index(
    directory: RunningDirectory,
    service_settings: Settings,
    nats_client: NatsClient,
    db: asyncpg.Connection,
) -> None:
    tenant = await new_tenant(db)
    await add_extension(db, tenant, "901", "Anne", "Martin")
    await add_extension(db, tenant, "902", "Bruno", "Martin")
    await search(nats_client, service_settings, tenant, keys("MAR"))  # several
    await search(nats_client, service_settings, tenant, keys("ANN"))  # one
    await search(nats_client, service_settings, tenant, keys("ZZZ"))  # none
    with pytest.raises(RemoteError):
        await search(nats_client, service_settings, tenant, "101")  # error
    await reverse(nats_client, service_settings, tenant, "901")  # one

    status, body = await _get(directory.infrastructure.ops_port, "/metrics")
    assert status == 200
    for result in ("none", "one", "several", "error"):
        assert f'rcp_directory_lookups_total{{endpoint="search",result="{result}"}} 1.0' in body
    assert 'rcp_directory_lookups_total{endpoint="reverse",result="one"} 1.0' in body
    assert 'rcp_directory_lookup_duration_seconds_count{endpoint="search"} 4.0' in body
    assert "rcp_directory_index_tenants 1.0" in body
    assert "rcp_directory_index_entries 2.0" in body
    assert "rcp_directory_index_bytes " in body
    status, body = await _get(directory.infrastructure.ops_port, "/readyz")
    assert status == 200, body
    assert '"directory": "ok"' in body


async def test_unreadable_database_comes_back_as_unavailable(
    settings: StackSettings, make_database: Callable[[], str], nats_client: NatsClient
) -> None:
    # A database without the schema: the real server refuses the directory's query.
    empty_url = await asyncio.to_thread(make_database)
    unmigrated = directory_settings(settings, empty_url)
    async with running(unmigrated):
        with pytest.raises(RemoteError) as caught:
            await search(nats_client, unmigrated, uuid.uuid4(), keys("LEF"))
    assert caught.value.code == "unavailable"


async def test_memory_bound_evicts_the_least_recently_used_tenants(
    settings: StackSettings, migrated_url: str, db: asyncpg.Connection
) -> None:
    tenants = [await new_tenant(db) for _ in range(3)]
    for tenant in tenants:
        for n in range(200):
            await add_extension(db, tenant, f"{1000 + n}", f"Prénom{n}", f"Nom{n}")
    registry = CollectorRegistry()
    metrics = DirectoryMetrics(registry)

    def loads() -> float | None:
        return registry.get_sample_value("rcp_directory_index_loads_total", {"result": "ok"})

    pool_settings = directory_settings(settings, migrated_url)
    async with create_pool(pool_settings, "tests") as pool:
        probe = IndexCache(PostgresDirectory(pool), metrics, max_bytes=10**9, max_age_s=60)
        _, index = await probe.get(tenants[0])
        one_tenant = probe.nbytes
        cache = IndexCache(
            PostgresDirectory(pool), metrics, max_bytes=2 * one_tenant + 100, max_age_s=60
        )
        for tenant in tenants:
            state, loaded = await cache.get(tenant)
            assert (state, len(loaded)) == (TenantState.ACTIVE, 200)
        assert (cache.tenants, cache.entries) == (2, 400)
        assert cache.nbytes <= 2 * one_tenant + 100
        loaded_before = loads()
        assert loaded_before is not None
        await cache.get(tenants[2])  # still there: no load
        await cache.get(tenants[0])  # evicted: loaded again
        assert loads() == loaded_before + 1
        assert registry.get_sample_value("rcp_directory_index_evictions_total") == 2
        await cache.aclose()
        await probe.aclose()
    assert len(index) == 200


async def test_invalid_settings_are_refused_naming_the_setting() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(directory_min_digits=0)
    assert "directory_min_digits" in str(caught.value)


async def test_service_is_a_micro_service_named_directory_in_its_queue_group(
    directory: RunningDirectory, service_settings: Settings
) -> None:
    info = directory.service.info()
    assert info.name == subjects.DIRECTORY_SERVICE
    assert {endpoint.name: endpoint.subject for endpoint in info.endpoints} == {
        "search": f"rcp.directory.*.search.{service_settings.directory_nats_scope}",
        "reverse": f"rcp.directory.*.reverse.{service_settings.directory_nats_scope}",
    }
    stats = directory.service.stats()
    assert {endpoint.queue_group for endpoint in stats.endpoints} == {subjects.DIRECTORY_SERVICE}


async def test_a_tenant_being_loaded_holds_up_no_other_tenants_lookups(
    directory: RunningDirectory,
    service_settings: Settings,
    nats_client: NatsClient,
    db: asyncpg.Connection,
    migrated_url: str,
) -> None:
    loaded, cold = await new_tenant(db), await new_tenant(db)
    await add_extension(db, loaded, "701", "Jean-Pierre", "Lefèvre")
    await add_extension(db, cold, "702", "Françoise", "Le Gall")
    assert (await search(nats_client, service_settings, loaded, keys("LEF"))).total == 1

    # The real database makes the cold tenant's load wait: a lock on the extensions table.
    locker = await asyncpg.connect(migrated_url, timeout=10)
    try:
        transaction = locker.transaction()
        await transaction.start()
        await locker.execute("LOCK TABLE extensions IN ACCESS EXCLUSIVE MODE")
        waiting = asyncio.create_task(search(nats_client, service_settings, cold, keys("LEG")))

        async def load_waits_for_the_lock() -> bool | None:
            blocked = await db.fetchval(
                """SELECT count(*) FROM pg_locks
                    WHERE relation = 'extensions'::regclass AND NOT granted
                      AND database = (SELECT oid FROM pg_database
                                       WHERE datname = current_database())"""
            )
            return True if blocked else None

        await eventually(load_waits_for_the_lock, within_s=TIMEOUT_S)
        assert (await search(nats_client, service_settings, loaded, keys("LEF"))).total == 1
        assert not waiting.done()
        await transaction.rollback()
        assert numbers(await waiting) == ["702"]
    finally:
        await locker.close()


async def test_extension_renamed_through_the_admin_api_is_found_within_a_second(
    directory: RunningDirectory,
    service_settings: Settings,
    nats_client: NatsClient,
    admin: Admin,
) -> None:
    tenant_id, client = await admin.tenant("rename", devices=("jp",))
    tenant = uuid.UUID(tenant_id)
    path = f"/v1/tenants/{tenant_id}/extensions"
    await client.ok(
        "POST",
        path,
        {
            "number": "501",
            "kind": "physical",
            "first_name": "Jean-Pierre",
            "last_name": "Lefèvre",
            "device": "jp",
        },
    )
    assert numbers(await search(nats_client, service_settings, tenant, keys("LEF"))) == ["501"]

    await client.ok("PATCH", f"{path}/501", {"last_name": "Rousseau"})

    async def renamed() -> SearchResult | None:
        found = await search(nats_client, service_settings, tenant, keys("ROUS"))
        return found if found.total else None

    found = await eventually(renamed, within_s=1.0)
    assert found.matches[0].display_name == "Jean-Pierre Rousseau"
    assert (await search(nats_client, service_settings, tenant, keys("LEF"))).total == 0


async def test_answers_now_only_for_tenants_held_in_memory_and_still_valid() -> None:
    active, unknown = uuid.uuid4(), uuid.uuid4()
    states = {active: TenantState.ACTIVE, unknown: TenantState.UNKNOWN}

    class Source:
        async def load(self, tenant_id: uuid.UUID) -> TenantListings:
            return TenantListings(state=states[tenant_id])

    now = [0.0]
    cache = IndexCache(
        Source(),
        DirectoryMetrics(CollectorRegistry()),
        max_bytes=10**9,
        max_age_s=60,
        clock=lambda: now[0],
    )
    assert not cache.answers_now(active)  # never loaded: a lookup would wait for the load
    assert not cache.answers_now(None)
    await cache.get(active)
    await cache.get(unknown)
    assert cache.answers_now(active)
    assert cache.answers_now(unknown)
    now[0] = 61.0
    # Past its age an index is still answered from (and refreshed meanwhile); an unknown
    # tenant is looked up again, so its lookup waits.
    assert cache.answers_now(active)
    assert not cache.answers_now(unknown)
    await cache.aclose()
