"""Alembic migrations of the exchange database (run by `pwatch admin migrate` and on start)."""
