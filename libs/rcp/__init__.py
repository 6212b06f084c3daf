"""Shared building blocks of Receptionist's services: settings, contracts, NATS, Postgres, telemetry."""
