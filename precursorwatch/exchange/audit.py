"""The hash-chained audit log: one chain per authority, one link per action.

Each link holds who (the authority), what (action, record type and id, and the record's content
hash) and when, plus the previous link's hash; its own hash covers all of that. Verification
re-hashes every link and every record it names, checks each record's signature and that the
record's stored served copy is still its rendering (a notification's, with the status,
correction and answer its signed answer and correction say), so a row edited, inserted or
deleted behind the service's back is found.

One change the chain cannot show by itself: its newest links cut off together with their
records (what is left is still a consistent chain). So every write hands its author a
receipt, the link's number and hash; an authority that keeps its latest receipt can have the
chain checked against it, and cutting back past it shows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, bindparam, func, insert, select
from sqlalchemy.orm import Session, undefer_group

from precursorwatch.exchange.db import Batch
from precursorwatch.exchange.models import (
    AuditEntry,
    Authority,
    Incident,
    IncidentNotification,
    IncidentShare,
    Notification,
    NotificationResponse,
    NotificationTransit,
    Person,
)
from precursorwatch.exchange.records import (
    follow_up,
    incident_document,
    iso,
    notification_document,
    render_incident,
    render_notification,
    response_document,
)
from precursorwatch.exchange.signing import CANONS, JCS, Canon, content_hash, verify_signature

GENESIS = "0" * 64
# The record type of a link that logs what a person did (signed in, failed to, signed out,
# changed their password) rather than a signed record: no stored record stands behind it.
EVENT = "person"
_BATCH = 500  # links checked per round of queries


def entry_hash(entry: AuditEntry, authority_code: str) -> str:
    # Strings and a small whole number under ASCII keys: RFC 8785 and the sorted-key JSON of
    # links written before it give the same bytes, so old links keep their hashes.
    return content_hash({
        "authority": authority_code, "seq": entry.seq, "at": iso(entry.at), "actor": entry.actor,
        "action": entry.action, "record_type": entry.record_type, "record_id": entry.record_id,
        "record_hash": entry.record_hash, "prev_hash": entry.prev_hash,
    })


@dataclass(frozen=True)
class Chain:
    """An authority's chain, locked by this transaction (`lock_chain`) until it ends."""

    authority: Authority


def lock_chain(session: Session, authority_id: int) -> Chain:
    """Lock the authority's row (PostgreSQL) for the rest of the transaction, so that its writes
    queue up instead of forking its chain. Taken first in every write: FOR NO KEY UPDATE does
    not clash with the key-share locks that inserts referring to the authority take, so two
    writers cannot deadlock on it."""
    return Chain(session.execute(select(Authority).where(Authority.id == authority_id)
                                 .with_for_update(key_share=True)).scalar_one())


def append(session: Session, chain: Chain, *, action: str, record_type: str,
           record_id: str, record_hash: str, at: dt.datetime,
           actor: str | None = None) -> AuditEntry:
    """Add a link to the authority's chain, inside the transaction that locked it.

    The chain is locked (`lock_chain`, which is the only way to get a `Chain`), so concurrent
    writes by one authority queue up instead of forking it; the unique (authority, seq) key
    backs this up. The newest link is read here, in a statement of its own after the lock:
    in READ COMMITTED each statement sees what committed before it began, so it sees the link
    of the writer this one waited for.

    `actor` is the person who acted in the web app (their e-mail); an API-key write is the
    authority's own (its code). A `record_type` of `EVENT` logs an event of a person (sign-in,
    sign-out, password change) rather than a stored record: `record_id` is the person's id.
    """
    authority = chain.authority
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash)
        .where(AuditEntry.authority_id == authority.id)
        .order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    entry = AuditEntry(authority_id=authority.id, seq=seq, at=at,
                       actor=actor or authority.code,
                       action=action, record_type=record_type, record_id=record_id,
                       record_hash=record_hash, prev_hash=prev, entry_hash="")
    entry.entry_hash = entry_hash(entry, authority.code)
    session.add(entry)
    return entry


@dataclass(frozen=True)
class Head:
    """An authority's chain as a batched write locked it (`lock_head`): the authority's code
    and signing key, and its newest link (seq 0 and `GENESIS` for an empty chain)."""

    authority_id: int
    code: str
    private_key_enc: str
    seq: int
    entry_hash: str


