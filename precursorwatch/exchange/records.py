"""The signed form of each record, rebuilt from its stored row.

The same function makes the document that is signed on write and the one that is re-hashed on
audit, so a change to any stored column (body, verdict, parties, deadline, sharing) shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from precursorwatch.exchange.models import Incident, Notification, NotificationResponse


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


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
    }
