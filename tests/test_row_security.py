"""Each service's database role reaches only what it needs, and row-level security keeps a
tenant-scoped transaction of the admin role inside its tenant (revision 0008)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from uuid import UUID

import asyncpg
import pytest
from rcp.db.migrate import upgrade
from rcp.db.scope import Scope, bypasses_row_security
from rcp.settings import Environment
from rcp.tokens import issue_token
from rcp_admin.app import refuse_to_bypass_row_security
from rcp_admin.settings import Settings as AdminSettings
from rcp_devstack.demo import ENGLISH, FRENCH, issue_admin_token, seed_demo
from rcp_devstack.postgres import Dsn
from rcp_devstack.services import SERVICES, database_env, service_env
from rcp_devstack.settings import StackSettings
from roles_support import SERVICES as SERVICE_ROLES
from roles_support import connected_as, ensure_service_logins, rows_of, service_url

TENANT_OWNED = """
    SELECT c.relname AS name, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
           ARRAY(SELECT p.polname::text FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
       AND (c.relname = 'tenants' OR EXISTS (
            SELECT FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))"""


async def _tenant_owned(url: str) -> list[asyncpg.Record]:
    db = await asyncpg.connect(url)
    try:
        return list(await db.fetch(TENANT_OWNED))
    finally:
        await db.close()


def test_every_table_with_a_tenant_id_has_row_security_forced_and_its_policies(
    migrated_url: str,
) -> None:
    tables = asyncio.run(_tenant_owned(migrated_url))

    assert {t["name"] for t in tables} >= {"tenants", "extensions", "call_records", "audit_log"}
    for table in tables:
        name = table["name"]
        assert table["enabled"], f"{name}: row-level security is not enabled (see docs/schema.md)"
        assert table["forced"], f"{name}: row-level security is not forced (its owner bypasses it)"
        assert {f"{name}_owner", f"{name}_admin"} <= set(table["policies"]), (
            f"{name}: give it rcp.db.migrations.row_security() (see docs/schema.md)"
        )


async def seed_people(pool: asyncpg.Pool, tenant: UUID, n: int) -> None:
    """A user of the tenant, with a session and an unused link (revision 0009)."""
    user = await pool.fetchval(
        """INSERT INTO users (tenant_id, email, role) VALUES ($1, $2, 'admin') RETURNING id""",
        tenant,
        f"admin-{n}@example.com",
    )
    await pool.execute(
        """INSERT INTO user_sessions (user_id, tenant_id, secret_hash, expires_at)
           VALUES ($1, $2, $3, now() + interval '1 hour')""",
        user,
        tenant,
        f"session-{n}".encode(),
    )
    await pool.execute(
        """INSERT INTO user_links (user_id, tenant_id, purpose, secret_hash, expires_at)
           VALUES ($1, $2, 'invitation', $3, now() + interval '1 day')""",
        user,
        tenant,
        f"link-{n}".encode(),
    )


# Rows of every kind a tenant saves or its calls leave, for two tenants: the demo tenants as
# the stack seeds them, and what their calls, tokens, carrier and admins add.
async def seed_tenants(url: str) -> dict[str, UUID]:
    """The two demo tenants, with a row of theirs in every tenant-owned table."""
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        tenants = {spec.slug: (await seed_demo(pool, spec)).tenant_id for spec in (FRENCH, ENGLISH)}
        await issue_admin_token(pool, "tests-pepper", "demo admin", FRENCH.slug)
        await issue_admin_token(pool, "tests-pepper", "demo-en admin", ENGLISH.slug)
        await issue_admin_token(pool, "tests-pepper", "carrier", None)
        for n, tenant in enumerate(tenants.values()):
            key = f"{n:064x}"
            await pool.execute(
                """INSERT INTO media_files (key, kind, tenant_id, duration_ms, size_bytes)
                   VALUES ($1, 'recording', $2, 1500, 24000)""",
                key,
                tenant,
            )
            prompt = await pool.fetchval(
                """INSERT INTO prompts (tenant_id, source, content_hash, status, duration_ms,
                                        size_bytes)
                   VALUES ($1, 'recording', $2, 'ready', 1500, 24000) RETURNING id""",
                tenant,
                key,
            )
            await pool.execute(
                """INSERT INTO voicemail_messages (tenant_id, extension_id, extension_number,
                                                   caller_number, prompt_id, duration_ms)
                   SELECT $1, id, number, '+33612345678', $2, 1500 FROM extensions
                    WHERE tenant_id = $1 AND number = '101'""",
                tenant,
                prompt,
            )
            await pool.execute(
                """INSERT INTO call_records (tenant_id, call_id, called_number, caller_number,
                                             started_at, ended_at, outcome, trace)
                   VALUES ($1, $2, '+33199000001', '+33612345678', now() - interval '1 minute',
                           now(), 'voicemail', '[{"seq": 1, "kind": "menu"}]')""",
                tenant,
                f"call-{n}",
            )
            for table in ("outbound_policies", "tenant_limits", "retention_settings", "schedules"):
                await pool.execute(f"INSERT INTO {table} (tenant_id) VALUES ($1)", tenant)
            await pool.execute(
                """INSERT INTO holidays (tenant_id, name, start_date, end_date, yearly)
                   VALUES ($1, 'Noël', '2026-12-25', '2026-12-25', true)""",
                tenant,
            )
            if await pool.fetchval("SELECT to_regclass('receptionist_versions')"):  # 0009 on
                await pool.execute(
                    """INSERT INTO receptionist_versions (tenant_id, number, document, published_by)
                       VALUES ($1, 1, '{"format": 1}', 'tests')""",
                    tenant,
                )
            if await pool.fetchval("SELECT to_regclass('config_versions') IS NOT NULL"):  # 0013
                await pool.execute(
                    "INSERT INTO config_versions (tenant_id, version) VALUES ($1, 1)", tenant
                )
            await pool.execute(
                """INSERT INTO audit_log (tenant_id, actor, action, entity, entity_key, after)
                   VALUES ($1, 'tests', 'extension.create', 'extension', '101', '{"n": 1}')""",
                tenant,
            )
            if await pool.fetchval("SELECT to_regclass('users') IS NOT NULL"):
                await seed_people(pool, tenant, n)
        issued = issue_token("tests-pepper")
        await pool.execute(
            """INSERT INTO media_files (key, kind, engine, engine_version, voice, language,
                                        tts_text, duration_ms, size_bytes)
               VALUES ($1, 'tts', 'espeak-ng', '1.51', 'fr', 'fr-FR', 'Bonjour', 900, 14400)""",
            issued.digest.hex(),
        )
    return tenants


async def _tables(url: str) -> list[str]:
    db = await asyncpg.connect(url)
    try:
        rows = await db.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        return [r["tablename"] for r in rows if r["tablename"] != "alembic_version"]
    finally:
        await db.close()


async def snapshot(url: str) -> dict[str, list[str]]:
    """Every row of every table, as the tables' owner sees them."""
    db = await asyncpg.connect(url)
    try:
        return {table: await rows_of(db, table) for table in await _tables(url)}
    finally:
        await db.close()


def tenant_of(table: str, row: str) -> str | None:
    """The tenant a row (as JSON text) belongs to."""
    fields = json.loads(row)
    return str(fields["id"] if table == "tenants" else fields.get("tenant_id"))


async def seen_in_scope(url: str, service: str, scope: Scope | None) -> dict[str, list[str]]:
    """Every row of every table the service's role may read, in a transaction of `scope`
    (None: no scope set), with no tenant filter."""
    readable = {}
    async with connected_as(url, service) as db, db.transaction():
        if scope is not None:
            await scope.apply(db)
        for table in await _tables(url):
            if await db.fetchval("SELECT has_table_privilege($1, 'SELECT')", table):
                readable[table] = await rows_of(db, table)
    return readable


def columns_of(before: list[str], after: list[str]) -> list[str]:
    """The rows `after`, each with only the columns the rows `before` had (as sorted JSON)."""
    kept = list(json.loads(before[0])) if before else []
    return sorted(
        json.dumps({k: json.loads(row)[k] for k in kept}, sort_keys=True) for row in after
    )


async def ids_seen(url: str, service: str | None, table: str) -> list[str]:
    """The ids of a table's rows a service's role reads with no scope set (None: the owner),
    for tables it may read only some columns of."""
    if service is None:
        db = await asyncpg.connect(url)
        try:
            rows = await db.fetch(f"SELECT id FROM {table}")
        finally:
            await db.close()
    else:
        async with connected_as(url, service) as db:
            rows = await db.fetch(f"SELECT id FROM {table}")
    return sorted(str(row["id"]) for row in rows)


@pytest.fixture(scope="module")
def two_tenants(make_database: Callable[[], str]) -> tuple[str, dict[str, UUID]]:
    url = make_database()
    upgrade(url, configure_logging=False)
    asyncio.run(ensure_service_logins(url))
    return url, asyncio.run(seed_tenants(url))


def test_a_tenant_scoped_transaction_sees_none_of_another_tenants_rows(
    two_tenants: tuple[str, dict[str, UUID]],
) -> None:
    url, tenants = two_tenants
    everything = asyncio.run(snapshot(url))

    for tenant in tenants.values():
        seen = asyncio.run(seen_in_scope(url, "admin", Scope.tenant(tenant)))
        assert "extensions" in seen
        assert "media_files" not in seen
        for table, rows in seen.items():
            own = [row for row in everything[table] if tenant_of(table, row) == str(tenant)]
            assert own, f"the seeding left {table} empty for a tenant: nothing proven there"
            assert rows == own, table


def test_the_admin_role_sees_no_row_without_a_scope_and_every_row_in_carrier_scope(
    two_tenants: tuple[str, dict[str, UUID]],
) -> None:
    url, _ = two_tenants
    everything = asyncio.run(snapshot(url))

    unscoped = asyncio.run(seen_in_scope(url, "admin", None))
    carrier = asyncio.run(seen_in_scope(url, "admin", Scope.carrier()))

    assert unscoped
    assert all(rows == [] for rows in unscoped.values())
    assert carrier == {table: everything[table] for table in carrier}


async def _write_across(url: str, mine: UUID, theirs: UUID) -> tuple[str, str]:
    async with connected_as(url, "admin") as db, db.transaction():
        await Scope.tenant(mine).apply(db)
        updated = await db.execute(
            "UPDATE extensions SET first_name = 'Mallory' WHERE tenant_id = $1", theirs
        )
        try:
            async with db.transaction():
                await db.execute(
                    "INSERT INTO ring_groups (tenant_id, number, name) VALUES ($1, '299', 'X')",
                    theirs,
                )
        except asyncpg.InsufficientPrivilegeError as error:
            return updated, str(error)
    return updated, "inserted"


def test_a_tenant_scoped_transaction_cannot_write_another_tenants_rows(
    two_tenants: tuple[str, dict[str, UUID]],
) -> None:
    url, tenants = two_tenants

    updated, inserted = asyncio.run(_write_across(url, tenants["demo"], tenants["demo-en"]))

    assert updated == "UPDATE 0"
    assert "row-level security" in inserted


async def _refused(url: str, service: str, statement: str) -> str:
    async with connected_as(url, service) as db:
        try:
            await db.execute(statement)
        except asyncpg.InsufficientPrivilegeError as error:
            return str(error)
    return "allowed"


@pytest.mark.parametrize(
    ("service", "statement", "refusal"),
    [
        ("media", "UPDATE extensions SET first_name = 'Mallory'", "table extensions"),
        ("media", "UPDATE prompts SET tts_text = 'Mallory'", "table prompts"),
        ("media", "DELETE FROM prompts", "table prompts"),
        ("media", "SELECT token_hash FROM admin_tokens", "table admin_tokens"),
        ("directory", "SELECT pin_hash FROM conference_rooms", "table conference_rooms"),
        ("directory", "SELECT device_id FROM extensions", "table extensions"),
        ("directory", "UPDATE extensions SET first_name = 'Mallory'", "table extensions"),
        ("stasis", "UPDATE extensions SET first_name = 'Mallory'", "table extensions"),
        ("stasis", "DELETE FROM call_records", "table call_records"),
        ("stasis", "UPDATE call_counts SET n = n + 1", "table call_counts"),
        ("admin", "UPDATE call_counts SET n = n + 1", "table call_counts"),
        ("admin", "DELETE FROM call_counts", "table call_counts"),
        ("stasis", "SELECT caller_number FROM voicemail_messages", "table voicemail_messages"),
        ("stasis", "SELECT voicemail_email FROM extensions", "table extensions"),
        ("directory", "SELECT voicemail_email FROM extensions", "table extensions"),
        ("media", "SELECT device_id FROM extensions", "table extensions"),
        ("media", "UPDATE voicemail_messages SET status = 'read'", "table voicemail_messages"),
        ("media", "DELETE FROM voicemail_messages", "table voicemail_messages"),
        ("stasis", "SELECT token_hash FROM admin_tokens", "table admin_tokens"),
        ("admin", "SELECT key FROM media_files", "table media_files"),
        ("admin", "DELETE FROM audit_log", "table audit_log"),
        ("admin", "CREATE TABLE mallory (id int)", "schema public"),
        ("stasis", "CREATE TABLE mallory (id int)", "schema public"),
    ],
)
def test_a_service_role_is_refused_what_its_service_never_does(
    two_tenants: tuple[str, dict[str, UUID]], service: str, statement: str, refusal: str
) -> None:
    url, _ = two_tenants

    refused = asyncio.run(_refused(url, service, statement))

    assert refused.startswith("permission denied"), refused
    assert refusal in refused


def test_the_service_roles_read_every_tenant_where_their_service_answers_for_all(
    two_tenants: tuple[str, dict[str, UUID]],
) -> None:
    url, tenants = two_tenants
    everything = asyncio.run(snapshot(url))

    stasis = asyncio.run(seen_in_scope(url, "stasis", None))
    media = asyncio.run(seen_in_scope(url, "media", None))

    every_extension = asyncio.run(ids_seen(url, None, "extensions"))
    assert len(every_extension) == len(everything["extensions"]) > len(tenants)
    assert asyncio.run(ids_seen(url, "stasis", "extensions")) == every_extension
    assert asyncio.run(ids_seen(url, "media", "extensions")) == every_extension
    assert asyncio.run(ids_seen(url, "media", "voicemail_messages")) == asyncio.run(
        ids_seen(url, None, "voicemail_messages")
    )
    assert stasis["call_records"] == everything["call_records"]
    assert "admin_tokens" not in stasis
    assert "audit_log" not in stasis
    assert media["media_files"] == everything["media_files"]
    assert media["prompts"] == everything["prompts"]
    assert len(tenants) == 2


def test_upgrading_a_database_holding_the_demo_tenants_keeps_every_row_readable(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    upgrade(url, "0007", configure_logging=False)
    tenants = asyncio.run(seed_tenants(url))
    before = asyncio.run(snapshot(url))

    upgrade(url, configure_logging=False)
    asyncio.run(ensure_service_logins(url))

    after = asyncio.run(snapshot(url))
    # Later revisions add tables, and columns (e.g. 0010's email of voicemail messages).
    assert {table: columns_of(before[table], after[table]) for table in before} == {
        table: columns_of(rows, rows) for table, rows in before.items()
    }
    old_messages = [json.loads(row) for row in after["voicemail_messages"]]
    assert {row["email_status"] for row in old_messages} == {"none"}  # never emailed
    assert all(before[table] for table in before), "every table holds rows to keep"
    for tenant in tenants.values():
        seen = asyncio.run(seen_in_scope(url, "admin", Scope.tenant(tenant)))
        for table, rows in seen.items():
            assert rows == [r for r in after[table] if tenant_of(table, r) == str(tenant)]
    media = asyncio.run(seen_in_scope(url, "media", None))
    assert media["media_files"] == before["media_files"]


def test_the_local_stack_runs_each_service_and_its_jobs_as_their_own_roles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RCP_DATABASE_URL", "postgresql://owner:secret@127.0.0.1:55432/receptionist")
    stack = StackSettings(database_services_password="local-only-password")

    urls = {name: Dsn.parse(service_env(name, stack)["RCP_DATABASE_URL"]) for name in SERVICES}

    assert {name: dsn.user for name, dsn in urls.items()} == {
        "stasis": "rcp_stasis",
        "call-records": "rcp_stasis",  # stasis's work in a process of its own: its role
        "directory": "rcp_directory",
        "media": "rcp_media",
        "admin": "rcp_admin",
    }
    assert {(dsn.host, dsn.port, dsn.database, dsn.password) for dsn in urls.values()} == {
        ("127.0.0.1", 55432, "receptionist", "local-only-password")
    }
    assert Dsn.parse(database_env("admin", stack)["RCP_DATABASE_URL"]) == urls["admin"]


async def _escapes(url: str) -> dict[str, bool]:
    escapes = {}
    for service in SERVICE_ROLES:
        async with connected_as(url, service) as db:
            escapes[service] = await bypasses_row_security(db)
    owner = await asyncpg.connect(url)
    try:
        escapes["owner"] = await bypasses_row_security(owner)
    finally:
        await owner.close()
    return escapes


def test_only_the_owner_escapes_row_security(migrated_url: str) -> None:
    escapes = asyncio.run(_escapes(migrated_url))

    assert escapes == {
        "owner": True,
        "admin": False,
        "stasis": False,
        "directory": False,
        "media": False,
    }


async def _refusal(url: str, environment: Environment) -> int | None:
    settings = AdminSettings(database_url=url, environment=environment)
    async with asyncpg.create_pool(url, min_size=1, max_size=1) as pool:
        try:
            await refuse_to_bypass_row_security(pool, settings)
        except SystemExit as leaving:
            return int(str(leaving.code))
    return None


def test_the_admin_service_refuses_to_serve_as_the_tables_owner_in_production(
    migrated_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    as_owner = asyncio.run(_refusal(migrated_url, Environment.PRODUCTION))
    said = capsys.readouterr().err
    as_owner_in_development = asyncio.run(_refusal(migrated_url, Environment.DEVELOPMENT))
    as_admin = asyncio.run(_refusal(service_url(migrated_url, "admin"), Environment.PRODUCTION))

    assert (as_owner, as_owner_in_development, as_admin) == (2, None, None)
    assert said.startswith("admin: RCP_DATABASE_URL: its role is a superuser")


def test_production_refuses_the_local_stacks_role_password_given_through_pgpassword(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "postgresql://rcp_admin@receptionist-db-rw:5432/receptionist"
    monkeypatch.setenv("PGPASSWORD", StackSettings().database_services_password)
    refused = AdminSettings(database_url=url).unfit_for_production()
    monkeypatch.setenv("PGPASSWORD", "a-value-from-a-kubernetes-secret")
    accepted = AdminSettings(database_url=url).unfit_for_production()

    assert any(p.startswith("RCP_DATABASE_URL: has a password of the local stack") for p in refused)
    assert not any(p.startswith("RCP_DATABASE_URL") for p in accepted)
