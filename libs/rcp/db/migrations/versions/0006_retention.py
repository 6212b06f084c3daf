"""How long each tenant's personal data is kept: call records and voicemail (issue 13).

`retention_settings` holds a tenant's choice; a tenant without a row keeps call records 365
days and voicemail messages 90 days (the columns' defaults here,
`rcp_admin.resources.retention`'s in code). The retention job (`receptionist retention
apply`) deletes what is older, voicemail recordings included. An index lets it find old
messages of a tenant without reading the others. Additive only.
"""

from __future__ import annotations

from rcp.db.migrations import sql_steps, touch_updated_at

revision = "0006"
down_revision = "0005"

UPGRADE = r"""
CREATE TABLE retention_settings (
    tenant_id          uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    call_records_days  integer NOT NULL DEFAULT 365 CHECK (call_records_days BETWEEN 1 AND 3650),
    voicemail_days     integer NOT NULL DEFAULT 90 CHECK (voicemail_days BETWEEN 1 AND 3650),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX voicemail_messages_by_time ON voicemail_messages (tenant_id, created_at);
""" + touch_updated_at("retention_settings")

DOWNGRADE = r"""
DROP INDEX voicemail_messages_by_time;
DROP TABLE retention_settings;
"""

upgrade, downgrade = sql_steps(UPGRADE, DOWNGRADE)
