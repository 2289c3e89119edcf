"""Pre-export notifications: send, correct, answer, read, list, summarise, signed form.

The exporting authority signs each version of a notified shipment; a correction is a new
version that supersedes the one before; the importing authority answers a version once, while
it awaits an answer. A notification's status is its answer if any, `superseded` once
corrected, `expired` once its reply deadline passed with neither, else `sent`: the write that
answers or corrects it stores that in its row (`Notification.status`), and a read, one look-up
of the row, decides only whether `sent` has expired. Readers are its exporting, importing and
transit authorities (`scope.NOTIFICATION_VISIBLE`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    exists,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from precursorwatch.exchange import audit
from precursorwatch.exchange.db import Batch, Rows
from precursorwatch.exchange.errors import Conflict, Forbidden, Invalid
from precursorwatch.exchange.limits import Count
from precursorwatch.exchange.models import Notification, NotificationResponse, NotificationTransit
from precursorwatch.exchange.records import (
    answer_json,
    current_status,
    notification_document,
    render_notification,
    response_document,
    when,
    with_status,
    with_status_utf8,
)
from precursorwatch.exchange.schemas import NotificationIn, ResponseIn, Status, date_problems
from precursorwatch.exchange.scope import CALLER, NOTIFICATION_VISIBLE, RECORD_ID, Caller, Scope
from precursorwatch.exchange.service import (
    NAMED,
    Exchange,
    ScopedRead,
    authority_by_code,
    named,
    screen_parties,
)
from precursorwatch.exchange.signed import Written, inserting, signed_form, write
from precursorwatch.exchange.signing import JCS

Direction = Literal["incoming", "outgoing", "transit"]
NOW: BindParameter[Any] = bindparam("now")


def status_expression() -> ColumnElement[str]:
    """A notification's status as a read serves it, in SQL (`records.current_status`): the
    stored one (`Notification.status`: the answer, `superseded` once corrected, else `sent`),
    `expired` once the reply deadline (bound as `now`) has passed with none of those."""
    return case(
        (and_(Notification.status == "sent", Notification.reply_deadline <= NOW), "expired"),
        else_=Notification.status,
    )


def _served_columns(base: Select[Notification]) -> Select[*tuple[Any, ...]]:
    """All a read serves, from the notification's row alone (no joins): its stored rendering,
    status, correction's id and answer, and its reply deadline."""
    served: Select[*tuple[Any, ...]] = base.with_only_columns(
        Notification.rendered, Notification.status, Notification.superseded_by,
        Notification.answer, Notification.reply_deadline)
    return served


# Built once: bound to the caller, record, clock and page by parameters.
_ONE = (Scope.notifications_statement().add_columns(NotificationResponse)
        .outerjoin(NotificationResponse, NotificationResponse.notification_id == Notification.id)
        .where(Notification.id == RECORD_ID))
_ONE_SERVED = _served_columns(Scope.notifications_statement()).where(
    Notification.id == RECORD_ID)


@cache
def _list_statement(direction: Direction | None, by_status: bool, by_thread: bool,
                    by_deadline: bool = False) -> Select[*tuple[Any, ...]]:
    # What a read serves but the stored rendering, which comes from `Exchange.served_copies`.
    query = Scope.notifications_statement().with_only_columns(
        Notification.status, Notification.superseded_by, Notification.answer,
        Notification.reply_deadline)
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
    # The order's keys again, after what is served: a page read with its count says its order
    # again over them (`_PAGE_ORDER`).
    query = query.add_columns(
        (Notification.reply_deadline if by_deadline else Notification.created_at).label(
            "page_at"), Notification.id.label("page_id"))
    return (query.order_by(*order)
            .limit(bindparam("limit", type_=Integer())).offset(bindparam("offset",
                                                                          type_=Integer())))


# Reads serve the JSON rendered when the record was written (validated then): the shapes are
# `NotificationOut` / `IncidentOut` (documented in OpenAPI, and checked in the tests). Services
# return JSON text; the routers send it as is.
def _served(row: Sequence[Any], now: dt.datetime) -> str:
    rendered, status, superseded_by, answer, deadline = row[:5]
    return with_status(rendered, status=current_status(status, deadline, now),
                       superseded_by=superseded_by, response=answer)


# -- writes -----------------------------------------------------------------------------------
_NEW_TRANSIT = inserting(NotificationTransit)
_NOTIFICATION_ID = bindparam("notification_id", type_=String())
# The write that adds a correction or an answer also sets what reads serve of the version it
# follows, in the same transaction (and, on PostgreSQL, the same round trip as its inserts).
_SUPERSEDE = (update(Notification).where(Notification.id == _NOTIFICATION_ID)
              .values(status="superseded", superseded_by=bindparam("successor_id")))
