"""Rate limits per API key: at most `limit` requests in each fixed window of `window` seconds.

On PostgreSQL the count lives in the database (`SharedRateLimits`), updated by the same
statement that looks the key up: every worker process and every host serving from that database
shares one count per key, at no extra round trip. On SQLite, which `pwatch serve` runs in one
process, the count lives in that process (`LocalRateLimits`).

An unknown or revoked key is refused (401) whatever its rate; the shared count keeps rows for
live keys only, so guessed keys cannot fill the table.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, String, bindparam, select, text
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.engine import Row
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler

from precursorwatch.exchange.db import Batch, driver_sql
from precursorwatch.exchange.errors import RateLimited, Unauthorized
from precursorwatch.exchange.models import Authority

_BY_KEY = select(Authority.id, Authority.code, Authority.name, Authority.key_revoked_at).where(
    Authority.key_hash == bindparam("key_hash", type_=String()))


class RateLimits(Protocol):
    def look_up(self, connection: Connection, key_hash: str) -> Row[*tuple[Any, ...]] | None:
        """The authority holding the key (`id, code, name, key_revoked_at`) or None, after
        counting the request against the key; RateLimited once over the limit."""
        ...

    def counting(self, key_hash: str, *, alone: bool = False
                 ) -> tuple[Executable, dict[str, Any], float]:
        """`look_up` as a statement to send along with others: the statement, its parameters
        and the time it counts at; its row goes to `within`. `alone`: the statement will be a
        transaction of its own, which may then commit without waiting for the disk."""
        ...

    def within(self, row: Sequence[Any] | None, now: float) -> None:
        """RateLimited if the row of `counting`'s statement is over the limit."""
        ...


def live(row: Sequence[Any] | None) -> Sequence[Any]:
    """The key holder's row (`id, code, name, key_revoked_at, ...`), or 401 if the key is
    unknown or revoked."""
    if row is None:
        raise Unauthorized("unknown API key")
    if row[3] is not None:
        raise Unauthorized("this API key has been revoked", code="key_revoked")
    return row


def _refuse(limit: int, window: int, window_start: float, now: float) -> RateLimited:
    retry = max(1, int(window_start + window - now + 0.999))
    return RateLimited(f"more than {limit} requests in {window:g} s for this API key; "
                       f"retry after {retry} s", retry_after=retry)


