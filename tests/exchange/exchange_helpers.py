"""Request bodies and a hand-moved clock shared by the exchange tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


class Clock:
    """A clock the test moves by hand, to reach deadlines without waiting."""

    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def notification(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "substance": "4-piperidone hydrochloride monohydrate",
        "quantity": 25,
        "unit": "kg",
        "exporter": {"name": "Hubei Example Chemical Co.", "address": "12 Example Rd, Wuhan",
                     "country": "CN"},
        "importer": {"name": "Quimica Ejemplo SA", "address": "Av. Ejemplo 1, Guadalajara",
                     "country": "MX"},
        "consignee": {"name": "Quimica Ejemplo SA", "address": "Av. Ejemplo 1, Guadalajara",
                      "country": "MX"},
        "importing_authority": "MX",
        "transit_authorities": ["US"],
        "transit_countries": ["US"],
        "planned_shipment_date": "2026-12-01",
        "point_of_entry": "Manzanillo",
    }
    body.update(changes)
    return body


def incident(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "seizure", "substance": "1-boc-4-AP", "quantity": 400, "unit": "kg",
        "incident_date": "2026-11-02",
        "parties": [{"role": "consignee", "name": "Ejemplo Importaciones",
                     "address": "Calle 5, Culiacan", "country": "MX"}],
        "route": ["CN", "US", "MX"], "modus_operandi": "declared as 'chemical reagent'",
        "notes": "paid in cryptocurrency", "shared_with": ["US"], "notification_ids": [],
    }
    body.update(changes)
    return body


def sign_as_before_rfc8785(exchange: Any) -> None:
    """Turn every stored record into what the service wrote before revision 0006: signed over
    sorted-key JSON (`canon` = sorted-json), its served copy and its audit link to match,
    each authority's chain re-linked from the start."""
    from sqlalchemy import select

    from precursorwatch.exchange import audit, records
    from precursorwatch.exchange.models import (
        AuditEntry,
        Authority,
        Incident,
        Notification,
        NotificationResponse,
    )
    from precursorwatch.exchange.records import render_incident, render_notification
    from precursorwatch.exchange.signing import LEGACY, content_hash

    tables = {"notification": Notification, "response": NotificationResponse,
              "incident": Incident}
    with exchange.sessions.begin() as session:
        codes = audit.authority_codes(session)
        for authority in session.scalars(select(Authority)).all():
            prev = audit.GENESIS
            for entry in session.scalars(select(AuditEntry).where(
                    AuditEntry.authority_id == authority.id).order_by(AuditEntry.seq)).all():
                found = audit.stored_record(session, entry.record_type, entry.record_id, codes)
                assert found is not None
                doc = found.document
                row = session.get_one(tables[entry.record_type], entry.record_id)
                row.signature = exchange.vault.sign(authority.private_key_enc, doc, LEGACY)
                row.canon = LEGACY
                if isinstance(row, Notification):
                    row.rendered = render_notification(
                        row, exporter=doc["exporting_authority"],
                        importer=doc["importing_authority"], transit=doc["transit_authorities"])
                elif isinstance(row, Incident):
                    row.rendered = render_incident(row, reporter=doc["reporter"])
                entry.record_hash = content_hash(doc, LEGACY)
                entry.prev_hash = prev
                # As the service hashed links then: sorted-key JSON (RFC 8785 gives the same
                # bytes for a link, which the audit relies on).
                entry.entry_hash = content_hash({
                    "authority": authority.code, "seq": entry.seq, "at": records.iso(entry.at),
                    "actor": entry.actor, "action": entry.action,
                    "record_type": entry.record_type, "record_id": entry.record_id,
                    "record_hash": entry.record_hash, "prev_hash": entry.prev_hash}, LEGACY)
                prev = entry.entry_hash
