"""The exchange as one running service holds it (`Exchange`: database, signing keys, checker,
clock) and what every kind of record shares: checking substances, screening and matching
parties, the authorities a write names, the caller's own audit chain.

Each kind of record has a module of its own (`notifications`, `incidents`, `alerts`,
`permit_store`); routers only translate HTTP to their calls. Every read goes through a `Scope`;
every write signs the record with the acting authority's key and appends to its audit chain in
the same transaction (`signed.write`), so a record never exists without its signature and audit
link.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple, Protocol, TypeVar

from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Executable

from precursorwatch.detect.verdict import Verdict
from precursorwatch.exchange import audit
from precursorwatch.exchange.db import (
    Batch,
    DirectBatch,
    LoopConnections,
    PipelineBatch,
    dropped,
    session_factory,
)
from precursorwatch.exchange.errors import Conflict, Invalid
from precursorwatch.exchange.limits import Count
from precursorwatch.exchange.models import Authority
from precursorwatch.exchange.schemas import CheckIn, MatchIn, Party, shown
from precursorwatch.exchange.scope import Caller
from precursorwatch.exchange.settings import ExchangeSettings
from precursorwatch.exchange.signing import KeyVault
from precursorwatch.screen.countries import country_code
from precursorwatch.screen.names import NormName, name_similarity, normalise_name
from precursorwatch.screen.watchlist import (
    PartyMatcher,
    WatchlistHit,
    bundled_watchlist_path,
    city_in_address,
    load_watchlist,
    party_hits,
)

log = logging.getLogger("precursorwatch.exchange")

Clock = Callable[[], dt.datetime]
T = TypeVar("T")


class SubstanceChecker(Protocol):
    """What the exchange needs from the chemistry: identifiers in, Contract 1 verdicts out."""

    def check(self, identifier: str) -> Verdict: ...

    def check_batch(self, identifiers: Sequence[str], *, as_of: dt.date | None = None,
                    jurisdictions: Sequence[str] | None = None) -> list[Verdict]: ...


@dataclass(frozen=True)
class ScopedRead:
    """A read of records for one caller, built apart from running it: a statement scoped to
    the caller (`Scope`), its parameters, and for a page its order over the statement's column
    names (`limits.SharedRateLimits.look_up_page`; empty for one record)."""

    statement: Executable
    params: dict[str, Any]
    order: str = ""


class ServedCopies:
    """Served copies (`rendered`, the JSON a read serves) of one kind of signed record, by
    id, as pages read them. A signed record's served copy never changes once written (what
    changes later, such as a notification's status and answer, has columns of its own that
    every read reads), so a page of records seen before reads only their ids and those
    columns: a few bytes a row instead of JSON of about 5 KB that PostgreSQL would decompress
    and send and the service decode. Bounded: past `limit` entries, the oldest go first."""

    def __init__(self, model: type[Any], limit: int = 2048) -> None:
        self._statement = select(model.id, model.rendered).where(
            model.id.in_(bindparam("ids", expanding=True)))
        self._copies: dict[str, bytes] = {}
        self._limit = limit

    def kept(self, ids: Sequence[str]) -> list[bytes] | None:
        """The served copies of `ids` if every one is kept, else None (no I/O)."""
        copies = self._copies
        found = [copies.get(i) for i in ids]
        return None if None in found else found  # type: ignore[return-value]

    def of(self, ex: Exchange, ids: Sequence[str]) -> list[bytes]:
        """The served copy of each record as UTF-8, in the order of `ids` (records the caller
        may read: `ids` come from a scoped read); those not kept yet are read in one
        statement."""
        copies = self._copies
        found = {i: copies.get(i) for i in ids}
        missing = [i for i, text in found.items() if text is None]
        if missing:
            for record_id, text in ex.rows(self._statement, {"ids": missing}):
                found[record_id] = copy = text.encode()
                while len(copies) >= self._limit:  # a dict keeps insertion order
                    copies.pop(next(iter(copies)), None)
                copies[record_id] = copy
        return [found[i] for i in ids]  # type: ignore[misc]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Exchange:
    """Everything one running service holds: database, signing keys, checker, clock."""

    def __init__(self, engine: Engine, settings: ExchangeSettings, vault: KeyVault,
                 checker: SubstanceChecker, clock: Clock = system_clock) -> None:
        self.engine = engine
        self.settings = settings
        self.vault = vault
        self.checker = checker
        self.clock = clock
        self.party_matcher = (party_matcher(settings.watchlists) if settings.screen_parties
                              else None)
        self.sessions: sessionmaker[Session] = session_factory(engine)
        # Reads are single statements: in autocommit they need no BEGIN and ROLLBACK round
        # trips. Same pool as the writers.
        self._reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._check_lock = threading.Lock()
        self._codes = CodeCache(engine)
        self._copies: dict[type[Any], ServedCopies] = {}
        self._verdicts: dict[tuple[str, dt.date], dict[str, Any]] = {}
        # PostgreSQL: connections for reads and writes on the event loop (closed with the
        # engine).
        self.loop_connections = LoopConnections.of(engine)
        # SQLite allows one writer; queueing writers here avoids "database is locked" under load.
        self._write_lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext())

    def codes(self) -> dict[int, str]:
        """Authority id -> code. Codes never change once issued, so they are cached; an id
        not yet seen (an authority added since by `pwatch admin`) re-reads the table."""
        return self._codes

    def now(self) -> dt.datetime:
        return self.clock().astimezone(dt.UTC)

    def read(self, work: Callable[[Connection], T]) -> T:
        """Run `work` on a pooled connection in autocommit. Connections are not pinged before
        use (a round trip per request); a read that finds its connection dropped (the
        database restarted) runs once more on a fresh one, which is safe as reads change
        nothing."""
        for attempt in (1, 2):
            try:
                with self._reader.connect() as connection:
                    return work(connection)
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    def rows(self, statement: Executable, params: dict[str, Any], count: Count | None = None
             ) -> list[tuple[Any, ...]]:
        """The rows of one read statement; with `count`, the caller's request is counted
        against its key on the same connection, in the same round trip on PostgreSQL."""
        if count is None:
            return self.read(lambda connection: [
                tuple(r) for r in connection.execute(statement, params)])
        return self.read(lambda connection: count.rows(connection, statement, params))

    def page(self, statement: Executable, params: dict[str, Any], count: Count | None,
             order: str) -> list[tuple[Any, ...]]:
        """The rows of a scoped read of a page (`rows`); with `count`, on PostgreSQL, read in
        the statement that counts the request, `order` repeating the page's own order over its
        column names (`limits.SharedRateLimits.look_up_page`)."""
        if count is None:
            return self.rows(statement, params)
        return self.read(lambda connection: count.page(connection, statement, params, order))

    def served_copies(self, model: type[Any]) -> ServedCopies:
        """The served copies of one kind of signed record (a model with `id` and `rendered`)
        kept for pages (`ServedCopies`)."""
        copies = self._copies.get(model)
        if copies is None:
            copies = self._copies.setdefault(model, ServedCopies(model))
        return copies

    def scoped(self, read: ScopedRead, count: Count | None) -> list[tuple[Any, ...]]:
        """The rows of `read` (`page`)."""
        return self.page(read.statement, read.params, count, read.order)

    def one(self, statement: Executable, params: dict[str, Any], count: Count | None,
            missing: Callable[[], Exception]) -> tuple[Any, ...]:
        """The first row of a scoped read of one record (`rows`), or `missing()` raised when
        there is none: the record does not exist or the caller may not see it (404 alike)."""
        rows = self.page(statement, params, count, order="")
        if not rows:
            raise missing()
        return rows[0]

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        with self._write_lock:
            try:
                with self.sessions.begin() as session:
                    if self.engine.dialect.name == "sqlite":
                        # Take SQLite's write lock before the first read, so what a write
                        # checks (a notification's status) cannot change before it commits,
                        # even from another process on the same file.
                        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
                    yield session
            except IntegrityError as exc:
                raise Conflict(_RACED) from exc

    @contextlib.contextmanager
    def batch(self, count: Count | None = None) -> Iterator[Batch]:
        """A write transaction whose statements are sent together (`db.Batch`): a write
        queues its reads and locks, syncs once, then queues its inserts, which go with the
        COMMIT. On PostgreSQL that is two round trips in all, the request's rate count
        (`count`, checked at the first sync) riding in the first one ahead of BEGIN, in a
        statement of its own so the count is kept whatever the write does; on SQLite the
        writers queue on BEGIN IMMEDIATE as in `writing`."""
        if self.engine.dialect.name == "postgresql":
            raw = _LOOP_CONNECTION.get()
            with (self._pipelined(count) if raw is None
                  else self._loop_pipelined(raw, count)) as batch:
                yield batch
            return
        with self._write_lock:
            try:
                with self.engine.begin() as connection:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                    direct = DirectBatch(connection)
                    if count is not None:
                        direct.checks.append(count.queue(direct))
                    yield direct
                    direct.sync()
            except IntegrityError as exc:
                raise Conflict(_RACED) from exc

    @contextlib.contextmanager
    def _pipelined(self, count: Count | None) -> Iterator[Batch]:
        import psycopg

        # In autocommit the driver sends no BEGIN of its own: BEGIN and COMMIT are queued
        # with the statements, so they cost no round trip of their own.
        with self._live_connection() as connection:
            raw = connection.connection.driver_connection
            try:
                with raw.pipeline() as pipeline:  # type: ignore[union-attr]
                    yield from _transaction(PipelineBatch(raw, pipeline, connection.dialect),
                                            count)
            except psycopg.IntegrityError as exc:
                raise Conflict(_RACED) from exc
            except psycopg.OperationalError as exc:
                connection.invalidate(exc)
                raise OperationalError("write", None, exc, connection_invalidated=True
                                       ) from exc
            finally:
                if not raw.closed and raw.info.transaction_status not in (  # type: ignore[union-attr]
                        psycopg.pq.TransactionStatus.IDLE, psycopg.pq.TransactionStatus.UNKNOWN):
                    raw.rollback()  # type: ignore[union-attr]

    @contextlib.contextmanager
    def _loop_pipelined(self, raw: Any, count: Count | None) -> Iterator[Batch]:
        """`_pipelined` on an async connection of `loop_connections`, in a greenlet on the event
        loop (`on_loop`): the same statements and round trips, each wait handed to the loop."""
        import psycopg
        from sqlalchemy.util import await_only

        try:
            entered = raw.pipeline()  # an async context manager of the pipeline
            pipeline = await_only(entered.__aenter__())
            try:
                yield from _transaction(
                    PipelineBatch(raw, pipeline, self.engine.dialect, wait=await_only), count)
            except BaseException as exc:
                await_only(entered.__aexit__(type(exc), exc, exc.__traceback__))
                raise
            await_only(entered.__aexit__(None, None, None))
        except psycopg.IntegrityError as exc:
            raise Conflict(_RACED) from exc
        except psycopg.OperationalError as exc:  # the connection is closed on release
            raise OperationalError("write", None, exc, connection_invalidated=True) from exc
        finally:
            if not raw.closed and raw.info.transaction_status not in (
                    psycopg.pq.TransactionStatus.IDLE, psycopg.pq.TransactionStatus.UNKNOWN):
                await_only(raw.rollback())

    async def on_loop(self, work: Callable[[], T]) -> T | NotRun:
        """Run `work`, a write that may block only on its batch (`batch`), in a greenlet on
        the event loop, its batch on an async connection of `loop_connections`: no hop to the
        thread pool and back, and no contention of threads for the interpreter, which cost a
        signed write a quarter of its CPU with eight at once. `NOT_RUN` if no
        connection is free (run it in the thread pool then)."""
        from sqlalchemy.util import greenlet_spawn

        connections = self.loop_connections
        connection = None if connections is None else await connections.acquire()
        if connections is None or connection is None:
            return NOT_RUN
        try:
            result: T = await greenlet_spawn(_with_loop_connection, connection, work)
            return result
        finally:
            connections.release(connection)

    @contextlib.contextmanager
    def _live_connection(self) -> Iterator[Connection]:
        """A pooled autocommit connection the database has not dropped. A write cannot be
        retried as a read is (`read`): once queued, its statements may have run. So an idle
        connection that has something to read, which can only be the server closing it (a
        restart, an idle timeout), is discarded before use: a check without a round trip."""
        for _ in range(_POOL_SIZE):
            connection = self._reader.connect()
            if not dropped(connection.connection.driver_connection):
                break
            connection.invalidate()
            connection.close()
        else:
            connection = self._reader.connect()
        with connection:
            yield connection

    def check_substance(self, identifier: str) -> dict[str, Any]:
        """The Contract 1 verdict as stored JSON (not to be changed: it is kept for the next
        record naming the same identifier that day). The checker caches and runs OPSIN
        lazily; one call at a time keeps that safe."""
        key = (identifier, dt.date.today())  # the checker decides as of today
        kept = self._verdicts.get(key)
        if kept is not None:
            return kept
        with self._check_lock:
            try:
                verdict = self.checker.check(identifier)
            except Exception as exc:  # the service must store the notification regardless
                log.exception("substance check failed for %r", identifier)
                return Verdict(input=identifier, resolved_by="none", verdict="unresolved",
                               reason=f"the check failed: {type(exc).__name__}"
                               ).model_dump(mode="json")
        while len(self._verdicts) >= 4096:  # the oldest go first (a dict keeps order)
            self._verdicts.pop(next(iter(self._verdicts)), None)
        found = self._verdicts[key] = verdict.model_dump(mode="json")
        return found

    def verdict_kept(self, identifier: str) -> bool:
        """Whether `check_substance` answers `identifier` from what it kept, at no cost (a
        new identifier may run OPSIN for a while)."""
        return (identifier, dt.date.today()) in self._verdicts

    def check_many(self, identifiers: Sequence[str], *, as_of: dt.date,
                   jurisdictions: Sequence[str] | None) -> list[dict[str, Any]]:
        """Contract 1 verdicts in input order; jurisdiction codes must be known (see
        `known_jurisdictions`)."""
        with self._check_lock:
            verdicts = self.checker.check_batch(identifiers, as_of=as_of,
                                                jurisdictions=jurisdictions)
        return [v.model_dump(mode="json") for v in verdicts]


class NotRun(enum.Enum):
    NOT_RUN = "not run"


NOT_RUN = NotRun.NOT_RUN
# The async connection of a write run by `Exchange.on_loop`, for its `Exchange.batch`.
_LOOP_CONNECTION: ContextVar[Any] = ContextVar("loop_connection", default=None)


def _transaction(batch: PipelineBatch, count: Count | None) -> Iterator[Batch]:
    """A write's transaction on a pipelined connection, around the write (the one `yield`):
    BEGIN and COMMIT go with the statements, costing no round trip of their own, and the
    request's count ahead of them."""
    if count is not None:
        # A statement of its own, committed at once: the count is kept whatever the write
        # does, and its row is not held until the write commits (the key's reads would wait
        # for it).
        batch.checks.append(count.queue(batch))
        batch.end_segment()
    batch.command(b"BEGIN")
    yield batch
    if batch.checks:  # nothing is committed before the key is checked
        batch.sync()
    batch.command(b"COMMIT")
    batch.sync()


