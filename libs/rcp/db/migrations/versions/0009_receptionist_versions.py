"""Published versions of the receptionist (issue 15).

Admins edit a draft (the receptionist's tables: `receptionists`, `menus`, `key_assignments`,
`schedules`, `holidays`); callers hear the latest row of `receptionist_versions`, the whole
receptionist compiled into one JSON document (`rcp.contracts.receptionist`) when it was
published, numbered from 1 per tenant, with who published it, when, an optional comment and
a readable summary of what changed. A rollback publishes a copy of an older version
(`rolled_back_from`). A tenant with no version yet is heard as its tables say (its draft is
the receptionist), as every tenant was before: the first draft-only edit publishes the
receptionist as it was, as version 1, first. The manual override is not versioned: it acts
at once.

Row-level security as revision 0008 rules: the admin role reads and writes a tenant's
versions in its scope; the stasis service reads every tenant's.
"""

from __future__ import annotations

from rcp.db.migrations import execute_script, row_security, service_policy

revision = "0009"
down_revision = "0008"

UPGRADE = r"""
CREATE TABLE receptionist_versions (
    tenant_id         uuid NOT NULL REFERENCES receptionists (tenant_id) ON DELETE CASCADE,
    number            integer NOT NULL CHECK (number >= 1),
    document          jsonb NOT NULL CHECK (jsonb_typeof(document) = 'object'),
    summary           jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(summary) = 'array'),
    comment           text CHECK (length(comment) <= 500),
    published_by      text NOT NULL CHECK (length(published_by) <= 200),
    published_at      timestamptz NOT NULL DEFAULT now(),
    rolled_back_from  integer,
    PRIMARY KEY (tenant_id, number),
    FOREIGN KEY (tenant_id, rolled_back_from) REFERENCES receptionist_versions (tenant_id, number)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON receptionist_versions TO rcp_admin;
GRANT SELECT ON receptionist_versions TO rcp_stasis;
"""

DOWNGRADE = r"""
DROP TABLE receptionist_versions;
"""


def upgrade() -> None:
    execute_script(
        UPGRADE
        + row_security("receptionist_versions")
        + service_policy("receptionist_versions", "rcp_stasis", "SELECT")
    )


def downgrade() -> None:
    execute_script(DOWNGRADE)
