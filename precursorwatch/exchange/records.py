"""The signed form and the served form of each record, both rebuilt from its stored row.

The same function makes the document that is signed on write and the one that is re-hashed on
audit, so a change to any stored column (body, verdict, parties, deadline, sharing) shows.

The served form is the record's JSON as the API returns it, less the parts that change after
writing (a notification's status and answer). Records never change, so it is rendered once on
write and stored beside the row; reads splice it into the response without decoding and
re-encoding the stored verdict. The audit re-renders it from the signed columns, so an edit of
the stored copy shows like an edit of the record.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from precursorwatch.exchange.models import Incident, Notification, NotificationResponse


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def when(moment: dt.datetime) -> str:
    """A time as the API shows it: ISO 8601 in UTC with a Z."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def to_json(value: Any) -> str:
    """Compact UTF-8 JSON, as the API's other responses are encoded."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def render_notification(row: Notification, *, exporter: str, importer: str,
                        transit: Iterable[str]) -> str:
    """A notification version as served, without `status`, `superseded_by` and `response`
    (see `with_status`)."""
    out: dict[str, Any] = {
        "id": row.id, "thread_id": row.thread_id, "version": row.version,
        "supersedes": row.supersedes_id, "exporting_authority": exporter,
        "importing_authority": importer, "transit_authorities": sorted(transit),
        "created_at": when(row.created_at), "reply_deadline": when(row.reply_deadline),
    }
    out.update((k, v) for k, v in row.body.items()
               if k not in ("importing_authority", "transit_authorities"))
    out.update(verdict=row.verdict, party_hits=row.party_hits or [], signature=row.signature,
               signed_by=exporter)
    return to_json(out)


def with_status(rendered: str, *, status: str, superseded_by: str | None,
                response: str | None) -> str:
    """The served notification: its stored rendering plus its status, its correction's id and
    its answer as served (`answer_json`, JSON text), byte for byte what `to_json` makes of
    the whole."""
    if superseded_by is None and response is None:  # most of a page: one of a few tails
        tail = _TAILS.get(status)
        if tail is None:
            tail = to_json({"status": status, "superseded_by": None, "response": None})
            if len(_TAILS) < 16:
                _TAILS[status] = tail
        return f"{rendered[:-1]},{tail[1:]}"
    return (f'{rendered[:-1]},"status":{to_json(status)},"superseded_by":'
            f'{"null" if superseded_by is None else to_json(superseded_by)},'
            f'"response":{"null" if response is None else response}}}')


_TAILS: dict[str, str] = {}  # by status, for a record neither answered nor corrected


def with_status_utf8(rendered: bytes, *, status: str, superseded_by: str | None,
                     response: str | None) -> bytes:
    """`with_status` on the stored rendering as UTF-8, as a response sends it: a page joins
    these without encoding each record's JSON text again (only its short tail)."""
    return rendered[:-1] + with_status("{}", status=status, superseded_by=superseded_by,
                                       response=response)[1:].encode()


def answer_json(decision: str, reason: str | None, by: str, at: dt.datetime,
                signature: str) -> str:
    """An answer as a notification serves it (`response` of `NotificationOut`)."""
    return to_json({"decision": decision, "reason": reason, "by": by, "at": when(at),
                    "signature": signature})


def follow_up(response: NotificationResponse | None, successor_id: str | None,
              codes: Mapping[int, str]) -> tuple[str, str | None, str | None]:
    """A notification's (status, superseded_by, answer) as its answer and its correction, both
    signed rows, say them: what its stored columns must hold (`Notification.status`)."""
    answer = None if response is None else answer_json(
        response.decision, response.reason, codes.get(response.authority_id, "?"),
        response.created_at, response.signature)
    status = (response.decision if response is not None
              else "superseded" if successor_id is not None else "sent")
    return status, successor_id, answer


def current_status(stored: str, reply_deadline: dt.datetime, now: dt.datetime) -> str:
    """A notification's status at `now` from its stored one (`Notification.status`): `expired`
    once the reply deadline has passed with neither an answer nor a correction."""
    return "expired" if stored == "sent" and reply_deadline <= now else stored


def render_incident(row: Incident, *, reporter: str) -> str:
    """An incident as served."""
    return to_json({"id": row.id, "reporter": reporter, "created_at": when(row.created_at),
                    **row.body, "verdict": row.verdict, "party_hits": row.party_hits or [],
                    "signature": row.signature})


def notification_document(row: Notification, *, exporter: str, importer: str,
                          transit: Iterable[str]) -> dict[str, Any]:
    return {
        "type": "notification",
        "id": row.id,
        "thread_id": row.thread_id,
        "version": row.version,
        "supersedes": row.supersedes_id,
        "exporting_authority": exporter,
        "importing_authority": importer,
        "transit_authorities": sorted(transit),
        "created_at": iso(row.created_at),
        "reply_deadline": iso(row.reply_deadline),
        "verdict_name": row.verdict_name,
        "body": row.body,
        "verdict": row.verdict,
        # Only when screened, so records signed before parties were screened still verify.
        **({"party_hits": row.party_hits} if row.party_hits is not None else {}),
    }


def response_document(row: NotificationResponse, *, authority: str) -> dict[str, Any]:
    return {
        "type": "response",
        "id": row.id,
        "notification_id": row.notification_id,
        "authority": authority,
        "decision": row.decision,
        "reason": row.reason,
        "created_at": iso(row.created_at),
    }


def incident_document(row: Incident, *, reporter: str, shared_with: Iterable[str]
                      ) -> dict[str, Any]:
    return {
        "type": "incident",
        "id": row.id,
        "reporter": reporter,
        "shared_with_all": row.shared_with_all,
        "shared_with": sorted(shared_with),
        "created_at": iso(row.created_at),
        "verdict_name": row.verdict_name,
        "body": row.body,
        "verdict": row.verdict,
        **({"party_hits": row.party_hits} if row.party_hits is not None else {}),
    }
