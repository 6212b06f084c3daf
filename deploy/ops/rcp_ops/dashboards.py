"""Grafana dashboards, built with the Grafana Foundation SDK and committed as JSON.

`rcp-ops-generate` writes each dashboard to deploy/grafana/<uid>.json and wraps them all in
ConfigMaps labelled for the Grafana sidecar (k8s/base/dashboards.yaml).
"""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.builders import barchart, dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def _query(expr: str, legend: str) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend)


def _series(title: str, unit: str, *queries: tuple[str, str], width: int = 12) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).unit(unit).height(8).span(width)
    for expr, legend in queries:
        panel = panel.with_target(_query(expr, legend))
    return panel


def _stat(title: str, unit: str, expr: str) -> stat.Panel:
    return stat.Panel().title(title).unit(unit).height(4).span(6).with_target(_query(expr, title))


def _base(uid: str, title: str, description: str) -> dashboard.Dashboard:
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["receptionist", "generated"])
        .refresh("30s")
        .time("now-6h", "now")
        .with_variable(
            dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus")
        )
    )


def services() -> dashboard.Dashboard:
    """Each service's health, errors and latency."""
    return (
        _base(
            "receptionist-services",
            "Receptionist / Services",
            "Readiness, errors and latency of stasis, directory, media and admin.",
        )
        .with_row(dashboard.Row("Health"))
        .with_panel(
            _series(
                "Ready instances", "short", ("sum by (service) (rcp_service_ready)", "{{service}}")
            )
        )
        .with_panel(
            _series(
                "NATS and database errors",
                "ops",
                (
                    "sum by (service) (rate(rcp_nats_errors_total[$__rate_interval]))",
                    "NATS {{service}}",
                ),
                (
                    "sum by (service) (rate(rcp_db_errors_total[$__rate_interval]))",
                    "DB {{service}}",
                ),
            )
        )
        .with_row(dashboard.Row("Stasis"))
        .with_panel(
            _series(
                "Active calls and ARI link per pod",
                "short",
                ("sum by (pod) (rcp_stasis_active_calls)", "calls {{pod}}"),
                ("min by (pod) (rcp_stasis_ari_connected)", "ARI connected {{pod}}"),
            )
        )
        .with_panel(
            _series(
                "Key press to action",
                "s",
                (
                    "histogram_quantile(0.5, sum by (le) (rate(rcp_stasis_dtmf_to_action_seconds_bucket[$__rate_interval])))",
                    "p50",
                ),
                (
                    "histogram_quantile(0.99, sum by (le) (rate(rcp_stasis_dtmf_to_action_seconds_bucket[$__rate_interval])))",
                    "p99",
                ),
            )
        )
        .with_panel(
            _series(
                "Asterisk responsiveness p99",
                "s",
                (
                    "histogram_quantile(0.99, sum by (le) (rate(rcp_stasis_ari_request_seconds_bucket[$__rate_interval])))",
                    "ARI request answered",
                ),
                (
                    "histogram_quantile(0.99, sum by (le) (rate(rcp_stasis_ari_event_lag_seconds_bucket[$__rate_interval])))",
                    "key press or dial event age",
                ),
            )
        )
        .with_panel(
            _series(
                "Transfers by result",
                "ops",
                (
                    "sum by (result) (rate(rcp_stasis_transfers_total[$__rate_interval]))",
                    "{{result}}",
                ),
            )
        )
        .with_panel(
            _series(
                "Voicemails",
                "ops",
                (
                    "sum by (result) (rate(rcp_stasis_voicemails_total[$__rate_interval]))",
                    "{{result}}",
                ),
            )
        )
        .with_panel(
            _series(
                "Call events to call records, by result",
                "ops",
                (
                    "sum by (result) (rate(rcp_stasis_call_events_total[$__rate_interval]))",
                    "{{result}}",
                ),
            )
        )
        .with_panel(
            _series(
                "Outside calls (through the trunk)",
                "short",
                ("sum(rcp_stasis_outbound_legs)", "legs up"),
                (
                    "sum(rate(rcp_stasis_outbound_legs_dialled_total[$__rate_interval])) * 60",
                    "dialled a minute",
                ),
                (
                    "sum(rate(rcp_stasis_outbound_calls_cut_total[$__rate_interval])) * 60",
                    "cut at the longest call, a minute",
                ),
            )
        )
        .with_panel(
            _series(
                "Refused: legs and calls, by reason",
                "ops",
                (
                    "sum by (reason) (rate(rcp_stasis_transfers_refused_total[$__rate_interval]))",
                    "leg {{reason}}",
                ),
                (
                    "sum by (reason) (rate(rcp_stasis_calls_refused_total[$__rate_interval]))",
                    "call {{reason}}",
                ),
            )
        )
        .with_row(dashboard.Row("Directory"))
        .with_panel(
            _series(
                "Lookups by result",
                "ops",
                (
                    "sum by (result) (rate(rcp_directory_lookups_total[$__rate_interval]))",
                    "{{result}}",
                ),
            )
        )
        .with_panel(
            _series(
                "Lookup latency",
                "s",
                (
                    "histogram_quantile(0.5, sum by (le) (rate(rcp_directory_lookup_duration_seconds_bucket[$__rate_interval])))",
                    "p50",
                ),
                (
                    "histogram_quantile(0.99, sum by (le) (rate(rcp_directory_lookup_duration_seconds_bucket[$__rate_interval])))",
                    "p99",
                ),
            )
        )
        .with_panel(
            _series(
                "Index size",
                "short",
                ("sum(rcp_directory_index_entries)", "entries"),
                ("sum(rcp_directory_index_tenants)", "tenants"),
            )
        )
        .with_row(dashboard.Row("Media"))
        .with_panel(
            _series(
                "Renders",
                "ops",
                (
                    "sum by (kind, outcome) (rate(rcp_media_renders_total[$__rate_interval]))",
                    "{{kind}} {{outcome}}",
                ),
            )
        )
        .with_panel(
            _series(
                "Cache hits and misses",
                "ops",
                (
                    "sum by (result) (rate(rcp_media_cache_lookups_total[$__rate_interval]))",
                    "{{result}}",
                ),
            )
        )
        .with_panel(
            _series(
                "Render latency",
                "s",
                (
                    "histogram_quantile(0.95, sum by (le, kind) (rate(rcp_media_render_seconds_bucket[$__rate_interval])))",
                    "p95 {{kind}}",
                ),
            )
        )
        .with_panel(
            _series(
                "Bytes served",
                "Bps",
                ("sum(rate(rcp_media_served_bytes_total[$__rate_interval]))", "served"),
            )
        )
        .with_panel(
            _series(
                "TTS workers stopped",
                "short",
                (
                    "sum by (reason) (increase(rcp_media_tts_workers_stopped_total[$__rate_interval]))",
                    "{{reason}}",
                ),
            )
        )
        .with_row(dashboard.Row("Admin API"))
        .with_panel(
            _series(
                "Requests by status",
                "reqps",
                (
                    "sum by (status) (rate(rcp_admin_http_requests_total[$__rate_interval]))",
                    "{{status}}",
                ),
            )
        )
        .with_panel(
            _series(
                "Latency",
                "s",
                (
                    "histogram_quantile(0.99, sum by (le) (rate(rcp_admin_http_request_duration_seconds_bucket[$__rate_interval])))",
                    "p99",
                ),
            )
        )
    )