_ANSWERED = (update(Notification).where(Notification.id == _NOTIFICATION_ID)
             .values(status=bindparam("decision"), answer=bindparam("served_answer")))


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
        authorities = batch.query(NAMED, {})
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
        found = named(authorities.all())
        importer = authority_by_code(found, data.importing_authority, "importing_authority")
        if importer.id == caller.id:
            raise Invalid("importing_authority: an authority cannot notify itself")
        transit = [authority_by_code(found, code, f"transit_authorities[{i}]")
                   for i, code in enumerate(data.transit_authorities)]
        if any(t.id == caller.id for t in transit):
            raise Invalid("transit_authorities: the exporting authority cannot be in transit")
        new_id = str(uuid.uuid4())
        row = Notification(
            id=new_id, thread_id=thread_id or new_id, version=version, supersedes_id=corrects,
            exporter_id=caller.id, importer_id=importer.id, created_at=now,
            reply_deadline=now + dt.timedelta(days=importer.reply_days),
            verdict_name=verdict["verdict"], body=body, verdict=verdict, party_hits=hits,
            signature="", canon=JCS, status="sent", superseded_by=None, answer=None,
        )
        codes = [t.code for t in transit]
        doc = notification_document(row, exporter=head.code, importer=importer.code,
                                    transit=codes)
        written = write(
            ex.vault, batch, head, row, doc, actor=caller.person,
            action="notification.correct" if corrects else "notification.send",
            record_type="notification", at=now,
            render=lambda r: render_notification(r, exporter=head.code, importer=importer.code,
                                                 transit=codes),
            serve=lambda r: with_status(r.rendered, status="sent", superseded_by=None,
                                        response=None))
        # Queued after the notification, which they refer to.
        _NEW_TRANSIT.queue(batch, [{"notification_id": new_id, "authority_id": t.id}
                                   for t in transit])
        if corrects is not None:
            batch.execute(_SUPERSEDE, [{"notification_id": corrects, "successor_id": new_id}])
        return written


_LOCK_ONE = (select(Notification.id).where(Notification.id == RECORD_ID, NOTIFICATION_VISIBLE)
             .with_for_update(key_share=True, of=Notification))
# What a write checks of a notification; its status is derived from these as
# `status_expression` derives it, at the time the write takes after its locks (the lock
# waits for a writer that answers or corrects it, whose status this read then sees).
_STATE = (select(Notification.exporter_id, Notification.importer_id, Notification.thread_id,
                 Notification.version, Notification.reply_deadline, Notification.rendered,
                 Notification.status)
          .where(Notification.id == RECORD_ID, NOTIFICATION_VISIBLE))


def _lock_state(batch: Batch, scope: Scope, notification_id: str) -> Rows:
    """Queue the lock of the notification's row (after the caller's chain lock) and then
    the read of its state (`_state`), which so sees what the writer it waited for left. The
    lock (PostgreSQL: FOR NO KEY UPDATE, which inserts referring to the row do not wait for)
    makes an answer and a correction of the same version queue up, the second reading the
    status the first one left; SQLite's writers queue anyway (BEGIN IMMEDIATE)."""
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
    exporter_id, importer_id, thread_id, version, deadline, rendered, status = row
    return _State(exporter_id, importer_id, thread_id, version, deadline, rendered,
                  current_status(status, deadline, now))


def _one(session: Session, scope: Scope, notification_id: str
         ) -> tuple[Notification, NotificationResponse | None]:
    """The notification and its answer (None if unanswered) as stored rows."""
    row = session.execute(_ONE, {**scope.params, "record_id": notification_id}).first()
    if row is None:
        raise Scope.no_notification(notification_id)
    n, response = row
    return n, response


def get_notification(ex: Exchange, caller: Caller, notification_id: str,
                     count: Count | None = None) -> str:
    """The notification as JSON text (`NotificationOut`): one indexed look-up of its row."""
    rows = ex.scoped(one_read(caller, notification_id), count)
    return served_one(rows, notification_id, ex.now())


def one_read(caller: Caller, notification_id: str) -> ScopedRead:
    """`get_notification`'s read, to run on any connection (`deps.Credentials.rows`)."""
    return ScopedRead(_ONE_SERVED, {**Scope(caller).params, "record_id": notification_id})


def served_one(rows: Sequence[Sequence[Any]], notification_id: str, now: dt.datetime) -> str:
    """What `one_read` found, as served; 404 if nothing."""
    if not rows:
        raise Scope.no_notification(notification_id)
    return _served(rows[0], now)


