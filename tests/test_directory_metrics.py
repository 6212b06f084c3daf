"""The directory's lookup metrics, counted in plain numbers: exported as prometheus_client's
own counter and histogram would export the same lookups (pure, no NATS)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from rcp_directory.metrics import _LATENCY_BUCKETS, DirectoryMetrics, LookupResult

# (endpoint, result, seconds): on bucket bounds, between them, beyond the last one.
LOOKUPS = [
    ("search", LookupResult.SEVERAL, 0.00003),
    ("search", LookupResult.SEVERAL, 0.0001),
    ("search", LookupResult.ONE, 0.00026),
    ("search", LookupResult.NONE, 0.7),
    ("search", LookupResult.ERROR, 9.0),
    ("reverse", LookupResult.ONE, 0.0025),
    ("reverse", LookupResult.NONE, 0.0),
]


def _lines(registry: CollectorRegistry, prefix: str) -> list[str]:
    """The exposition's lines that start with `prefix`, creation times left out."""
    text = generate_latest(registry).decode()
    return sorted(
        line.rpartition(" ")[0] if "_created{" in line else line
        for line in text.splitlines()
        if line.startswith(prefix)
    )


def test_lookups_are_exported_as_a_prometheus_counter_and_histogram_would_be() -> None:
    ours = CollectorRegistry()
    metrics = DirectoryMetrics(ours)
    reference = CollectorRegistry()
    counter = Counter(
        "rcp_directory_lookups_total",
        "Lookups answered, by endpoint (search, reverse) and result (none, one, several, error).",
        ("endpoint", "result"),
        registry=reference,
    )
    histogram = Histogram(
        "rcp_directory_lookup_duration_seconds",
        "Time to answer a lookup, from the decoded request to the reply.",
        ("endpoint",),
        buckets=_LATENCY_BUCKETS,
        registry=reference,
    )
    for endpoint in ("search", "reverse"):
        histogram.labels(endpoint=endpoint)
        for result in LookupResult:
            counter.labels(endpoint=endpoint, result=result.value)

    for endpoint, result, seconds in LOOKUPS:
        lookups = metrics.searches if endpoint == "search" else metrics.reverses
        lookups.record(list(LookupResult).index(result), seconds)
        counter.labels(endpoint=endpoint, result=result.value).inc()
        histogram.labels(endpoint=endpoint).observe(seconds)

    for name in ("rcp_directory_lookups_total", "rcp_directory_lookup_duration_seconds_"):
        assert _lines(ours, name) == _lines(reference, name)
    assert 'rcp_directory_lookups_total{endpoint="search",result="several"} 2.0' in _lines(
        ours, "rcp_directory_lookups_total"
    )
    for kind in ("HELP", "TYPE"):
        assert _lines(ours, f"# {kind} rcp_directory_lookup") == _lines(
            reference, f"# {kind} rcp_directory_lookup"
        )
