"""The stasis service's Prometheus metrics, registered in the service's own registry.

No label names a caller or a tenant: label values come from small fixed sets (outcomes,
actions, transfer kinds and results), so the number of series never grows with traffic.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry
from rcp.telemetry import MetricsOf, children_of

# From a few milliseconds (a cached prompt) to seconds (a prompt rendered on the spot).
_DTMF_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_ARI_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class StasisMetrics:
    """Calls under way and by outcome, key presses, transfers, DTMF latency, ARI link."""

    def __init__(self, registry: CollectorRegistry) -> None:
        new = MetricsOf(registry, "stasis")
        self.active_calls = new.gauge("active_calls", "Calls the call flow runs now.")
        self.calls = new.counter(
            "calls_total",
            "Calls ended, by outcome (transferred, voicemail, conference, announcement, "
            "caller_hangup, no_input, invalid_input, failed).",
            "outcome",
        )
        self.refused = new.counter(
            "calls_refused_total",
            "Calls not taken, by reason (unknown_number, draining, error, tenant_inbound_calls: "
            "the tenant has its cap of calls on this node, the caller hears busy).",
            "reason",
        )
        self.key_presses = new.counter(
            "key_presses_total",
            "Choices made in the menu, by action (dial_by_name, play_announcement, transfer, "
            "replay, extension, invalid).",
            "action",
        )
        self.transfers = new.counter(
            "transfers_total",
            "Transfer attempts by kind (extension, virtual_extension, ring_group, conference) "
            "and result (answered, busy, no_answer, failed, joined), one per leg rung.",
            "kind",
            "result",
        )
        self.transfers_refused = new.counter(
            "transfers_refused_total",
            "Legs not dialled, by reason: destination_not_allowed (the carrier's outbound "
            "policy), endpoint_not_allowed (an endpoint that is no device: a dial string of old), "
            "tenant_outbound_legs, tenant_outbound_rate, node_outbound_legs (call limits).",
            "reason",
        )
        self.outbound_legs = new.gauge(
            "outbound_legs",
            "Outside legs (through the carrier's trunk) ringing or bridged on this node now.",
        )
        self.outbound_legs_dialled = new.counter(
            "outbound_legs_dialled_total", "Outside legs dialled through the carrier's trunk."
        )
        self.outbound_calls_cut = new.counter(
            "outbound_calls_cut_total",
            "Calls to an outside number hung up at the tenant's longest outbound call.",
        )
        self.destination_country_changes = new.counter(
            "destination_country_changes_total",
            "Virtual extensions whose outside number was found in another country than "
            "before (the tenant and extension are in the log, tenants.destination_country_"
            "changed).",
        )
        self.conference_pins = new.counter(
            "conference_pins_total",
            "Conference PINs typed, by result: correct, wrong, locked (refused unchecked: the "
            "room had too many wrong PINs lately).",
            "result",
        )
        self.conference_rooms_locked = new.counter(
            "conference_rooms_locked_total",
            "Conference rooms locked after too many wrong PINs (the tenant and room are in the "
            "log, conference.room_locked; the PINs never are).",
        )
        self.dtmf_to_action = new.histogram(
            "dtmf_to_action_seconds",
            "From a key press reaching the service to the end of what it set off "
            "(the next prompt asked to play, the leg dialled...).",
            buckets=_DTMF_BUCKETS,
        )
        self.voicemails = new.counter(
            "voicemails_total",
            "Voicemail recordings stored (result saved), lost (result failed), or holding no "
            "audio, so no message (result empty: the caller hung up at the beep).",
            "result",
        )
        self.call_events = new.counter(
            "call_events_total",
            "Call events taken from JetStream by the call records consumer, by result: "
            "written, waiting (for the call's start), write_failed (PostgreSQL; handed back), "
            "refused, malformed, never_started (these three are dropped).",
            "result",
        )
        self.dependency_failures = new.counter(
            "dependency_failures_total",
            "Requests on a caller's path that failed or timed out, by dependency (directory, "
            "media): each left a caller told the service is unavailable, or a stand-in.",
            "dependency",
        )
        self.stand_ins = new.counter(
            "stand_in_prompts_total",
            'Prompts replaced by the stand-in Asterisk keeps itself ("this service is '
            'unavailable"), by reason: not_ready (the media service gave no URI in time), '
            "playback_failed (Asterisk could not fetch or play the prompt).",
            "reason",
        )
        self.trace_publish_failures = new.counter(
            "trace_publish_failures_total",
            "Attempts to publish a call's trace step to JetStream that failed (NATS stalled or "
            "down); each is tried again until it is stored.",
        )
        self.ari_requests = new.counter(
            "ari_requests_total",
            "REST requests made to Asterisk's ARI, by operation (channels.answer, "
            "playbacks.stop...; raw ones as method and resource, GET recordings): each costs "
            "Asterisk and this service a round trip.",
            "operation",
        )
        self.ari_events = new.counter(
            "ari_events_total",
            "Messages from Asterisk on the ARI WebSocket, by kind (ARI's event type: "
            "StasisStart, Dial...; RESTResponse: the answers to requests made there): each "
            "costs Asterisk its JSON and this service a parse.",
            "kind",
        )
        self.ari_request_seconds = new.histogram(
            "ari_request_seconds",
            "How long each ARI request of a call waited for Asterisk's answer (or its failure): "
            "Asterisk's responsiveness as the calls see it.",
            buckets=_ARI_BUCKETS,
        )
        self.ari_event_lag_seconds = new.histogram(
            "ari_event_lag_seconds",
            "How old key presses and dial events (answered, busy...) were when they reached "
            "this service, by Asterisk's timestamp: events queued in Asterisk or here.",
            buckets=_ARI_BUCKETS,
        )
        self.ari_connected = new.gauge(
            "ari_connected", "1 while the ARI event WebSocket is connected, else 0."
        )
        self._ari_request_of = children_of(self.ari_requests)
        self._ari_event_of = children_of(self.ari_events)

    def count_ari_request(self, operation: str) -> None:
        """Count one ARI request, by operation (about ten a call)."""
        self._ari_request_of(operation).inc()

    def count_ari_event(self, kind: str) -> None:
        """Count one message from Asterisk, by kind (its type; about twenty a call)."""
        self._ari_event_of(kind).inc()

    def watch_outbound_legs(self, legs: Callable[[], int]) -> None:
        """Read the node's outside legs at each scrape."""
        self.outbound_legs.set_function(lambda: float(legs()))

    def watch_ari(self, connected: Callable[[], bool]) -> None:
        """Read the ARI link's state at each scrape."""
        self.ari_connected.set_function(lambda: 1.0 if connected() else 0.0)
