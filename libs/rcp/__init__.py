"""Shared building blocks of the services: settings, contracts, NATS, Postgres, telemetry."""
