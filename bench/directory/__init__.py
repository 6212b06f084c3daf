"""Benchmark of the directory service: lookups over NATS against a bare echo service."""
