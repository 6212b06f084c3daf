"""Retention: how long a tenant keeps its call records and voicemail, and the job that deletes
what is older.

The tenant's admins (or the carrier) choose it; a tenant without a row keeps call records
`DEFAULT_CALL_RECORDS_DAYS` and voicemail `DEFAULT_VOICEMAIL_DAYS` days. The retention job
(`receptionist retention apply`: a Kubernetes CronJob, a process of the local stack) deletes,
tenant by tenant and in batches, the call records that started and the voicemail messages
left longer ago than that; a message's recording goes with it (its prompt row here, its audio
file by the media service once the batch commits). Each batch is one transaction with its
audit entry (`retention.apply`, saying how many rows went); a tenant with nothing to delete
costs two index lookups and leaves no entry.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from uuid import UUID

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.resources import prompts
from rcp_admin.resources.tenant_rows import TenantRow
from rcp_admin.unit_of_work import Reader, Store

DEFAULT_CALL_RECORDS_DAYS = 365
DEFAULT_VOICEMAIL_DAYS = 90
# Rows deleted per transaction: a tenant with years of calls is emptied in short steps.
BATCH = 5000
# Who the audit log says deleted expired data.
JOB = Principal(token_id=None, name="retention job", tenant_id=None)


class Retentions(TenantRow):
    """How long the tenant keeps its call records and voicemail."""

    entity = "retention"
    table = "retention_settings"
    columns = ("call_records_days", "voicemail_days")
    path = "/retention"
    models = (s.RetentionPatch, s.Retention)
    summaries = (
        "How long the tenant keeps call records and voicemail",
        "Change how long the tenant keeps call records or voicemail",
        None,
    )
    carrier_writes = False

    async def to_model(self, reader: Reader, tenant_id: UUID) -> s.Retention:
        """The tenant's retention (the defaults without a row)."""
        row = await reader.fetchrow(self.select, tenant_id)
        if row is None:
            return s.Retention(
                call_records_days=DEFAULT_CALL_RECORDS_DAYS,
                voicemail_days=DEFAULT_VOICEMAIL_DAYS,
                updated_at=None,
            )
        return s.Retention.model_validate(dict(row))


RETENTIONS = Retentions()


@dataclass
class Expired:
    """What the retention job deleted of one tenant."""

    tenant_id: UUID
    call_records: int = 0
    voicemail: int = 0


async def apply(store: Store) -> list[Expired]:
    """Delete every tenant's call records and voicemail older than its retention; return
    what went, for the tenants that had something to delete."""
    tenants = await store.pool.fetch(
        """SELECT t.id, coalesce(r.call_records_days, $1) AS call_records_days,
                  coalesce(r.voicemail_days, $2) AS voicemail_days
             FROM tenants t LEFT JOIN retention_settings r ON r.tenant_id = t.id
            ORDER BY t.id""",
        DEFAULT_CALL_RECORDS_DAYS,
        DEFAULT_VOICEMAIL_DAYS,
    )
    done = []
    for tenant in tenants:
        expired = await apply_to_tenant(
            store, tenant["id"], tenant["call_records_days"], tenant["voicemail_days"]
        )
        if expired.call_records or expired.voicemail:
            done.append(expired)
    return done


async def apply_to_tenant(
    store: Store, tenant_id: UUID, call_records_days: int, voicemail_days: int
) -> Expired:
    """Delete one tenant's call records and voicemail older than these many days."""
    expired = Expired(tenant_id)
    anything = await store.pool.fetchval(
        """SELECT EXISTS (SELECT 1 FROM call_records WHERE tenant_id = $1
                             AND started_at < now() - make_interval(days => $2))
               OR EXISTS (SELECT 1 FROM voicemail_messages WHERE tenant_id = $1
                             AND created_at < now() - make_interval(days => $3))""",
        tenant_id,
        call_records_days,
        voicemail_days,
    )
    while anything:
        async with store.write(JOB, tenant_id, "retention", "apply") as change:
            connection = change.connection
            records = await connection.fetchval(
                """WITH gone AS (
                       DELETE FROM call_records WHERE tenant_id = $1 AND id IN (
                           SELECT id FROM call_records WHERE tenant_id = $1
                              AND started_at < now() - make_interval(days => $2) LIMIT $3)
                       RETURNING 1)
                   SELECT count(*) FROM gone""",
                tenant_id,
                call_records_days,
                BATCH,
            )
            messages = await connection.fetch(
                """DELETE FROM voicemail_messages WHERE tenant_id = $1 AND id IN (
                       SELECT id FROM voicemail_messages WHERE tenant_id = $1
                          AND created_at < now() - make_interval(days => $2) LIMIT $3)
                   RETURNING prompt_id""",
                tenant_id,
                voicemail_days,
                BATCH,
            )
            change.audio_to_forget = await prompts.delete_recordings(
                connection, tenant_id, [row["prompt_id"] for row in messages]
            )
            change.after = {
                "call_records": records,
                "voicemail": len(messages),
                "call_records_days": call_records_days,
                "voicemail_days": voicemail_days,
            }
        expired.call_records += records
        expired.voicemail += len(messages)
        anything = records == BATCH or len(messages) == BATCH
    return expired


# Privacy settings are the tenant's admins' to change (any member may read them).
ROUTES = [
    route if route.method == "GET" else replace(route, access="admin")
    for route in RETENTIONS.routes()
]