def _with_loop_connection(connection: Any, work: Callable[[], T]) -> T:
    token = _LOOP_CONNECTION.set(connection)
    try:
        return work()
    finally:
        _LOOP_CONNECTION.reset(token)


_POOL_SIZE = 20  # the most connections an engine of `db.make_engine` holds


# Two writers raced for the same answer or chain link: the loser is told so.
_RACED = "the record was changed by another request at the same time; read it again and retry"


@lru_cache(maxsize=4)
def party_matcher(watchlists: tuple[str, ...]) -> PartyMatcher:
    """The watchlists notified parties are screened against, loaded once per process
    (WatchlistError names a file that cannot be read)."""
    paths = watchlists or (str(bundled_watchlist_path()),)
    return PartyMatcher([e for p in paths for e in load_watchlist(p)])


def screen_parties(ex: Exchange, parties: Sequence[tuple[str, Party]]
                   ) -> list[dict[str, Any]] | None:
    """(role, party) pairs against the watchlists: the hits as evidence
    (`screen.model.PartyHit`), at most three a party, best first; None when the service does
    not screen parties."""
    if ex.party_matcher is None:
        return None
    found = ex.party_matcher.match_many([(p.name, p.country) for _, p in parties],
                                        ex.settings.party_match)
    return [hit.to_dict() for (role, party), hits in zip(parties, found, strict=True)
            for hit in party_hits(role, party.name, party.address, hits[:3])]


