"""The admin service: it is the REST API and web manager."""
