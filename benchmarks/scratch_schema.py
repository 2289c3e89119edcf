"""A fresh PostgreSQL schema for one benchmark run, dropped afterwards, so runs never see each
other's rows and leave nothing behind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


def plain_url(url: str) -> str:
    """An SQLAlchemy PostgreSQL URL (`postgresql+psycopg://`) as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def scratch_schema(url: str, prefix: str) -> Iterator[str]:
    """The name of a new schema `<prefix>_<random>` in the database at `url` (an SQLAlchemy
    URL), dropped with everything in it when the block ends, however it ends."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(plain_url(url), autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        with psycopg.connect(plain_url(url), autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")
