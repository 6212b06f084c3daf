"""A database role per service, and row-level security on every tenant-owned table (issue 13).

**Roles.** `rcp_admin`, `rcp_stasis`, `rcp_directory` and `rcp_media` are created here when
missing (roles belong to the whole server: an existing one is kept as it is, so CloudNativePG's
managed roles, or another database's migration, may have made it first). They are created
NOLOGIN and without passwords: whoever runs the server lets them log in with a password of
its own (the local stack, the tests' fixtures, CloudNativePG from a Secret). Each gets only the
privileges its queries need (docs/schema.md has the table of grants); the tables stay the
migrator's, the role that runs these revisions.

**Row-level security.** Every table with a `tenant_id` column, and `tenants` itself, has row
security enabled and forced (its owner too obeys it). Its policies: the owner sees every row
(migrations rewrite data); the admin role sees the rows of the transaction's tenant, or every
row in carrier scope (`rcp_in_scope`, reading the transaction-local settings `rcp.tenant_id`
and `rcp.carrier` that `rcp.db.scope` sets); the other services, which answer for every tenant,
get explicit policies on exactly what their grants allow. Nothing is rewritten: every row a
tenant saved stays as it was.

The downgrade drops the policies and revokes every grant; it leaves the roles, which other
databases of the server may use.
"""

from __future__ import annotations

from rcp.db.migrations import execute_script, row_security, service_policy

revision = "0008"
down_revision = "0007"

ROLES = ("rcp_admin", "rcp_stasis", "rcp_directory", "rcp_media")

# Tables whose rows belong to one tenant (`tenants`: its own row, keyed on `id`).
TENANT_TABLES = (
    "phone_numbers",
    "prompts",
    "numbering_plan",
    "extensions",
    "ring_groups",
    "ring_group_members",
    "conference_rooms",
    "receptionists",
    "key_assignments",
    "voicemail_messages",
    "call_records",
    "admin_tokens",
    "audit_log",
    "media_files",
    "outbound_policies",
    "tenant_limits",
    "devices",
    "menus",
    "retention_settings",
    "schedules",
    "holidays",
)
# What the stasis service reads of a tenant's configuration.
STASIS_READS = (
    "tenants",
    "phone_numbers",
    "extensions",
    "devices",
    "ring_groups",
    "ring_group_members",
    "conference_rooms",
    "outbound_policies",
    "tenant_limits",
    "receptionists",
    "menus",
    "key_assignments",
    "schedules",
    "holidays",
)
ADMIN_TABLES = ("tenants", *(t for t in TENANT_TABLES if t not in ("media_files", "audit_log")))

ROLES_SQL = r"""
DO $$
DECLARE
    wanted text;
BEGIN
    FOREACH wanted IN ARRAY ARRAY['rcp_admin', 'rcp_stasis', 'rcp_directory', 'rcp_media'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = wanted) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', wanted);
            EXCEPTION
                -- Created meanwhile by the migration of another database of this server.
                WHEN duplicate_object OR unique_violation THEN NULL;
                WHEN insufficient_privilege THEN
                    RAISE EXCEPTION 'the role % does not exist, and % may not create it', wanted,
                        current_user
                        USING HINT = 'create the service roles first (CloudNativePG managed '
                                     'roles do), or migrate as a role with CREATEROLE';
            END;
        END IF;
    END LOOP;
    IF EXISTS (SELECT FROM pg_roles
                WHERE rolname IN ('rcp_admin', 'rcp_stasis', 'rcp_directory', 'rcp_media')
                  AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'a service role is a superuser or bypasses row-level security'
            USING HINT = 'ALTER ROLE ... NOSUPERUSER NOBYPASSRLS';
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO rcp_admin, rcp_stasis, rcp_directory, '
                   'rcp_media', current_database());
END $$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO rcp_admin, rcp_stasis, rcp_directory, rcp_media;
-- `rcp-migrate wait`: a service's init step waits for the schema with its own credentials.
GRANT SELECT ON alembic_version TO rcp_admin, rcp_stasis, rcp_directory, rcp_media;

-- A row is in the admin role's scope when it is the transaction's tenant's, or in carrier
-- scope (rcp.db.scope sets both settings, transaction-local; unset, nothing is in scope).
CREATE FUNCTION rcp_in_scope(tenant uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('rcp.carrier', true) = 'on', false)
        OR coalesce(tenant = nullif(current_setting('rcp.tenant_id', true), '')::uuid, false)
$$;
"""