# -- checks and matches for integrators --------------------------------------------------------
MATCH_HITS = 10  # hits per party at most


def known_jurisdictions(codes: Sequence[str]) -> list[str]:
    """The codes upper-cased, each once, in order; Invalid naming the first unknown one."""
    from precursorwatch.detect.check import UnknownJurisdiction, normalise_jurisdictions

    out: list[str] = []
    for i, code in enumerate(codes):
        try:
            found = normalise_jurisdictions([code])
        except UnknownJurisdiction as exc:
            raise Invalid(f"jurisdictions[{i}]: {exc}") from None
        out.extend(c for c in sorted(found or ()) if c not in out)
    return out


def check_identifiers(ex: Exchange, data: CheckIn) -> dict[str, Any]:
    """`CheckOut`: each identifier checked as `pwatch check` checks it."""
    jurisdictions = (known_jurisdictions(data.jurisdictions) if data.jurisdictions is not None
                     else None)
    on = data.as_of or ex.now().date()
    return {"as_of": on.isoformat(), "jurisdictions": jurisdictions,
            "results": ex.check_many(data.identifiers, as_of=on, jurisdictions=jurisdictions)}


def _country(i: int, given: str | None) -> str:
    if given is None:
        return ""
    code = country_code(given)
    if len(code) != 2 or not code.isalpha():
        raise Invalid(f"parties[{i}].country: {shown(given)!r} is not a country (give its "
                      "ISO 3166-1 code, e.g. CN, or its name)")
    return code