_AUTHORITY = bindparam("authority_id", type_=Integer())
_LOCK_AUTHORITY = (select(Authority.code, Authority.private_key_enc)
                   .where(Authority.id == _AUTHORITY).with_for_update(key_share=True))
_NEWEST_LINK = (select(AuditEntry.seq, AuditEntry.entry_hash)
                .where(AuditEntry.authority_id == _AUTHORITY)
                .order_by(AuditEntry.seq.desc()).limit(1))
_LINK_COLUMNS = ("authority_id", "seq", "at", "actor", "action", "record_type", "record_id",
                 "record_hash", "prev_hash", "entry_hash")
_INSERT_LINK = insert(AuditEntry).values({c: bindparam(c) for c in _LINK_COLUMNS}).inline()


def lock_head(batch: Batch, authority_id: int) -> Callable[[], Head]:
    """Queue what `lock_chain` and `append` do before a link is written, in the same round
    trip: the lock of the authority's row (as `lock_chain`), then the read of its newest link.
    The database runs them in order, so the read starts once the lock is held and, in READ
    COMMITTED, sees the link of the writer this one waited for. Call the result once the
    batch is synced."""
    locked = batch.query(_LOCK_AUTHORITY, {"authority_id": authority_id})
    newest = batch.query(_NEWEST_LINK, {"authority_id": authority_id})

    def head() -> Head:
        row = locked.first()
        if row is None:
            raise LookupError(f"no authority {authority_id}")
        last = newest.first()
        seq, prev = (last[0], last[1]) if last else (0, GENESIS)
        return Head(authority_id, row[0], row[1], seq, prev)

    return head


def add_link(batch: Batch, head: Head, *, action: str, record_type: str, record_id: str,
             record_hash: str, at: dt.datetime, actor: str | None = None) -> AuditEntry:
    """Queue the link after `head` (as `append` adds it), in the transaction that locked it;
    the unique (authority, seq) key refuses a fork as with `append`."""
    entry = AuditEntry(authority_id=head.authority_id, seq=head.seq + 1, at=at,
                       actor=actor or head.code, action=action, record_type=record_type,
                       record_id=record_id, record_hash=record_hash, prev_hash=head.entry_hash,
                       entry_hash="")
    entry.entry_hash = entry_hash(entry, head.code)
    batch.execute(_INSERT_LINK, [{c: getattr(entry, c) for c in _LINK_COLUMNS}])
    return entry


def receipt(entry: AuditEntry) -> Receipt:
    return Receipt(entry.seq, entry.entry_hash)


@dataclass(frozen=True)
class Receipt:
    """A link of an authority's chain as it was when written: `seq:entry_hash`."""

    seq: int
    entry_hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.entry_hash}"

    @classmethod
    def parse(cls, text: str) -> Receipt:
        match = re.fullmatch(r"\s*([1-9][0-9]{0,17}):([0-9a-f]{64})\s*", text)
        if match is None:
            raise ValueError(f"receipt {text!r}: expected SEQ:HASH, the link number and its "
                             "64-character hex hash (as in the Audit-Receipt header)")
        return cls(int(match[1]), match[2])


@dataclass(frozen=True)
class Problem:
    seq: int | None
    record_type: str | None
    record_id: str | None
    problem: str


@dataclass(frozen=True)
class ChainReport:
    authority: str
    entries: int
    problems: tuple[Problem, ...]
    head: Receipt | None = None  # the newest link now: keep it to check later against

    @property
    def ok(self) -> bool:
        return not self.problems


def authority_codes(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Authority.id, Authority.code)).all())


@dataclass(frozen=True)
class StoredRecord:
    document: dict[str, Any]  # the signed form, rebuilt from the row
    signature: str
    served_as_signed: bool  # the stored served copy still renders from the signed columns
    links_as_signed: bool = True  # an incident's notification links match its signed body
    canon: str = JCS  # the canonical JSON form it was signed in (`signing.CANONS`)

    @property
    def signed_form(self) -> Canon | None:
        """The row's canonical form, or None if it names none this service knows."""
        return next((c for c in CANONS if c == self.canon), None)


RecordKey = tuple[str, str]  # (record type, record id)


def _linked(session: Session, record: Any, other: Any, ids: list[str]
            ) -> dict[str, list[Any]]:
    """What a link table (transit authorities, shares, notification links) joins to each of
    the records `ids`."""
    out: dict[str, list[Any]] = defaultdict(list)
    for record_id, value in session.execute(select(record, other).where(record.in_(ids))):
        out[record_id].append(value)
    return out