def overview() -> dashboard.Dashboard:
    """The first screen an operator opens."""
    return (
        _base(
            "receptionist-overview",
            "Receptionist / Overview",
            "Is the receptionist answering: calls, outcomes, services ready, errors, latency.",
        )
        .with_panel(_stat("Active calls", "short", "sum(rcp_stasis_active_calls)"))
        .with_panel(
            _stat(
                "ARI links down",
                "short",
                "count(rcp_stasis_ari_connected == 0) or vector(0)",
            )
        )
        .with_panel(
            _stat(
                "Failed calls (5m)",
                "percentunit",
                'sum(rate(rcp_stasis_calls_total{outcome="failed"}[5m])) '
                "/ sum(rate(rcp_stasis_calls_total[5m]))",
            )
        )
        .with_panel(_stat("Ready instances", "short", "sum(rcp_service_ready)"))
        .with_panel(
            _series(
                "Calls by outcome",
                "ops",
                (
                    "sum by (outcome) (rate(rcp_stasis_calls_total[$__rate_interval]))",
                    "{{outcome}}",
                ),
                (
                    "sum by (reason) (rate(rcp_stasis_calls_refused_total[$__rate_interval]))",
                    "refused: {{reason}}",
                ),
            )
        )
        .with_panel(
            _series(
                "Key presses and transfers",
                "ops",
                (
                    "sum by (action) (rate(rcp_stasis_key_presses_total[$__rate_interval]))",
                    "key: {{action}}",
                ),
                (
                    "sum by (kind, result) (rate(rcp_stasis_transfers_total[$__rate_interval]))",
                    "transfer {{kind}}: {{result}}",
                ),
            )
        )
        .with_panel(
            _stat("Directory lookups/s", "ops", "sum(rate(rcp_directory_lookups_total[5m]))")
        )
        .with_panel(_stat("Prompt renders/s", "ops", "sum(rate(rcp_media_renders_total[5m]))"))
        .with_panel(
            _stat(
                "Admin 5xx/s",
                "reqps",
                'sum(rate(rcp_admin_http_requests_total{status=~"5.."}[5m]))',
            )
        )
        .with_panel(
            _stat(
                "Voicemails lost (1h)",
                "short",
                'sum(increase(rcp_stasis_voicemails_total{result="failed"}[1h])) or vector(0)',
            )
        )
        .with_panel(
            _series(
                "Errors",
                "ops",
                (
                    'sum(rate(rcp_directory_lookups_total{result="error"}[$__rate_interval]))',
                    "directory",
                ),
                (
                    'sum(rate(rcp_media_renders_total{outcome!="ok"}[$__rate_interval]))',
                    "media renders",
                ),
                (
                    'sum(rate(rcp_admin_http_requests_total{status=~"5.."}[$__rate_interval]))',
                    "admin 5xx",
                ),
                ("sum(rate(rcp_db_errors_total[$__rate_interval]))", "database"),
                ("sum(rate(rcp_nats_errors_total[$__rate_interval]))", "NATS"),
            )
        )
        .with_panel(
            _series(
                "Latency p99",
                "s",
                (
                    "histogram_quantile(0.99, sum by (le) (rate(rcp_stasis_dtmf_to_action_seconds_bucket[$__rate_interval])))",
                    "key press to action",
                ),
                (
                    "histogram_quantile(0.99, sum by (le) (rate(rcp_directory_lookup_duration_seconds_bucket[$__rate_interval])))",
                    "directory lookup",
                ),
                (
                    "histogram_quantile(0.99, sum by (le) (rate(rcp_admin_http_request_duration_seconds_bucket[$__rate_interval])))",
                    "admin request",
                ),
            )
        )
    )


