"""Prometheus alerting rules: each wakes an operator for one thing, with a runbook section.

The rules are data here and rendered twice by `rcp-ops-generate`: a plain rules file for
promtool (deploy/prometheus/receptionist-rules.yml) and the Prometheus Operator's
PrometheusRule (k8s/base/prometheus-rule.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass, field

RUNBOOK = "deploy/runbooks.md"  # in this repository; each alert links its own section


@dataclass(frozen=True)
class Alert:
    """One alerting rule and the runbook section that says what to do."""

    name: str
    expr: str
    duration: str
    severity: str
    summary: str
    description: str
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        """The runbook section's anchor."""
        return self.name.lower()


GROUPS: dict[str, list[Alert]] = {
    "receptionist.services": [
        Alert(
            name="ReceptionistServiceDown",
            expr='up{job=~".*receptionist.*"} == 0',
            duration="2m",
            severity="critical",
            summary="A Receptionist service instance cannot be scraped",
            description="{{ $labels.pod }} has not answered /metrics for 2 minutes.",
        ),
        Alert(
            name="ReceptionistServiceNotReady",
            expr="rcp_service_ready == 0",
            duration="5m",
            severity="warning",
            summary="A Receptionist service reports not ready",
            description="{{ $labels.service }} on {{ $labels.pod }} has failed its readiness "
            "checks for 5 minutes (NATS, PostgreSQL or ARI).",
        ),
        Alert(
            name="ReceptionistDatabaseErrors",
            expr="sum by (service) (rate(rcp_db_errors_total[5m])) > 0.1",
            duration="5m",
            severity="critical",
            summary="Services cannot reach PostgreSQL",
            description="{{ $labels.service }} has counted database errors for 5 minutes.",
        ),
        Alert(
            name="ReceptionistNatsErrors",
            expr="sum by (service) (rate(rcp_nats_errors_total[5m])) > 0.1",
            duration="5m",
            severity="warning",
            summary="Services see NATS errors",
            description="{{ $labels.service }} has counted NATS client errors for 5 minutes.",
        ),
    ],
    "receptionist.calls": [
        Alert(
            name="ReceptionistAriDisconnected",
            expr="rcp_stasis_ari_connected == 0",
            duration="1m",
            severity="critical",
            summary="A stasis service has lost its Asterisk",
            description="{{ $labels.pod }} has had no ARI event connection for a minute: "
            "its Asterisk refuses every new call.",
        ),
        Alert(
            name="ReceptionistCallsFailing",
            expr='sum(rate(rcp_stasis_calls_total{outcome="failed"}[10m])) '
            "/ sum(rate(rcp_stasis_calls_total[10m])) > 0.05",
            duration="10m",
            severity="critical",
            summary="Calls end in failure",
            description="More than 5% of calls ended with the outcome failed for 10 minutes.",
        ),
        Alert(
            name="ReceptionistCallsRefused",
            expr='sum(rate(rcp_stasis_calls_refused_total{reason="error"}[5m])) > 0.01',
            duration="5m",
            severity="critical",
            summary="Calls are refused on an error",
            description="The stasis service could not take calls (tenant configuration "
            "unreadable) for 5 minutes.",
        ),
        Alert(
            name="ReceptionistTransfersFailing",
            expr='sum(rate(rcp_stasis_transfers_total{result="failed"}[10m])) '
            "/ sum(rate(rcp_stasis_transfers_total[10m])) > 0.2",
            duration="15m",
            severity="warning",
            summary="Transfers cannot reach their targets",
            description="More than 20% of transfer legs failed (not busy, not unanswered: "
            "unreachable) for 15 minutes.",
        ),
        Alert(
            name="ReceptionistVoicemailLost",
            expr='increase(rcp_stasis_voicemails_total{result="failed"}[10m]) > 0',
            duration="0m",
            severity="critical",
            summary="A voicemail message could not be stored",
            description="{{ $labels.pod }} recorded a message it could not store.",
        ),
        Alert(
            name="ReceptionistCallersToldUnavailable",
            expr="sum by (dependency) (rate(rcp_stasis_dependency_failures_total[5m])) > 0",
            duration="2m",
            severity="critical",
            summary="Callers are told a service is unavailable",
            description="For 2 minutes requests of calls to the {{ $labels.dependency }} "
            "service have failed or timed out: callers hear that the service is unavailable "
            "(or a stand-in prompt) instead of what they asked for.",
        ),
        Alert(
            name="ReceptionistCallTracesDelayed",
            expr="sum(rate(rcp_stasis_trace_publish_failures_total[5m])) > 0",
            duration="5m",
            severity="warning",
            summary="Calls' decision traces cannot reach JetStream",
            description="For 5 minutes the stasis service has failed to publish call events "
            "(NATS stalled or down): call records stay open until they get through.",
        ),
        Alert(
            name="ReceptionistCallRecordsNotWritten",
            expr='sum(rate(rcp_stasis_call_events_total{result="write_failed"}[5m])) > 0 '
            'and sum(rate(rcp_stasis_call_events_total{result="written"}[5m])) == 0',
            duration="10m",
            severity="warning",
            summary="Call records are not being written",
            description="For 10 minutes every call event failed to reach PostgreSQL; they "
            "wait in JetStream and are written once it is back.",
        ),
    ],
    "receptionist.fraud": [
        Alert(
            name="ReceptionistOutboundSurge",
            expr="sum(rate(rcp_stasis_outbound_legs_dialled_total[15m])) "
            "> 3 * sum(rate(rcp_stasis_outbound_legs_dialled_total[15m] offset 1d)) "
            "and sum(rate(rcp_stasis_outbound_legs_dialled_total[15m])) > 1 / 60",
            duration="10m",
            severity="critical",
            summary="Outside calls surge: possible toll fraud",
            description="Calls dialled out through the carrier's trunk (virtual extensions, "
            "ring groups) run at more than three times their rate of the same time yesterday, "
            "and above one a minute, for 10 minutes.",
        ),
        Alert(
            name="ReceptionistOutboundCapsReached",
            expr="sum by (reason) (rate(rcp_stasis_transfers_refused_total"
            '{reason=~"tenant_outbound_legs|tenant_outbound_rate|node_outbound_legs"}[10m])) '
            "> 0",
            duration="5m",
            severity="warning",
            summary="Outside calls are refused by the call limits",
            description="Outside legs have been refused for 5 minutes ({{ $labels.reason }}): "
            "a tenant (or the node) keeps reaching its cap of outside calls.",
        ),
        Alert(
            name="ReceptionistVirtualExtensionNewCountry",
            expr="sum(increase(rcp_stasis_destination_country_changes_total[15m])) > 0",
            duration="0m",
            severity="warning",
            summary="A virtual extension now rings another country",
            description="A virtual extension's outside number was changed to a number of "
            "another country: the first step of many toll frauds.",
        ),
        Alert(
            name="ReceptionistConferenceRoomLocked",
            expr="sum(increase(rcp_stasis_conference_rooms_locked_total[15m])) > 0",
            duration="0m",
            severity="warning",
            summary="A conference room was locked after wrong PINs",
            description="A conference room got too many wrong PINs across calls and refuses "
            "every PIN for a while: someone may be guessing it.",
        ),
    ],
    "receptionist.directory": [
        Alert(
            name="ReceptionistDirectoryErrors",
            expr='sum(rate(rcp_directory_lookups_total{result="error"}[5m])) '
            "/ sum(rate(rcp_directory_lookups_total[5m])) > 0.05",
            duration="10m",
            severity="warning",
            summary="Dial-by-name lookups fail",
            description="More than 5% of directory lookups answered an error for 10 minutes.",
        ),
        Alert(
            name="ReceptionistDirectorySlow",
            expr="histogram_quantile(0.99, sum by (le) "
            "(rate(rcp_directory_lookup_duration_seconds_bucket[5m]))) > 0.25",
            duration="10m",
            severity="warning",
            summary="Dial-by-name lookups are slow",
            description="The 99th percentile of directory lookups is above 250 ms.",
        ),
    ],
    "receptionist.media": [
        Alert(
            name="ReceptionistMediaRenderFailures",
            expr='sum(rate(rcp_media_renders_total{outcome!="ok"}[10m])) '
            "/ sum(rate(rcp_media_renders_total[10m])) > 0.1",
            duration="10m",
            severity="warning",
            summary="Prompts fail to render",
            description="More than 10% of TTS renders and transcodes failed for 10 minutes.",
        ),
        Alert(
            name="ReceptionistMediaSlowRenders",
            expr="histogram_quantile(0.95, sum by (le) (rate(rcp_media_render_seconds_bucket[10m]))) > 5",
            duration="15m",
            severity="warning",
            summary="Prompts render slowly",
            description="The 95th percentile of renders is above 5 seconds: callers wait.",
        ),
        Alert(
            name="ReceptionistMediaServerErrors",
            expr='sum(rate(rcp_media_http_requests_total{status=~"5.."}[5m])) > 0.05',
            duration="5m",
            severity="critical",
            summary="Asterisk cannot fetch prompts",
            description="The media service answers 5xx to prompt downloads.",
        ),
        Alert(
            name="ReceptionistMediaTtsWorkersLost",
            expr="sum(increase(rcp_media_tts_workers_stopped_total"
            '{reason=~"lost|unstartable"}[15m])) > 3',
            duration="0m",
            severity="warning",
            summary="espeak-ng workers crash or cannot start",
            description="More than 3 espeak-ng workers ended on their own or could not start "
            "in 15 minutes: the media pods may lack memory, or their image espeak-ng's data.",
        ),
    ],
    "receptionist.admin": [
        Alert(
            name="ReceptionistAdminServerErrors",
            expr='sum(rate(rcp_admin_http_requests_total{status=~"5.."}[5m])) '
            "/ sum(rate(rcp_admin_http_requests_total[5m])) > 0.02",
            duration="10m",
            severity="warning",
            summary="The admin API answers server errors",
            description="More than 2% of admin API requests answered 5xx for 10 minutes.",
        ),
    ],
    "receptionist.events": [
        Alert(
            name="ReceptionistEventsConsumerLag",
            expr='max(jetstream_consumer_num_pending{stream_name="RCP_EVENTS"}) > 10000',
            duration="10m",
            severity="warning",
            summary="Call events pile up in JetStream",
            description="The call-records consumer is more than 10,000 events behind.",
        ),
    ],
}

# Metrics the rules read that other exporters provide (the NATS chart's exporter, kube-state).
EXTERNAL_METRICS = frozenset({"up", "jetstream_consumer_num_pending"})


def rules_document() -> dict[str, object]:
    """The rules in Prometheus' file format."""
    return {
        "groups": [
            {
                "name": group,
                "rules": [
                    {
                        "alert": alert.name,
                        "expr": alert.expr,
                        "for": alert.duration,
                        "labels": {"severity": alert.severity, **alert.labels},
                        "annotations": {
                            "summary": alert.summary,
                            "description": alert.description,
                            "runbook": f"{RUNBOOK}#{alert.anchor}",
                        },
                    }
                    for alert in alerts
                ],
            }
            for group, alerts in GROUPS.items()
        ]
    }


def prometheus_rule() -> dict[str, object]:
    """The same rules as the Prometheus Operator's resource."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "receptionist", "labels": {"role": "alert-rules"}},
        "spec": rules_document(),
    }
