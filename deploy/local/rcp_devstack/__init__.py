"""The local stack: PostgreSQL, NATS with JetStream, Asterisk 22 and the services on 127.0.0.1."""
