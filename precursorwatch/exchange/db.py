"""Database engine and migrations: SQLite by default, PostgreSQL via `postgresql+psycopg://`."""

from __future__ import annotations

import contextlib
import re
import select as select_io
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Dialect, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler

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
        # Statements the exchange repeats are prepared (psycopg prepares one on its fifth
        # run on a connection); each is keyed by ids and the caller, for which one plan fits
        # all, so it is planned once instead of on every run (planning a read with its count
        # costs PostgreSQL more than running it).
        options = "-cplan_cache_mode=force_generic_plan"
        if schema is not None:
            if not _SCHEMA_NAME.match(schema):
                raise AdminError(f"schema name {schema!r} must be lower-case letters, digits, _")
            options += f" -csearch_path={schema}"
        kwargs["connect_args"] = {"options": options}
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


# -- statements sent together ------------------------------------------------------------------
_COMPILED: dict[tuple[int, str], tuple[Executable, SQLCompiler]] = {}


def driver_sql(statement: Executable, dialect: Dialect) -> SQLCompiler:
    """The statement compiled once for the driver (statements sent this way are module
    constants; the statement is kept with its compiled form so its id cannot be reused)."""
    key = (id(statement), dialect.name)
    found = _COMPILED.get(key)
    if found is None:
        found = _COMPILED[key] = (statement, statement.compile(dialect=dialect))  # type: ignore[attr-defined]
    return found[1]


def driver_params(compiled: SQLCompiler, params: dict[str, Any]) -> dict[str, Any]:
    """`params` as the driver takes them: each through its column type's bind processing, as
    SQLAlchemy's own execution does (UTC times, JSON)."""
    values = compiled.construct_params(params)
    processors: Any = compiled._bind_processors
    return {k: processors[k](v) if k in processors else v for k, v in values.items()}


