"""The dashboard's counts, kept with the call records (issue 16): `call_counts`.

The tenant's dashboard shows calls per day and hour, outcomes, key presses and dial-by-name
results. Counting key presses and lookups meant reading every call's decision trace, which
made a year of calls slow. `call_counts` holds how many of a tenant's calls, or of their steps,
started in each `bucket`, by `kind`:

- `call`, per quarter hour (UTC, from 2000-01-01 00:00: every time zone's local days and hours
  are whole quarters): `item` '', `detail` `answered` or '';
- per hour (UTC), what a period needs only in total:
  - `outcome`: `item` the outcome (`in_progress` while the call lasts), `detail` '';
  - `key`: `item` the digit pressed, `detail` the key's action (`unassigned` for none);
  - `lookup`: a dial-by-name result, `item` `found` (a total above 0), `no_match` (0) or '',
    `detail` `failed` (it says so) or ''.

`rcp_call_counts_of(started_at, outcome, answered, trace)` is what one record adds (`n` in
`bucket`). Triggers on `call_records` keep the counts in the very statement that inserts,
updates or deletes records, whoever runs it: the call records service (a redelivered event
changes no row, so it counts nothing twice; an event that changes a record moves its counts:
`ended` takes its call from `in_progress` to its outcome), the retention job and a tenant's
erasure (what goes is counted off; a count that reaches 0 goes too). The triggers' function
runs as the tables' owner: no service role may write `call_counts`; the admin role reads it
(its dashboard), under row-level security. Existing records are counted here.
"""

from __future__ import annotations

from rcp.db.migrations import row_security, sql_steps

revision = "0012"
down_revision = "0011"

# Statement-level triggers see every row a statement changed (transition tables) at once:
# one pass over the counts per statement, a bulk insert or delete included. The changed rows
# count as -1 (before) and +1 (after); what adds up to 0 is no change. Counts that go down
# are updated (their rows exist: they were counted), those that go up are upserted.
COUNT_CHANGES = """
        WITH changed (r, sign) AS ({changes}),
        delta AS (
            SELECT (c.r).tenant_id AS tenant_id, k.bucket, k.kind, k.item, k.detail,
                   sum(k.n * c.sign) AS n
              FROM changed c CROSS JOIN LATERAL rcp_call_counts_of(
                       (c.r).started_at, (c.r).outcome, (c.r).answered_at IS NOT NULL,
                       (c.r).trace) k
             GROUP BY 1, 2, 3, 4, 5
            HAVING sum(k.n * c.sign) <> 0),
        lessened AS (
            UPDATE call_counts t SET n = t.n + d.n
              FROM delta d
             WHERE d.n < 0 AND (t.tenant_id, t.kind, t.bucket, t.item, t.detail)
                             = (d.tenant_id, d.kind, d.bucket, d.item, d.detail)
            RETURNING t.*),
        added AS (
            INSERT INTO call_counts AS t (tenant_id, kind, bucket, item, detail, n)
            SELECT tenant_id, kind, bucket, item, detail, n FROM delta WHERE n > 0
             ORDER BY tenant_id, kind, bucket, item, detail
            ON CONFLICT (tenant_id, kind, bucket, item, detail) DO UPDATE SET n = t.n + EXCLUDED.n)
        SELECT array_agg((l.tenant_id, l.kind, l.bucket, l.item, l.detail, l.n)::call_counts)
          INTO emptied FROM lessened l WHERE l.n = 0;"""

INSERTED = COUNT_CHANGES.format(changes="SELECT r, 1 FROM new_rows r")
UPDATED = COUNT_CHANGES.format(
    changes="SELECT r, -1 FROM old_rows r UNION ALL SELECT r, 1 FROM new_rows r"
)
DELETED = COUNT_CHANGES.format(changes="SELECT r, -1 FROM old_rows r")

