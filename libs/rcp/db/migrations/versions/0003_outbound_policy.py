"""The carrier's outbound policy and call limits of each tenant.

`outbound_policies` says which outside numbers a tenant's virtual extensions may ring (its own
country and fixed lines and mobiles by default; more countries, number types and prefixes
only once the carrier allows them; a deny-list that always wins: see `rcp.outbound`).
`tenant_limits` caps its calls (concurrent inbound calls, concurrent outbound legs, outbound
legs a minute, the longest outbound call). Both belong to the carrier, never to the tenant;
a tenant without a row gets the defaults, which are the columns' defaults here and
`rcp.outbound`'s in code. Additive only: no existing column changes.
"""

from __future__ import annotations

from rcp.db.migrations import sql_steps, touch_updated_at

revision = "0003"
down_revision = "0002"

UPGRADE = r"""
CREATE FUNCTION rcp_all_match(items text[], pattern text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(bool_and(item ~ pattern), true) FROM unnest(items) AS item
$$;

CREATE TABLE outbound_policies (
    tenant_id             uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    -- The tenant's own country (ISO 3166); NULL: the country of the tenant's locale.
    home_region           text CHECK (home_region ~ '^[A-Z]{2}$'),
    allowed_regions       text[] NOT NULL DEFAULT '{}'
                          CHECK (rcp_all_match(allowed_regions, '^[A-Z]{2}$')
                                 AND cardinality(allowed_regions) <= 1000),
    allowed_number_types  text[] NOT NULL DEFAULT '{fixed_line,mobile,fixed_line_or_mobile}'
                          CHECK (allowed_number_types <@ ARRAY[
                              'fixed_line', 'mobile', 'fixed_line_or_mobile', 'toll_free',
                              'premium_rate', 'shared_cost', 'voip', 'personal_number', 'pager',
                              'uan', 'voicemail', 'unknown']::text[]),
    allowed_prefixes      text[] NOT NULL DEFAULT '{}'
                          CHECK (rcp_all_match(allowed_prefixes, '^\+[0-9]{1,15}$')
                                 AND cardinality(allowed_prefixes) <= 1000),
    denied_prefixes       text[] NOT NULL DEFAULT '{}'
                          CHECK (rcp_all_match(denied_prefixes, '^\+[0-9]{1,15}$')
                                 AND cardinality(denied_prefixes) <= 1000),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenant_limits (
    tenant_id                     uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    max_inbound_calls             integer NOT NULL DEFAULT 30
                                  CHECK (max_inbound_calls BETWEEN 1 AND 10000),
    max_outbound_legs             integer NOT NULL DEFAULT 10
                                  CHECK (max_outbound_legs BETWEEN 0 AND 10000),
    max_outbound_legs_per_minute  integer NOT NULL DEFAULT 20
                                  CHECK (max_outbound_legs_per_minute BETWEEN 0 AND 100000),
    max_outbound_call_s           integer NOT NULL DEFAULT 3600
                                  CHECK (max_outbound_call_s BETWEEN 10 AND 86400),
    updated_at                    timestamptz NOT NULL DEFAULT now()
);

""" + touch_updated_at("outbound_policies", "tenant_limits")

DOWNGRADE = r"""
DROP TABLE tenant_limits;
DROP TABLE outbound_policies;
DROP FUNCTION rcp_all_match(text[], text);
"""

upgrade, downgrade = sql_steps(UPGRADE, DOWNGRADE)
