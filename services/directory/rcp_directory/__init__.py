"""The directory service: it answers dial-by-name lookups over NATS."""
