"""The exchange's operations over typed inputs: notify, answer, correct, share incidents, list.

Routers only translate HTTP to these calls. Every read goes through a `Scope`; every write
signs the record with the acting authority's key and appends to its audit chain in the same
transaction, so a record never exists without its signature and audit link.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import select as select_io
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Literal, NamedTuple, Protocol, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Insert,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    exists,
    insert,
    select,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, aliased, sessionmaker, undefer
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import BindParameter

from precursorwatch.detect.verdict import Verdict
from precursorwatch.exchange import audit
from precursorwatch.exchange.db import Batch, DirectBatch, PipelineBatch, Rows, session_factory
from precursorwatch.exchange.errors import Conflict, Forbidden, Invalid
from precursorwatch.exchange.limits import Count
from precursorwatch.exchange.models import (
    Authority,
    Base,
    Incident,
    IncidentNotification,
    IncidentShare,
    Notification,
    NotificationResponse,
    NotificationTransit,
)
from precursorwatch.exchange.records import (
    incident_document,
    notification_document,
    render_incident,
    render_notification,
    response_document,
    when,
    with_status,
)
from precursorwatch.exchange.schemas import (
    CheckIn,
    IncidentIn,
    MatchIn,
    NotificationIn,
    Party,
    ResponseIn,
    Status,
    date_problems,
    shown,
)
from precursorwatch.exchange.scope import (
    CALLER,
    NOTIFICATION_VISIBLE,
    RECORD_ID,
    Caller,
    Scope,
)
from precursorwatch.exchange.settings import ExchangeSettings
from precursorwatch.exchange.signing import JCS, KeyVault
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
Direction = Literal["incoming", "outgoing", "transit"]
T = TypeVar("T")


class SubstanceChecker(Protocol):
    """What the exchange needs from the chemistry: identifiers in, Contract 1 verdicts out."""

    def check(self, identifier: str) -> Verdict: ...

    def check_batch(self, identifiers: Sequence[str], *, as_of: dt.date | None = None,
                    jurisdictions: Sequence[str] | None = None) -> list[Verdict]: ...


@dataclass(frozen=True)
class Written:
    """A signed record as served (JSON text) and the receipt of its audit link, which its
    author keeps to check the chain against later (`audit.Receipt`)."""

    text: str
    receipt: audit.Receipt


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
            with self._pipelined(count) as batch:
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
                    batch = PipelineBatch(raw, pipeline, connection.dialect)
                    if count is not None:
                        # A statement of its own, committed at once: the count is kept
                        # whatever the write does, and its row is not held until the
                        # write commits (the key's reads would wait for it).
                        batch.checks.append(count.queue(batch))
                        batch.end_segment()
                    batch.command(b"BEGIN")
                    yield batch
                    if batch.checks:  # nothing is committed before the key is checked
                        batch.sync()
                    batch.command(b"COMMIT")
                    batch.sync()
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
    def _live_connection(self) -> Iterator[Connection]:
        """A pooled autocommit connection the database has not dropped. A write cannot be
        retried as a read is (`read`): once queued, its statements may have run. So an idle
        connection that has something to read, which can only be the server closing it (a
        restart, an idle timeout), is discarded before use: a check without a round trip."""
        for _ in range(_POOL_SIZE):
            connection = self._reader.connect()
            if not _dropped(connection.connection.driver_connection):
                break
            connection.invalidate()
            connection.close()
        else:
            connection = self._reader.connect()
        with connection:
            yield connection

    def check_substance(self, identifier: str) -> dict[str, Any]:
        """The Contract 1 verdict as stored JSON. The checker caches and runs OPSIN lazily; one
        call at a time keeps that safe."""
        with self._check_lock:
            try:
                verdict = self.checker.check(identifier)
            except Exception as exc:  # the service must store the notification regardless
                log.exception("substance check failed for %r", identifier)
                verdict = Verdict(input=identifier, resolved_by="none", verdict="unresolved",
                                  reason=f"the check failed: {type(exc).__name__}")
        return verdict.model_dump(mode="json")


    def check_many(self, identifiers: Sequence[str], *, as_of: dt.date,
                   jurisdictions: Sequence[str] | None) -> list[dict[str, Any]]:
        """Contract 1 verdicts in input order; jurisdiction codes must be known (see
        `known_jurisdictions`)."""
        with self._check_lock:
            verdicts = self.checker.check_batch(identifiers, as_of=as_of,
                                                jurisdictions=jurisdictions)
        return [v.model_dump(mode="json") for v in verdicts]


_POOL_SIZE = 20  # the most connections an engine of `db.make_engine` holds


def _dropped(raw: Any) -> bool:
    """Whether the server closed this idle connection: it has something to read (the
    server's last word, or the end of the stream), when nothing is due."""
    try:
        readable, _, _ = select_io.select([raw.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


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
    """What a write needs of an authority it names."""

    id: int
    code: str
    reply_days: int


_NAMED = select(Authority.id, Authority.code, Authority.reply_days)


def _named(rows: Sequence[tuple[Any, ...]]) -> dict[str, Named]:
    return {row[1]: Named(*row) for row in rows}


def _authority_by_code(found: Mapping[str, Named], code: str, field: str) -> Named:
    if code not in found:
        raise Invalid(f"{field}: {code!r} is not a registered authority "
                      "(see GET /v1/authorities)")
    return found[code]


@dataclass(frozen=True)
class _Inserting:
    """An INSERT of every column given, bound by column name, sent as a core statement: no
    unit of work, and on PostgreSQL queued with the rest of the write (`db.Batch`)."""

    statement: Insert
    columns: tuple[str, ...]

    def of(self, row: Base) -> dict[str, Any]:
        return {c: getattr(row, c) for c in self.columns}


def _inserting(model: type[Base]) -> _Inserting:
    columns = tuple(c.key for c in model.__table__.columns)
    return _Inserting(insert(model).values({c: bindparam(c) for c in columns}).inline(),
                      columns)


_NEW_NOTIFICATION = _inserting(Notification)
_NEW_TRANSIT = _inserting(NotificationTransit)
_NEW_RESPONSE = _inserting(NotificationResponse)
_NEW_INCIDENT = _inserting(Incident)
_NEW_SHARE = _inserting(IncidentShare)
_NEW_INCIDENT_LINK = _inserting(IncidentNotification)


_successor = aliased(Notification)


NOW: BindParameter[Any] = bindparam("now")


def status_expression() -> ColumnElement[str]:
    """A notification's status, derived when read: the answer if any, `superseded` once
    corrected, `expired` once the deadline (bound as `now`) has passed unanswered, else
    `sent`."""
    return case(
        (NotificationResponse.decision.is_not(None), NotificationResponse.decision),
        (_successor.id.is_not(None), "superseded"),
        (Notification.reply_deadline <= NOW, "expired"),
        else_="sent",
    )


def _with_status(base: Select[Notification]
                 ) -> Select[Notification, NotificationResponse | None, str | None, str]:
    return (base.add_columns(NotificationResponse, _successor.id, status_expression())
            .outerjoin(NotificationResponse,
                       NotificationResponse.notification_id == Notification.id)
            .outerjoin(_successor, _successor.supersedes_id == Notification.id))


_ANSWER = (NotificationResponse.decision, NotificationResponse.reason,
           NotificationResponse.authority_id, NotificationResponse.created_at,
           NotificationResponse.signature)


def _served_columns(base: Select[Notification]) -> Select[*tuple[Any, ...]]:
    """The stored rendering, the derived status, the successor and the answer: all a read
    serves, without loading the record's content."""
    served: Select[*tuple[Any, ...]] = (
        base.with_only_columns(Notification.rendered, status_expression(), _successor.id,
                               *_ANSWER)
        .outerjoin(NotificationResponse, NotificationResponse.notification_id == Notification.id)
        .outerjoin(_successor, _successor.supersedes_id == Notification.id))
    return served


# Built once: bound to the caller, record, clock and page by parameters.
_ONE = _with_status(Scope.notifications_statement()).where(Notification.id == RECORD_ID)
_ONE_SERVED = _served_columns(Scope.notifications_statement()).where(
    Notification.id == RECORD_ID)


@cache
def _list_statement(direction: Direction | None, by_status: bool, by_thread: bool,
                    by_deadline: bool = False) -> Select[*tuple[Any, ...]]:
    query = _served_columns(Scope.notifications_statement())
    if direction == "outgoing":
        query = query.where(Notification.exporter_id == CALLER)
    elif direction == "incoming":
        query = query.where(Notification.importer_id == CALLER)
    elif direction == "transit":
        query = query.where(exists().where(and_(
            NotificationTransit.notification_id == Notification.id,
            NotificationTransit.authority_id == CALLER)))
    if by_status:
        query = query.where(status_expression() == bindparam("status"))
    if by_thread:
        query = query.where(Notification.thread_id == bindparam("thread_id", type_=String()))
    order = ((Notification.reply_deadline, Notification.id) if by_deadline
             else (Notification.created_at.desc(), Notification.id))
    return (query.order_by(*order)
            .limit(bindparam("limit", type_=Integer())).offset(bindparam("offset",
                                                                          type_=Integer())))


# Reads serve the JSON rendered when the record was written (validated then): the shapes are
# `NotificationOut` / `IncidentOut` (documented in OpenAPI, and checked in the tests). Services
# return JSON text; the routers send it as is.
def _answer_out(decision: str | None, reason: str | None, authority_id: int | None,
                at: dt.datetime | None, signature: str | None, codes: dict[int, str]
                ) -> dict[str, Any] | None:
    if decision is None or authority_id is None or at is None:
        return None
    return {"decision": decision, "reason": reason, "by": codes[authority_id], "at": when(at),
            "signature": signature}


def _served(row: Sequence[Any], codes: dict[int, str]) -> str:
    rendered, status, successor, decision, reason, by, at, signature = row
    return with_status(rendered, status=status, superseded_by=successor,
                       response=_answer_out(decision, reason, by, at, signature, codes))


# -- notifications ----------------------------------------------------------------------------
def send_notification(ex: Exchange, caller: Caller, data: NotificationIn, *,
                      corrects: str | None = None, count: Count | None = None) -> Written:
    """Store, check and sign a notification (or a corrected version of `corrects`); the stored
    record as served, with its audit receipt. `count`: the request, still to be counted
    against its key, goes with the write's first statements (see `Exchange.batch`)."""
    if corrects is not None:
        with ex.sessions() as session:  # a fast 404 before the slower substance check
            Scope(caller).notification(session, corrects)
    problems = date_problems(ex.now().date(), planned_shipment_date=data.planned_shipment_date,
                             planned_arrival_date=data.planned_arrival_date)
    if problems:
        raise Invalid("; ".join(problems))
    verdict = ex.check_substance(data.substance)
    hits = screen_parties(ex, [("exporter", data.exporter), ("importer", data.importer),
                               *([("consignee", data.consignee)] if data.consignee else [])])
    if verdict["verdict"] == "unresolved":
        # A notification must name its substance (Art. 12(10)(a)(ii)): say why this one could
        # not be identified, so the sender can give a CAS number, name or SMILES instead.
        raise Invalid(f"substance: {data.substance!r} could not be identified "
                      f"({verdict.get('reason') or 'no match'}); give its CAS number, name, "
                      "SMILES or InChI", code="unidentified_substance")
    body = data.model_dump(mode="json")
    if data.permit is not None:  # the cited import permit, checked and signed with the record
        from precursorwatch.exchange.permit_store import check_cited_permit

        body["permit_check"] = check_cited_permit(ex, caller, data, verdict)
    with ex.batch(count) as batch:
        # One round trip: the authorities it may name, the caller's chain (locked, then its
        # newest link) and the version it corrects (locked, then its state).
        named = batch.query(_NAMED, {})
        locked = audit.lock_head(batch, caller.id)
        previous = None if corrects is None else _lock_state(batch, Scope(caller), corrects)
        batch.sync()
        head = locked()
        now = ex.now()  # after the locks, so times follow the order of the chain
        thread_id, version = None, 1
        if previous is not None and corrects is not None:
            state = _state(previous.first(), corrects, now)
            if state.exporter_id != caller.id:
                raise Forbidden("only the exporting authority can correct a notification")
            if state.status != "sent":
                raise Conflict(f"notification {corrects} is {state.status}; only a notification "
                               "awaiting an answer can be corrected",
                               code=f"notification_{state.status}")
            thread_id, version = state.thread_id, state.version + 1
        found = _named(named.all())
        importer = _authority_by_code(found, data.importing_authority, "importing_authority")
        if importer.id == caller.id:
            raise Invalid("importing_authority: an authority cannot notify itself")
        transit = [_authority_by_code(found, code, f"transit_authorities[{i}]")
                   for i, code in enumerate(data.transit_authorities)]
        if any(t.id == caller.id for t in transit):
            raise Invalid("transit_authorities: the exporting authority cannot be in transit")
        new_id = str(uuid.uuid4())
        row = Notification(
            id=new_id, thread_id=thread_id or new_id, version=version, supersedes_id=corrects,
            exporter_id=caller.id, importer_id=importer.id, created_at=now,
            reply_deadline=now + dt.timedelta(days=importer.reply_days),
            verdict_name=verdict["verdict"], body=body, verdict=verdict, party_hits=hits,
            signature="", canon=JCS,
        )
        codes = [t.code for t in transit]
        doc = notification_document(row, exporter=head.code, importer=importer.code,
                                    transit=codes)
        row.signature, record_hash = ex.vault.sign_and_hash(head.private_key_enc, doc, JCS)
        row.rendered = render_notification(row, exporter=head.code, importer=importer.code,
                                           transit=codes)
        # The notification first: the rows queued after it refer to it.
        batch.execute(_NEW_NOTIFICATION.statement, [_NEW_NOTIFICATION.of(row)])
        batch.execute(_NEW_TRANSIT.statement, [{"notification_id": new_id, "authority_id": t.id}
                                               for t in transit])
        link = audit.add_link(batch, head, actor=caller.person,
                              action="notification.correct" if corrects else "notification.send",
                              record_type="notification", record_id=new_id,
                              record_hash=record_hash, at=now)
        return Written(with_status(row.rendered, status="sent", superseded_by=None,
                                   response=None), audit.receipt(link))


_LOCK_ONE = (select(Notification.id).where(Notification.id == RECORD_ID, NOTIFICATION_VISIBLE)
             .with_for_update(key_share=True, of=Notification))
# What a write checks of a notification; its status is derived from these as
# `status_expression` derives it, at the time the write takes after its locks.
_STATE = (select(Notification.exporter_id, Notification.importer_id, Notification.thread_id,
                 Notification.version, Notification.reply_deadline, Notification.rendered,
                 NotificationResponse.decision, _successor.id)
          .select_from(Notification)
          .outerjoin(NotificationResponse, NotificationResponse.notification_id == Notification.id)
          .outerjoin(_successor, _successor.supersedes_id == Notification.id)
          .where(Notification.id == RECORD_ID, NOTIFICATION_VISIBLE))


def _lock_notification(session: Session, scope: Scope, notification_id: str) -> None:
    """Hold the notification's row until the transaction ends (PostgreSQL: FOR NO KEY UPDATE,
    which inserts referring to it do not wait for), so an answer and a correction of the same
    version queue up and the second one reads the status the first one left. Taken after the
    caller's chain lock and before the status is read. SQLite's writers queue anyway (BEGIN
    IMMEDIATE in `Exchange.writing`)."""
    session.execute(_LOCK_ONE, {**scope.params, "record_id": notification_id})


def _lock_state(batch: Batch, scope: Scope, notification_id: str) -> Rows:
    """Queue the lock of `_lock_notification` (after the caller's chain lock) and then the
    read of the notification's state (`_state`), which so sees what the writer it waited for
    left."""
    params = {**scope.params, "record_id": notification_id}
    batch.query(_LOCK_ONE, params)
    return batch.query(_STATE, params)


@dataclass(frozen=True)
class _State:
    exporter_id: int
    importer_id: int
    thread_id: str
    version: int
    reply_deadline: dt.datetime
    rendered: str
    status: str


def _state(row: Sequence[Any] | None, notification_id: str, now: dt.datetime) -> _State:
    """A row of `_STATE` with the notification's status at `now`; 404 for no row."""
    if row is None:
        raise Scope.no_notification(notification_id)
    exporter_id, importer_id, thread_id, version, deadline, rendered, decision, successor = row
    status = (decision if decision is not None else "superseded" if successor is not None
              else "expired" if deadline <= now else "sent")
    return _State(exporter_id, importer_id, thread_id, version, deadline, rendered, status)


def _one(session: Session, scope: Scope, notification_id: str, now: dt.datetime, *,
         rendered: bool = False) -> tuple[Notification, NotificationResponse | None, str]:
    query = _ONE.options(undefer(Notification.rendered)) if rendered else _ONE
    row = session.execute(query, {**scope.params, "now": now,
                                  "record_id": notification_id}).first()
    if row is None:
        raise Scope.no_notification(notification_id)
    n, response, _successor_id, status = row
    return n, response, status


def get_notification(ex: Exchange, caller: Caller, notification_id: str,
                     count: Count | None = None) -> str:
    """The notification as JSON text (`NotificationOut`)."""
    params = {**Scope(caller).params, "now": ex.now(), "record_id": notification_id}
    rows = ex.rows(_ONE_SERVED, params, count)
    if not rows:
        raise Scope.no_notification(notification_id)
    return _served(rows[0], ex.codes())


def list_notifications(ex: Exchange, caller: Caller, *, direction: Direction | None = None,
                       status: Status | None = None, thread_id: str | None = None,
                       limit: int = 100, offset: int = 0, count: Count | None = None,
                       by_deadline: bool = False) -> list[str]:
    """A page of notifications, newest first (`by_deadline`: soonest reply deadline first,
    as an inbox of what to answer is read), each as JSON text; `thread_id` keeps the
    versions of one notified shipment."""
    params = {**Scope(caller).params, "now": ex.now(), "status": status, "thread_id": thread_id,
              "limit": limit, "offset": offset}
    query = _list_statement(direction, status is not None, thread_id is not None, by_deadline)
    rows = ex.rows(query, params, count)
    codes = ex.codes()
    return [_served(row, codes) for row in rows]


# What a summary of many notifications counts, without their evidence or signatures.
_FACTS = (Scope.notifications_statement().with_only_columns(
    Notification.id, Notification.created_at, status_expression(), Notification.exporter_id,
    Notification.importer_id, Notification.body["substance"].as_string(),
    Notification.verdict["name"].as_string(),
    Notification.body["exporter"]["country"].as_string(),
    Notification.body["importer"]["country"].as_string(), NotificationResponse.reason)
    .outerjoin(NotificationResponse, NotificationResponse.notification_id == Notification.id)
    .outerjoin(_successor, _successor.supersedes_id == Notification.id)
    .order_by(Notification.created_at, Notification.id))
FACTS = ("id", "created_at", "status", "exporting_authority", "importing_authority",
         "substance", "name", "exporter_country", "importer_country", "reason")


def notification_facts(ex: Exchange, caller: Caller) -> list[dict[str, Any]]:
    """Every notification the caller is party to, oldest first, as the few facts a summary
    counts (`FACTS`: the status derived now, the substance as given and as identified, the
    parties' countries, an answer's reason), in one statement that reads no evidence."""
    codes = ex.codes()
    rows = ex.rows(_FACTS, {**Scope(caller).params, "now": ex.now()})
    return [{**dict(zip(FACTS, row, strict=True)), "created_at": when(row[1]),
             "exporting_authority": codes[row[3]], "importing_authority": codes[row[4]]}
            for row in rows]


def answer_notification(ex: Exchange, caller: Caller, notification_id: str, data: ResponseIn,
                        count: Count | None = None) -> Written:
    """The importing authority's decision; only while the notification awaits an answer."""
    with ex.batch(count) as batch:
        locked = audit.lock_head(batch, caller.id)
        state = _lock_state(batch, Scope(caller), notification_id)
        batch.sync()
        head = locked()
        now = ex.now()
        n = _state(state.first(), notification_id, now)
        if n.importer_id != caller.id:
            raise Forbidden("only the importing authority can answer this notification",
                            code="not_importing_authority")
        if n.status != "sent":
            message = {
                "expired": f"the reply deadline passed on {n.reply_deadline.isoformat()}",
                "superseded": "a corrected version replaced it; answer the newest version",
            }.get(n.status, f"it was already answered ({n.status})")
            raise Conflict(f"notification {notification_id} cannot be answered: {message}",
                           code=f"notification_{n.status}")
        response = NotificationResponse(id=str(uuid.uuid4()), notification_id=notification_id,
                                        authority_id=caller.id, decision=data.decision,
                                        reason=data.reason, created_at=now, signature="",
                                        canon=JCS)
        doc = response_document(response, authority=head.code)
        response.signature, record_hash = ex.vault.sign_and_hash(head.private_key_enc, doc, JCS)
        batch.execute(_NEW_RESPONSE.statement, [_NEW_RESPONSE.of(response)])
        link = audit.add_link(batch, head, actor=caller.person,
                              action=f"notification.{data.decision}",
                              record_type="response", record_id=response.id,
                              record_hash=record_hash, at=now)
        return Written(with_status(n.rendered, status=data.decision, superseded_by=None,
                                   response=_answer_out(data.decision, response.reason,
                                                        caller.id, now, response.signature,
                                                        {caller.id: head.code})),
                       audit.receipt(link))


# -- incidents --------------------------------------------------------------------------------
_VISIBLE = select(Notification.id).where(Notification.id == RECORD_ID, NOTIFICATION_VISIBLE)


def report_incident(ex: Exchange, caller: Caller, data: IncidentIn,
                    count: Count | None = None) -> Written:
    problems = date_problems(ex.now().date(), incident_date=data.incident_date)
    if problems:
        raise Invalid("; ".join(problems))
    verdict = ex.check_substance(data.substance)
    hits = screen_parties(ex, [(p.role, p) for p in data.parties])
    body = data.model_dump(mode="json")
    scope = Scope(caller)
    with ex.batch(count) as batch:
        named = batch.query(_NAMED, {}) if data.shared_with != "all" else None
        locked = audit.lock_head(batch, caller.id)
        visible = [batch.query(_VISIBLE, {**scope.params, "record_id": nid})
                   for nid in data.notification_ids]
        batch.sync()
        head = locked()
        now = ex.now()
        shared: list[Named] = []
        if named is not None and data.shared_with != "all":
            found = _named(named.all())
            shared = [_authority_by_code(found, code, f"shared_with[{i}]")
                      for i, code in enumerate(dict.fromkeys(data.shared_with))]
        for i, (nid, seen) in enumerate(zip(data.notification_ids, visible, strict=True)):
            if seen.first() is None:
                raise Invalid(f"notification_ids[{i}]: no notification {nid!r} for this "
                              "authority")
        others = [a for a in shared if a.id != caller.id]
        row = Incident(id=str(uuid.uuid4()), reporter_id=caller.id,
                       shared_with_all=data.shared_with == "all", created_at=now,
                       verdict_name=verdict["verdict"], body=body, verdict=verdict,
                       party_hits=hits, signature="", canon=JCS)
        doc = incident_document(row, reporter=head.code, shared_with=[a.code for a in others])
        row.signature, record_hash = ex.vault.sign_and_hash(head.private_key_enc, doc, JCS)
        row.rendered = render_incident(row, reporter=head.code)
        batch.execute(_NEW_INCIDENT.statement, [_NEW_INCIDENT.of(row)])
        batch.execute(_NEW_SHARE.statement, [{"incident_id": row.id, "authority_id": a.id}
                                             for a in others])
        batch.execute(_NEW_INCIDENT_LINK.statement, [
            {"incident_id": row.id, "notification_id": nid}
            for nid in dict.fromkeys(data.notification_ids)])
        link = audit.add_link(batch, head, actor=caller.person, action="incident.report",
                              record_type="incident", record_id=row.id,
                              record_hash=record_hash, at=now)
        return Written(row.rendered, audit.receipt(link))


_INCIDENTS_SERVED = Scope.incidents_statement().with_only_columns(Incident.rendered)
_ONE_INCIDENT_SERVED = _INCIDENTS_SERVED.where(Incident.id == RECORD_ID)


@cache
def _incident_page(by_notification: bool) -> Select[str]:
    query = _INCIDENTS_SERVED
    if by_notification:
        query = query.where(exists().where(and_(
            IncidentNotification.incident_id == Incident.id,
            IncidentNotification.notification_id == bindparam("notification_id",
                                                              type_=String()))))
    return (query.order_by(Incident.created_at.desc(), Incident.id)
            .limit(bindparam("limit", type_=Integer()))
            .offset(bindparam("offset", type_=Integer())))


def list_incidents(ex: Exchange, caller: Caller, *, notification_id: str | None = None,
                   limit: int = 100, offset: int = 0, count: Count | None = None
                   ) -> list[str]:
    """A page of incidents, newest first, each as JSON text; `notification_id` keeps those
    linked to that notification."""
    params = {**Scope(caller).params, "notification_id": notification_id, "limit": limit,
              "offset": offset}
    query = _incident_page(notification_id is not None)
    return [row[0] for row in ex.rows(query, params, count)]


def get_incident(ex: Exchange, caller: Caller, incident_id: str,
                 count: Count | None = None) -> str:
    params = {**Scope(caller).params, "record_id": incident_id}
    rows = ex.rows(_ONE_INCIDENT_SERVED, params, count)
    if not rows:
        raise Scope.no_incident(incident_id)
    found: str = rows[0][0]
    return found


# -- signed forms ------------------------------------------------------------------------------
def _signed(record_type: str, found: audit.StoredRecord, signer: str) -> dict[str, Any]:
    return {"type": record_type, "id": found.document["id"], "document": found.document,
            "canonicalization": found.canon, "signature": found.signature, "signed_by": signer}


def signed_notification(ex: Exchange, caller: Caller, notification_id: str) -> dict[str, Any]:
    """The notification as its exporter signed it, and the importer's signed answer if any:
    each the document, its canonical form and the signature, for verifying off this server."""
    with ex.sessions() as session:
        n, response, _ = _one(session, Scope(caller), notification_id, ex.now())
        codes = audit.authority_codes(session)
        keys: list[audit.RecordKey] = [("notification", n.id)]
        if response is not None:
            keys.append(("response", response.id))
        found = audit.stored_records(session, keys, codes)
        out = _signed("notification", found["notification", n.id], codes[n.exporter_id])
        out["response"] = None if response is None else _signed(
            "response", found["response", response.id], codes[response.authority_id])
        return out


def signed_incident(ex: Exchange, caller: Caller, incident_id: str) -> dict[str, Any]:
    """The incident as its reporter signed it (see `signed_notification`)."""
    get_incident(ex, caller, incident_id)  # 404 unless the caller may read it
    with ex.sessions() as session:
        codes = audit.authority_codes(session)
        found = audit.stored_record(session, "incident", incident_id, codes)
        if found is None:
            raise Scope.no_incident(incident_id)
        return _signed("incident", found, found.document["reporter"])


def verify_own_chain(ex: Exchange, caller: Caller, receipts: Sequence[audit.Receipt] = ()
                     ) -> audit.ChainReport:
    with ex.sessions() as session:
        return audit.verify_chain(session, session.get_one(Authority, caller.id), receipts)


def public_authorities(ex: Exchange) -> list[Authority]:
    with ex.sessions() as session:
        return list(session.scalars(select(Authority).order_by(Authority.code)))