def stored_records(session: Session, keys: Iterable[RecordKey], codes: dict[int, str]
                   ) -> dict[RecordKey, StoredRecord]:
    """The stored records named by `keys` as the audit sees them, loaded a few queries per
    batch rather than per record; records that are gone are absent."""
    ids: dict[str, list[str]] = defaultdict(list)
    for record_type, record_id in keys:
        ids[record_type].append(record_id)
    found: dict[RecordKey, StoredRecord] = {}
    content = undefer_group("content")
    if ids["notification"]:
        transit = _linked(session, NotificationTransit.notification_id,
                          NotificationTransit.authority_id, ids["notification"])
        # What the answer and the correction, signed rows both, say a read must serve of
        # each version beside its rendering (its stored status, correction and answer).
        answers = {r.notification_id: r for r in session.scalars(
            select(NotificationResponse)
            .where(NotificationResponse.notification_id.in_(ids["notification"])))}
        successors = dict(session.execute(
            select(Notification.supersedes_id, Notification.id)
            .where(Notification.supersedes_id.in_(ids["notification"]))).all())
        for n in session.scalars(select(Notification).options(content)
                                 .where(Notification.id.in_(ids["notification"]))):
            exporter, importer = codes.get(n.exporter_id, "?"), codes.get(n.importer_id, "?")
            via = [codes.get(a, "?") for a in transit[n.id]]
            doc = notification_document(n, exporter=exporter, importer=importer, transit=via)
            served = render_notification(n, exporter=exporter, importer=importer, transit=via)
            follows = follow_up(answers.get(n.id), successors.get(n.id), codes)
            found["notification", n.id] = StoredRecord(
                doc, n.signature,
                n.rendered == served and (n.status, n.superseded_by, n.answer) == follows,
                canon=n.canon)
    if ids["response"]:
        for r in session.scalars(select(NotificationResponse)
                                 .where(NotificationResponse.id.in_(ids["response"]))):
            doc = response_document(r, authority=codes.get(r.authority_id, "?"))
            found["response", r.id] = StoredRecord(doc, r.signature, True, canon=r.canon)
    if ids["incident"]:
        shares = _linked(session, IncidentShare.incident_id, IncidentShare.authority_id,
                         ids["incident"])
        links = _linked(session, IncidentNotification.incident_id,
                        IncidentNotification.notification_id, ids["incident"])
        for i in session.scalars(select(Incident).options(content)
                                 .where(Incident.id.in_(ids["incident"]))):
            reporter = codes.get(i.reporter_id, "?")
            doc = incident_document(i, reporter=reporter,
                                    shared_with=[codes.get(a, "?") for a in shares[i.id]])
            found["incident", i.id] = StoredRecord(
                doc, i.signature, i.rendered == render_incident(i, reporter=reporter),
                set(links[i.id]) == set(i.body.get("notification_ids") or ()), canon=i.canon)
    if ids["permit"] or ids["permit_revocation"]:
        from precursorwatch.exchange import permit_store  # it imports this module

        found.update(permit_store.stored_records(session, ids["permit"],
                                                 ids["permit_revocation"], codes))
    if ids["alert"] or ids["alert_outcome"]:
        from precursorwatch.exchange import alerts  # it imports this module

        found.update(alerts.stored_records(session, ids["alert"], ids["alert_outcome"], codes))
    return found


def stored_record(session: Session, record_type: str, record_id: str,
                  codes: dict[int, str]) -> StoredRecord | None:
    """One stored record as the audit sees it, or None if it is gone."""
    return stored_records(session, [(record_type, record_id)], codes).get(
        (record_type, record_id))


def record_document(session: Session, record_type: str, record_id: str,
                    codes: dict[int, str]) -> tuple[dict[str, Any], str] | None:
    """(signed document, signature) of a stored record, or None if it is gone."""
    found = stored_record(session, record_type, record_id, codes)
    return None if found is None else (found.document, found.signature)


