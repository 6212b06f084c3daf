"""PostgreSQL access: the connection pool and the Alembic-owned schema."""
