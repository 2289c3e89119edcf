"""Who is calling, and what they may see: the one place where tenant scoping is decided.

Routes never build their own visibility filters; they ask a `Scope` for the records of the
calling authority. Records outside it do not exist for the caller (404, never 403).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import Session

from precursorwatch.exchange.errors import NotFound, RateLimited, Unauthorized
from precursorwatch.exchange.models import (
    Authority,
    Incident,
    IncidentShare,
    Notification,
    NotificationTransit,
)
from precursorwatch.exchange.signing import hash_api_key


@dataclass(frozen=True)
class Caller:
    id: int
    code: str
    name: str


def authenticate(session: Session, authorization: str | None) -> Caller:
    """The authority holding the bearer key, or 401."""
    if not authorization:
        raise Unauthorized("missing Authorization header; send 'Authorization: Bearer KEY'")
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("Authorization must be 'Bearer KEY'")
    row = session.execute(
        select(Authority.id, Authority.code, Authority.name, Authority.key_revoked_at)
        .where(Authority.key_hash == hash_api_key(key.strip()))
    ).first()
    if row is None:
        raise Unauthorized("unknown API key")
    if row.key_revoked_at is not None:
        raise Unauthorized("this API key has been revoked", code="key_revoked")
    return Caller(row.id, row.code, row.name)


class RateLimiter:
    """A fixed window per API key: at most `limit` requests each `window` seconds."""

    def __init__(self, limit: int, window: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        now = self._clock()
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            if count >= self.limit:
                retry = max(1, int(self.window - (now - start) + 0.999))
                raise RateLimited(f"more than {self.limit} requests in {self.window:g} s for this "
                                  f"API key; retry after {retry} s", retry_after=retry)
            self._windows[key] = (start, count + 1)
            if len(self._windows) > 100_000:  # forget idle keys rather than grow without bound
                self._windows = {k: v for k, v in self._windows.items()
                                 if now - v[0] < self.window}


class Scope:
    """The records visible to one authority."""

    def __init__(self, caller: Caller) -> None:
        self.caller = caller

    def notification_visible(self) -> ColumnElement[bool]:
        me = self.caller.id
        return or_(
            Notification.exporter_id == me,
            Notification.importer_id == me,
            exists().where(and_(NotificationTransit.notification_id == Notification.id,
                                NotificationTransit.authority_id == me)),
        )

    def incident_visible(self) -> ColumnElement[bool]:
        me = self.caller.id
        return or_(
            Incident.reporter_id == me,
            Incident.shared_with_all.is_(True),
            exists().where(and_(IncidentShare.incident_id == Incident.id,
                                IncidentShare.authority_id == me)),
        )

    def notifications(self) -> Select[Notification]:
        return select(Notification).where(self.notification_visible())

    def incidents(self) -> Select[Incident]:
        return select(Incident).where(self.incident_visible())

    def notification(self, session: Session, notification_id: str) -> Notification:
        found = session.scalar(self.notifications().where(Notification.id == notification_id))
        if found is None:
            raise NotFound(f"no notification {notification_id} for this authority")
        return found

    def incident(self, session: Session, incident_id: str) -> Incident:
        found = session.scalar(self.incidents().where(Incident.id == incident_id))
        if found is None:
            raise NotFound(f"no incident {incident_id} for this authority")
        return found