POSTGRES = "grafana-postgresql-datasource"


class SqlQuery(cogvariants.Dataquery):
    """A query of Grafana's PostgreSQL data source (the SDK has no builder for it)."""

    def __init__(self, sql: str, result_format: str) -> None:
        self.sql = sql
        self.result_format = result_format

    def to_json(self) -> dict[str, object]:
        """Grafana's JSON for the query."""
        return {
            "refId": "A",
            "datasource": {"type": POSTGRES, "uid": "${postgres}"},
            "editorMode": "code",
            "rawQuery": True,
            "rawSql": self.sql,
            "format": self.result_format,
        }


class Sql(cogbuilder.Builder[SqlQuery]):
    """Builds a `SqlQuery`."""

    def __init__(self, sql: str, result_format: str = "time_series") -> None:
        self._query = SqlQuery(sql, result_format)

    def build(self) -> SqlQuery:
        """The query."""
        return self._query


# The per-tenant view reads the call records the stasis service writes to PostgreSQL, so that
# Prometheus never carries a tenant label (10,000 tenants would be 10,000 series per metric).
TENANT_SQL = {
    "calls": """SELECT $__timeGroupAlias(started_at, '1h'), count(*) AS calls
FROM call_records WHERE tenant_id = '$tenant' AND $__timeFilter(started_at)
GROUP BY 1 ORDER BY 1""",
    "outcomes": """SELECT $__timeGroupAlias(started_at, '1h'), outcome AS metric, count(*) AS value
FROM call_records WHERE tenant_id = '$tenant' AND $__timeFilter(started_at) AND outcome IS NOT NULL
GROUP BY 1, 2 ORDER BY 1""",
    "keys": """SELECT coalesce(e->'data'->>'action', 'unassigned key') AS action, count(*) AS presses
FROM call_records c CROSS JOIN LATERAL jsonb_array_elements(c.trace) AS e
WHERE c.tenant_id = '$tenant' AND $__timeFilter(c.started_at) AND e->>'kind' = 'key'
GROUP BY 1 ORDER BY 2 DESC""",
    "dial_by_name": """SELECT $__timeGroupAlias(c.started_at, '1d'),
  count(*) FILTER (WHERE (e->'data'->>'total')::int > 0) AS found,
  count(*) FILTER (WHERE (e->'data'->>'total')::int = 0) AS "no match",
  count(*) FILTER (WHERE e->'data' ? 'failed') AS failed
FROM call_records c CROSS JOIN LATERAL jsonb_array_elements(c.trace) AS e
WHERE c.tenant_id = '$tenant' AND $__timeFilter(c.started_at) AND e->>'kind' = 'lookup_result'
GROUP BY 1 ORDER BY 1""",
    "voicemail": """SELECT $__timeGroupAlias(created_at, '1d'), count(*) AS messages
FROM voicemail_messages WHERE tenant_id = '$tenant' AND $__timeFilter(created_at)
GROUP BY 1 ORDER BY 1""",
}


