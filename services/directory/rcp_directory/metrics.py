"""The directory's Prometheus metrics, registered in the service's own registry."""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import CollectorRegistry
from rcp.telemetry import MetricsOf

# From a fraction of a millisecond (an index in memory) to seconds (a cold load under load).
_LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)


class LookupResult(StrEnum):
    """How a lookup ended, as counted."""

    NONE = "none"
    ONE = "one"
    SEVERAL = "several"
    ERROR = "error"


class DirectoryMetrics:
    """Lookups by endpoint and result, their latency, and the indexes held in memory."""

    def __init__(self, registry: CollectorRegistry) -> None:
        new = MetricsOf(registry, "directory")
        self.lookups = new.counter(
            "lookups_total",
            "Lookups answered, by endpoint (search, reverse) and result "
            "(none, one, several, error).",
            "endpoint",
            "result",
        )
        self.lookup_duration = new.histogram(
            "lookup_duration_seconds",
            "Time to answer a lookup, from the decoded request to the reply.",
            "endpoint",
            buckets=_LATENCY_BUCKETS,
        )
        self.index_entries = new.gauge("index_entries", "Extensions held in the in-memory indexes.")
        self.index_tenants = new.gauge(
            "index_tenants",
            "Tenants whose index is held in memory (including unknown and suspended ones).",
        )
        self.index_bytes = new.gauge("index_bytes", "Memory held by the in-memory indexes.")
        self.index_loads = new.counter(
            "index_loads_total",
            "Tenant index loads from PostgreSQL, by result (ok, failed).",
            "result",
        )
        self.index_load_duration = new.histogram(
            "index_load_duration_seconds",
            "Time to read a tenant's extensions and build its index.",
            buckets=_LATENCY_BUCKETS,
        )
        self.index_evictions = new.counter(
            "index_evictions_total", "Tenant indexes dropped to stay within the memory bound."
        )
        for endpoint in ("search", "reverse"):
            for result in LookupResult:
                self.lookups.labels(endpoint=endpoint, result=result.value)
        for outcome in ("ok", "failed"):
            self.index_loads.labels(result=outcome)
