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
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import Connection, String, bindparam, select, text
from sqlalchemy.engine import Row

from precursorwatch.exchange.errors import RateLimited
from precursorwatch.exchange.models import Authority

_BY_KEY = select(Authority.id, Authority.code, Authority.name, Authority.key_revoked_at).where(
    Authority.key_hash == bindparam("key_hash", type_=String()))


class RateLimits(Protocol):
    def look_up(self, connection: Connection, key_hash: str) -> Row[*tuple[Any, ...]] | None:
        """The authority holding the key (`id, code, name, key_revoked_at`) or None, after
        counting the request against the key; RateLimited once over the limit."""
        ...


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


class SharedRateLimits:
    """Counts in the PostgreSQL table `rate_window`, shared by every process using it. Windows
    are aligned to the Unix clock, so processes agree on when one starts."""

    def __init__(self, limit: int, window: int, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock

    def look_up(self, connection: Connection, key_hash: str) -> Row[*tuple[Any, ...]] | None:
        now = self._clock()
        start = int(now // self.window) * self.window
        row = connection.execute(_LOOK_UP_AND_COUNT,
                                 {"key_hash": key_hash, "window_start": start}).first()
        if row is not None and row.hits is not None and row.hits > self.limit:
            raise _refuse(self.limit, self.window, row.window_start, now)
        return row