def tenant() -> dashboard.Dashboard:
    """One tenant's calls, key-press funnel, dial-by-name success and voicemail."""
    return (
        dashboard.Dashboard("Receptionist / Tenant")
        .uid("receptionist-tenant")
        .description("One tenant's calls, from the call records in PostgreSQL.")
        .tags(["receptionist", "generated"])
        .refresh("5m")
        .time("now-7d", "now")
        .with_variable(dashboard.DatasourceVariable("postgres").label("PostgreSQL").type(POSTGRES))
        .with_variable(
            dashboard.QueryVariable("tenant")
            .label("Tenant")
            .datasource(DataSourceRef(type_val=POSTGRES, uid="${postgres}"))
            .query("SELECT slug AS __text, id::text AS __value FROM tenants ORDER BY slug")
        )
        .with_panel(
            timeseries.Panel()
            .title("Calls per hour")
            .unit("short")
            .height(8)
            .span(12)
            .with_target(Sql(TENANT_SQL["calls"]))
        )
        .with_panel(
            timeseries.Panel()
            .title("Outcomes per hour")
            .unit("short")
            .height(8)
            .span(12)
            .with_target(Sql(TENANT_SQL["outcomes"]))
        )
        .with_panel(
            barchart.Panel()
            .title("Key presses by action")
            .height(8)
            .span(12)
            .with_target(Sql(TENANT_SQL["keys"], "table"))
        )
        .with_panel(
            timeseries.Panel()
            .title("Dial by name: found, no match, failed")
            .unit("short")
            .height(8)
            .span(12)
            .with_target(Sql(TENANT_SQL["dial_by_name"]))
        )
        .with_panel(
            timeseries.Panel()
            .title("Voicemail messages per day")
            .unit("short")
            .height(8)
            .span(12)
            .with_target(Sql(TENANT_SQL["voicemail"]))
        )
    )


DASHBOARDS = {
    "receptionist-overview": overview,
    "receptionist-services": services,
    "receptionist-tenant": tenant,
}


def render(builder: dashboard.Dashboard) -> dict[str, Any]:
    """A dashboard as Grafana's JSON model."""
    encoded = JSONEncoder(sort_keys=True, indent=2).encode(builder.build())
    document: dict[str, Any] = json.loads(encoded)
    return document