GRANTS_SQL = f"""
GRANT SELECT, INSERT, UPDATE, DELETE ON {", ".join(ADMIN_TABLES)} TO rcp_admin;
-- The audit log is appended to and redacted, never deleted from.
GRANT SELECT, INSERT, UPDATE ON audit_log TO rcp_admin;
GRANT USAGE ON SEQUENCE audit_log_id_seq TO rcp_admin;

GRANT SELECT ON {", ".join(STASIS_READS)} TO rcp_stasis;
GRANT SELECT, INSERT, UPDATE ON call_records TO rcp_stasis;
GRANT INSERT ON voicemail_messages TO rcp_stasis;
GRANT SELECT (id) ON voicemail_messages TO rcp_stasis;

GRANT SELECT (id, status) ON tenants TO rcp_directory;
GRANT SELECT (tenant_id, number, first_name, last_name, name_prompt_id, reachable_by_name)
    ON extensions TO rcp_directory;

GRANT SELECT, INSERT, UPDATE, DELETE ON media_files TO rcp_media;
GRANT SELECT (id, locale) ON tenants TO rcp_media;
GRANT SELECT, INSERT ON prompts TO rcp_media;
GRANT UPDATE (status, error_code, content_hash, duration_ms, size_bytes) ON prompts TO rcp_media;
"""

POLICIES_SQL = (
    row_security("tenants", key="id")
    + "".join(row_security(table) for table in TENANT_TABLES)
    + "".join(service_policy(table, "rcp_stasis", "SELECT") for table in STASIS_READS)
    + service_policy("call_records", "rcp_stasis", "ALL")
    + service_policy("voicemail_messages", "rcp_stasis", "SELECT")
    + service_policy("voicemail_messages", "rcp_stasis", "INSERT")
    + service_policy("tenants", "rcp_directory", "SELECT")
    + service_policy("extensions", "rcp_directory", "SELECT")
    + service_policy("media_files", "rcp_media", "ALL")
    + service_policy("tenants", "rcp_media", "SELECT")
    + service_policy("prompts", "rcp_media", "SELECT")
    + service_policy("prompts", "rcp_media", "INSERT")
    + service_policy("prompts", "rcp_media", "UPDATE")
)

DOWNGRADE = (
    "".join(
        f"""DO $$
DECLARE
    policy record;
BEGIN
    FOR policy IN SELECT policyname FROM pg_policies WHERE tablename = '{table}' LOOP
        EXECUTE format('DROP POLICY %I ON {table}', policy.policyname);
    END LOOP;
END $$;
ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;
ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;
"""
        for table in ("tenants", *TENANT_TABLES)
    )
    + """
DROP FUNCTION rcp_in_scope(uuid);
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM rcp_admin, rcp_stasis, rcp_directory, rcp_media;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public
    FROM rcp_admin, rcp_stasis, rcp_directory, rcp_media;
REVOKE USAGE ON SCHEMA public FROM rcp_admin, rcp_stasis, rcp_directory, rcp_media;
DO $$
BEGIN
    EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM rcp_admin, rcp_stasis, rcp_directory, '
                   'rcp_media', current_database());
END $$;
"""
)


def upgrade() -> None:
    execute_script(ROLES_SQL + GRANTS_SQL + POLICIES_SQL)


def downgrade() -> None:
    execute_script(DOWNGRADE)