def match_features(party: NormName, country: str, address: str | None, hit: WatchlistHit
                   ) -> dict[str, float | None]:
    """Per-feature scores of one hit (`MatchFeatures`)."""
    entry = hit.entry
    aliases = [a for a in entry.aliases if a != entry.name]
    return {
        "name": round(name_similarity(party, normalise_name(entry.name)), 4),
        "alias": (round(max(name_similarity(party, normalise_name(a)) for a in aliases), 4)
                  if aliases else None),
        "country": (float(country in entry.countries) if country and entry.countries
                    else None),
        "address": (float(bool(city_in_address(entry, address)))
                    if address and entry.cities else None),
    }


def match_parties(ex: Exchange, data: MatchIn) -> dict[str, Any]:
    """`MatchOut`: each party against the watchlists notified parties are screened against."""
    countries = [_country(i, p.country) for i, p in enumerate(data.parties)]
    threshold = data.threshold if data.threshold is not None else ex.settings.party_match
    matcher = party_matcher(ex.settings.watchlists)
    found = matcher.match_many([(p.name, c) for p, c in zip(data.parties, countries,
                                                             strict=True)], threshold)
    results = []
    for party, country, hits in zip(data.parties, countries, found, strict=True):
        evidence = party_hits(party.role or "party", party.name, party.address or "",
                              hits[:MATCH_HITS])
        by_entry = {(h.entry.list, h.entry.entry_id): h for h in hits}
        norm = normalise_name(party.name)
        out = []
        for e in evidence:
            hit = by_entry[e.list, e.entry_id]
            out.append({"list": e.list, "entry": e.entry, "entry_id": e.entry_id,
                        "alias": e.alias, "kind": hit.entry.kind,
                        "programme": ", ".join(e.programmes),
                        "countries": list(hit.entry.countries), "score": e.score,
                        "features": match_features(norm, country, party.address, hit),
                        "detail": e.detail})
        results.append({"party": party.model_dump(mode="json"), "hits": out})
    return {"threshold": threshold, "watchlist_entries": len(matcher), "results": results}


