"""Each tenant's configuration version (`config_versions`): the order of its snapshots.

Every admin write that changes a tenant's configuration adds 1 to the tenant's version in its
own transaction (the row's lock makes concurrent writes to one tenant take their turns, so the
versions follow the commits). A snapshot read in one transaction has the data of exactly the
writes up to its version: the configuration store keeps the snapshot of the highest version,
whatever order concurrent writers store theirs in (`rcp.config_store`). A tenant without a row
is at version 0 (none written since this revision). stasis reads it with the rest of a
snapshot when the configuration store lacks a tenant (`rcp_stasis.tenants`).
"""

from __future__ import annotations

from rcp.db.migrations import row_security, service_policy, sql_steps

revision = "0013"
down_revision = "0012"

UPGRADE = """
CREATE TABLE config_versions (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    version   bigint NOT NULL CHECK (version > 0)
);
GRANT SELECT, INSERT, UPDATE ON config_versions TO rcp_admin;
GRANT SELECT ON config_versions TO rcp_stasis;
"""
UPGRADE += row_security("config_versions") + service_policy(
    "config_versions", "rcp_stasis", "SELECT"
)

DOWNGRADE = "DROP TABLE config_versions;\n"

upgrade, downgrade = sql_steps(UPGRADE, DOWNGRADE)