UPGRADE = rf"""
CREATE TABLE call_counts (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind      text NOT NULL,
    bucket    timestamptz NOT NULL,
    item      text NOT NULL,
    detail    text NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (tenant_id, kind, bucket, item, detail)
);

-- What one call record adds to the counts. Never fails, whatever a trace holds (a failure
-- would stop the records' writer): a digit or an action is cut at 100 characters, a total
-- that is not an integer counts as neither found nor no match.
CREATE FUNCTION rcp_call_counts_of(
    started_at timestamptz, outcome text, answered boolean, trace jsonb
) RETURNS TABLE (bucket timestamptz, kind text, item text, detail text, n bigint)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT date_bin(CASE WHEN s.kind = 'call' THEN interval '15 minutes' ELSE interval '1 hour' END,
                    started_at, '2000-01-01 00:00:00+00'),
           s.kind, s.item, s.detail, count(*)
      FROM (SELECT 'call' AS kind, '' AS item,
                   CASE WHEN answered THEN 'answered' ELSE '' END AS detail
            UNION ALL
            SELECT 'outcome', coalesce(outcome, 'in_progress'), ''
            UNION ALL
            SELECT CASE WHEN e->>'kind' = 'key' THEN 'key' ELSE 'lookup' END,
                   CASE WHEN e->>'kind' = 'key' THEN left(coalesce(e->'data'->>'digit', ''), 100)
                        WHEN NOT coalesce(e->'data'->>'total' ~ '^\s*[+-]?[0-9]+\s*$', false)
                        THEN ''
                        WHEN (e->'data'->>'total')::numeric > 0 THEN 'found'
                        WHEN (e->'data'->>'total')::numeric = 0 THEN 'no_match'
                        ELSE '' END,
                   CASE WHEN e->>'kind' = 'key'
                        THEN left(coalesce(e->'data'->>'action', 'unassigned'), 100)
                        WHEN e->'data' ? 'failed' THEN 'failed'
                        ELSE '' END
              FROM jsonb_array_elements(
                       CASE jsonb_typeof(trace) WHEN 'array' THEN trace ELSE '[]' END) AS e
             WHERE e->>'kind' IN ('key', 'lookup_result')) AS s
     GROUP BY s.kind, s.item, s.detail
$$;

CREATE FUNCTION rcp_count_calls() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    emptied call_counts[];
BEGIN
    IF TG_OP = 'INSERT' THEN{INSERTED}
    ELSIF TG_OP = 'UPDATE' THEN{UPDATED}
    ELSE{DELETED}
    END IF;
    IF emptied IS NOT NULL THEN
        DELETE FROM call_counts t USING unnest(emptied) e
         WHERE (t.tenant_id, t.kind, t.bucket, t.item, t.detail)
             = (e.tenant_id, e.kind, e.bucket, e.item, e.detail) AND t.n = 0;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER call_records_counted_insert AFTER INSERT ON call_records
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rcp_count_calls();
CREATE TRIGGER call_records_counted_update AFTER UPDATE ON call_records
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rcp_count_calls();
CREATE TRIGGER call_records_counted_delete AFTER DELETE ON call_records
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rcp_count_calls();

INSERT INTO call_counts (tenant_id, kind, bucket, item, detail, n)
SELECT c.tenant_id, k.kind, k.bucket, k.item, k.detail, sum(k.n)
  FROM call_records c CROSS JOIN LATERAL rcp_call_counts_of(
           c.started_at, c.outcome, c.answered_at IS NOT NULL, c.trace) k
 GROUP BY 1, 2, 3, 4, 5;

GRANT SELECT ON call_counts TO rcp_admin;
""" + row_security("call_counts")

DOWNGRADE = r"""
DROP TRIGGER call_records_counted_insert ON call_records;
DROP TRIGGER call_records_counted_update ON call_records;
DROP TRIGGER call_records_counted_delete ON call_records;
DROP FUNCTION rcp_count_calls();
DROP TABLE call_counts;
DROP FUNCTION rcp_call_counts_of(timestamptz, text, boolean, jsonb);
"""

upgrade, downgrade = sql_steps(UPGRADE, DOWNGRADE)