def _authored(session: Session, authority_id: int) -> set[tuple[str, str]]:
    ids: set[tuple[str, str]] = set()
    ids.update(("notification", i) for i in session.scalars(
        select(Notification.id).where(Notification.exporter_id == authority_id)))
    ids.update(("response", i) for i in session.scalars(
        select(NotificationResponse.id).where(NotificationResponse.authority_id == authority_id)))
    ids.update(("incident", i) for i in session.scalars(
        select(Incident.id).where(Incident.reporter_id == authority_id)))
    from precursorwatch.exchange import permit_store

    ids.update(permit_store.authored(session, authority_id))
    from precursorwatch.exchange import alerts

    ids.update(alerts.authored(session, authority_id))
    return ids


def verify_chain(session: Session, authority: Authority, receipts: Sequence[Receipt] = ()
                 ) -> ChainReport:
    """Re-check one authority's chain: link hashes, order, the records' hashes and signatures,
    that every record the authority signed is in its chain, and that the chain still holds
    each link of `receipts` as it was written."""
    codes = authority_codes(session)
    entries = session.scalars(select(AuditEntry).where(AuditEntry.authority_id == authority.id)
                              .order_by(AuditEntry.seq)).all()
    people = set(session.scalars(select(Person.email)
                                 .where(Person.authority_id == authority.id)))
    problems: list[Problem] = []
    prev = GENESIS
    logged: set[tuple[str, str]] = set()
    for start in range(0, len(entries), _BATCH):
        batch = entries[start:start + _BATCH]
        records = stored_records(session, [(e.record_type, e.record_id) for e in batch], codes)
        for expected_seq, entry in enumerate(batch, start=start + 1):
            where = (entry.seq, entry.record_type, entry.record_id)
            if entry.seq != expected_seq:
                problems.append(Problem(*where, f"link {expected_seq} is missing"))
            if entry.prev_hash != prev:
                problems.append(Problem(*where, "link does not follow the previous one"))
            if ((entry.actor != authority.code and entry.actor not in people)
                    or entry.entry_hash != entry_hash(entry, authority.code)):
                problems.append(Problem(*where, "audit entry changed since it was written"))
            prev = entry.entry_hash
            if entry.record_type == EVENT:
                continue  # the link itself is the whole record of the event
            logged.add((entry.record_type, entry.record_id))
            found = records.get((entry.record_type, entry.record_id))
            if found is None:
                problems.append(Problem(*where, "record is missing"))
                continue
            canon = found.signed_form
            if canon is None:
                problems.append(Problem(*where, f"record names an unknown canonical form "
                                                f"{found.canon!r}"))
                continue
            try:
                logged_hash: str | None = content_hash(found.document, canon)
            except ValueError:  # an edit left a value JSON cannot carry (NaN, a huge integer)
                logged_hash = None
            if logged_hash != entry.record_hash:
                problems.append(Problem(*where, "record content changed since it was logged"))
            if not verify_signature(authority.public_key, found.signature, found.document,
                                    canon):
                problems.append(Problem(*where, "record signature does not verify"))
            if not found.served_as_signed:
                problems.append(Problem(*where, "the copy served to readers differs from the "
                                                "signed record"))
            if not found.links_as_signed:
                problems.append(Problem(*where, "its links to notifications differ from the "
                                                "signed record"))
        session.expunge_all()  # a long chain is checked in batches, not all held at once
    for record_type, record_id in sorted(_authored(session, authority.id) - logged):
        problems.append(Problem(None, record_type, record_id, "record is not in the audit chain"))
    held = {e.seq: e for e in entries}
    for r in receipts:
        link = held.get(r.seq)
        if link is None:
            problems.append(Problem(r.seq, None, None, f"link {r.seq} of the receipt is gone: "
                                    "the chain was cut back"))
        elif link.entry_hash != r.entry_hash:
            problems.append(Problem(r.seq, link.record_type, link.record_id,
                                    f"link {r.seq} differs from the receipt"))
    head = receipt(entries[-1]) if entries else None
    return ChainReport(authority.code, len(entries), tuple(problems), head)


def verify_all(session: Session, receipts: Mapping[str, Sequence[Receipt]] | None = None
               ) -> list[ChainReport]:
    """Every authority's chain, each checked against its receipts (by authority code)."""
    authorities = session.scalars(select(Authority).order_by(Authority.code)).all()
    receipts = receipts or {}
    unknown = sorted(set(receipts) - {a.code for a in authorities})
    if unknown:
        raise ValueError(f"receipt for {', '.join(unknown)}: no such authority")
    return [verify_chain(session, a, receipts.get(a.code, ())) for a in authorities]


def chain_length(session: Session, authority_id: int) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.authority_id == authority_id)) or 0
