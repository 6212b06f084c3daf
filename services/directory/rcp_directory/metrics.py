"""The directory's Prometheus metrics, registered in the service's own registry."""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator
from enum import StrEnum

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString
from rcp.telemetry import METRIC_PREFIX, MetricsOf

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


_RESULTS = tuple(LookupResult)


class Lookups:
    """One endpoint's lookups: how many ended each way, and how long they took.

    Counted in plain numbers by the event loop's thread, read when /metrics is scraped (on
    the same loop): a lookup costs two additions and a bisection here, against some 4 µs
    for a prometheus_client counter and histogram, whose every value takes a lock and whose
    buckets are walked in Python (bench/directory/README.md)."""

    __slots__ = ("buckets", "results", "seconds")

    def __init__(self) -> None:
        self.results = [0] * len(_RESULTS)
        self.buckets = [0] * (len(_LATENCY_BUCKETS) + 1)  # the last one: above them all
        self.seconds = 0.0

    def record(self, result: int, seconds: float) -> None:
        """A lookup that ended as `LookupResult` number `result` (its order), after `seconds`."""
        self.results[result] += 1
        self.buckets[bisect_left(_LATENCY_BUCKETS, seconds)] += 1
        self.seconds += seconds


class _LookupsCollector(Collector):
    """Exports each endpoint's `Lookups` as the counter `rcp_directory_lookups_total`
    (endpoint, result) and the histogram `rcp_directory_lookup_duration_seconds` (endpoint)."""

    def __init__(self, endpoints: dict[str, Lookups]) -> None:
        self._endpoints = endpoints
        self._created = time.time()  # the `_created` samples prometheus_client writes too

    def collect(self) -> Iterator[Metric]:
        counter = CounterMetricFamily(
            f"{METRIC_PREFIX}_directory_lookups",
            "Lookups answered, by endpoint (search, reverse) and result "
            "(none, one, several, error).",
            labels=("endpoint", "result"),
        )
        histogram = HistogramMetricFamily(
            f"{METRIC_PREFIX}_directory_lookup_duration_seconds",
            "Time to answer a lookup, from the decoded request to the reply.",
            labels=("endpoint",),
        )
        bounds = [*map(floatToGoString, _LATENCY_BUCKETS), "+Inf"]
        for endpoint, lookups in self._endpoints.items():
            for result, count in zip(_RESULTS, lookups.results, strict=True):
                counter.add_metric((endpoint, result.value), count, created=self._created)
            cumulative, below = [], 0
            for bound, count in zip(bounds, lookups.buckets, strict=True):
                below += count
                cumulative.append((bound, below))
            histogram.add_metric((endpoint,), cumulative, lookups.seconds)
            histogram.samples.append(
                Sample(f"{histogram.name}_created", {"endpoint": endpoint}, self._created)
            )
        yield counter
        yield histogram


class DirectoryMetrics:
    """Lookups by endpoint and result, their latency, and the indexes held in memory."""

    def __init__(self, registry: CollectorRegistry) -> None:
        new = MetricsOf(registry, "directory")
        self.searches = Lookups()
        self.reverses = Lookups()
        registry.register(_LookupsCollector({"search": self.searches, "reverse": self.reverses}))
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
        for outcome in ("ok", "failed"):
            self.index_loads.labels(result=outcome)
