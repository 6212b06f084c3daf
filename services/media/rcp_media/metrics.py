"""The media service's own metrics, on its service registry (`rcp.telemetry.Metrics`)."""

from __future__ import annotations

from rcp.telemetry import Metrics, MetricsOf

# Renders take from a few milliseconds (a word of speech) to seconds (a long upload).
# Why a TTS worker was stopped (`tts_workers_stopped_total`'s reasons).
TTS_WORKER_STOPS = ("lost", "abandoned", "timed_out", "unstartable")
RENDER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)


class MediaMetrics:
    """Renders, cache lookups, refusals, evictions and bytes served."""

    def __init__(self, metrics: Metrics) -> None:
        self.registry = metrics.registry
        new = MetricsOf(metrics.registry, "media")
        self.renders = new.counter(
            "renders_total",
            "Renders and transcodes run, by kind (tts, upload, recording) and outcome.",
            "kind",
            "outcome",
        )
        self.render_seconds = new.histogram(
            "render_seconds",
            "Time to render speech or to process an upload or recording, by kind.",
            "kind",
            buckets=RENDER_BUCKETS,
        )
        self.lookups = new.counter(
            "cache_lookups_total",
            "Requests for an entry: hit (on disk) or miss (waited for a render), by kind.",
            "kind",
            "result",
        )
        self.refusals = new.counter(
            "refusals_total", "Texts and audio refused, by error code.", "code"
        )
        self.evictions = new.counter(
            "evictions_total",
            "TTS renders removed from disk to keep the cache under its size bound.",
        )
        self.cache_bytes = new.gauge(
            "cache_bytes", "Bytes of audio files on disk, as last measured."
        )
        self.http_requests = new.counter(
            "http_requests_total",
            "HTTP requests for media, by method and status code.",
            "method",
            "status",
        )
        self.voicemail_emails = new.counter(
            "voicemail_emails_total",
            "Voicemail messages' emails, by outcome: sent, none (no address), deferred (tried "
            "again later), refused (for good by the relay), failed (given up).",
            "outcome",
        )
        self.tts_workers_stopped = new.counter(
            "tts_workers_stopped_total",
            "TTS engine workers (espeak-ng's) stopped while the service runs, by reason: lost "
            "(ended on its own or broke its protocol: a crash, the OOM killer), abandoned "
            "(killed: its render stopped while it spoke), timed_out (killed: still speaking at the "
            "synthesis time limit), unstartable (gone or silent before it was ready).",
            "reason",
        )
        for reason in TTS_WORKER_STOPS:  # each reason exported from 0: rate() sees the first
            self.tts_workers_stopped.labels(reason=reason)
        self.served_bytes = new.counter(
            "served_bytes_total", "Bytes of audio sent over HTTP (full and partial responses)."
        )
