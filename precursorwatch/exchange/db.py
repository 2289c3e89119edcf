"""Database engine and migrations: SQLite by default, PostgreSQL via `postgresql+psycopg://`."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from precursorwatch.exchange.errors import AdminError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine for the exchange; `schema` (PostgreSQL) puts every table in that schema."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise AdminError(f"--db: {url!r} is not a database URL "
                         "(e.g. sqlite:///pwatch-exchange.db or "
                         "postgresql+psycopg://user@host/db)") from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise AdminError(f"--db: {backend!r} databases are not supported; use sqlite or postgresql")
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False}
    else:
        if schema is not None:
            if not _SCHEMA_NAME.match(schema):
                raise AdminError(f"schema name {schema!r} must be lower-case letters, digits, _")
            kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
        # No pre-ping: it costs a round trip per checkout. A dropped connection invalidates
        # the pool instead, and reads retry once (`Exchange.read`).
        kwargs.update(pool_size=10, max_overflow=10, pool_recycle=3600)
    engine = create_engine(parsed, **kwargs)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@contextlib.contextmanager
def migrating(engine: Engine) -> Iterator[Config]:
    """An Alembic config bound to one connection, in one transaction. On SQLite, foreign keys
    are off meanwhile: altering a column there copies the table, and the copy must not trip
    the keys of the rows that refer to it (the keys hold again once it is renamed back)."""
    config = alembic_config()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # outside any transaction, or SQLite ignores it
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                yield config
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema (idempotent; run on every start)."""
    with migrating(engine) as config:
        command.upgrade(config, "head")
