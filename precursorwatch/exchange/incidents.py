"""Incidents: a seizure, a stopped shipment or a suspicious order, reported by an authority
and shared with all or with the authorities it names, linked to notifications its reporter
may read. Each is a signed record of its reporter's audit chain, served as signed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Integer, Select, String, and_, bindparam, exists, select

from precursorwatch.exchange import audit
from precursorwatch.exchange.errors import Invalid
from precursorwatch.exchange.limits import Count
from precursorwatch.exchange.models import (
    Incident,
    IncidentNotification,
    IncidentShare,
    Notification,
)
from precursorwatch.exchange.records import incident_document, render_incident
from precursorwatch.exchange.schemas import IncidentIn, date_problems
from precursorwatch.exchange.scope import NOTIFICATION_VISIBLE, RECORD_ID, Caller, Scope
from precursorwatch.exchange.service import (
    NAMED,
    Exchange,
    Named,
    ScopedRead,
    authority_by_code,
    named,
    screen_parties,
)
from precursorwatch.exchange.signed import Written, inserting, signed_form, write
from precursorwatch.exchange.signing import JCS

_NEW_SHARE = inserting(IncidentShare)
_NEW_INCIDENT_LINK = inserting(IncidentNotification)
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
        authorities = batch.query(NAMED, {}) if data.shared_with != "all" else None
        locked = audit.lock_head(batch, caller.id)
        visible = [batch.query(_VISIBLE, {**scope.params, "record_id": nid})
                   for nid in data.notification_ids]
        batch.sync()
        head = locked()
        now = ex.now()
        shared: list[Named] = []
        if authorities is not None and data.shared_with != "all":
            found = named(authorities.all())
            shared = [authority_by_code(found, code, f"shared_with[{i}]")
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
        written = write(ex.vault, batch, head, row, doc, actor=caller.person,
                        action="incident.report", record_type="incident", at=now,
                        render=lambda r: render_incident(r, reporter=head.code))
        # Queued after the incident, which they refer to.
        _NEW_SHARE.queue(batch, [{"incident_id": row.id, "authority_id": a.id}
                                 for a in others])
        _NEW_INCIDENT_LINK.queue(batch, [{"incident_id": row.id, "notification_id": nid}
                                         for nid in dict.fromkeys(data.notification_ids)])
        return written


_INCIDENTS_SERVED = Scope.incidents_statement().with_only_columns(Incident.rendered)
_ONE_INCIDENT_SERVED = _INCIDENTS_SERVED.where(Incident.id == RECORD_ID)


@cache
def _incident_page(by_notification: bool) -> Select[*tuple[Any, ...]]:
    # The order's keys only: what the incidents serve comes from `Exchange.served_copies`,
    # by `page_id`; a page read with its count says its order again over them.
    query = Scope.incidents_statement().with_only_columns(
        Incident.created_at.label("page_at"), Incident.id.label("page_id"))
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
    return [served.decode() for served in incident_page(
        ex, caller, notification_id=notification_id, limit=limit, offset=offset, count=count)]


def incident_page(ex: Exchange, caller: Caller, *, notification_id: str | None = None,
                  limit: int = 100, offset: int = 0, count: Count | None = None
                  ) -> list[bytes]:
    """`list_incidents` as UTF-8, as the API sends it."""
    rows = ex.scoped(page_read(caller, notification_id=notification_id, limit=limit,
                               offset=offset), count)
    return ex.served_copies(Incident).of(ex, page_ids(rows))


def page_read(caller: Caller, *, notification_id: str | None = None, limit: int = 100,
              offset: int = 0) -> ScopedRead:
    """`incident_page`'s read, to run on any connection (`deps.Credentials.rows`)."""
    params = {**Scope(caller).params, "notification_id": notification_id, "limit": limit,
              "offset": offset}
    return ScopedRead(_incident_page(notification_id is not None), params,
                      "found.page_at DESC, found.page_id")


def page_ids(rows: Sequence[Sequence[Any]]) -> list[str]:
    """The ids of the incidents `page_read` found, whose served copies are the page
    (`Exchange.served_copies`)."""
    return [row[-1] for row in rows]  # page_id


def get_incident(ex: Exchange, caller: Caller, incident_id: str,
                 count: Count | None = None) -> str:
    """The incident as JSON text (`IncidentOut`)."""
    return served_one(ex.scoped(one_read(caller, incident_id), count), incident_id)


def one_read(caller: Caller, incident_id: str) -> ScopedRead:
    """`get_incident`'s read, to run on any connection (`deps.Credentials.rows`)."""
    return ScopedRead(_ONE_INCIDENT_SERVED, {**Scope(caller).params, "record_id": incident_id})


def served_one(rows: Sequence[Sequence[Any]], incident_id: str) -> str:
    """What `one_read` found, as served; 404 if nothing."""
    if not rows:
        raise Scope.no_incident(incident_id)
    found: str = rows[0][0]
    return found


def signed_incident(ex: Exchange, caller: Caller, incident_id: str) -> dict[str, Any]:
    """The incident as its reporter signed it (see `signed_notification`)."""
    get_incident(ex, caller, incident_id)  # 404 unless the caller may read it
    with ex.sessions() as session:
        codes = audit.authority_codes(session)
        found = audit.stored_record(session, "incident", incident_id, codes)
        if found is None:
            raise Scope.no_incident(incident_id)
        return signed_form("incident", found, found.document["reporter"])