class LocalRateLimits:
    """Counts in this process, before the key is looked up."""

    def __init__(self, limit: int, window: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key_hash: str) -> None:
        now = self._clock()
        with self._lock:
            start, count = self._windows.get(key_hash, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            if count >= self.limit:
                raise _refuse(self.limit, self.window, start, now)
            self._windows[key_hash] = (start, count + 1)
            if len(self._windows) > 100_000:  # forget idle keys rather than grow without bound
                self._windows = {k: v for k, v in self._windows.items()
                                 if now - v[0] < self.window}

    def look_up(self, connection: Connection, key_hash: str) -> Row[*tuple[Any, ...]] | None:
        self.hit(key_hash)
        return connection.execute(_BY_KEY, {"key_hash": key_hash}).first()

    def counting(self, key_hash: str, *, alone: bool = False
                 ) -> tuple[Executable, dict[str, Any], float]:
        self.hit(key_hash)  # counted here, in this process: the statement only looks up
        return _BY_KEY, {"key_hash": key_hash}, self._clock()

    def within(self, row: Sequence[Any] | None, now: float) -> None:
        pass  # `counting` refused already


# One statement: find the key's authority and, if the key is live, count the request in the
# key's window (a newer window restarts the count; a worker whose clock lags adds to the
# newest window rather than resetting it).
_LOOK_UP_AND_COUNT = text("""
WITH holder AS (
    SELECT id, code, name, key_revoked_at FROM authority WHERE key_hash = :key_hash
), hit AS (
    INSERT INTO rate_window (key_hash, window_start, hits)
    SELECT :key_hash, :window_start, 1 FROM holder WHERE key_revoked_at IS NULL
    ON CONFLICT (key_hash) DO UPDATE SET
        hits = CASE WHEN EXCLUDED.window_start > rate_window.window_start THEN 1
                    ELSE rate_window.hits + 1 END,
        window_start = GREATEST(rate_window.window_start, EXCLUDED.window_start)
    RETURNING hits, window_start
)
SELECT holder.id, holder.code, holder.name, holder.key_revoked_at, hit.hits, hit.window_start
FROM holder LEFT JOIN hit ON TRUE
""")
# The same, for a statement that is a transaction of its own (autocommit, or a pipeline segment
# ended before a write's BEGIN): it commits asynchronously (set_config local to that
# transaction). The count is seen by every worker at once as before, but its commit does not
# wait for the WAL to reach the disk, a flush per request (0.3-0.6 ms of latency, 0.05 ms of
# the database's CPU). Only a crash of PostgreSQL itself can lose counts so, those of its last
# fraction of a second. Inside a longer transaction it would make the whole of it asynchronous,
# hence the two statements.
_LOOK_UP_AND_COUNT_ALONE = text(_LOOK_UP_AND_COUNT.text.replace(
    "WHERE key_revoked_at IS NULL",
    "WHERE key_revoked_at IS NULL AND set_config('synchronous_commit', 'off', true) = 'off'"))


class SharedRateLimits:
    """Counts in the PostgreSQL table `rate_window`, shared by every process using it. Windows
    are aligned to the Unix clock, so processes agree on when one starts."""

    def __init__(self, limit: int, window: int, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock

    def counting(self, key_hash: str, *, alone: bool = False
                 ) -> tuple[Executable, dict[str, Any], float]:
        """The statement that looks the key up and counts the request, its parameters, and
        the time it counts at (for `within`); `alone` as `RateLimits.counting`."""
        now = self._clock()
        start = int(now // self.window) * self.window
        statement = _LOOK_UP_AND_COUNT_ALONE if alone else _LOOK_UP_AND_COUNT
        return statement, {"key_hash": key_hash, "window_start": start}, now

    def within(self, row: Sequence[Any] | None, now: float) -> None:
        """429 if the count `row` (as `counting`'s statement returns it) is over the limit."""
        if row is not None and row[4] is not None and row[4] > self.limit:
            raise _refuse(self.limit, self.window, row[5], now)

    def look_up(self, connection: Connection, key_hash: str) -> Row[*tuple[Any, ...]] | None:
        statement, params, now = self.counting(key_hash, alone=_autocommit(connection))
        row = connection.execute(statement, params).first()
        self.within(row, now)
        return row

    def look_up_along(self, connection: Connection, key_hash: str, statement: Executable,
                      params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """The rows of `statement` for the key's holder, after looking the key up and counting
        the request, both sent in one round trip (psycopg's pipeline mode): a read then costs
        the database one wake-up, not two. 401 or 429 as `look_up`, whatever the rows."""
        # In autocommit, the count and the read are one implicit transaction, which writes
        # nothing but the count.
        counting, counted_params, now = self.counting(key_hash, alone=_autocommit(connection))
        raw = connection.connection.driver_connection
        with raw.pipeline():  # type: ignore[union-attr]
            counted = raw.cursor()  # type: ignore[union-attr]
            counted.execute(driver_sql(counting, connection.dialect).string, counted_params)
            compiled = driver_sql(statement, connection.dialect)
            found = raw.cursor()  # type: ignore[union-attr]
            found.execute(compiled.string, compiled.construct_params(params))
            row = counted.fetchone()
            rows: list[tuple[Any, ...]] = found.fetchall()
        live(row)
        self.within(row, now)
        return rows

    def look_up_page(self, connection: Connection, key_hash: str, statement: Executable,
                     params: dict[str, Any], order: str) -> list[tuple[Any, ...]]:
        """The rows of `statement` (one record, or a page of them) for the key's holder, read
        in the very statement that looks the key up and counts the request: one statement, one
        round trip, no pipeline to open and sync (which costs a single read about as much of
        the server's CPU as the rest of its database work); 401 or 429 as `look_up`, whatever
        the rows. A join does not keep the order of the rows it joins, so `order` says it
        again over the page's columns (`ORDER BY` of the statement's column names, as
        `found.name`; empty for a read of one record)."""
        page = self.page_with_count(key_hash, statement, params, order,
                                    alone=_autocommit(connection))
        raw = connection.connection.driver_connection
        return page.rows(raw.execute(page.sql, page.params).fetchall())  # type: ignore[union-attr]

    def page_with_count(self, key_hash: str, statement: Executable, params: dict[str, Any],
                        order: str, *, alone: bool = True) -> CountedPage:
        """`look_up_page`'s statement, to run on any PostgreSQL connection (also one of
        `db.LoopConnections`), and what checks its rows."""
        counting, counted_params, now = self.counting(key_hash, alone=alone)
        compiled = driver_sql(statement, _POSTGRESQL)
        return CountedPage(_with_record(driver_sql(counting, _POSTGRESQL), compiled, order),
                           {**counted_params, **compiled.construct_params(params)}, self, now)


@dataclass(frozen=True)
class CountedPage:
    """A read with its count in one statement (`SharedRateLimits.page_with_count`)."""

    sql: str
    params: dict[str, Any]
    limits: SharedRateLimits
    now: float

    def rows(self, rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """The read's rows, once the key is found live (401) and within its rate (429)."""
        row = live(rows[0] if rows else None)
        self.limits.within(row, self.now)
        return [tuple(r[_FOUND + 1:]) for r in rows if r[_FOUND] is not None]


# The dialect of the exchange's engines (psycopg 3), which `driver_sql` compiles for.
_POSTGRESQL = PGDialect_psycopg()


# `_LOOK_UP_AND_COUNT` with a read of records beside the holder's row: each record's columns
# follow the six of the count, after a marker that is NULL when there is no record.
_COUNTED = ("\nSELECT holder.id, holder.code, holder.name, holder.key_revoked_at, hit.hits, "
            "hit.window_start\nFROM holder LEFT JOIN hit ON TRUE")
_FOUND = 6
_WITH_RECORD: dict[tuple[int, int, str], str] = {}


def _with_record(counting: SQLCompiler, record: SQLCompiler, order: str = "") -> str:
    key = (id(counting), id(record), order)  # both kept alive by `driver_sql`
    found = _WITH_RECORD.get(key)
    if found is None:
        head, counted, rest = counting.string.partition(_COUNTED)
        if not counted or rest.strip():
            raise ValueError("the count's statement is not the one a record is read beside")
        found = _WITH_RECORD[key] = (
            f"{head}, found AS (SELECT TRUE AS found, record.* FROM ({record.string}) AS record)"
            f"{counted.replace('hit.window_start', 'hit.window_start, found.*')}"
            f" LEFT JOIN found ON TRUE{f' ORDER BY {order}' if order else ''}")
    return found


def _autocommit(connection: Connection) -> bool:
    """Whether each statement on `connection` is a transaction of its own."""
    return bool(getattr(connection.connection.driver_connection, "autocommit", False))


@dataclass(frozen=True)
class Count:
    """A request still to be counted against its key, done along with the request's read."""

    limits: RateLimits
    key_hash: str

    def rows(self, connection: Connection, statement: Executable, params: dict[str, Any]
             ) -> list[tuple[Any, ...]]:
        """The rows of `statement` once the key is found live and within its rate."""
        if isinstance(self.limits, SharedRateLimits) and connection.dialect.name == "postgresql":
            return self.limits.look_up_along(connection, self.key_hash, statement, params)
        live(self.limits.look_up(connection, self.key_hash))
        return [tuple(r) for r in connection.execute(statement, params)]

    def one(self, connection: Connection, statement: Executable, params: dict[str, Any]
            ) -> tuple[Any, ...] | None:
        """The row of `statement`, a read of at most one row, or None, once the key is found
        live and within its rate (on PostgreSQL in the count's own statement)."""
        rows = self.page(connection, statement, params, order="")
        return rows[0] if rows else None

    def page(self, connection: Connection, statement: Executable, params: dict[str, Any],
             order: str) -> list[tuple[Any, ...]]:
        """The rows of `statement`, a page in the order `order` repeats (`look_up_page`; empty
        for one record), once the key is found live and within its rate (on PostgreSQL in the
        count's statement)."""
        if isinstance(self.limits, SharedRateLimits) and connection.dialect.name == "postgresql":
            return self.limits.look_up_page(connection, self.key_hash, statement, params, order)
        return self.rows(connection, statement, params)

    def queue(self, batch: Batch) -> Callable[[], None]:
        """Queue the look-up and count in a write's batch, ahead of its transaction; the
        result checks the key (401, 429) once the batch is synced. The batch sends it as a
        transaction of its own, ended before the write's BEGIN."""
        statement, params, now = self.limits.counting(self.key_hash, alone=True)
        found = batch.query(statement, params)

        def check() -> None:
            row = found.first()
            live(row)
            self.limits.within(row, now)

        return check
