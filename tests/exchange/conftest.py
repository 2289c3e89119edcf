"""Every exchange test runs on SQLite and on the real PostgreSQL at 127.0.0.1:5432 (database
`test`), each in its own SQLite file or its own PostgreSQL schema."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from precursorwatch.exchange.admin import Issued, add_authority
from precursorwatch.exchange.app import create_app
from precursorwatch.exchange.db import make_engine
from precursorwatch.exchange.settings import ExchangeSettings

# The shared helpers beside these tests must be importable whatever pytest's import mode.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from exchange_helpers import START, Clock  # noqa: E402

PG_URL = os.environ.get("PWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class Database:
    kind: str
    url: str
    schema: str | None


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path / 'exchange.db'}", None)
        return
    schema = f"pwx_{uuid.uuid4().hex[:16]}"
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield Database("postgresql", PG_URL, schema)
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(database: Database, tmp_path: Path, request: pytest.FixtureRequest
             ) -> ExchangeSettings:
    return ExchangeSettings(
        db_url=database.url, db_schema=database.schema, secret_file=tmp_path / "exchange.secret",
        rate_limit=10_000,
        screen_parties=request.node.get_closest_marker("parties_unscreened") is None)


@pytest.fixture
def engine(settings: ExchangeSettings) -> Iterator[Engine]:
    engine = make_engine(settings.db_url, schema=settings.db_schema)
    yield engine
    engine.dispose()


@pytest.fixture
def app(settings: ExchangeSettings, engine: Engine, clock: Clock) -> FastAPI:
    return create_app(settings, engine=engine, clock=clock)


@dataclass
class Authorities:
    """CN exports; MX imports (7-day replies); US is a transit authority; CA is an outsider
    with a 30-day reply period."""

    by_code: dict[str, Issued]

    def headers(self, code: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.by_code[code].api_key}"}


@pytest.fixture
def authorities(app: FastAPI) -> Authorities:
    ex = app.state.exchange
    issued = {code: add_authority(ex.engine, ex.vault, code, name, reply_days=days,
                                  now=START)
              for code, name, days in [("CN", "National Narcotics Control Commission", 14),
                                       ("MX", "COFEPRIS", 7), ("US", "DEA Diversion", 14),
                                       ("CA", "Health Canada OCS", 30)]}
    return Authorities(issued)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass(frozen=True)
class LiveServer:
    """The app behind a real uvicorn on a free local port, with `pwatch serve`'s options."""

    url: str
    host: str
    port: int


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    import threading
    import time

    import uvicorn

    from precursorwatch.exchange.http import server_options

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                            access_log=False, lifespan="off", **server_options())
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", "127.0.0.1", port)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
