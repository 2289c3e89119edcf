"""Alembic environment: runs on the connection handed over by `db.migrate`, or on the URL in
alembic.ini / `PWATCH_EXCHANGE_DB` when run with the `alembic` command."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine

from precursorwatch.exchange.models import Base

config = context.config
target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


given = config.attributes.get("connection")
if given is not None:
    run_on(given)
else:
    url = os.environ.get("PWATCH_EXCHANGE_DB") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set PWATCH_EXCHANGE_DB or sqlalchemy.url in alembic.ini")
    with create_engine(url).begin() as conn:
        run_on(conn)
