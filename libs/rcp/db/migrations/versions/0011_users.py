"""People sign in as people (issue 17): users, their sessions and their one-time links.

`users` are a tenant's people (roles admin, editor, viewer) or, with no tenant, the carrier's
staff (operator, support). An email address is one account across the whole service. A
password is stored only as an argon2id hash; an invited user has none until they accept.
`user_sessions` are the web manager's sign-ins: the cookie's secret is stored only as a keyed
hash, with an absolute expiry and the last time it was used (the idle lifetime is the admin
service's setting); `view_as_tenant_id` is a carrier support session looking at one tenant,
read-only. `user_links` are invitations and password resets: a secret (stored as a keyed
hash) good once, until it expires. The audit log names the person who acted
(`actor_user_id`). Each table is under row-level security like every tenant-owned one (staff
rows, with no tenant, are in carrier scope only). Additive only.
"""

from __future__ import annotations

from rcp.db.migrations import row_security, sql_steps, touch_updated_at

revision = "0011"
down_revision = "0010"

UPGRADE = (
    r"""
CREATE TABLE users (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id           uuid REFERENCES tenants (id) ON DELETE CASCADE,
    email               text NOT NULL CHECK (email = lower(email) AND email LIKE '_%@_%'
                                             AND length(email) <= 254),
    name                text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    role                text NOT NULL
                        CHECK (role = ANY (ARRAY['admin', 'editor', 'viewer', 'operator',
                                                 'support'])),
    language            text NOT NULL DEFAULT 'fr' CHECK (language = ANY (ARRAY['fr', 'en'])),
    password_hash       text,
    password_changed_at timestamptz,
    disabled_at         timestamptz,
    last_sign_in_at     timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_role_of_its_kind
        CHECK ((tenant_id IS NULL) = (role IN ('operator', 'support')))
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_by_tenant ON users (tenant_id, email);

CREATE TABLE user_sessions (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id         uuid REFERENCES tenants (id) ON DELETE CASCADE,
    secret_hash       bytea NOT NULL UNIQUE,
    view_as_tenant_id uuid REFERENCES tenants (id) ON DELETE CASCADE,
    address           text NOT NULL DEFAULT '' CHECK (length(address) <= 100),
    user_agent        text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 300),
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_seen_at      timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL,
    revoked_at        timestamptz
);
CREATE INDEX user_sessions_by_user ON user_sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE user_links (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id   uuid REFERENCES tenants (id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose = ANY (ARRAY['invitation', 'password_reset'])),
    secret_hash bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX user_links_by_user ON user_links (user_id) WHERE used_at IS NULL;

ALTER TABLE audit_log ADD COLUMN actor_user_id uuid;
CREATE INDEX audit_log_by_actor ON audit_log (actor_user_id) WHERE actor_user_id IS NOT NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON users, user_sessions, user_links TO rcp_admin;
"""
    + touch_updated_at("users")
    + row_security("users")
    + row_security("user_sessions")
    + row_security("user_links")
)

DOWNGRADE = r"""
DROP INDEX audit_log_by_actor;
ALTER TABLE audit_log DROP COLUMN actor_user_id;
DROP TABLE user_links;
DROP TABLE user_sessions;
DROP TABLE users;
"""

upgrade, downgrade = sql_steps(UPGRADE, DOWNGRADE)
