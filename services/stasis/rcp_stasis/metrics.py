"""The stasis service's Prometheus metrics, registered in the service's own registry.

No label names a caller or a tenant: label values come from small fixed sets (outcomes,
actions, transfer kinds and results), so the number of series never grows with traffic.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from rcp.telemetry import METRIC_PREFIX

# From a few milliseconds (a cached prompt) to seconds (a prompt rendered on the spot).
_DTMF_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class StasisMetrics:
    """Calls under way and by outcome, key presses, transfers, DTMF latency, ARI link."""

    def __init__(self, registry: CollectorRegistry) -> None:
        prefix = f"{METRIC_PREFIX}_stasis"
        self.active_calls = Gauge(
            f"{prefix}_active_calls", "Calls the call flow runs now.", registry=registry
        )
        self.calls = Counter(
            f"{prefix}_calls_total",
            "Calls ended, by outcome (transferred, voicemail, conference, announcement, "
            "caller_hangup, no_input, invalid_input, failed).",
            ["outcome"],
            registry=registry,
        )
        self.refused = Counter(
            f"{prefix}_calls_refused_total",
            "Calls not taken, by reason (unknown_number, draining, error, tenant_inbound_calls: "
            "the tenant has its cap of calls on this node, the caller hears busy).",
            ["reason"],
            registry=registry,
        )
        self.key_presses = Counter(
            f"{prefix}_key_presses_total",
            "Choices made in the menu, by action (dial_by_name, play_announcement, transfer, "
            "replay, extension, invalid).",
            ["action"],
            registry=registry,
        )
        self.transfers = Counter(
            f"{prefix}_transfers_total",
            "Transfer attempts by kind (extension, virtual_extension, ring_group, conference) "
            "and result (answered, busy, no_answer, failed, joined), one per leg rung.",
            ["kind", "result"],
            registry=registry,
        )
        self.transfers_refused = Counter(
            f"{prefix}_transfers_refused_total",
            "Legs not dialled, by reason: destination_not_allowed (the carrier's outbound "
            "policy), endpoint_not_allowed (a dial string that is no device), "
            "tenant_outbound_legs, tenant_outbound_rate, node_outbound_legs (call limits).",
            ["reason"],
            registry=registry,
        )
        self.outbound_legs = Gauge(
            f"{prefix}_outbound_legs",
            "Outside legs (through the carrier's trunk) ringing or bridged on this node now.",
            registry=registry,
        )
        self.outbound_legs_dialled = Counter(
            f"{prefix}_outbound_legs_dialled_total",
            "Outside legs dialled through the carrier's trunk.",
            registry=registry,
        )
        self.outbound_calls_cut = Counter(
            f"{prefix}_outbound_calls_cut_total",
            "Calls to an outside number hung up at the tenant's longest outbound call.",
            registry=registry,
        )
        self.destination_country_changes = Counter(
            f"{prefix}_destination_country_changes_total",
            "Virtual extensions whose outside number was found in another country than "
            "before (the tenant and extension are in the log, tenants.destination_country_"
            "changed).",
            registry=registry,
        )
        self.dtmf_to_action = Histogram(
            f"{prefix}_dtmf_to_action_seconds",
            "From a key press reaching the service to the end of what it set off "
            "(the next prompt asked to play, the leg dialled...).",
            buckets=_DTMF_BUCKETS,
            registry=registry,
        )
        self.voicemails = Counter(
            f"{prefix}_voicemails_total",
            "Voicemail recordings stored (result saved), lost (result failed), or holding no "
            "audio, so no message (result empty: the caller hung up at the beep).",
            ["result"],
            registry=registry,
        )
        self.call_events = Counter(
            f"{prefix}_call_events_total",
            "Call events taken from JetStream by the call records consumer, by result: "
            "written, waiting (for the call's start), write_failed (PostgreSQL; handed back), "
            "refused, malformed, never_started (these three are dropped).",
            ["result"],
            registry=registry,
        )
        self.ari_connected = Gauge(
            f"{prefix}_ari_connected",
            "1 while the ARI event WebSocket is connected, else 0.",
            registry=registry,
        )

    def watch_outbound_legs(self, legs: Callable[[], int]) -> None:
        """Read the node's outside legs at each scrape."""
        self.outbound_legs.set_function(lambda: float(legs()))

    def watch_ari(self, connected: Callable[[], bool]) -> None:
        """Read the ARI link's state at each scrape."""
        self.ari_connected.set_function(lambda: 1.0 if connected() else 0.0)