class Rows:
    """The rows of a statement sent in a batch, there once the batch is synced."""

    def __init__(self, fetch: Callable[[], list[tuple[Any, ...]]]) -> None:
        self._fetch = fetch
        self._rows: list[tuple[Any, ...]] | None = None

    def all(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            self._rows = self._fetch()
        return self._rows

    def first(self) -> tuple[Any, ...] | None:
        found = self.all()
        return found[0] if found else None


class Batch(Protocol):
    """Statements of one write transaction, sent to the database in as few round trips as the
    work allows: on PostgreSQL every statement queued until `sync()` (or the commit) goes in
    one round trip (psycopg's pipeline mode); on SQLite, in the same process, each runs as it
    is queued. Results are read after `sync()`."""

    def query(self, statement: Executable, params: dict[str, Any]) -> Rows: ...

    def execute(self, statement: Executable, params: Sequence[dict[str, Any]]) -> None: ...

    def sync(self) -> None: ...


def _as_is(value: Any) -> Any:
    return value


class PipelineBatch:
    """A `Batch` on a psycopg connection in pipeline mode; `checks` run once after the next
    sync (what a statement queued early decides, such as a key's rate count). On an async
    connection, `wait` is SQLAlchemy's `await_only`: the batch then runs in a greenlet on
    the event loop (`Exchange.on_loop`), its code the same as on a connection of the engine."""

    def __init__(self, raw: Any, pipeline: Any, dialect: Dialect,
                 wait: Callable[[Any], Any] = _as_is) -> None:
        self._raw = raw
        self._pipeline = pipeline
        self._dialect = dialect
        self._wait = wait
        self.checks: list[Callable[[], None]] = []

    def command(self, sql: bytes) -> None:
        self._wait(self._raw.execute(sql))

    def end_segment(self) -> None:
        """End the implicit transaction of what is queued so far without waiting for it: the
        server commits it at once, apart from what follows (a Sync message; psycopg's own
        `sync()` would also wait for the results, a round trip)."""
        enqueue = getattr(self._pipeline, "_enqueue_sync", None)
        if enqueue is None:
            self._wait(self._pipeline.sync())
        else:
            enqueue()

    def query(self, statement: Executable, params: dict[str, Any]) -> Rows:
        compiled = driver_sql(statement, self._dialect)
        cursor = self._raw.cursor()
        self._wait(cursor.execute(compiled.string, driver_params(compiled, params)))
        processors = _result_processors(compiled, self._dialect)

        def fetch() -> list[tuple[Any, ...]]:
            rows = self._wait(cursor.fetchall())
            if not any(processors):
                return list(rows)
            return [tuple(p(v) if p else v for p, v in zip(processors, row, strict=True))
                    for row in rows]

        return Rows(fetch)

    def execute(self, statement: Executable, params: Sequence[dict[str, Any]]) -> None:
        if not params:
            return
        compiled = driver_sql(statement, self._dialect)
        cursor = self._raw.cursor()
        if len(params) == 1:
            self._wait(cursor.execute(compiled.string, driver_params(compiled, params[0])))
        else:
            self._wait(cursor.executemany(compiled.string,
                                          [driver_params(compiled, p) for p in params]))

    def sync(self) -> None:
        self._wait(self._pipeline.sync())
        checks, self.checks = self.checks, []
        for check in checks:
            check()


def _result_processors(compiled: SQLCompiler, dialect: Dialect
                       ) -> list[Callable[[Any], Any] | None]:
    return [column.type._cached_result_processor(dialect, None)
            for column in compiled._result_columns or ()]


class DirectBatch:
    """A `Batch` that runs each statement as it is queued (SQLite, in the same process);
    `checks` run at the next sync, as `PipelineBatch`'s."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.checks: list[Callable[[], None]] = []

    def query(self, statement: Executable, params: dict[str, Any]) -> Rows:
        rows = [tuple(r) for r in self.connection.execute(statement, params)]
        return Rows(lambda: rows)

    def execute(self, statement: Executable, params: Sequence[dict[str, Any]]) -> None:
        if params:
            self.connection.execute(statement, list(params))

    def sync(self) -> None:
        checks, self.checks = self.checks, []
        for check in checks:
            check()


# -- connections used on the event loop ---------------------------------------------------------
def dropped(raw: Any) -> bool:
    """Whether the server closed this idle connection: it has something to read (the
    server's last word, or the end of the stream), when nothing is due."""
    try:
        readable, _, _ = select_io.select([raw.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class LoopConnections:
    """PostgreSQL connections used on the event loop (psycopg's async connections, made as
    the engine makes its own, at most `size` in use per process): single-statement reads
    (`rows`), and signed writes run in a greenlet (`Exchange.on_loop`). Through the engine,
    a read or write runs in the thread pool, and the hop there and back costs a short read
    about a third of the server's CPU; here it waits for the database as the event loop waits
    for a client. A task that finds every connection in use gets None, and runs through the
    engine instead. A connection whose task failed is closed unless its state is clean; one
    the database dropped (a restart) is replaced before use, and a read that loses its
    connection is sent again, which is safe as reads change nothing but the request's count."""

    def __init__(self, conninfo: str, size: int = 10) -> None:
        self._conninfo = conninfo
        self._size = size
        self._idle: list[Any] = []  # psycopg.AsyncConnection, autocommit
        self._in_use = 0

    @classmethod
    def of(cls, engine: Engine) -> LoopConnections | None:
        """Reads made as `engine`'s connections are (host, database, schema, options); None
        for SQLite."""
        if engine.dialect.name != "postgresql":
            return None
        from psycopg.conninfo import make_conninfo

        with engine.connect() as connection:
            info = connection.connection.driver_connection.info  # type: ignore[union-attr]
            connections = cls(make_conninfo(info.dsn, password=info.password))
        event.listen(engine, "engine_disposed", lambda _engine: connections.close())
        return connections

    async def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]] | None:
        """The rows of one statement (psycopg's `%(name)s` parameters), or None if every
        connection is in use."""
        import psycopg
        from sqlalchemy.exc import OperationalError

        connection = await self.acquire()
        if connection is None:
            return None
        try:
            try:
                return await (await connection.execute(sql, params)).fetchall()
            except psycopg.OperationalError:  # dropped since `acquire` looked: once more
                connection.pgconn.finish()
                connection = await self._connect()
            try:
                return await (await connection.execute(sql, params)).fetchall()
            except psycopg.OperationalError as exc:  # as the engine's reads report it
                raise OperationalError("read", None, exc, connection_invalidated=True) from exc
        finally:
            self.release(connection)

    async def acquire(self) -> Any:
        """A connection (autocommit) for one task, or None if every one is in use; give it
        back with `release`. A new one is made when none is idle; a database that cannot be
        reached is 503, as for the engine's connections."""
        if not self._idle and self._in_use >= self._size:
            return None
        self._in_use += 1
        while self._idle:  # one the database dropped meanwhile is replaced (see `dropped`)
            connection = self._idle.pop()
            if not dropped(connection):
                return connection
            connection.pgconn.finish()
        try:
            return await self._connect()
        except BaseException:
            self._in_use -= 1
            raise

    async def _connect(self) -> Any:
        import psycopg
        from sqlalchemy.exc import OperationalError

        try:
            return await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        except psycopg.OperationalError as exc:
            raise OperationalError("connect", None, exc, connection_invalidated=True) from exc

    def release(self, connection: Any) -> None:
        """Give back a connection of `acquire`. It is kept only if it is idle, outside any
        transaction and pipeline (a task that failed or was cancelled may have left it
        otherwise), else closed."""
        import psycopg

        self._in_use -= 1
        if (not connection.closed
                and connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
                and connection.pgconn.pipeline_status == 0):
            self._idle.append(connection)
        else:
            connection.pgconn.finish()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().pgconn.finish()
