"""The media service's own metrics, on its service registry (`rcp.telemetry.Metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from rcp.telemetry import METRIC_PREFIX, Metrics

# Renders take from a few milliseconds (a word of speech) to seconds (a long upload).
RENDER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)


class MediaMetrics:
    """Renders, cache lookups, refusals, evictions and bytes served."""

    def __init__(self, metrics: Metrics) -> None:
        registry = metrics.registry
        self.registry = registry
        self.renders = Counter(
            f"{METRIC_PREFIX}_media_renders_total",
            "Renders and transcodes run, by kind (tts, upload, recording) and outcome.",
            ["kind", "outcome"],
            registry=registry,
        )
        self.render_seconds = Histogram(
            f"{METRIC_PREFIX}_media_render_seconds",
            "Time to render speech or to process an upload or recording, by kind.",
            ["kind"],
            buckets=RENDER_BUCKETS,
            registry=registry,
        )
        self.lookups = Counter(
            f"{METRIC_PREFIX}_media_cache_lookups_total",
            "Requests for an entry: hit (on disk) or miss (waited for a render), by kind.",
            ["kind", "result"],
            registry=registry,
        )
        self.refusals = Counter(
            f"{METRIC_PREFIX}_media_refusals_total",
            "Texts and audio refused, by error code.",
            ["code"],
            registry=registry,
        )
        self.evictions = Counter(
            f"{METRIC_PREFIX}_media_evictions_total",
            "TTS renders removed from disk to keep the cache under its size bound.",
            registry=registry,
        )
        self.cache_bytes = Gauge(
            f"{METRIC_PREFIX}_media_cache_bytes",
            "Bytes of audio files on disk, as last measured.",
            registry=registry,
        )
        self.http_requests = Counter(
            f"{METRIC_PREFIX}_media_http_requests_total",
            "HTTP requests for media, by method and status code.",
            ["method", "status"],
            registry=registry,
        )
        self.served_bytes = Counter(
            f"{METRIC_PREFIX}_media_served_bytes_total",
            "Bytes of audio sent over HTTP (full and partial responses).",
            registry=registry,
        )