# -- helpers --------------------------------------------------------------------------------------
class CodeCache(dict[int, str]):
    """Authority codes by id, filled from the database on a miss (thread-safe: it reads on
    its own connection and only ever adds entries)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self._engine = engine

    def __missing__(self, key: int) -> str:
        with self._engine.connect() as conn:
            self.update({i: c for i, c in conn.execute(select(Authority.id, Authority.code))})
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        raise KeyError(key)


class Named(NamedTuple):
    """What a write needs of an authority it names (`NAMED`, read with the write's locks)."""

    id: int
    code: str
    reply_days: int


NAMED = select(Authority.id, Authority.code, Authority.reply_days)


def named(rows: Sequence[tuple[Any, ...]]) -> dict[str, Named]:
    """The rows of `NAMED` by authority code."""
    return {row[1]: Named(*row) for row in rows}


def authority_by_code(found: Mapping[str, Named], code: str, field: str) -> Named:
    """The authority of `code`, or 422 naming `field`."""
    if code not in found:
        raise Invalid(f"{field}: {code!r} is not a registered authority "
                      "(see GET /v1/authorities)")
    return found[code]



def verify_own_chain(ex: Exchange, caller: Caller, receipts: Sequence[audit.Receipt] = ()
                     ) -> audit.ChainReport:
    with ex.sessions() as session:
        return audit.verify_chain(session, session.get_one(Authority, caller.id), receipts)


def public_authorities(ex: Exchange) -> list[Authority]:
    with ex.sessions() as session:
        return list(session.scalars(select(Authority).order_by(Authority.code)))
