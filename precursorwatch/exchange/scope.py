"""Who is calling, and what they may see: the one place where tenant scoping is decided.

Routes never build their own visibility filters; they ask a `Scope` for the records of the
calling authority (statements, and the parameters that bind them to the caller). Records
outside it do not exist for the caller (404, never 403).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    exists,
    or_,
    select,
)
from sqlalchemy.orm import Session

from precursorwatch.exchange.errors import NotFound, Unauthorized
from precursorwatch.exchange.limits import RateLimits, live
from precursorwatch.exchange.models import (
    Incident,
    IncidentShare,
    Notification,
    NotificationTransit,
)
from precursorwatch.exchange.signing import hash_api_key


@dataclass(frozen=True)
class Caller:
    """The authority a request acts for; `person` is the e-mail of who acted for it in the web
    app (None for an API key), and names them in the audit chain."""

    id: int
    code: str
    name: str
    person: str | None = None


def key_hash(authorization: str | None) -> str:
    """The hash of the bearer key in an Authorization header, or 401 if there is none."""
    if not authorization:
        raise Unauthorized("missing Authorization header; send 'Authorization: Bearer KEY'")
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("Authorization must be 'Bearer KEY'")
    return hash_api_key(key.strip())


def identify(connection: Connection, hashed_key: str, limits: RateLimits) -> Caller:
    """The authority holding the key, or 401 (unknown or revoked, as the database says now);
    the request counts against the key's rate limit (429 once over it)."""
    row = live(limits.look_up(connection, hashed_key))
    return Caller(row[0], row[1], row[2])


def authenticate(connection: Connection, authorization: str | None,
                 limits: RateLimits) -> Caller:
    """The authority holding the bearer key, or 401; the request counts against the key's
    rate limit (429 once over it)."""
    return identify(connection, key_hash(authorization), limits)


class KnownKeys:
    """Hashes of keys that were live a moment ago (at most `ttl` seconds), so that a request
    with such a key can go straight to its route and be identified and counted there, in the
    same hop to the thread pool as its database work. A key not known here is looked up
    first, so a request with an unknown key is refused (401) before its body is read.
    Revocation is seen at once all the same: the look-up that counts every request reads the
    key's row, and a revoked key is dropped from here (`forget`)."""

    def __init__(self, ttl: float = 5.0, size: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.size = size
        self._clock = clock
        self._until: dict[str, tuple[float, Caller]] = {}
        self._lock = threading.Lock()

    def get(self, hashed_key: str) -> Caller | None:
        """The holder of the key, if it was live less than `ttl` seconds ago."""
        found = self._until.get(hashed_key)
        return found[1] if found is not None and found[0] > self._clock() else None

    def add(self, hashed_key: str, caller: Caller) -> None:
        now = self._clock()
        with self._lock:
            if len(self._until) >= self.size:  # bounded: forget expired ones, else all
                self._until = {k: v for k, v in self._until.items() if v[0] > now}
                if len(self._until) >= self.size:
                    self._until.clear()
            self._until[hashed_key] = (now + self.ttl, caller)

    def forget(self, hashed_key: str) -> None:
        with self._lock:
            self._until.pop(hashed_key, None)


# Visibility, written once. The caller is a bound parameter, so each statement is built and
# compiled once per process; execute them with `Scope.params`.
CALLER = bindparam("caller_id", type_=Integer())
RECORD_ID = bindparam("record_id", type_=String())

NOTIFICATION_VISIBLE: ColumnElement[bool] = or_(
    Notification.exporter_id == CALLER,
    Notification.importer_id == CALLER,
    exists().where(and_(NotificationTransit.notification_id == Notification.id,
                        NotificationTransit.authority_id == CALLER)),
)
INCIDENT_VISIBLE: ColumnElement[bool] = or_(
    Incident.reporter_id == CALLER,
    Incident.shared_with_all.is_(True),
    exists().where(and_(IncidentShare.incident_id == Incident.id,
                        IncidentShare.authority_id == CALLER)),
)
_NOTIFICATIONS = select(Notification).where(NOTIFICATION_VISIBLE)
_INCIDENTS = select(Incident).where(INCIDENT_VISIBLE)
_ONE_NOTIFICATION = _NOTIFICATIONS.where(Notification.id == RECORD_ID)


class Scope:
    """The records visible to one authority: the exporting, importing and transit authorities
    of a notification; the reporter of an incident and those it was shared with (or all)."""

    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.params: dict[str, object] = {"caller_id": caller.id}

    def notification_visible(self) -> ColumnElement[bool]:
        return NOTIFICATION_VISIBLE

    def incident_visible(self) -> ColumnElement[bool]:
        return INCIDENT_VISIBLE

    @staticmethod
    def notifications_statement() -> Select[Notification]:
        """Notifications visible to the caller bound by `params`."""
        return _NOTIFICATIONS

    @staticmethod
    def incidents_statement() -> Select[Incident]:
        """Incidents visible to the caller bound by `params`."""
        return _INCIDENTS

    # The same answer whether the record does not exist or belongs to others.
    @staticmethod
    def no_notification(notification_id: str) -> NotFound:
        return NotFound(f"no notification {notification_id} for this authority")

    @staticmethod
    def no_incident(incident_id: str) -> NotFound:
        return NotFound(f"no incident {incident_id} for this authority")

    def notification(self, session: Session, notification_id: str) -> Notification:
        found = session.scalar(_ONE_NOTIFICATION, {**self.params, "record_id": notification_id})
        if found is None:
            raise self.no_notification(notification_id)
        return found
