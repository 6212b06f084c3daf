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
            "Calls not taken, by reason (unknown_number, draining, error).",
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
        self.dependency_failures = Counter(
            f"{prefix}_dependency_failures_total",
            "Requests on a caller's path that failed or timed out, by dependency (directory, "
            "media): each left a caller told the service is unavailable, or a stand-in.",
            ["dependency"],
            registry=registry,
        )
        self.stand_ins = Counter(
            f"{prefix}_stand_in_prompts_total",
            'Prompts replaced by the stand-in Asterisk keeps itself ("this service is '
            'unavailable"), by reason: not_ready (the media service gave no URI in time), '
            "playback_failed (Asterisk could not fetch or play the prompt).",
            ["reason"],
            registry=registry,
        )
        self.trace_publish_failures = Counter(
            f"{prefix}_trace_publish_failures_total",
            "Attempts to publish a call's trace step to JetStream that failed (NATS stalled or "
            "down); each is tried again until it is stored.",
            registry=registry,
        )
        self.ari_connected = Gauge(
            f"{prefix}_ari_connected",
            "1 while the ARI event WebSocket is connected, else 0.",
            registry=registry,
        )

    def watch_ari(self, connected: Callable[[], bool]) -> None:
        """Read the ARI link's state at each scrape."""
        self.ari_connected.set_function(lambda: 1.0 if connected() else 0.0)