def list_notifications(ex: Exchange, caller: Caller, *, direction: Direction | None = None,
                       status: Status | None = None, thread_id: str | None = None,
                       limit: int = 100, offset: int = 0, count: Count | None = None,
                       by_deadline: bool = False) -> list[str]:
    """A page of notifications, newest first (`by_deadline`: soonest reply deadline first,
    as an inbox of what to answer is read), each as JSON text; `thread_id` keeps the
    versions of one notified shipment."""
    return [served.decode() for served in notification_page(
        ex, caller, direction=direction, status=status, thread_id=thread_id, limit=limit,
        offset=offset, count=count, by_deadline=by_deadline)]


def notification_page(ex: Exchange, caller: Caller, *, direction: Direction | None = None,
                      status: Status | None = None, thread_id: str | None = None,
                      limit: int = 100, offset: int = 0, count: Count | None = None,
                      by_deadline: bool = False) -> list[bytes]:
    """`list_notifications` as UTF-8, as the API sends it."""
    now = ex.now()
    rows = ex.scoped(page_read(caller, direction=direction, status=status, thread_id=thread_id,
                               limit=limit, offset=offset, by_deadline=by_deadline, now=now),
                     count)
    return page_items(ex.served_copies(Notification).of(ex, page_ids(rows)), rows, now)


def page_read(caller: Caller, *, direction: Direction | None = None,
              status: Status | None = None, thread_id: str | None = None, limit: int = 100,
              offset: int = 0, by_deadline: bool = False, now: dt.datetime) -> ScopedRead:
    """`notification_page`'s read, to run on any connection (`deps.Credentials.rows`)."""
    params = {**Scope(caller).params, "now": now, "status": status, "thread_id": thread_id,
              "limit": limit, "offset": offset}
    return ScopedRead(
        _list_statement(direction, status is not None, thread_id is not None, by_deadline),
        params, _PAGE_ORDER[by_deadline])


def page_ids(rows: Sequence[Sequence[Any]]) -> list[str]:
    """The ids of the notifications `page_read` found, whose served copies a page joins
    (`Exchange.served_copies`)."""
    return [row[-1] for row in rows]  # page_id


def page_items(rendered: Sequence[bytes], rows: Sequence[Sequence[Any]], now: dt.datetime
               ) -> list[bytes]:
    """The notifications `page_read` found, as served, in UTF-8, from their served copies
    (in the order of `page_ids`) and what each row says of them now."""
    return [with_status_utf8(text, status=current_status(stored, deadline, now),
                             superseded_by=superseded_by, response=answer)
            for text, (stored, superseded_by, answer, deadline, *_) in zip(rendered, rows,
                                                                          strict=True)]


_PAGE_ORDER = {False: "found.page_at DESC, found.page_id", True: "found.page_at, found.page_id"}


# What a summary of many notifications counts, without their evidence or signatures.
_FACTS = (Scope.notifications_statement().with_only_columns(
    Notification.id, Notification.created_at, status_expression(), Notification.exporter_id,
    Notification.importer_id, Notification.body["substance"].as_string(),
    Notification.verdict["name"].as_string(),
    Notification.body["exporter"]["country"].as_string(),
    Notification.body["importer"]["country"].as_string(), NotificationResponse.reason)
    .outerjoin(NotificationResponse, NotificationResponse.notification_id == Notification.id)
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
        written = write(ex.vault, batch, head, response, doc, actor=caller.person,
                        action=f"notification.{data.decision}", record_type="response", at=now,
                        serve=lambda r: with_status(n.rendered, status=r.decision,
                                                    superseded_by=None,
                                                    response=_answer(r, head.code)))
        batch.execute(_ANSWERED, [{"notification_id": notification_id,
                                   "decision": data.decision,
                                   "served_answer": _answer(response, head.code)}])
        return written


def _answer(response: NotificationResponse, by: str) -> str:
    """The signed answer as the notification serves it (`records.answer_json`)."""
    return answer_json(response.decision, response.reason, by, response.created_at,
                       response.signature)


def signed_notification(ex: Exchange, caller: Caller, notification_id: str) -> dict[str, Any]:
    """The notification as its exporter signed it, and the importer's signed answer if any:
    each the document, its canonical form and the signature, for verifying off this server."""
    with ex.sessions() as session:
        n, response = _one(session, Scope(caller), notification_id)
        codes = audit.authority_codes(session)
        keys: list[audit.RecordKey] = [("notification", n.id)]
        if response is not None:
            keys.append(("response", response.id))
        found = audit.stored_records(session, keys, codes)
        out = signed_form("notification", found["notification", n.id], codes[n.exporter_id])
        out["response"] = None if response is None else signed_form(
            "response", found["response", response.id], codes[response.authority_id])
        return out

